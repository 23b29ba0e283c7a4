"""One tokenizer for JSON-like text: which characters are code, which lie inside a string, which are escapes.

Models write JSON with Python's quotes, stray backslashes and cut-off strings; every scanner that has to know
"am I inside a string here" (finding where an object ends, telling a literal from a word in a value, fixing
escapes) reads the text through `tokens`, so they all agree on where a string starts and ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

TokenKind = Literal["code", "open", "text", "escape", "close"]


@dataclass(frozen=True)
class Token:
    """`index` into the text; `text` is one character, or two for an escape (the backslash and what follows,
    one character alone when the backslash ends the text); `quote` is the quote of the string it is in."""

    kind: TokenKind
    index: int
    text: str
    quote: str = ""


def tokens(text: str, *, quotes: str = '"', start: int = 0) -> Iterator[Token]:
    """The text from `start` as tokens: a quote from `quotes` opens a string that only the same quote closes,
    and a backslash inside a string escapes the character after it."""
    quote = ""
    i = start
    while i < len(text):
        ch = text[i]
        if not quote:
            if ch in quotes:
                quote = ch
                yield Token("open", i, ch, quote)
            else:
                yield Token("code", i, ch)
        elif ch == "\\":
            yield Token("escape", i, text[i : i + 2], quote)
            i += 2
            continue
        elif ch == quote:
            yield Token("close", i, ch, quote)
            quote = ""
        else:
            yield Token("text", i, ch, quote)
        i += 1


def string_mask(text: str, quotes: str = '"') -> list[bool]:
    """For each character, whether it lies inside a string (its quotes excluded)."""
    mask = [False] * len(text)
    for token in tokens(text, quotes=quotes):
        if token.kind in ("text", "escape"):
            for offset in range(len(token.text)):
                mask[token.index + offset] = True
    return mask
