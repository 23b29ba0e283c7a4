"""Bounds on strings and lists for a schema that a server turns into a grammar, so a looping model must close.

A grammar (llama.cpp's, from `{"type": "json_object", "schema": ...}` or its `/completion` `json_schema`; ollama
builds one from `format` the same way) keeps
every token valid JSON but does not stop a small model from repeating one list item or one sentence until the
token limit. The answer is then cut, and asking again with a larger budget alone brings the same loop, longer
(SmolLM2-135M filled 768, then 1536 tokens with one `product_goals` list). llama.cpp's schema converter honours
`maxLength` and `maxItems`, so after a cut-off answer the request asked again carries a bound on every string
and list, sized so that the longest answer the grammar allows still fits that request's `max_tokens`: the
model is made to close each value and move on.

Only a request that follows a cut-off answer is bounded, so a model that answers within its budget never meets
a bound; and the bounds go only into a schema sent to such a grammar, never into validation nor into a strict
`json_schema` (OpenAI rejects `maxLength`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from devteam.llm.types import ChatRequest

# Characters per token assumed for the worst case; English prose is about 4, and JSON punctuation less.
CHARS_PER_TOKEN = 3
# A list holds one item per this many characters of budget, within these limits; a list inside a list's
# items (a planned file's dependencies) holds a third of that.
CHARS_PER_ITEM = 1000
MIN_ITEMS, MAX_ITEMS, MIN_INNER_ITEMS = 3, 10, 2
# A string outside any list (a summary, a diagram) may be this many times longer than one inside a list.
TOP_LEVEL_WEIGHT = 3
# Never shorter than a useful phrase. Never longer than 800: llama.cpp's grammar parser refuses a string bounded
# past 1000 characters by llama-cpp-python's converter ("number of rules ... exceeds sane defaults"), and
# llama-cpp-python's server dies of it.
MIN_LENGTH, MAX_LENGTH = 24, 800
# Quotes, a comma and a space around each value.
VALUE_OVERHEAD = 4
_DEPTH_LIMIT = 32  # our schemas are a few levels deep; a recursive one is not followed past this


def schema_for_grammar(request: ChatRequest, max_tokens: int | None) -> dict[str, Any] | None:
    """The schema to hand a server that turns it into a grammar: bounded when the request asks for it."""
    if request.json_schema is None or not request.bound_grammar:
        return request.json_schema
    return bound_for_grammar(request.json_schema, max_tokens)


def bound_for_grammar(schema: dict[str, Any], max_tokens: int | None) -> dict[str, Any]:
    """A copy of a strict-form `schema` whose every free string has `maxLength` and every list `maxItems`.

    With no `max_tokens` (the server's own limit) the schema is returned as it is: there is no budget to fit.
    Below a few hundred tokens the floor (`MIN_LENGTH`, `MIN_ITEMS`) wins over the fit.
    """
    if not max_tokens or max_tokens <= 0:
        return schema
    chars = max_tokens * CHARS_PER_TOKEN
    items = max(MIN_ITEMS, min(MAX_ITEMS, chars // CHARS_PER_ITEM))
    bounds = _Bounds(items=items, inner_items=max(MIN_INNER_ITEMS, items // 3), unit=MAX_LENGTH)
    units, fixed = _weigh(schema, schema.get("$defs", {}), bounds, in_list=False, depth=0)
    unit = (chars - fixed) // units if units else MAX_LENGTH
    bounds.unit = max(MIN_LENGTH, min(MAX_LENGTH, unit))
    return _bounded(schema, bounds, in_list=False)


@dataclass
class _Bounds:
    items: int
    inner_items: int
    unit: int  # the maxLength of a string inside a list

    def max_items(self, in_list: bool) -> int:
        return self.inner_items if in_list else self.items

    def max_length(self, in_list: bool) -> int:
        return min(MAX_LENGTH, self.unit if in_list else self.unit * TOP_LEVEL_WEIGHT)


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**defs.get(ref.removeprefix("#/$defs/"), {}), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _kinds(node: dict[str, Any]) -> list[str]:
    kind = node.get("type")
    if isinstance(kind, str):
        return [kind]
    return [k for k in kind if isinstance(k, str)] if isinstance(kind, list) else []


def _is_free_string(node: dict[str, Any]) -> bool:
    return "string" in _kinds(node) and not any(key in node for key in ("enum", "const", "pattern", "format"))


def _weigh(node: Any, defs: dict[str, Any], bounds: _Bounds, *, in_list: bool, depth: int) -> tuple[int, int]:
    """(string units, other characters) of the longest answer the bounded grammar allows, with the lists full.

    A free string inside a list counts one unit, one outside any list `TOP_LEVEL_WEIGHT`; the other characters
    are keys, quotes, brackets, separators and the values whose length the grammar fixes (enums, numbers).
    """
    if depth > _DEPTH_LIMIT or not isinstance(node, dict):
        return 0, 0
    node = _resolve(node, defs)
    options = node.get("anyOf") or node.get("oneOf")
    if isinstance(options, list):
        weights = [_weigh(option, defs, bounds, in_list=in_list, depth=depth + 1) for option in options]
        return max(weights, default=(0, 0))
    kinds = _kinds(node)
    units, chars = 0, VALUE_OVERHEAD
    if _is_free_string(node):
        units = 1 if in_list else TOP_LEVEL_WEIGHT
    elif isinstance(node.get("enum"), list) or "const" in node:
        chars += max((len(json.dumps(value)) for value in node.get("enum", [node.get("const")])), default=4)
    elif kinds and kinds[0] in _FIXED_WIDTH:
        chars += _FIXED_WIDTH[kinds[0]]
    for name, prop in (node.get("properties") or {}).items():
        more_units, more_chars = _weigh(prop, defs, bounds, in_list=in_list, depth=depth + 1)
        units, chars = units + more_units, chars + more_chars + len(json.dumps(name)) + 2
    if isinstance(node.get("items"), dict):
        count = bounds.max_items(in_list)
        item_units, item_chars = _weigh(node["items"], defs, bounds, in_list=True, depth=depth + 1)
        units, chars = units + count * item_units, chars + count * item_chars
    return units, chars


# Characters of the values whose length a llama.cpp grammar fixes: up to 16 digits and a sign, and so on.
_FIXED_WIDTH = {"integer": 17, "number": 40, "boolean": 5, "null": 4}


def _bounded(node: Any, bounds: _Bounds, *, in_list: bool) -> Any:
    if isinstance(node, list):
        return [_bounded(element, bounds, in_list=in_list) for element in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$defs" and isinstance(value, dict):
            # Definitions are referenced from list items here (a requirement, a planned file).
            out[key] = {name: _bounded(child, bounds, in_list=True) for name, child in value.items()}
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _bounded(child, bounds, in_list=in_list) for name, child in value.items()}
        elif key in ("items", "prefixItems"):
            out[key] = _bounded(value, bounds, in_list=True)
        elif key in ("additionalProperties", "not", "anyOf", "oneOf", "allOf"):
            out[key] = _bounded(value, bounds, in_list=in_list)
        else:
            out[key] = value
    kinds = _kinds(out)
    if len(kinds) > 1:
        # llama-cpp-python turns `type: [string, null]` into a union of bare types, losing the bounds and the
        # items: spell it as anyOf, each member with the keywords of its own type.
        return {"anyOf": [_bounded(_one_kind(out, kind), bounds, in_list=in_list) for kind in kinds]}
    if _is_free_string(out):
        out["maxLength"] = min(bounds.max_length(in_list), out.get("maxLength", MAX_LENGTH))
    if "array" in kinds:
        out["maxItems"] = min(bounds.max_items(in_list), out.get("maxItems", MAX_ITEMS))
    return out


_KEYWORDS_OF = {
    "string": {"maxLength", "minLength", "enum", "const", "pattern", "format"},
    "array": {"items", "prefixItems", "minItems", "maxItems"},
    "object": {"properties", "required", "additionalProperties"},
}


def _one_kind(node: dict[str, Any], kind: str) -> dict[str, Any]:
    """`node` for one of its types: the shared keywords and that type's own ones."""
    if kind == "null":
        return {"type": "null"}
    others = {keyword for keywords in _KEYWORDS_OF.values() for keyword in keywords} - _KEYWORDS_OF.get(kind, set())
    member = {key: value for key, value in node.items() if key not in others and key != "type"}
    member["type"] = kind
    if isinstance(member.get("enum"), list):
        member["enum"] = [value for value in member["enum"] if value is not None]
    return member
