"""A prompt format's turn markers, kept out of the text it wraps: user text cannot forge a turn.

A completion endpoint gets one string, and the server turns `<|im_start|>` or `[INST]` written anywhere in it
into the real control token. An idea, a file the model reads or an earlier answer holding
`<|im_end|>\\n<|im_start|>system\\n...` would otherwise end the user's turn and open a system turn of its own.
Each marker found in a message's content gets a word joiner (U+2060, invisible) after its first character, so
the tokenizer no longer sees the marker; the answer gets the marker back where the model copied the
neutralised form (an HTML `<s>` in a file, say), so nothing the model writes carries the joiner.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

JOINER = "\u2060"
# What control tokens look like across model families: <|im_start|>, <|eot_id|>, [INST], [/INST], <<SYS>>,
# </s>, <bos>, <start_of_turn>.
_TOKEN_LIKE = re.compile(r"<\|[^|<>\s]{1,40}\|>|\[/?[A-Z_]{2,20}\]|<</?[A-Z]{2,10}>>|</?[a-z_]{1,30}>")
_SHORTEST = 3


class TurnMarkers:
    """The markers of one format; `neutralise` for prompts, `restore` for answers."""

    def __init__(self, markers: Iterable[str]) -> None:
        unique = sorted({m for m in markers if len(m) >= _SHORTEST}, key=lambda m: (-len(m), m))
        self.markers = tuple(unique)
        self._find = re.compile("|".join(re.escape(m) for m in unique)) if unique else None
        neutral = [m[0] + JOINER + m[1:] for m in unique]
        self._find_neutral = re.compile("|".join(re.escape(m) for m in neutral)) if neutral else None

    @classmethod
    def of_format(cls, pieces: Iterable[str], *, stop: Iterable[str] = (), source: str = "") -> TurnMarkers:
        """The markers of a format: in its own strings (turn prefixes and suffixes, the generation prompt, BOS)
        each control token and each line of plain-text markers such as `### Instruction:` or `USER:`; in its stop
        strings and a template's `source`, the control tokens only (a stop string like `END` is no turn)."""
        found: set[str] = set(_TOKEN_LIKE.findall(source))
        for text in stop:
            found.update(_TOKEN_LIKE.findall(text))
        for piece in pieces:
            found.update(_TOKEN_LIKE.findall(piece))
            for line in piece.splitlines():
                line = line.strip()
                if line and not _TOKEN_LIKE.search(line):
                    found.add(line)
        return cls(found)

    def neutralise(self, text: str) -> str:
        if self._find is None:
            return text
        return self._find.sub(lambda match: match.group(0)[0] + JOINER + match.group(0)[1:], text)

    def restore(self, text: str) -> str:
        if self._find_neutral is None:
            return text
        return self._find_neutral.sub(lambda match: match.group(0).replace(JOINER, "", 1), text)
