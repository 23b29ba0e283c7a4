"""Echoed placeholders: a value that repeats the schema's description of its field, or the prompt's example.

Weak models fill a field with what they were told it should contain ("A class diagram with classes, their
fields and methods.") or with the skeleton's placeholder ("<text>"). The value has the right type, so
validation passes; this check turns it into a validation problem for that field alone, so the field is asked
for again (a field follow-up) instead of becoming content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from devteam.llm.types import ChatMessage
from devteam.structured.extract import ParseFailure, preview

# The skeleton's placeholders (structured/skeleton.py) and what models make of them.
PLACEHOLDERS = frozenset({"<text>", "<number>", "<true or false>", "...", "…", "text", "string", "<string>"})
# Shorter values are too common to call an echo ("Python" is in "e.g. Python"); counted in content words.
MIN_ECHO_WORDS = 3
# The share of the value's content words that must come from one reference for the value to be its echo.
ECHO_SHARE = 0.75
# Words every sentence has: they say nothing about where a value came from.
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "and",
        "or",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "so",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "their",
        "his",
        "her",
        "our",
        "your",
        "my",
        "i",
        "we",
        "you",
        "they",
        "he",
        "she",
        "is",
        "are",
        "be",
        "was",
        "were",
        "been",
        "can",
        "will",
        "should",
        "would",
        "e",
        "g",
        "eg",
    ]
)
# A value may add this many words to a reference and still be a copy of it.
ECHO_SLACK_WORDS = 3

_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


class EchoFailure(ParseFailure):
    """A valid object whose `fields` echo their descriptions: worth a follow-up, but `value` is usable."""

    def __init__(self, value: BaseModel, fields: dict[str, str], *, repairs: list[str] | None = None) -> None:
        feedback = "; ".join(f"field {key!r}: {problem}" for key, problem in fields.items())
        super().__init__("validation", feedback, partial=value.model_dump(by_alias=True), fields=fields)
        self.value = value
        self.repairs = list(repairs or [])


def words(text: str) -> list[str]:
    """Lower-case content words, camelCase and snake_case split (`classDiagram` -> class, diagram)."""
    return [w for w in _WORD.findall(_CAMEL.sub(" ", text).replace("_", " ").lower()) if w not in _FUNCTION_WORDS]


def field_references(model: type[BaseModel], messages: Iterable[ChatMessage]) -> dict[str, list[str]]:
    """For each field: its description, and what the prompt says about it (`- name: what to write`)."""
    prompt = "\n".join(message.content for message in messages if message.role != "assistant")
    references: dict[str, list[str]] = {}
    for name, field in model.model_fields.items():
        texts = [field.description] if field.description else []
        key = field.alias or name
        texts += [m.group(1) for m in re.finditer(rf"^\W*{re.escape(key)}\s*:\s*(.+)$", prompt, re.M)]
        references[key] = texts
    return references


def echoed_fields(value: BaseModel, references: dict[str, list[str]]) -> dict[str, str]:
    """Top-level fields whose value (or one of its items) is a placeholder or repeats a reference text: its
    own, or another field's (SmolLM2-135M filled `product_goals` with "The user's idea, restated.")."""
    found: dict[str, str] = {}
    data = value.model_dump(by_alias=True, mode="json")
    for key, texts in references.items():
        others = [(other, text) for other, other_texts in references.items() if other != key for text in other_texts]
        for text in _strings(data.get(key)):
            problem = _echo_problem(text, texts) or _echo_of_another(text, others)
            if problem:
                found[key] = problem
                break
    return found


def _echo_of_another(text: str, others: list[tuple[str, str]]) -> str | None:
    for other, reference in others:
        if _echo_problem(text, [reference]):
            return (
                f"{preview(text.strip(), limit=80)} repeats the description of the field {other!r} instead of "
                "giving content"
            )
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _echo_problem(text: str, references: list[str]) -> str | None:
    stripped = text.strip()
    if stripped.lower() in PLACEHOLDERS or re.fullmatch(r"<[^<>]{1,30}>", stripped):
        return f"{stripped!r} is the format's placeholder, not content"
    if "\n" in stripped:
        return None  # a diagram, code, a list of lines: content, whatever words it shares with the description
    said = set(words(stripped))
    if len(said) < MIN_ECHO_WORDS:
        return None
    for reference in references:
        known = words(reference)
        if len(said) > len(known) + ECHO_SLACK_WORDS:
            continue
        vocabulary = set(known)
        if sum(word in vocabulary for word in said) >= ECHO_SHARE * len(said):
            return f"{preview(stripped, limit=80)} repeats the description of the field instead of giving its content"
    return None
