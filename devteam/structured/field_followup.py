"""Field follow-ups: when an object answer fails on some fields only, ask for those fields alone and merge.

A weak model that leaves out `requirement_analysis` will, asked for the whole document again, mostly send the
same document with the same gap — and every re-ask costs a full answer. A follow-up keeps what was right,
asks only for the fields that were missing, of the wrong type, or echoed the field's description, with a
small schema of just those fields (constrained by the server's grammar where it has one), and merges.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage, ChatRequest, ChatResponse
from devteam.structured.echo import EchoFailure, echoed_fields
from devteam.structured.extract import ParseFailure
from devteam.structured.parse import emit_fixes, parse_structured
from devteam.structured.repeat_guard import RepeatGuard
from devteam.structured.schema import answer_format, to_strict_schema

log = logging.getLogger("devteam.repair")

FIELD_FOLLOWUP = "repair_field_followup"
# Follow-ups could not get real content for an echoed field: optional ones are cleared, required ones kept.
ECHO_UNRESOLVED = "repair_echo_unresolved"
MAX_FIELD_FOLLOWUPS = 2
# The most a follow-up for a few fields can need.
FOLLOWUP_TOKENS = 1024
# The answer the follow-up refers to is quoted; a huge one is cut to keep the prompt small.
QUOTED_ANSWER_LIMIT = 6000

M = TypeVar("M", bound=BaseModel)


@dataclass
class FollowUpResult:
    value: Any  # the merged, validated object; None when the follow-ups ran out
    repairs: list[str]
    calls: int
    native_schema: bool = False
    output_mode: str = "prompt"
    last_problem: str = ""


def fields_model(model: type[BaseModel], keys: list[str]) -> type[BaseModel]:
    """A model of just these top-level fields of `model`, all required (they are what is asked for); other
    keys in the answer (a model that sends the whole object again) are ignored: the kept values stand."""
    definitions: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in keys:
            definitions[name] = (field.annotation, Field(description=field.description, alias=field.alias))
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{model.__name__}Fields", __config__=ConfigDict(extra="ignore", populate_by_name=True), **definitions
    )


async def follow_up_fields(
    llm: LLM,
    request: ChatRequest,
    answer: str,
    failure: ParseFailure,
    model: type[M],
    *,
    repair: bool,
    references: dict[str, list[str]],
    guard: RepeatGuard,
    max_followups: int = MAX_FIELD_FOLLOWUPS,
) -> FollowUpResult:
    """Ask for `failure.fields` until the merged object validates, or `max_followups` calls were made."""
    assert failure.partial is not None
    known = {field.alias or name for name, field in model.model_fields.items()}
    problems = dict(failure.fields)
    kept = {key: value for key, value in failure.partial.items() if key in known and key not in problems}
    dropped = [key for key in failure.partial if key not in known]
    result = FollowUpResult(value=None, repairs=[], calls=0)
    earlier = [*emit_fixes(list(failure.fixes)), *getattr(failure, "repairs", [])]
    # The best object so far when only echoes are wrong with it: what stands if the follow-ups cannot help.
    fallback: BaseModel | None = failure.value if isinstance(failure, EchoFailure) else None
    for attempt in range(1, max_followups + 1):
        small = fields_model(model, list(problems))
        followup = _followup_request(llm, request, answer, problems, small, model)
        admitted = guard.admit(followup)
        if admitted is None:
            result.last_problem = "the follow-up would repeat an identical request; nothing could change"
            break
        llm.ledger.count_field_followup()
        log.info(
            "%s: %s %s: asking for %s only (attempt %d/%d)%s",
            FIELD_FOLLOWUP,
            request.role,
            request.action,
            ", ".join(f"{key} ({problem})" for key, problem in problems.items()),
            attempt,
            max_followups,
            f"; dropped unknown key(s) {', '.join(map(repr, dropped))}" if dropped and attempt == 1 else "",
        )
        started_at = time.time()
        response = await llm.complete(admitted)
        result.calls += 1
        outcome = _problem_with(response)
        stuck = False  # a cut-off or refused answer says nothing about whether asking again helps
        if outcome is None:
            try:
                value, repairs = _merge(
                    response.text, small, model, kept, problems, repair=repair, references=references
                )
            except ParseFailure as again:
                outcome = f"{again.kind}: {again.feedback}"
                fallback = again.value if isinstance(again, EchoFailure) else None
                asked_for = set(problems)
                problems, kept = _next_problems(again, problems, kept)
                stuck = set(problems) == asked_for
            else:
                repairs = [*earlier, *repairs, FIELD_FOLLOWUP]
                llm.settle(admitted, response, repairs=repairs, started_at=started_at)
                result.value, result.repairs = value, list(dict.fromkeys(repairs))
                result.native_schema, result.output_mode = response.native_schema, response.output_mode
                return result
        llm.settle(admitted, response, repairs=[], outcome=f"field follow-up: {outcome}", started_at=started_at)
        result.last_problem = outcome
        answer = response.text
        if stuck:
            # Not one field came right: the next follow-up shows the model this answer and gets it again (the
            # 0.5B's second follow-up failed in 20 of 20 chains over its bench runs). What stands is kept.
            log.info(
                "%s: %s %s: the follow-up fixed none of %s; no further follow-up",
                FIELD_FOLLOWUP,
                request.role,
                request.action,
                ", ".join(problems),
            )
            break
    if fallback is not None:
        result.value = clear_echoes(fallback, model, problems, role=request.role, action=request.action)
        result.repairs = list(dict.fromkeys([*earlier, FIELD_FOLLOWUP, ECHO_UNRESOLVED]))
    return result


def clear_echoes(
    value: BaseModel, model: type[M], echoes: dict[str, str], *, role: str, action: str, asked: bool = True
) -> M:
    """The object with its still-echoed optional fields cleared to their defaults (the required ones stay:
    an echo is poor content, but no reason to lose the whole document)."""
    data = value.model_dump(by_alias=True)
    cleared: list[str] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in echoes and not field.is_required():
            data[key] = field.get_default(call_default_factory=True)
            cleared.append(key)
    kept = [key for key in echoes if key not in cleared]
    log.info(
        "%s: %s %s: %s %s; %s",
        ECHO_UNRESOLVED,
        role,
        action,
        ", ".join(echoes),
        "still repeat their descriptions after the follow-ups" if asked else "repeat their descriptions",
        "; ".join(
            part
            for part in (f"cleared {', '.join(cleared)}" if cleared else "", f"kept {', '.join(kept)}" if kept else "")
            if part
        ),
    )
    return model.model_validate(data)


def _followup_request(
    llm: LLM,
    request: ChatRequest,
    answer: str,
    problems: dict[str, str],
    small: type[BaseModel],
    model: type[BaseModel],
) -> ChatRequest:
    descriptions = {
        field.alias or name: field.description
        for name, field in model.model_fields.items()
        if (field.alias or name) in problems and field.description
    }
    output_mode = llm.output_mode(wants_json=True)
    # Where the server holds the answer to the small schema, the descriptions above say all it needs: the same
    # decision as a whole answer's format (`answer_format` gives no schema text then).
    schema = answer_format(small, output_mode=output_mode)["schema"]
    prompt = render_prompt("field_followup.j2", problems=problems, descriptions=descriptions, schema=schema)
    quoted = answer if len(answer) <= QUOTED_ANSWER_LIMIT else answer[:QUOTED_ANSWER_LIMIT] + "\n[...]"
    messages = [*request.messages, ChatMessage("assistant", quoted), ChatMessage("user", prompt)]
    return replace(
        request,
        messages=messages,
        json_schema=to_strict_schema(small),
        schema_name=small.__name__,
        output_mode=output_mode,
        # A few fields need far less than the whole answer did: a follow-up that loops is cut early.
        max_tokens=min(FOLLOWUP_TOKENS, llm.max_tokens),
    )


def _problem_with(response: ChatResponse) -> str | None:
    if response.finish_reason == "length":
        return "truncated: the answer was cut off at the token limit"
    if response.refusal:
        return f"refused: {response.refusal}"
    return None


def _merge(
    text: str,
    small: type[BaseModel],
    model: type[M],
    kept: dict[str, Any],
    problems: dict[str, str],
    *,
    repair: bool,
    references: dict[str, list[str]],
) -> tuple[M, list[str]]:
    """The follow-up's fields merged into what was kept, validated as the whole `model`."""
    parsed = parse_structured(text, small, repair=repair)
    asked = parsed.value.model_dump(by_alias=True)
    try:
        merged = model.model_validate({**kept, **asked})
    except ValidationError as error:
        fields = {str(item["loc"][0]): str(item["msg"]) for item in error.errors() if item["loc"]}
        raise ParseFailure("validation", str(error).splitlines()[0], partial={**kept, **asked}, fields=fields) from None
    echoes = echoed_fields(parsed.value, {key: references.get(key, []) for key in problems})
    if echoes:
        failure = EchoFailure(merged, echoes)
        failure.partial = asked  # the fields asked for, for the next round
        raise failure
    return merged, parsed.repairs


def _next_problems(
    failure: ParseFailure, problems: dict[str, str], kept: dict[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """What to ask for next: the fields still wrong (quoting the new error), keeping any that came right."""
    if failure.partial is None or not failure.fields:
        return {key: failure.feedback for key in problems}, kept
    now_right = {key: value for key, value in failure.partial.items() if key in problems and key not in failure.fields}
    still = {key: failure.fields.get(key, problem) for key, problem in problems.items() if key not in now_right}
    return still or {key: failure.feedback for key in problems}, {**kept, **now_right}
