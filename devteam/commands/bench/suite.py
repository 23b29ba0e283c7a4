"""The ideas a bench runs: the shipped suite (package data) or the user's file, one idea per line."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from devteam.core.errors import ConfigError

SHIPPED = "ideas.txt"
_WORD = re.compile(r"[a-z0-9]+")
_SKIP = {"write", "a", "an", "the", "for", "with", "and", "of", "in", "to", "that", "its", "own"}
# A folder name stays far below every file system's 255-byte limit, however long a word of the idea is.
_WORD_CHARS = 16


@dataclass(frozen=True)
class Idea:
    number: int
    text: str

    @property
    def project_name(self) -> str:
        """Stable across runs of the bench (resuming finds the same folder) and different for every other idea:
        number, a few words to read, and a digest of the whole idea (an edited idea is a new project)."""
        words = [w[:_WORD_CHARS] for w in _WORD.findall(self.text.lower()) if w not in _SKIP][:3]
        return f"idea{self.number:02d}_{'_'.join(words) or 'idea'}_{self.digest}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:6]


def parse_ideas(text: str) -> list[Idea]:
    lines = [line.strip() for line in text.splitlines()]
    return [Idea(number, line) for number, line in enumerate((i for i in lines if i and not i.startswith("#")), 1)]


def load_ideas(path: Path | None) -> list[Idea]:
    """The user's ideas file, or the shipped suite; an empty or unreadable file is a usage error."""
    if path is None:
        text = resources.files("devteam.commands.bench").joinpath(SHIPPED).read_text(encoding="utf-8")
        return parse_ideas(text)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the ideas file {path}: {error}") from None
    ideas = parse_ideas(text)
    if not ideas:
        raise ConfigError(f"the ideas file {path} holds no idea: write one idea per line (# starts a comment)")
    return ideas
