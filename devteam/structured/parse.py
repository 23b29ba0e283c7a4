"""The entry point of the ladder: answer text -> validated pydantic object (or code), or a ParseFailure.

With `repair=False` the answer must be JSON as it stands (json.loads, else raw_decode from the first bracket);
with `repair=True` it goes through extract -> decode/repair -> schema repair -> validate, and every fix that
fired is logged on "devteam.repair" as one line starting with its marker.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from devteam.structured.extract import (
    Candidate,
    Fix,
    ParseFailure,
    closes_too_early,
    code_block,
    cut_off_reason,
    json_candidates,
    looks_like_refusal,
    no_json_failure,
    strip_wrapping,
)
from devteam.structured.repair import decode_json, repair_for_model
from devteam.structured.schema import drop_strict_nulls

__all__ = ["CodeExtraction", "ParseFailure", "ParseResult", "emit_fixes", "extract_code", "parse_structured"]

log = logging.getLogger("devteam.repair")

M = TypeVar("M", bound=BaseModel)

# Enough of pydantic's errors for the model to fix its answer, not a wall of text.
MAX_REPORTED_ERRORS = 8
# One log line per marker; forty renamed keys need not all be spelled out.
MAX_LOG_DETAIL = 1200


@dataclass
class ParseResult(Generic[M]):
    value: M
    repairs: list[str]  # markers that fired, in order, each once


@dataclass
class CodeExtraction:
    code: str  # ends with exactly one newline
    repairs: list[str]


@dataclass
class _Decoded:
    candidate: Candidate
    value: Any = None
    fixes: tuple[Fix, ...] = ()
    failure: ParseFailure | None = None


def parse_structured(text: str, model: type[M], *, repair: bool) -> ParseResult[M]:
    """Turn one answer into a `model` instance; raises ParseFailure (and nothing else) when it cannot."""
    if not text or not text.strip():
        raise ParseFailure("empty", "the answer was empty; reply with the JSON object")
    if not repair:
        return ParseResult(_validate(drop_strict_nulls(_decode_strict(text.strip()), model), model), [])
    cleaned, fixes = strip_wrapping(text)
    if not cleaned.strip():
        raise ParseFailure("empty", "the answer held only reasoning and no JSON; reply with the JSON object")
    candidates = json_candidates(cleaned)
    if not candidates:
        raise no_json_failure(cleaned)
    try:
        value, more = _first_valid([_decode(c) for c in candidates], model)
    except ParseFailure as failure:
        if failure.partial is not None:
            failure.fixes = [*fixes, *failure.fixes]  # what shaped the object the fields are merged into
        raise
    return ParseResult(value, emit_fixes([*fixes, *more]))


def extract_code(text: str, *, language: str | None = None, repair: bool = True) -> CodeExtraction:
    """The code of a code-writing answer: its fenced block (in `language` if several), else the whole text."""
    fixes: list[Fix] = []
    if repair:
        text, fixes = strip_wrapping(text)
    if looks_like_refusal(text):
        raise ParseFailure("refusal", f"the model refused: {text.strip()[:160]}")
    code, more = code_block(text, language, tolerate_unclosed=repair)
    code = code.strip("\n").rstrip()
    if not code.strip():
        raise ParseFailure("empty", "the answer held no code; give the whole file in one fenced block")
    return CodeExtraction(code + "\n", emit_fixes([*fixes, *more]))


def _decode_strict(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    starts = [i for i in (text.find("{"), text.find("[")) if i != -1]
    if not starts:
        raise no_json_failure(text)
    try:
        value, end = json.JSONDecoder().raw_decode(text, min(starts))
    except (ValueError, RecursionError) as error:
        raise ParseFailure("invalid_json", f"the answer is not valid JSON: {error}") from None
    if closes_too_early(text, end):
        raise ParseFailure("invalid_json", "the object was closed with '}' before its last keys; send one object")
    return value


def _decode(candidate: Candidate) -> _Decoded:
    if candidate.cut_in_string:
        return _Decoded(candidate, failure=_truncated("it ends inside a string"))
    if candidate.unterminated:
        # Cut-off answers are not data: closing them would silently drop what the model did not get to write.
        reason = cut_off_reason(candidate.text)
        if reason is not None:
            return _Decoded(candidate, failure=_truncated(reason))
    try:
        value, fixes = decode_json(candidate.text)
    except ParseFailure as failure:
        return _Decoded(candidate, failure=failure)
    return _Decoded(candidate, value, tuple(fixes))


def _first_valid(decoded: list[_Decoded], model: type[M]) -> tuple[M, list[Fix]]:
    """Validate candidates in order of trust: clean JSON first, then repaired, then the unterminated."""
    ordered = sorted(decoded, key=lambda d: (d.failure is not None, bool(d.fixes), d.candidate.unterminated))
    failures: list[tuple[Candidate, ParseFailure]] = []
    for item in ordered:
        if item.failure is not None:
            failures.append((item.candidate, item.failure))
            continue
        value, schema_fixes = repair_for_model(item.value, model)
        fixes = [*item.candidate.fixes, *item.fixes, *schema_fixes]
        try:
            return model.model_validate(value), fixes
        except ValidationError as error:
            feedback = _validation_feedback(error)
            if item.candidate.unterminated:
                failures.append((item.candidate, _truncated(feedback)))
            else:
                failures.append((item.candidate, _field_failure(feedback, error, value, model, fixes)))
    raise _worst(failures)


def _field_failure(
    feedback: str, error: ValidationError, value: Any, model: type[BaseModel], fixes: list[Fix]
) -> ParseFailure:
    """A validation failure that names its top-level fields, when the answer was an object: those fields
    alone can be asked for again, the rest kept."""
    if not isinstance(value, dict):
        return ParseFailure("validation", feedback)
    known = {field.alias or name for name, field in model.model_fields.items()}
    fields: dict[str, str] = {}
    for item in error.errors():
        head = item["loc"][0] if item["loc"] else None
        if isinstance(head, str) and head in known:
            fields.setdefault(head, _problem(item))
    if not fields:
        return ParseFailure("validation", feedback)
    return ParseFailure("validation", feedback, partial=value, fields=fields, fixes=fixes)


def _problem(item: Any) -> str:
    where = ".".join(str(part) for part in item["loc"][1:])
    return f"{where}: {item['msg']}" if where else str(item["msg"])


def _worst(failures: list[tuple[Candidate, ParseFailure]]) -> ParseFailure:
    """The failure to report: truncation if the answer was cut, else the one about the largest candidate."""
    for candidate, failure in failures:
        if candidate.unterminated:
            if failure.kind == "invalid_json" and candidate.text.rstrip().endswith(("}", "]")):
                return failure  # it ends as JSON ends: an odd quote inside a string made it look open
            return failure if failure.kind == "truncated" else _truncated("")
    return max(failures, key=lambda pair: len(pair[0].text))[1]


def _truncated(errors: str) -> ParseFailure:
    feedback = "the JSON was cut off before it was complete"
    return ParseFailure("truncated", f"{feedback} ({errors})" if errors else feedback)


def _validate(value: Any, model: type[M]) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise ParseFailure("validation", _validation_feedback(error)) from None


def _validation_feedback(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:MAX_REPORTED_ERRORS]:
        location = ".".join(str(part) for part in item["loc"])
        parts.append(f"field {location!r}: {item['msg']}" if location else item["msg"])
    hidden = error.error_count() - MAX_REPORTED_ERRORS
    return "; ".join(parts) + (f"; and {hidden} more" if hidden > 0 else "")


def emit_fixes(fixes: list[Fix]) -> list[str]:
    """Log one line per marker (its details joined) and return the markers in the order they first fired."""
    details: dict[str, list[str]] = {}
    for fix in fixes:
        details.setdefault(fix.marker, [])
        if fix.detail and fix.detail not in details[fix.marker]:
            details[fix.marker].append(fix.detail)
    for marker, lines in details.items():
        detail = "; ".join(lines)
        if len(detail) > MAX_LOG_DETAIL:
            detail = detail[: MAX_LOG_DETAIL - 3] + "..."
        log.info("%s: %s", marker, detail)
    return list(details)
