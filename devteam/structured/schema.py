"""JSON schemas for a pydantic model: OpenAI's strict form for `response_format`, and a text for prompts.

Strict mode (OpenAI, and servers that copy it) wants every object closed (`additionalProperties: false`), every
property listed in `required` (optional ones made nullable instead), no `default`, no `oneOf`/`allOf`, and
nothing beside a `$ref`. Null for an optional field is turned back into its default by the repair step.
"""

from __future__ import annotations

import json
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from devteam.llm.types import SCHEMA_LEVELS
from devteam.structured.skeleton import skeleton

# Keywords strict mode rejects or that only cost tokens; `title` repeats the property name.
_DROPPED = frozenset({"default", "title", "discriminator"})
_NULL = {"type": "null"}


def to_strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAI strict form of `model.model_json_schema()`; `$defs`/`$ref` and descriptions are kept."""
    schema = model.model_json_schema()
    return _strict(schema, schema.get("$defs", {}))


def drop_strict_nulls(value: Any, model: type[BaseModel]) -> Any:
    """Undo strict mode's convention on an answer: a null for an optional field that does not take None
    means "not given", so the key is dropped and the field's default applies — at every depth.

    This is reading the schema we sent, not repairing: it applies with `repair_llm_output: false` too, or a
    schema-valid answer from a strict-mode server would fail validation.
    """
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {}
    for key, item in value.items():
        field = model.model_fields.get(key) if isinstance(key, str) else None
        if field is None:
            kept[key] = item  # not ours to judge: validation reports an unknown key
        elif item is None and not field.is_required() and not accepts_none(field.annotation):
            continue
        else:
            kept[key] = _drop_nested(item, field.annotation)
    return kept


def _drop_nested(value: Any, annotation: Any) -> Any:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(value, dict):
            return drop_strict_nulls(value, member)
        if get_origin(member) is list and isinstance(value, list):
            (item,) = get_args(member) or (Any,)
            return [_drop_nested(element, item) for element in value]
    return value


def _members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(arg for arg in get_args(annotation) if arg is not type(None))
    return (annotation,)


def accepts_none(annotation: Any) -> bool:
    """Whether a field's type takes None itself (`str | None`), so a null is a value, not "not given"."""
    if annotation in (None, type(None), Any):
        return True
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def schema_for_prompt(model: type[BaseModel]) -> str:
    """The model's JSON schema as indented text to embed in a prompt (titles dropped, defaults kept)."""
    return json.dumps(_without_titles(model.model_json_schema()), indent=2, ensure_ascii=False)


def answer_format(model: type[BaseModel], *, output_mode: str) -> dict[str, Any]:
    """The `json_answer.j2` variables: when the server enforces the schema, a compact list of the fields
    (what each means; the server already knows the exact shape); otherwise the full schema and a skeleton,
    which are all a prompt-only model has to go on."""
    if output_mode in SCHEMA_LEVELS:  # the server holds the answer to the schema (constrained decoding)
        return {"enforced": True, "fields": describe_fields(model), "schema": "", "skeleton": ""}
    return {"enforced": False, "fields": "", "schema": schema_for_prompt(model), "skeleton": skeleton(model)}


def describe_fields(model: type[BaseModel]) -> str:
    """One line per field: `- name (type): description`, nested objects inline (`list of {a: text, ...}`)."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    lines = []
    for name, prop in schema.get("properties", {}).items():
        description = prop.get("description", "")
        lines.append(f"- {name} ({_type_words(prop, defs)})" + (f": {description}" if description else ""))
    return "\n".join(lines)


def _type_words(node: dict[str, Any], defs: dict[str, Any]) -> str:
    node = _inline(_merge_all_of(node), defs)
    if isinstance(node.get("$ref"), str):
        node = {**defs.get(node["$ref"].removeprefix("#/$defs/"), {}), **{k: v for k, v in node.items() if k != "$ref"}}
    if "enum" in node:
        return "|".join(str(value) for value in node["enum"])
    if "anyOf" in node:
        kinds = [_type_words(option, defs) for option in node["anyOf"] if option != _NULL]
        return " or ".join(kinds) + (" or null" if _NULL in node["anyOf"] else "")
    kind = node.get("type")
    if kind == "array":
        return f"list of {_type_words(node.get('items', {}), defs)}"
    if kind == "object" or "properties" in node:
        inner = ", ".join(f"{key}: {_type_words(value, defs)}" for key, value in node.get("properties", {}).items())
        return "{" + inner + "}" if inner else "object"
    return {"string": "text", "integer": "integer", "number": "number", "boolean": "true/false"}.get(str(kind), "any")


def _strict(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    node = {key: value for key, value in _merge_all_of(node).items() if key not in _DROPPED}
    node = _inline(node, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        out["anyOf" if key == "oneOf" else key] = _strict_child(key, value, defs)
    if out.get("type") == "object" or "properties" in out:
        _close_object(out, set(node.get("required", [])))
    return out


def _strict_child(key: str, value: Any, defs: dict[str, Any]) -> Any:
    """Recurse into the keywords that hold schemas; `properties` and `$defs` hold maps of them."""
    if key in ("properties", "$defs"):
        return {name: _strict(schema, defs) for name, schema in value.items()}
    if key in ("anyOf", "oneOf", "prefixItems"):
        return [_strict(schema, defs) for schema in value]
    if key in ("items", "additionalProperties", "not") and isinstance(value, dict):
        return _strict(value, defs)
    return value


def _close_object(schema: dict[str, Any], required: set[str]) -> None:
    if isinstance(schema.get("additionalProperties"), dict):
        return  # a dict[str, X] field: its keys are data, there is nothing to close
    properties = schema.setdefault("properties", {})
    for name, prop in properties.items():
        if name not in required:
            properties[name] = _nullable(prop)
    schema["required"] = list(properties)
    schema["additionalProperties"] = False


def _merge_all_of(node: dict[str, Any]) -> dict[str, Any]:
    """Pydantic wraps a described reference as `allOf: [{$ref}]`; fold the members into the node."""
    if "allOf" not in node:
        return node
    merged: dict[str, Any] = {}
    for member in node["allOf"]:
        merged.update(member)
    merged.update({key: value for key, value in node.items() if key != "allOf"})
    return merged


def _inline(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Strict mode rejects keywords beside `$ref` ("$ref cannot have keywords {'description'}"): put the
    definition in place, under the local keywords, as the openai SDK does."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or len(node) == 1 or not ref.startswith("#/$defs/"):
        return node
    target = defs.get(ref.removeprefix("#/$defs/"))
    if target is None:
        return node
    local = {key: value for key, value in node.items() if key != "$ref"}
    return {**target, **local}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if not schema:
        return schema  # {} accepts null already
    if "anyOf" in schema:
        if _NULL not in schema["anyOf"]:
            schema = {**schema, "anyOf": [*schema["anyOf"], _NULL]}
        return schema
    if "type" not in schema:  # a bare $ref, enum or const
        return {"anyOf": [schema, _NULL]}
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    schema = {**schema, "type": kinds if "null" in kinds else [*kinds, "null"]}
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _without_titles(node: dict[str, Any]) -> dict[str, Any]:
    """Drop `title` keywords, but not properties called "title" nor anything inside a default value."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title":
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: _without_titles(schema) for name, schema in value.items()}
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            out[key] = [_without_titles(schema) for schema in value]
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _without_titles(value)
        else:
            out[key] = value
    return out
