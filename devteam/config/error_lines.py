"""Turning pydantic's ValidationError into one readable line per problem: the key, where it came from, the fix.

Pydantic's own text ("Input should be a valid number, unable to parse string as a number [type=float_parsing,
...]") names neither the file nor the fix, and echoes inputs — including, one day, an API key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from devteam.config.sources import describe_type, join_key

# Errors our own validators raise with a field name, so a model-level check can still point at one key.
FIELD_ERROR = "devteam_config"
SECRET_KEYS = frozenset({"api_key"})
API_TYPE_HINT = "; for any other OpenAI-compatible server use api_type: open_llm with its base_url"

Where = Callable[[str], str]


def field_error(field: str, message: str) -> PydanticCustomError:
    """An error about `field`, raised from a model validator (which pydantic would place on the model)."""
    return PydanticCustomError(FIELD_ERROR, message, {"field": field})


def describe_validation_error(exc: ValidationError, *, where: Where, prefix: str = "", label: str = "") -> str:
    """One line per problem: `KEY[ label] WHERE must be ..., got ...`.

    `where(key)` says where a key's value came from ("in FILE:LINE", "from environment variable X");
    `prefix` places a nested model's keys (`roles[0].llm`), `label` names the role.
    """
    return "\n".join(_describe(error, where, prefix, label) for error in exc.errors())


def _describe(error: ErrorDetails, where: Where, prefix: str, label: str) -> str:
    key = prefix
    for part in error["loc"]:
        key = join_key(key, part)
    if error["type"] == FIELD_ERROR:
        key = join_key(key, str(error.get("ctx", {})["field"]))
        return f"{key}{label} {where(key)} {error['msg']}"
    return f"{key}{label} {where(key)} {_phrase(error, key)}"


def _phrase(error: ErrorDetails, key: str) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    got = _shown(error.get("input"), key)
    if kind == "missing":
        return f"is missing; add `{key.rsplit('.', 1)[-1]}: ...` there"
    if kind == "literal_error":
        hint = API_TYPE_HINT if key.endswith("api_type") else ""
        return f"must be one of {ctx.get('expected')}, got {got}{hint}"
    if kind in _BOUNDS:
        return f"must be {_BOUNDS[kind]} {next(iter(ctx.values()), '')}, got {got}"
    if kind in _KINDS:
        return f"must be {_KINDS[kind]}, got {got}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return "is not a setting devteam knows; remove it"
    return f"is not valid ({error['msg']}), got {got}"


_KINDS = {
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text (quote it if YAML reads it as something else)",
    "dict_type": "a mapping (indented `key: value` lines)",
    "model_type": "a mapping (indented `key: value` lines)",
    "model_attributes_type": "a mapping (indented `key: value` lines)",
    "list_type": "a list of entries starting with `- `",
    "string_too_short": "non-empty text",
}
_BOUNDS = {
    "greater_than": "more than",
    "greater_than_equal": "at least",
    "less_than": "less than",
    "less_than_equal": "at most",
}


def _shown(value: Any, key: str) -> str:
    """The offending input for the message — never a secret's value."""
    if key.rsplit(".", 1)[-1] in SECRET_KEYS:
        return f"a value of type {type(value).__name__}"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return describe_type(value)
