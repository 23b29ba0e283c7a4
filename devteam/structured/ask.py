"""The ladder's loop: ask, triage the answer, parse (and repair), re-ask with the error quoted.

Transport retries happen below this (in `LLM.complete`); re-asks here are about *content* and are counted
apart. A truncated answer is asked again with a larger token budget, never repaired into missing data.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Callable, Generic, TypeVar

from pydantic import BaseModel

from devteam.errors import StructuredOutputError
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage, ChatRequest, ChatResponse, OutputMode
from devteam.prompting import render_prompt
from devteam.structured.parse import ParseFailure, extract_code, parse_structured
from devteam.structured.schema import to_strict_schema

log = logging.getLogger("devteam.structured")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

MAX_REASKS = 2
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


Parser = Callable[[str], tuple[T, list[str]]]


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
) -> Answer[M]:
    """Return a validated `model` instance from the LLM, or raise `StructuredOutputError`."""
    request = ChatRequest(
        messages=messages,
        json_schema=to_strict_schema(model),
        schema_name=model.__name__,
        output_mode=llm.output_mode(wants_json=True),
        role=role,
        action=action,
        subject=subject,
    )

    def parse(text: str) -> tuple[M, list[str]]:
        result = parse_structured(text, model, repair=repair)
        return result.value, result.repairs

    return await ask_parsed(llm, request, parse, max_reasks=max_reasks)


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
) -> Answer[str]:
    """Return the code of one file, taken from the answer's fenced block."""
    request = ChatRequest(
        messages=messages, output_mode="prompt", role=role, action=action, subject=subject
    )

    def parse(text: str) -> tuple[str, list[str]]:
        result = extract_code(text, language=language, repair=repair)
        return result.code, result.repairs

    return await ask_parsed(llm, request, parse, max_reasks=max_reasks)


async def ask_parsed(
    llm: LLM, request: ChatRequest, parse: Parser[T], *, max_reasks: int = MAX_REASKS
) -> Answer[T]:
    """Ask until `parse` accepts an answer; `parse` raises `ParseFailure` with feedback for the re-ask."""
    base_messages = list(request.messages)
    errors: list[str] = []
    reasks = calls = 0
    enlarged = False
    while True:
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
                attempts=calls, last_text=response.text, errors=[*errors, f"refusal: {response.refusal}"],
            )
        try:
            value, repairs = parse(response.text)
        except ParseFailure as failure:
            llm.settle(request, response, repairs=[], outcome=f"{failure.kind}: {failure.feedback}",
                       started_at=started_at)
            errors.append(f"{failure.kind}: {failure.feedback}")
            if failure.kind == "truncated":
                request, enlarged = _enlarge_or_fail(llm, request, enlarged, failure.feedback, response, errors, calls)
                continue
            if failure.kind == "refusal" or reasks >= max_reasks:
                raise StructuredOutputError(
                    f"{request.role} {request.action}: no usable answer from {llm.describe()} after {calls} "
                    f"call(s); last problem: {failure.kind}: {failure.feedback}",
                    attempts=calls, last_text=response.text, errors=errors,
                ) from None
            reasks += 1
            llm.ledger.count_reask()
            log.warning("reask %d/%d for %s %s%s: %s", reasks, max_reasks, request.role, request.action,
                        f" {request.subject}" if request.subject else "", failure.feedback)
            request = replace(request, messages=_reask_messages(base_messages, response.text, failure))
            continue
        llm.settle(request, response, repairs=repairs, started_at=started_at)
        return Answer(value=value, repairs=repairs, reasks=reasks, calls=calls,
                      native_schema=response.native_schema, output_mode=response.output_mode)


def _truncation(response: ChatResponse) -> str | None:
    if response.finish_reason == "length":
        return "the answer was cut off at the token limit (finish_reason=length)"
    if not response.text.strip() and response.reasoning.strip():
        return "the model spent the whole token budget thinking and gave no answer"
    return None


def _enlarge_or_fail(
    llm: LLM, request: ChatRequest, enlarged: bool, reason: str, response: ChatResponse, errors: list[str],
    calls: int,
) -> tuple[ChatRequest, bool]:
    current = request.max_tokens or llm.max_tokens
    if enlarged:
        raise StructuredOutputError(
            f"{request.role} {request.action}: {reason}, even with max_tokens={current}. "
            "Raise llm.max_token in config2.yaml (and the server's context length) or pick a model that "
            "thinks less.",
            attempts=calls, last_text=response.text, errors=errors,
        )
    larger = current * 2
    log.warning("%s %s: %s; asking again with max_tokens=%d", request.role, request.action, reason, larger)
    return replace(request, max_tokens=larger), True


def _reask_messages(base: list[ChatMessage], answer: str, failure: ParseFailure) -> list[ChatMessage]:
    quoted = answer if len(answer) <= QUOTED_ANSWER_LIMIT else answer[:QUOTED_ANSWER_LIMIT] + "\n[...]"
    feedback = render_prompt("reask.j2", kind=failure.kind, feedback=failure.feedback)
    return [*base, ChatMessage("assistant", quoted), ChatMessage("user", feedback)]
