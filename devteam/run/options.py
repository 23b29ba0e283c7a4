"""What a run is asked to do (`RunOptions`) and what it leaves (`RunOutcome`): the seam between a command and
the run, kept apart so that the summary, the bench and the commands read them without importing the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devteam.llm.client import LLM
from devteam.llm.usage import Ledger
from devteam.roles.base import Role, RunContext

DEFAULT_INVESTMENT = 3.0


@dataclass
class RunOptions:
    idea: str
    workspace: Path
    project_name: str | None = None
    project_path: Path | None = None
    investment: float = DEFAULT_INVESTMENT
    code_review: bool = True
    max_concurrency: int = 4
    resume: bool = False
    incremental: bool = False
    # MetaGPT's --no-implement: stop after the PRD and the design, hire no Engineer.
    implement: bool = True
    # A live terminal view (spinners, streamed tokens) instead of one line per event.
    live_progress: bool = False
    # In the live view, the last lines of each answer as it streams in (`--no-show-text` hides them).
    show_text: bool = True
    # Write the run record to <project>/.devteam/ (exchanges, summary, log lines).
    record: bool = True
    # QA (`--run-tests`): hire the QaEngineer; at most `qa_rounds` fix rounds; `--qa-install` first.
    run_tests: bool = False
    qa_rounds: int = 2
    # Fixes asked per file and round, each judged by the checks, while none scores better (`--fix-candidates`).
    fix_candidates: int = 3
    qa_install: bool = False
    # Where QA runs model code (config `qa_sandbox`); `--qa-unsafe` runs it without a box; sdists only if asked.
    qa_sandbox: str = "auto"
    qa_unsafe: bool = False
    qa_allow_sdist: bool = False


@dataclass
class RunOutcome:
    run: RunContext
    ledger: Ledger
    error: BaseException | None = None
    llms: list[LLM] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    run_id: str = ""
    record_dir: Path | None = None
    # The run's summary (run.summary.build_summary), built at the end whether or not the record keeps it.
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def repo_root(self) -> Path | None:
        return self.run.repo.root if self.run.repo is not None else None
