"""Repairs: JSON syntax first (text level), then the object against the pydantic model (schema level).

Each repair runs only when it is needed and reports a `Fix`, so a clean answer passes untouched and a user
can grep the log to see what their model gets wrong. `json_repair` does the heavy syntax lifting; the rest
covers what it cannot know: quotes that only look like quotes, Python literals, the shape the model expects.
"""

from __future__ import annotations

import json
import re
import types
from enum import Enum
from functools import lru_cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from devteam.structured.extract import JSON_SYNTAX, Fix, ParseFailure, preview
from devteam.structured.json_text import string_mask, tokens
from devteam.structured.schema import accepts_none

PYTHON_LITERALS = "repair_python_literals"
SMART_QUOTES = "repair_smart_quotes"
CONTROL_CHARS = "repair_control_chars"
DOUBLE_ENCODED = "repair_double_encoded"
UNWRAP = "repair_unwrap"
KEY_CASE = "repair_key_case"
ENUM_CASE = "repair_enum_case"
WRAP_LIST = "repair_wrap_list"
COERCE_TYPE = "repair_coerce_type"
TRIPLE_QUOTES = "repair_triple_quotes"
INVALID_ESCAPE = "repair_invalid_escape"
NUMBERED_KEYS = "repair_numbered_keys"
NAMELESS_KEYS = "repair_nameless_keys"
POSITIONAL_OBJECT = "repair_positional_object"

_SMART_DOUBLE = "“”„"
_SMART_SINGLE = "‘’‚"
_PY_LITERAL = re.compile(r"(?<![\w.$])(None|True|False)(?![\w.])")
_PY_TO_JSON = {"None": "null", "True": "true", "False": "false"}
_TRIPLE_QUOTED = re.compile(r'("""|\'\'\')(.*?)\1', re.S)
_JSON_ESCAPES = set('"\\/bfnrtu')
# Markdown's `send\_message`: the backslash is noise, and `_` means `_` in a regex too. Every other invalid
# escape keeps its backslash (`"\s*path\("` is a regex in a code field): dropping it would change the data.
_DROPPED_ESCAPES = set("_")
# Keys that name no field: a number (a numbered list written as an object) or null.
_NAMELESS_KEY = re.compile(r"^(?:-?\d+(?:\.\d+)?|null|None|)$")


# --- syntax: text -> Python object ----------------------------------------------------------------------


def decode_json(text: str) -> tuple[Any, list[Fix]]:
    """Parse `text` as JSON, repairing its syntax if it must; raises ParseFailure("invalid_json")."""
    try:
        return json.loads(text), []
    except (ValueError, RecursionError) as error:
        first_error = error
    fixes: list[Fix] = []
    fixed = text
    conversions = (
        (TRIPLE_QUOTES, _triple_quotes_to_json),
        (INVALID_ESCAPE, _invalid_escapes_to_json),
        (SMART_QUOTES, _smart_quotes_to_json),
        (PYTHON_LITERALS, _python_literals_to_json),
    )
    for marker, convert in conversions:
        converted, detail = convert(fixed)
        if converted != fixed:
            fixes.append(Fix(marker, detail))
            fixed = converted
    if _has_raw_control_chars(fixed):
        fixes.append(Fix(CONTROL_CHARS, "raw newlines/tabs inside strings"))
    try:
        return json.loads(fixed, strict=False), fixes
    except (ValueError, RecursionError):
        pass
    quoted, count = _stray_quotes_escaped(fixed)
    if count:
        try:
            value = json.loads(quoted, strict=False)
        except (ValueError, RecursionError):
            pass  # more is wrong than the quotes: json_repair below, checked for what it split
        else:
            return value, [*fixes, Fix(JSON_SYNTAX, f"{count} unescaped quote(s) inside strings")]
    split = None
    for source in [quoted, fixed] if count else [fixed]:
        value = _json_repair(source)
        if not isinstance(value, (dict, list)) or (not value and len(source.strip()) > 2):
            continue
        split = _split_string(value, source)
        if split is None:
            fixes.append(Fix(JSON_SYNTAX, _describe(first_error)))
            return value, fixes
    if split is not None:
        # json_repair guessed where a string ends and cut one value in pieces: a guess that changes the data.
        raise ParseFailure(
            "invalid_json",
            f"the JSON could not be parsed ({_describe(first_error)}): a quote inside the string near "
            f'{preview(split, 32)} is not escaped; write a quote inside a string as \\"',
        )
    raise ParseFailure("invalid_json", f"the JSON could not be parsed: {_describe(first_error)}")


