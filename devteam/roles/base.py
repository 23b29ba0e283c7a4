"""The role contract and the run context roles share.

A user adds a role (say a QA engineer) by subclassing `Role`, naming what it `watches`, and hiring it into
the team; nothing in the core changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from devteam.actions.persona import Persona
from devteam.console.progress import Progress
from devteam.core.redaction import Redactor
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.llm.usage import Ledger

if TYPE_CHECKING:
    from devteam.workspace.project import ProjectRepo


Payload = TypeVar("Payload")


@dataclass(frozen=True)
class Message:
    """An artifact published to the team: `kind` is what roles watch ("idea", "prd", "design", "code"), and
    `content` its payload (see `devteam.roles.messages` for the built-in kinds' types)."""

    kind: str
    content: object
    sent_by: str

    def expect(self, payload_type: type[Payload]) -> Payload:
        """The payload as the type this kind carries; a role that published something else is a bug."""
        if not isinstance(self.content, payload_type):
            raise TypeError(
                f"a {self.kind!r} message from {self.sent_by} carries {type(self.content).__name__}, "
                f"not {payload_type.__name__}"
            )
        return self.content


@dataclass
class RunContext:
    """What every role of one run shares; built by the CLI, passed down, never global."""

    idea: str
    ledger: Ledger
    progress: Progress
    repair: bool
    open_project: Callable[[str], ProjectRepo]
    code_review: bool = True
    max_concurrency: int = 4
    incremental: bool = False
    # QA (`--run-tests`): fix rounds allowed, whether to install requirements first, each round's result.
    qa_rounds: int = 2
    fix_candidates: int = 3
    qa_install: bool = False
    qa_results: list[dict[str, Any]] = field(default_factory=list)
    # The box QA runs model code in (devteam.qa.box.Box; None without --run-tests), and wheels-only installs.
    qa_box: Any = None
    qa_allow_sdist: bool = False
    # Everything that leaves the box (QA output, reports, fix prompts, commit messages) passes it.
    redactor: Redactor = field(default_factory=Redactor)
    repo: ProjectRepo | None = None
    files_written: list[str] = field(default_factory=list)
    files_refused: list[str] = field(default_factory=list)
    # Files with uncommitted local changes that --resume / --inc left as they were instead of rewriting them.
    files_kept: list[str] = field(default_factory=list)
    files_not_compiling: list[str] = field(default_factory=list)
    # path -> the request that wrote the file and its answer (WriteCode's, then QA's for a test file): its tests
    # and fixes continue it, so the server's prefix cache serves it (see actions/file_threads.py). Empty for
    # files an earlier run wrote: those calls send prompts of their own.
    conversations: dict[str, list[ChatMessage]] = field(default_factory=dict)

    def project(self, name_hint: str) -> ProjectRepo:
        """The project repo, created (or opened, when resuming) the first time a role needs it."""
        if self.repo is None:
            self.repo = self.open_project(name_hint)
        return self.repo

    @property
    def opened(self) -> ProjectRepo:
        """The project repo of a role that comes after the PRD named it (it is always open by then)."""
        if self.repo is None:
            raise RuntimeError("the project is opened by the first role that writes to it, before this one")
        return self.repo


class Role:
    name: ClassVar[str] = "Role"
    profile: ClassVar[str] = ""
    goal: ClassVar[str] = ""
    watches: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, llm: LLM) -> None:
        self.llm = llm

    @property
    def persona(self) -> Persona:
        return Persona(role=self.name, profile=self.profile, goal=self.goal)

    async def react(self, message: Message, run: RunContext) -> list[Message]:
        """Handle one watched message; return what this role publishes."""
        raise NotImplementedError
