"""The ladder's loop: ask, triage the answer, parse (and repair), re-ask with the error quoted.

Transport retries happen below this (in `LLM.complete`); re-asks here are about *content* and are counted
apart. A truncated answer is asked again with a larger token budget, never repaired into missing data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from pydantic import BaseModel

from devteam.core.errors import StructuredOutputError
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import SCHEMA_LEVELS, ChatMessage, ChatRequest, ChatResponse, OutputMode
from devteam.structured.echo import EchoFailure, echoed_fields, field_references
from devteam.structured.field_followup import MAX_FIELD_FOLLOWUPS, FollowUpResult, follow_up_fields
from devteam.structured.loops import repeats_itself
from devteam.structured.parse import ParseFailure, extract_code, parse_structured
from devteam.structured.repeat_guard import RepeatGuard
from devteam.structured.schema import to_strict_schema

log = logging.getLogger("devteam.structured")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

MAX_REASKS = 2
# The repetition penalty of a request asked again after a looping, cut-off answer: enough to make SmolLM2-135M
# end its looping code (it then stopped after 178 tokens where it had filled 1536), little enough for code,
# which repeats names by nature (at 1.0 the same model looped on other words).
LOOP_PENALTY = 0.5
# A re-ask quotes the previous answer so the model can fix it; a huge answer is cut to keep prompts small.
QUOTED_ANSWER_LIMIT = 6000


@dataclass
class Answer(Generic[T]):
    value: T
    repairs: list[str]
    reasks: int
    calls: int
    native_schema: bool
    # The structured-output level of the request that produced the accepted answer.
    output_mode: OutputMode = "prompt"
    field_followups: int = 0


Parser = Callable[[str], tuple[T, list[str]]]
# Given the request, its answer and a failure naming some fields, ask for those fields and merge.
FollowUp = Callable[[ChatRequest, str, ParseFailure, RepeatGuard], Awaitable[FollowUpResult]]


async def ask_structured(
    llm: LLM,
    messages: list[ChatMessage],
    model: type[M],
    *,
    role: str,
    action: str,
    repair: bool,
    subject: str = "",
    max_reasks: int = MAX_REASKS,
    max_followups: int = MAX_FIELD_FOLLOWUPS,
) -> Answer[M]:
    """Return a validated `model` instance from the LLM, or raise `StructuredOutputError`.

    An object that fails on some fields only (missing, wrong type, an echoed description or placeholder)
    gets a field follow-up for those fields; an answer that is not usable JSON is re-asked whole.
    """
    request = ChatRequest(
        messages=messages,
        json_schema=to_strict_schema(model),
        schema_name=model.__name__,
        output_mode=llm.output_mode(wants_json=True),
        role=role,
        action=action,
        subject=subject,
    )
    references = field_references(model, messages)

    def parse(text: str) -> tuple[M, list[str]]:
        result = parse_structured(text, model, repair=repair)
        echoes = echoed_fields(result.value, references)
        if echoes:
            raise EchoFailure(result.value, echoes, repairs=result.repairs)
        return result.value, result.repairs

    async def follow_up(
        followed: ChatRequest, answer: str, failure: ParseFailure, guard: RepeatGuard
    ) -> FollowUpResult:
        return await follow_up_fields(
            llm,
            followed,
            answer,
            failure,
            model,
            repair=repair,
            references=references,
            guard=guard,
            max_followups=max_followups,
        )

    return await ask_parsed(llm, request, parse, max_reasks=max_reasks, follow_up=follow_up if max_followups else None)


async def ask_code(
    llm: LLM,
    messages: list[ChatMessage],
    *,
    role: str,
    action: str,
    subject: str,
    language: str | None,
    repair: bool,
    max_reasks: int = MAX_REASKS,
    max_tokens: int | None = None,
) -> Answer[str]:
    """Return the code of one file, taken from the answer's fenced block; `max_tokens` None: the configured one."""
    request = ChatRequest(
        messages=messages, output_mode="prompt", role=role, action=action, subject=subject, max_tokens=max_tokens
    )

    def parse(text: str) -> tuple[str, list[str]]:
        result = extract_code(text, language=language, repair=repair)
        return result.code, result.repairs

    return await ask_parsed(llm, request, parse, max_reasks=max_reasks)