_LITERAL_AFTER_COMMA = re.compile(r"(?:true|false|null)\b|[A-Za-z_][\w\- ]{0,40}\s*:|[-\d]")


def _stray_quotes_escaped(text: str) -> tuple[str, int]:
    """`"Button "Save" fails"`: a `"` inside a string that nothing JSON could follow is escaped.

    A quote closes its string only where the JSON can go on after it: `:`, `}`, `]`, the end, a comment, a
    value on the next line, or a comma followed by a value or key. Anything else (a word, a second quote on the
    same line) makes the quote part of the string. Quotes inside one string come in pairs (`"Save"`); an odd
    number leaves the string's end a guess, and nothing is escaped. Returns the text and the quotes escaped."""
    out: list[str] = []
    inside = escaped = False
    count = in_string = 0
    for i, ch in enumerate(text):
        if not inside:
            inside = ch == '"'
        elif escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            if _closes_string(text, i + 1):
                if in_string % 2:
                    return text, 0  # `"Say "hi", "bye" twice"`: which quote ends the string is a guess
                inside, in_string = False, 0
            else:
                out.append("\\")
                count += 1
                in_string += 1
        out.append(ch)
    return ("".join(out), count) if not inside else (text, 0)


def _closes_string(text: str, pos: int) -> bool:
    rest = text[pos:]
    after = rest.lstrip()
    if not after or after[0] in ":}]" or after.startswith(("//", "/*")):
        return True
    if after[0] == '"':
        return True  # a missing comma, or a second string: json_repair's business, checked afterwards
    if after[0] != ",":
        return False
    following = after[1:].lstrip()
    return (
        not following
        or following[0] in '"{[]}'
        or following.startswith(("//", "/*"))
        or _LITERAL_AFTER_COMMA.match(following) is not None
    )


def _split_string(value: Any, source: str) -> str | None:
    """A string of `value` that `source` only ever shows quoted on one side (`"a "b, c" d"` read as four
    items): json_repair ended a string at a quote inside it. Returns that string, or None."""
    for text in _string_leaves(value):
        stripped = text.strip()
        if not stripped:
            continue
        forms = {text, json.dumps(text, ensure_ascii=False)[1:-1]}
        sides = [_quoted_sides(source, form) for form in forms]
        seen = [side for found in sides for side in found]
        if seen and all(side == 1 for side in seen):
            return text
    return None


