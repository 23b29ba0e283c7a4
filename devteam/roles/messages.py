"""What the built-in roles publish to each other: one frozen payload type per message kind.

`Message.kind` routes (a role `watches` kinds, so a user's own role can publish kinds of its own); the payload
says exactly what arrives, so a role reads `message.expect(DesignWritten).design` rather than unpacking a tuple.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devteam.artifacts.documents import PRD, SystemDesign


@dataclass(frozen=True)
class IdeaGiven:
    """kind "idea": the user's one line."""

    text: str


@dataclass(frozen=True)
class PRDWritten:
    """kind "prd": the ProductManager's PRD (written now, or read back from the repo on --resume)."""

    prd: PRD


@dataclass(frozen=True)
class DesignWritten:
    """kind "design": the Architect's design with the PRD it answers."""

    prd: PRD
    design: SystemDesign


@dataclass(frozen=True)
class CodeWritten:
    """kind "code": the Engineer's files, path → source, as committed."""

    sources: dict[str, str]


@dataclass(frozen=True)
class FixesCommitted:
    """kind "fixed": the Engineer committed fixes for QA round `round` (the files in `paths`)."""

    round: int
    paths: tuple[str, ...]
