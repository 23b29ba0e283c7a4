"""The ladder's loop: ask, triage the answer, parse (and repair), re-ask with the error quoted.

Transport retries happen below this (in `LLM.complete`); re-asks here are about *content* and are counted
apart. A truncated answer is asked again with a larger token budget, never repaired into missing data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel

from devteam.core.errors import StructuredOutputError
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import SCHEMA_LEVELS, ChatMessage, ChatRequest, ChatResponse, OutputMode
from devteam.structured.echo import EchoFailure, echoed_fields, field_references
from devteam.structured.field_followup import (
    ECHO_UNRESOLVED,
    MAX_FIELD_FOLLOWUPS,
    FollowUpResult,
    clear_echoes,
    follow_up_fields,
)
from devteam.structured.loops import LOOP_FINISH, repeats_itself
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
    # The answer as the model wrote it, when one request's answer was accepted as it came ("" after follow-ups
    # or a send-back): a turn that continues the conversation quotes it byte for byte, as the server cached it.
    text: str = ""


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
    answer_tokens: int | None = None,
) -> Answer[M]:
    """Return a validated `model` instance from the LLM, or raise `StructuredOutputError`.

    An object that fails on some fields only (missing, wrong type, an echoed description or placeholder)
    gets a field follow-up for those fields; an answer that is not usable JSON is re-asked whole.
    `answer_tokens` is the most this answer can need (see `capped_tokens`).
    """
    request = ChatRequest(
        max_tokens=capped_tokens(llm, answer_tokens),
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
        value, repairs = result.value, list(result.repairs)
        echoes = echoed_fields(value, references)
        # A field nothing builds on (a PRD's quadrant chart) that repeats its description is cleared: a
        # follow-up for it costs a call, and a weak model echoes again.
        decorative = {key: why for key, why in echoes.items() if key in getattr(model, "echo_cleared", ())}
        if decorative:
            value = clear_echoes(value, model, decorative, role=role, action=action, asked=False)
            repairs.append(ECHO_UNRESOLVED)
        rest = {key: why for key, why in echoes.items() if key not in decorative}
        if rest:
            raise EchoFailure(value, rest, repairs=repairs)
        return value, repairs

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


def capped_tokens(llm: LLM, answer_tokens: int | None) -> int | None:
    """An action's own cap on its answer, under the configured `max_token`: a PRD never needs 4,096 tokens,
    and a model that loops is cut at the cap (then asked again with the grammar's bounds or the penalty)
    instead of running to the limit or the whole-call timeout. None: the configured `max_token`."""
    if answer_tokens is None:
        return None
    return min(answer_tokens, llm.max_tokens)


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
    temperature: float | None = None,
) -> Answer[str]:
    """Return the code of one file, taken from the answer's fenced block; `max_tokens` None: the configured one;
    `temperature` None: the configured one (a candidate fix asks warmer)."""
    request = ChatRequest(
        messages=messages,
        output_mode="prompt",
        role=role,
        action=action,
        subject=subject,
        max_tokens=max_tokens,
        temperature=temperature,
    )

    def parse(text: str) -> tuple[str, list[str]]:
        result = extract_code(text, language=language, repair=repair)
        return result.code, result.repairs

    return await ask_parsed(llm, request, parse, max_reasks=max_reasks)


class Strategy(Enum):
    """What the loop does with an answer it cannot use; `_strategy` is the table from failure to strategy."""

    ENLARGE = "ask again with twice the token budget (once)"
    FOLLOW_UP = "ask for the failing fields only, keep the rest"
    REASK = "ask again with the problem quoted"
    GIVE_UP = "stop: asking again cannot help"


@dataclass
class Failure:
    """One unusable answer: a cut-off answer or a refusal seen before parsing, or the parser's `ParseFailure`."""

    kind: str
    feedback: str
    parsed: ParseFailure | None = None

    @property
    def outcome(self) -> str:
        """The exchange's outcome as the record keeps it."""
        if self.kind == "cut_off":
            return f"truncated: {self.feedback}"
        if self.kind == "refused":
            return "refused"
        if self.parsed is not None and self.parsed.partial is not None and self.parsed.fields:
            return f"{self.kind}: {self.feedback} (fields asked for again)"
        return f"{self.kind}: {self.feedback}"


@dataclass
class _Attempts:
    """What the loop has spent so far: calls, re-asks, whether the budget was doubled, the problems seen."""

    calls: int = 0
    reasks: int = 0
    enlarged: bool = False
    errors: list[str] = field(default_factory=list)


def _strategy(failure: Failure, attempts: _Attempts, *, max_reasks: int, can_follow_up: bool) -> Strategy:
    if failure.kind == "refused" or failure.kind == "refusal":
        return Strategy.GIVE_UP
    if failure.kind == "cut_off":
        # Cut off twice (the budget already doubled): a larger answer is not coming.
        return Strategy.GIVE_UP if attempts.enlarged else Strategy.ENLARGE
    parsed = failure.parsed
    if can_follow_up and parsed is not None and parsed.partial is not None and parsed.fields:
        return Strategy.FOLLOW_UP  # a whole re-ask would mostly bring the same gap
    if failure.kind == "truncated" and not attempts.enlarged:
        return Strategy.ENLARGE
    return Strategy.REASK if attempts.reasks < max_reasks else Strategy.GIVE_UP


@contextmanager
def _exchange(llm: LLM, request: ChatRequest) -> Iterator[_Settlement]:
    """One call's exchange, settled exactly once when the block ends (ok, or the failure it ended with)."""
    settlement = _Settlement(started_at=time.time())
    try:
        yield settlement
    finally:
        if settlement.response is not None:
            llm.settle(
                request,
                settlement.response,
                repairs=settlement.repairs,
                outcome=settlement.outcome,
                started_at=settlement.started_at,
            )


@dataclass
class _Settlement:
    started_at: float
    response: ChatResponse | None = None
    repairs: list[str] = field(default_factory=list)
    outcome: str = "ok"


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
    An unusable answer goes through one table (`_strategy`) and every way of stopping through `_give_up`.
    """
    base_messages = list(request.messages)
    guard = RepeatGuard(base_temperature=llm.temperature)
    attempts = _Attempts()
    while True:
        admitted = guard.admit(request)
        if admitted is None:
            raise _give_up(llm, request, attempts, "", repeated=True)
        request = admitted
        with _exchange(llm, request) as exchange:
            response = exchange.response = await llm.complete(request)
            attempts.calls += 1
            failure = _triage(response)
            if failure is None:
                try:
                    value, repairs = parse(response.text)
                except ParseFailure as parsed:
                    failure = Failure(parsed.kind, parsed.feedback, parsed)
                else:
                    exchange.repairs = repairs
                    return Answer(
                        value=value,
                        repairs=repairs,
                        reasks=attempts.reasks,
                        calls=attempts.calls,
                        native_schema=response.native_schema,
                        output_mode=response.output_mode,
                        text=response.text if attempts.calls == 1 else "",
                    )
            exchange.outcome = failure.outcome
        attempts.errors.append(failure.outcome if failure.kind == "cut_off" else f"{failure.kind}: {failure.feedback}")
        if failure.kind == "cut_off":
            attempts.errors[-1] = failure.feedback
        strategy = _strategy(failure, attempts, max_reasks=max_reasks, can_follow_up=follow_up is not None)
        if strategy is Strategy.GIVE_UP:
            raise _give_up(llm, request, attempts, response.text, failure=failure)
        if strategy is Strategy.ENLARGE:
            request = _enlarged(llm, request, failure.feedback, response)
            attempts.enlarged = True
        elif strategy is Strategy.FOLLOW_UP:
            assert follow_up is not None and failure.parsed is not None
            return await _followed_up(llm, request, response, failure.parsed, follow_up, guard, attempts)
        else:
            attempts.reasks += 1
            llm.ledger.count_reask()
            log.warning(
                "reask %d/%d for %s %s%s: %s",
                attempts.reasks,
                max_reasks,
                request.role,
                request.action,
                f" {request.subject}" if request.subject else "",
                failure.feedback,
            )
            request = replace(request, messages=_reask_messages(base_messages, response.text, failure.parsed))


def _triage(response: ChatResponse) -> Failure | None:
    """What is wrong with an answer before parsing it: cut off (or all thinking), or a refusal."""
    truncated = _truncation(response)
    if truncated:
        return Failure("cut_off", truncated)
    if response.refusal:
        return Failure("refused", response.refusal)
    return None


async def _followed_up(
    llm: LLM,
    request: ChatRequest,
    response: ChatResponse,
    failure: ParseFailure,
    follow_up: FollowUp,
    guard: RepeatGuard,
    attempts: _Attempts,
) -> Answer[Any]:
    result = await follow_up(request, response.text, failure, guard)
    attempts.calls += result.calls
    if result.value is None:
        attempts.errors.append(f"field follow-up: {result.last_problem}")
        raise _give_up(
            llm,
            request,
            attempts,
            response.text,
            problem=f"({result.calls} field follow-up(s) for {', '.join(failure.fields)}); last problem: "
            f"{result.last_problem}",
        )
    return Answer(
        value=result.value,
        repairs=result.repairs,
        reasks=attempts.reasks,
        calls=attempts.calls,
        native_schema=result.native_schema,
        output_mode=cast(OutputMode, result.output_mode),
        field_followups=result.calls,
    )


def _give_up(
    llm: LLM,
    request: ChatRequest,
    attempts: _Attempts,
    last_text: str,
    *,
    failure: Failure | None = None,
    repeated: bool = False,
    problem: str = "",
) -> StructuredOutputError:
    """The one place the loop stops: the error says what was asked, of whom, how often, and the last problem."""
    what = f"{request.role} {request.action}"
    if repeated:
        message = (
            f"{what}: {llm.describe()} gave the same answer to the same question even at temperature "
            f"{request.temperature}; asking again could not change anything. "
            f"Last problem: {attempts.errors[-1] if attempts.errors else 'none'}"
        )
    elif failure is not None and failure.kind == "refused":
        message = f"{llm.describe()} refused {what}: {failure.feedback}"
        attempts.errors.append(f"refusal: {failure.feedback}")
    elif failure is not None and failure.kind == "cut_off":
        current = request.max_tokens or llm.max_tokens
        message = (
            f"{what}: {failure.feedback}, even with max_tokens={current}. Raise llm.max_token in config2.yaml "
            "(and the server's context length) or pick a model that thinks less."
        )
    elif failure is not None:
        message = (
            f"{what}: no usable answer from {llm.describe()} after {attempts.calls} call(s); last problem: "
            f"{failure.kind}: {failure.feedback}"
        )
    else:
        message = f"{what}: no usable answer from {llm.describe()} after {attempts.calls} call(s) {problem}"
    return StructuredOutputError(message, attempts=attempts.calls, last_text=last_text, errors=attempts.errors)


# A streamed answer the provider stopped short: it began repeating itself (the stream's loop watch), or the
# whole-call timeout came first. Asked again with the same budget and the grammar's bounds or the penalty:
# more tokens would only loop or wait longer, and the same request again would only get the same answer.
TIMEOUT_FINISH = "timeout"
CUT_SHORT = (LOOP_FINISH, TIMEOUT_FINISH)


def _truncation(response: ChatResponse) -> str | None:
    if response.finish_reason == "length":
        return "the answer was cut off at the token limit (finish_reason=length)"
    if response.finish_reason == LOOP_FINISH:
        return f"the answer started repeating itself and was cut after {len(response.text)} characters"
    if response.finish_reason == TIMEOUT_FINISH:
        return f"the answer did not finish within the timeout ({len(response.text)} characters came)"
    if not response.text.strip() and response.reasoning.strip():
        return "the model spent the whole token budget thinking and gave no answer"
    return None


def _enlarged(llm: LLM, request: ChatRequest, reason: str, response: ChatResponse) -> ChatRequest:
    """The request again with twice the token budget, bounded by a grammar or a repetition penalty."""
    current = request.max_tokens or llm.max_tokens
    cut_short = response.finish_reason in CUT_SHORT
    larger = current if cut_short else current * 2
    # A grammar keeps the answer JSON but lets a small model repeat one value to the limit; bounding every
    # string and list to fit the new budget makes it close them (only where the server makes a grammar).
    # (The level the answer came at: the run may have stepped down from the one the request was written for.)
    bounded = request.json_schema is not None and response.output_mode in SCHEMA_LEVELS
    # Without a grammar (code, prompt-only JSON), a loop is broken by a repetition penalty instead.
    looped = cut_short or repeats_itself(response.text)
    penalty = LOOP_PENALTY if not bounded and looped else request.frequency_penalty
    if bounded:
        how = " (a server that makes a grammar of the schema gets its strings and lists bounded to fit)"
    elif penalty is not None:
        how = f" and frequency_penalty={penalty} (the answer repeats itself)"
    else:
        how = ""
    log.warning("%s %s: %s; asking again with max_tokens=%d%s", request.role, request.action, reason, larger, how)
    return replace(request, max_tokens=larger, bound_grammar=bounded, frequency_penalty=penalty)


def _reask_messages(base: list[ChatMessage], answer: str, failure: ParseFailure | None) -> list[ChatMessage]:
    assert failure is not None  # a re-ask follows a parse failure only
    quoted = answer if len(answer) <= QUOTED_ANSWER_LIMIT else answer[:QUOTED_ANSWER_LIMIT] + "\n[...]"
    feedback = render_prompt("reask.j2", kind=failure.kind, feedback=failure.feedback)
    return [*base, ChatMessage("assistant", quoted), ChatMessage("user", feedback)]