def _string_leaves(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [leaf for inner in value.values() for leaf in _string_leaves(inner)]
    if isinstance(value, list):
        return [leaf for inner in value for leaf in _string_leaves(inner)]
    return []


def _quoted_sides(source: str, form: str) -> list[int]:
    """For each place `form` stands alone in `source` (quoted, or between JSON delimiters), how many of its two
    sides are quotes."""
    found: list[int] = []
    start = source.find(form)
    while start != -1 and len(found) < 50:
        before = source[start - 1] if start else ""
        after = source[start + len(form)] if start + len(form) < len(source) else ""
        quotes = (before in "\"'" and before != "") + (after in "\"'" and after != "")
        if quotes or (before in " \t\n[{:," and after in " \t\n]},:"):
            found.append(quotes)
        start = source.find(form, start + 1)
    return found


def _json_repair(text: str) -> Any:
    from json_repair import repair_json  # only an answer that needs repair pays for the import

    try:
        return repair_json(text, return_objects=True, skip_json_loads=True)
    except Exception:  # noqa: BLE001 -- a third-party heuristic parser; whatever breaks in it, the answer is unusable
        return None


def _describe(error: BaseException) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    return str(error)


def _has_raw_control_chars(text: str) -> bool:
    mask = string_mask(text, '"')
    return any(inside and ch < " " for ch, inside in zip(text, mask))


def _triple_quotes_to_json(text: str) -> tuple[str, str]:
    """Python's triple-quoted values (three double or three single quotes) as JSON strings."""
    converted, count = _TRIPLE_QUOTED.subn(lambda m: json.dumps(m.group(2)), text)
    return converted, f"{count} triple-quoted value(s)" if count else ""


def _invalid_escapes_to_json(text: str) -> tuple[str, str]:
    """Backslashes JSON does not allow inside strings: `\\_` (markdown) loses the backslash, `\\'` becomes a
    quote, anything else (a regex `\\s*\\(`, a Windows path) keeps its backslash, escaped, as the model wrote it."""
    out: list[str] = []
    found: list[str] = []
    for token in tokens(text, quotes="\"'"):
        if token.kind != "escape" or len(token.text) < 2:
            out.append(token.text)
            continue
        nxt = token.text[1]
        if nxt in _JSON_ESCAPES or (nxt == "'" and token.quote == "'"):
            out.append(token.text)
        else:
            found.append(token.text)
            out.append(nxt if nxt in _DROPPED_ESCAPES or nxt == "'" else "\\\\" + nxt)
    return "".join(out), ", ".join(dict.fromkeys(found))


def _python_literals_to_json(text: str) -> tuple[str, str]:
    mask = string_mask(text, "\"'")
    hits = [m for m in _PY_LITERAL.finditer(text) if not mask[m.start()]]
    for match in reversed(hits):
        text = text[: match.start()] + _PY_TO_JSON[match.group()] + text[match.end() :]
    names = dict.fromkeys(m.group() for m in hits)
    return text, ", ".join(f"{name} -> {_PY_TO_JSON[name]}" for name in names)


def _smart_quotes_to_json(text: str) -> tuple[str, str]:
    """Turn “ ” ‘ ’ used as JSON quotes into ", leaving typographic quotes inside real strings alone."""
    if not any(ch in text for ch in _SMART_DOUBLE + _SMART_SINGLE):
        return text, ""
    out: list[str] = []
    closers = ""  # "" outside a string
    escaped = False
    for i, ch in enumerate(text):
        if not closers:
            if ch in "\"'":
                closers = ch
            elif ch in _SMART_DOUBLE + _SMART_SINGLE:
                closers = (_SMART_DOUBLE + '"') if ch in _SMART_DOUBLE else _SMART_SINGLE
                ch = '"'
        elif escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif closers in "\"'":
            closers = "" if ch == closers else closers
        elif ch in closers and _ends_value(text, i + 1):
            closers, ch = "", '"'
        elif ch == '"':
            ch = '\\"'
        out.append(ch)
    return "".join(out), "“ ” ‘ ’ used as JSON quotes"


def _ends_value(text: str, pos: int) -> bool:
    rest = text[pos:].lstrip()
    return not rest or rest[0] in ",:}]"


# --- schema: Python object -> what the model accepts -------------------------------------------------


def repair_for_model(value: Any, model: type[BaseModel]) -> tuple[Any, list[Fix]]:
    """Fit a decoded answer to `model`: unwrap, rename keys, fix enum case and scalar/list shapes."""
    fixes: list[Fix] = []
    value = _decode_if_encoded(value, "the answer", fixes)
    value = _unwrap(value, model, fixes)
    if isinstance(value, dict):
        value = _repair_object(value, model, "", fixes)
    return value, fixes


def _decode_if_encoded(value: Any, where: str, fixes: list[Fix]) -> Any:
    """A JSON string whose content is the object (or list) that was expected."""
    if not isinstance(value, str) or value.strip()[:1] not in ("{", "["):
        return value
    try:
        decoded, inner = decode_json(value.strip())
    except ParseFailure:
        return value
    if not isinstance(decoded, (dict, list)):
        return value
    fixes.append(Fix(DOUBLE_ENCODED, f"{where} was a JSON string holding the JSON"))
    fixes.extend(inner)
    return decoded


def _unwrap(value: Any, model: type[BaseModel], fixes: list[Fix]) -> Any:
    for _ in range(3):  # {"data": {"PRD": {...}}} is as deep as it gets in practice
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            fixes.append(Fix(UNWRAP, "a one-element list around the object"))
            value = value[0]
            continue
        key = _wrapper_key(value, model) if isinstance(value, dict) else None
        if key is None:
            return value
        fixes.append(Fix(UNWRAP, f"{key!r} wrapper"))
        value = value[key]
    return value


def _wrapper_key(obj: dict[str, Any], model: type[BaseModel]) -> str | None:
    """The key of a nested object that fits `model` better than `obj` itself, e.g. "PRD" or "properties"."""
    best, best_fit = None, _score(obj, model)
    for key, inner in obj.items():
        if isinstance(inner, list) and len(inner) == 1:
            inner = inner[0]  # {"tickets": [{...}]}: the one-element list is unwrapped next
        if isinstance(inner, dict) and _squash(key) not in _field_lookup(model):
            fit = _fit(inner, model, depth=2)
            if fit > best_fit:
                best, best_fit = key, fit
    return best


def _fit(obj: dict[str, Any], model: type[BaseModel], *, depth: int) -> int:
    """How well `obj`, or an object wrapped inside it, matches the model's fields."""
    nested = [_fit(v, model, depth=depth - 1) for v in obj.values() if isinstance(v, dict)] if depth else []
    return max([_score(obj, model), *nested])


def _score(obj: dict[str, Any], model: type[BaseModel]) -> int:
    lookup = _field_lookup(model)
    return sum(1 for key in obj if _squash(key) in lookup)


def _squash(key: str) -> str:
    return re.sub(r"[\W_]+", "", key).lower()


@lru_cache(maxsize=256)
def _field_lookup(model: type[BaseModel]) -> dict[str, str]:
    """Squashed spelling -> the key pydantic expects: "Original Requirements" and "originalRequirements"
    both squash to "originalrequirements"."""
    return {_squash(name): field.alias or name for name, field in model.model_fields.items()}


def _repair_object(obj: dict[str, Any], model: type[BaseModel], path: str, fixes: list[Fix]) -> dict[str, Any]:
    lookup = _field_lookup(model)
    expected = set(lookup.values())
    nameless = [key for key in obj if key not in expected and _NAMELESS_KEY.match(key.strip())]
    if nameless:
        # Nothing says which field they meant; a required field they held is then asked for on its own.
        fixes.append(Fix(NAMELESS_KEYS, f"{path or 'the object'}: dropped key(s) {', '.join(map(repr, nameless))}"))
        obj = {key: value for key, value in obj.items() if key not in nameless}
    renamed: dict[str, Any] = {}
    for key, value in obj.items():
        target = key if key in expected else lookup.get(_squash(key), key)
        if target != key and (target in obj or target in renamed):
            target = key  # never let a renamed key overwrite one spelled right
        if target != key:
            fixes.append(Fix(KEY_CASE, f"{path}{key!r} -> {target!r}"))
        renamed[target] = value
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    result: dict[str, Any] = {}
    for key, value in renamed.items():
        field = fields.get(key)
        if field is None:
            result[key] = value
        elif value is None and not field.is_required() and not accepts_none(field.annotation):
            continue  # strict schemas send null for optional fields: let the default apply, silently
        else:
            result[key] = _repair_value(value, field.annotation, f"{path}{key}", fixes)
    return result


def _repair_value(value: Any, annotation: Any, path: str, fixes: list[Fix]) -> Any:
    annotation = _strip_optional(annotation)
    if value is None:
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        value = _decode_if_encoded(value, repr(path), fixes)
        value = _positional_to_object(value, annotation, path, fixes)
        return _repair_object(value, annotation, f"{path}.", fixes) if isinstance(value, dict) else value
    item = _list_item(annotation)
    if item is not None:
        return _repair_list(value, item, path, fixes)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _match_choice(value, [member.value for member in annotation], path, fixes)
    if get_origin(annotation) is Literal:
        return _match_choice(value, list(get_args(annotation)), path, fixes)
    if annotation is str:
        return _coerce_to_str(value, path, fixes)
    return value


def _positional_to_object(value: Any, model: type[BaseModel], path: str, fixes: list[Fix]) -> Any:
    """MetaGPT's own PRD format writes objects as rows: `["Eat food to grow", "P0"]` for
    `{"requirement": ..., "priority": ...}`. A row of plain values, one per field in order, becomes the object."""
    names = [field.alias or name for name, field in model.model_fields.items()]
    if (
        isinstance(value, (list, tuple))
        and len(value) == len(names)
        and all(isinstance(item, (str, int, float, bool)) for item in value)
    ):
        fixes.append(Fix(POSITIONAL_OBJECT, f"{path}: a row of {len(names)} values read as {{{', '.join(names)}}}"))
        return dict(zip(names, value))
    return value


def _repair_list(value: Any, item: Any, path: str, fixes: list[Fix]) -> list[Any]:
    value = _decode_if_encoded(value, repr(path), fixes)
    if isinstance(value, dict) and value and all(re.fullmatch(r"\s*\d+\s*", str(key)) for key in value):
        fixes.append(Fix(NUMBERED_KEYS, f"{path}: an object numbered {', '.join(map(str, value))} -> a list"))
        value = [value[key] for key in sorted(value, key=int)]
    if not isinstance(value, list):
        fixes.append(Fix(WRAP_LIST, f"{path}: a single {type(value).__name__} where a list is expected"))
        value = [value]
    return [_repair_value(element, item, f"{path}[{i}]", fixes) for i, element in enumerate(value)]


def _list_item(annotation: Any) -> Any | None:
    """The item type if `annotation` is a homogeneous sequence (list[X], set[X], tuple[X, ...])."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (list, set, frozenset):
        return args[0] if args else Any
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return None


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        others = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(others) == 1:
            return others[0]
    return annotation


def _match_choice(value: Any, choices: list[Any], path: str, fixes: list[Fix]) -> Any:
    if not isinstance(value, str) or value in choices:
        return value
    wanted = value.strip().casefold()
    for choice in choices:
        if isinstance(choice, str) and choice.casefold() == wanted:
            fixes.append(Fix(ENUM_CASE, f"{path}: {value!r} -> {choice!r}"))
            return choice
    return value


def _coerce_to_str(value: Any, path: str, fixes: list[Fix]) -> Any:
    """Numbers, booleans and lists of lines where a string is expected; anything else is left to fail."""
    if isinstance(value, (bool, int, float)):
        text = json.dumps(value)
    elif isinstance(value, list) and all(isinstance(item, (str, int, float)) for item in value):
        text = "\n".join(str(item) for item in value)
    elif isinstance(value, dict) and all(isinstance(item, (str, int, float)) for item in value.values()):
        text = "\n".join(f"{key}: {item}" for key, item in value.items())
    else:
        return value
    fixes.append(Fix(COERCE_TYPE, f"{path}: {type(value).__name__} {preview(json.dumps(value), 32)} -> string"))
    return text