async def ask_parsed(
    llm: LLM,
    request: ChatRequest,
    parse: Parser[T],
    *,
    max_reasks: int = MAX_REASKS,
    follow_up: FollowUp | None = None,
) -> Answer[T]:
    """Ask until `parse` accepts an answer; `parse` raises `ParseFailure` with feedback for the re-ask.

    No request is sent twice (`RepeatGuard`): a re-ask that would repeat one is sent warmer, or not at all.
    """
    base_messages = list(request.messages)
    guard = RepeatGuard(base_temperature=llm.temperature)
    errors: list[str] = []
    reasks = calls = 0
    enlarged = False
    while True:
        admitted = guard.admit(request)
        if admitted is None:
            raise StructuredOutputError(
                f"{request.role} {request.action}: {llm.describe()} gave the same answer to the same question "
                f"even at temperature {request.temperature}; asking again could not change anything. "
                f"Last problem: {errors[-1] if errors else 'none'}",
                attempts=calls,
                last_text="",
                errors=errors,
            )
        request = admitted
        started_at = time.time()
        response = await llm.complete(request)
        calls += 1
        truncated = _truncation(response)
        if truncated:
            llm.settle(request, response, repairs=[], outcome=f"truncated: {truncated}", started_at=started_at)
            errors.append(truncated)
            request, enlarged = _enlarge_or_fail(llm, request, enlarged, truncated, response, errors, calls)
            continue
        if response.refusal:
            llm.settle(request, response, repairs=[], outcome="refused", started_at=started_at)
            raise StructuredOutputError(
                f"{llm.describe()} refused {request.role} {request.action}: {response.refusal}",
                attempts=calls,
                last_text=response.text,
                errors=[*errors, f"refusal: {response.refusal}"],
            )
        try:
            value, repairs = parse(response.text)
        except ParseFailure as failure:
            errors.append(f"{failure.kind}: {failure.feedback}")
            if follow_up is not None and failure.partial is not None and failure.fields:
                # Some fields only: ask for those, keep the rest. A whole re-ask would mostly bring the same gap.
                llm.settle(
                    request,
                    response,
                    repairs=[],
                    started_at=started_at,
                    outcome=f"{failure.kind}: {failure.feedback} (fields asked for again)",
                )
                result = await follow_up(request, response.text, failure, guard)
                calls += result.calls
                if result.value is None:
                    errors.append(f"field follow-up: {result.last_problem}")
                    raise StructuredOutputError(
                        f"{request.role} {request.action}: no usable answer from {llm.describe()} after {calls} "
                        f"call(s) ({result.calls} field follow-up(s) for {', '.join(failure.fields)}); last "
                        f"problem: {result.last_problem}",
                        attempts=calls,
                        last_text=response.text,
                        errors=errors,
                    )
                return Answer(
                    value=result.value,
                    repairs=result.repairs,
                    reasks=reasks,
                    calls=calls,
                    native_schema=result.native_schema,
                    output_mode=result.output_mode,  # type: ignore[arg-type]
                    field_followups=result.calls,
                )
            llm.settle(
                request, response, repairs=[], outcome=f"{failure.kind}: {failure.feedback}", started_at=started_at
            )
            if failure.kind == "truncated" and not enlarged:
                request, enlarged = _enlarge_or_fail(llm, request, enlarged, failure.feedback, response, errors, calls)
                continue
            # A cut-off answer gets a larger budget once; cut again, it is re-asked with the problem quoted.
            if failure.kind == "refusal" or reasks >= max_reasks:
                raise StructuredOutputError(
                    f"{request.role} {request.action}: no usable answer from {llm.describe()} after {calls} "
                    f"call(s); last problem: {failure.kind}: {failure.feedback}",
                    attempts=calls,
                    last_text=response.text,
                    errors=errors,
                ) from None
            reasks += 1
            llm.ledger.count_reask()
            log.warning(
                "reask %d/%d for %s %s%s: %s",
                reasks,
                max_reasks,
                request.role,
                request.action,
                f" {request.subject}" if request.subject else "",
                failure.feedback,
            )
            request = replace(request, messages=_reask_messages(base_messages, response.text, failure))
            continue
        llm.settle(request, response, repairs=repairs, started_at=started_at)
        return Answer(
            value=value,
            repairs=repairs,
            reasks=reasks,
            calls=calls,
            native_schema=response.native_schema,
            output_mode=response.output_mode,
        )


def _truncation(response: ChatResponse) -> str | None:
    if response.finish_reason == "length":
        return "the answer was cut off at the token limit (finish_reason=length)"
    if not response.text.strip() and response.reasoning.strip():
        return "the model spent the whole token budget thinking and gave no answer"
    return None


def _enlarge_or_fail(
    llm: LLM,
    request: ChatRequest,
    enlarged: bool,
    reason: str,
    response: ChatResponse,
    errors: list[str],
    calls: int,
) -> tuple[ChatRequest, bool]:
    current = request.max_tokens or llm.max_tokens
    if enlarged:
        raise StructuredOutputError(
            f"{request.role} {request.action}: {reason}, even with max_tokens={current}. "
            "Raise llm.max_token in config2.yaml (and the server's context length) or pick a model that "
            "thinks less.",
            attempts=calls,
            last_text=response.text,
            errors=errors,
        )
    larger = current * 2
    # A grammar keeps the answer JSON but lets a small model repeat one value to the limit; bounding every
    # string and list to fit the new budget makes it close them (only where the server makes a grammar).
    # (The level the answer came at: the run may have stepped down from the one the request was written for.)
    bounded = request.json_schema is not None and response.output_mode in SCHEMA_LEVELS
    # Without a grammar (code, prompt-only JSON), a loop is broken by a repetition penalty instead.
    penalty = LOOP_PENALTY if not bounded and repeats_itself(response.text) else request.frequency_penalty
    if bounded:
        how = " (a server that makes a grammar of the schema gets its strings and lists bounded to fit)"
    elif penalty is not None:
        how = f" and frequency_penalty={penalty} (the answer repeats itself)"
    else:
        how = ""
    log.warning("%s %s: %s; asking again with max_tokens=%d%s", request.role, request.action, reason, larger, how)
    return replace(request, max_tokens=larger, bound_grammar=bounded, frequency_penalty=penalty), True


def _reask_messages(base: list[ChatMessage], answer: str, failure: ParseFailure) -> list[ChatMessage]:
    quoted = answer if len(answer) <= QUOTED_ANSWER_LIMIT else answer[:QUOTED_ANSWER_LIMIT] + "\n[...]"
    feedback = render_prompt("reask.j2", kind=failure.kind, feedback=failure.feedback)
    return [*base, ChatMessage("assistant", quoted), ChatMessage("user", feedback)]
