"""Checks on what a server sent, before any of it is used.

The openai SDK builds its response objects without validating them and httpx hands over whatever bytes
came, so a broken proxy or a hostile server can put anything anywhere: an HTML page where a completion
belongs, a string where `choices` holds objects, a list where a token count goes. The providers' parsers
check each field they read with these helpers and raise `MalformedAnswer`; each provider turns that (and
the JSON decoder's own errors) into a `ProviderError` in the one place it maps library exceptions.
"""

from __future__ import annotations

from typing import Any

_SHOWN = 80


class MalformedAnswer(ValueError):
    """The answer does not have the shape its protocol promises."""


def describe_value(value: Any) -> str:
    """A short phrase for what was found instead: `a JSON list`, `the text '<html>…'`."""
    if isinstance(value, str):
        shown = " ".join(value.split())
        shown = shown if len(shown) <= _SHOWN else shown[: _SHOWN - 1] + "…"
        return f"the text {shown!r}"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a JSON list"
    if isinstance(value, dict):
        return "a JSON object"
    if value is None:
        return "nothing (null)"
    return "an object of an unexpected kind"


def require(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """`value` when it is of `kind`; a `MalformedAnswer` naming `what` otherwise."""
    if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
        return value
    raise MalformedAnswer(f"{what} is {describe_value(value)}")


def optional_text(value: Any, what: str) -> str:
    """A text field that may be absent or null: "" then."""
    if value is None:
        return ""
    return require(value, str, what)


def token_count(value: Any, what: str) -> float | None:
    """A reported token count as a number (judged later by `usage.plausible_usage`), None when absent.

    A count that is not a number at all (a string, a list) is a malformed answer; a number that makes no
    sense (negative, NaN, far too large) is the usage check's business, not a reason to drop the answer.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedAnswer(f"{what} is {describe_value(value)}, not a token count")
    return value
