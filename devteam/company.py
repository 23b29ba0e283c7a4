"""One run of the software company: build the LLMs, open the project safely, hire the roles, run the team.

The CLI parses arguments and prints; everything a run *does* is here, so tests and the benchmark drive the
same code path as `metagpt "idea"`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from devteam.config import Config
from devteam.errors import DevteamError, WorkspaceError
from devteam.llm.client import LLM, ExchangeObserver
from devteam.llm.factory import build_llm
from devteam.llm.usage import Ledger
from devteam.progress import Progress
from devteam.roles.architect import Architect
from devteam.roles.base import Role, RunContext
from devteam.roles.engineer import Engineer
from devteam.roles.product_manager import ProductManager
from devteam.team import Team
from devteam.workspace import ProjectRepo, project_name_from

log = logging.getLogger("devteam.run")

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


@dataclass
class RunOutcome:
    run: RunContext
    ledger: Ledger
    error: BaseException | None = None
    llms: list[LLM] = field(default_factory=list)

    @property
    def repo_root(self) -> Path | None:
        return self.run.repo.root if self.run.repo is not None else None


class ProjectOpener:
    """Decides the project folder and never destroys an existing one."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options

    def explicit_root(self) -> Path | None:
        if self.options.project_path is not None:
            return self.options.project_path
        if self.options.project_name:
            return self.options.workspace / project_name_from(self.options.project_name)
        return None

    def check_before_run(self) -> ProjectRepo | None:
        """Fail before spending a token when the named project is unusable; open it when resuming."""
        root = self.explicit_root()
        reusing = self.options.resume or self.options.incremental
        if reusing and root is None:
            raise WorkspaceError("--resume and --inc need --project-name NAME (or --project-path DIR) to find the project")
        if root is None:
            return None
        if reusing:
            if not root.exists():
                raise WorkspaceError(f"there is no project to resume at {root}; run without --resume to start it")
            return ProjectRepo.open(root)
        if root.exists() and any(root.iterdir()):
            raise WorkspaceError(
                f"the project folder {root} already exists and was left untouched. Continue it with --resume, "
                "build on it with --inc, or choose another --project-name."
            )
        return None

    def __call__(self, name_hint: str) -> ProjectRepo:
        root = self.explicit_root()
        if root is None:
            root = self._free_root(project_name_from(name_hint or self.options.idea))
        return ProjectRepo.create(root)

    def _free_root(self, name: str) -> Path:
        """A name taken from the PRD may collide with an earlier run: pick the next free one, never reuse."""
        root = self.options.workspace / name
        suffix = 2
        while root.exists() and any(root.iterdir()):
            root = self.options.workspace / f"{name}_{suffix}"
            suffix += 1
        if suffix > 2:
            log.warning("project %s exists; this run writes to %s", name, root.name)
        return root


def default_roles(config: Config, ledger: Ledger, observers: list[ExchangeObserver]) -> tuple[list[Role], list[LLM]]:
    """The three roles, each on its own LLM when `roles:` in the config names one (shared otherwise)."""
    llms: dict[str, LLM] = {}

    def llm_for(role_name: str) -> LLM:
        llm_config = config.llm_for(role_name)
        key = llm_config.model_dump_json()
        if key not in llms:
            llms[key] = build_llm(llm_config, ledger=ledger, observers=observers)
        return llms[key]

    roles: list[Role] = [role_class(llm_for(role_class.name)) for role_class in (ProductManager, Architect, Engineer)]
    return roles, list(llms.values())


async def run_company(
    config: Config,
    options: RunOptions,
    *,
    progress_stream: TextIO | None = None,
    observers: list[ExchangeObserver] | None = None,
    extra_roles: list[Role] | None = None,
) -> RunOutcome:
    """Run the pipeline; errors are returned in the outcome (with what was committed), not raised."""
    ledger = Ledger(investment=options.investment)
    opener = ProjectOpener(options)
    run = RunContext(
        idea=options.idea,
        ledger=ledger,
        progress=Progress(ledger, stream=progress_stream),
        repair=config.repair_llm_output,
        open_project=opener,
        code_review=options.code_review,
        max_concurrency=options.max_concurrency,
        incremental=options.incremental,
    )
    outcome = RunOutcome(run=run, ledger=ledger)
    try:
        run.repo = opener.check_before_run()
        roles, outcome.llms = default_roles(config, ledger, observers or [])
        team = Team(run, roles + list(extra_roles or []))
        await team.start(options.idea)
    except DevteamError as error:
        outcome.error = error
    finally:
        for llm in outcome.llms:
            await llm.aclose()
    return outcome
