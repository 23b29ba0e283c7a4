"""One run of the software company: build the LLMs, open the project safely, hire the roles, run the team.

The CLI parses arguments and prints; everything a run *does* is here, so tests and the benchmark drive the
same code path as `metagpt "idea"`.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from devteam.config.settings import Config
from devteam.console.progress import Progress, ProgressView
from devteam.core.errors import DevteamError, RunInterruptedError, WorkspaceError
from devteam.core.exit_codes import EXIT_INTERRUPTED
from devteam.core.redaction import Redactor
from devteam.llm.client import LLM, ExchangeObserver
from devteam.llm.factory import build_llm
from devteam.llm.record_file import FAILED_RUNS_DIR
from devteam.llm.recorded_answers import RecordedAnswers
from devteam.llm.usage import Ledger
from devteam.roles.architect import Architect
from devteam.roles.base import Role, RunContext
from devteam.roles.engineer import Engineer
from devteam.roles.product_manager import ProductManager
from devteam.run.options import RunOptions, RunOutcome
from devteam.run.record import RunRecorder, new_run_id
from devteam.run.stop_signals import StopRequest
from devteam.run.summary import StageClock, build_summary
from devteam.run.team import Team
from devteam.workspace.project import ProjectClaimedError, ProjectExistsError, ProjectRepo, project_name_from

if TYPE_CHECKING:
    from devteam.qa.box import Box

log = logging.getLogger("devteam.run")

DEFAULT_ROLES: tuple[type[Role], ...] = (ProductManager, Architect, Engineer)


def _built_in_roles(options: RunOptions) -> tuple[type[Role], ...]:
    return DEFAULT_ROLES if options.implement else tuple(r for r in DEFAULT_ROLES if r is not Engineer)


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
            raise WorkspaceError(
                "--resume and --inc need --project-name NAME (or --project-path DIR) to find the project"
            )
        if root is None:
            return None
        if reusing:
            if not root.exists():
                raise WorkspaceError(f"there is no project to resume at {root}; run without --resume to start it")
            return ProjectRepo.open(root)
        if _is_other_than_folder(root):
            raise WorkspaceError(
                f"{root} exists and is not a folder (a file or a link); it is left untouched. "
                "Choose another --project-name or --project-path."
            )
        if root.is_dir() and any(root.iterdir()):
            raise WorkspaceError(
                f"the project folder {root} already exists and was left untouched. Continue it with --resume, "
                "build on it with --inc, or choose another --project-name."
            )
        # Claimed now, before any call is paid for: a second run naming the same project stops at once.
        return ProjectRepo.create(root)

    def __call__(self, name_hint: str) -> ProjectRepo:
        root = self.explicit_root()
        if root is not None:
            return ProjectRepo.create(root)
        name = project_name_from(name_hint or self.options.idea)
        for candidate in self._free_roots(name):
            try:
                project = ProjectRepo.create(candidate)
            except (ProjectExistsError, ProjectClaimedError):
                continue  # another run took it between our look and our claim: the next name is ours to try
            if candidate.name != name:
                log.warning("project %s exists; this run writes to %s", name, candidate.name)
            return project
        raise AssertionError("unreachable: the names never run out")

    def _free_roots(self, name: str) -> Iterator[Path]:
        """A name taken from the PRD may collide with an earlier run: NAME, NAME_2, ... that look free."""
        names = itertools.chain([name], (f"{name}_{suffix}" for suffix in itertools.count(2)))
        for candidate in names:
            root = self.options.workspace / candidate
            if not (_is_other_than_folder(root) or (root.is_dir() and any(root.iterdir()))):
                yield root


def _is_other_than_folder(root: Path) -> bool:
    """A file, a link or anything else that is not a plain folder stands where the project would go."""
    return root.is_symlink() or (root.exists() and not root.is_dir())


def hire_roles(
    config: Config, ledger: Ledger, observers: list[ExchangeObserver], role_classes: Sequence[type[Role]]
) -> tuple[list[Role], list[LLM]]:
    """One instance per role class, each on its own LLM when `roles:` in the config names one (shared
    otherwise) — so a user's role gets the run's budget, record and per-role model like the built-in ones."""
    llms: dict[str, LLM] = {}

    def llm_for(role_name: str) -> LLM:
        llm_config = config.llm_for(role_name)
        # The dump shows a SecretStr as stars: roles that differ only by api_key must not share a client.
        secret = llm_config.api_key.get_secret_value() if llm_config.api_key is not None else ""
        key = llm_config.model_dump_json() + "\0" + secret
        if key not in llms:
            llms[key] = build_llm(llm_config, ledger=ledger, observers=observers)
        return llms[key]

    roles: list[Role] = [role_class(llm_for(role_class.name)) for role_class in role_classes]
    return roles, list(llms.values())


async def run_company(
    config: Config,
    options: RunOptions,
    *,
    progress_stream: TextIO | None = None,
    observers: list[ExchangeObserver] | None = None,
    extra_roles: Sequence[type[Role]] = (),
    stop: StopRequest | None = None,
) -> RunOutcome:
    """Run the pipeline; errors, and a stop the user asked for (Ctrl-C or SIGTERM, noted in `stop`), end up in
    the outcome with what was committed; any other cancellation (a caller's `wait_for`) is raised as it came.

    `extra_roles` are role classes hired after the built-in three, e.g. a QA engineer watching "code".
    """
    ledger = Ledger(investment=options.investment)
    opener = ProjectOpener(options)
    run = RunContext(
        idea=options.idea,
        ledger=ledger,
        progress=Progress(
            ledger,
            stream=progress_stream,
            view=_live_view(show_text=options.show_text) if options.live_progress else None,
        ),
        repair=config.repair_llm_output,
        open_project=opener,
        code_review=options.code_review,
        max_concurrency=options.max_concurrency,
        incremental=options.incremental,
        qa_rounds=options.qa_rounds,
        fix_candidates=options.fix_candidates,
        qa_install=options.qa_install,
        qa_box=_qa_box(options),
        qa_allow_sdist=options.qa_allow_sdist,
        redactor=Redactor(config.secrets()),
    )
    outcome = RunOutcome(run=run, ledger=ledger, run_id=new_run_id())
    clock, started, started_at = StageClock(), time.monotonic(), _now()
    run.progress.listeners.append(clock.on_event)
    recording: _Recording | None = None
    status = "crashed"  # until the team returns, fails or is interrupted: anything else is a crash
    try:
        recording = _Recording.begin(options, outcome) if options.record else None
        run.repo = opener.check_before_run()
        recorders = recording.observers() if recording is not None else []
        outcome.roles, outcome.llms = hire_roles(
            config,
            ledger,
            [*(observers or []), *recorders],
            [*_built_in_roles(options), *_qa_roles(options), *extra_roles],
        )
        if options.resume and run.repo is not None:
            _reuse_recorded_answers(run.repo.root, outcome.llms)
        await Team(run, outcome.roles).start(options.idea)
        status = "ok"
    except DevteamError as error:
        outcome.error = error
        status = "failed"
    except asyncio.CancelledError:
        if stop is None or not stop.requested:
            status = "cancelled"
            raise  # the caller's cancellation (a wait_for, a task group): theirs to handle, not a user's stop
        # Ctrl-C or SIGTERM: finish as an outcome so the CLI can say what is kept and how to resume.
        _uncancel()
        status = "interrupted" if stop.exit_code == EXIT_INTERRUPTED else "terminated"
        outcome.error = RunInterruptedError(f"interrupted ({stop.describe()})", exit_code=stop.exit_code)
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except BaseException as crash:
        # A bug, not a failure we know: the record says so (status and exit code), and the crash goes on up.
        outcome.error = crash
        raise
    finally:
        run.progress.close()
        for llm in outcome.llms:
            await llm.aclose()
        # One summary, built whether or not it is recorded: the console prints it, the record keeps it.
        outcome.summary = build_summary(
            run_id=outcome.run_id,
            config=config,
            options=options,
            outcome=outcome,
            status=status,
            started_at=started_at,
            finished_at=_now(),
            seconds=time.monotonic() - started,
            clock=clock,
            sandbox=run.qa_box.describe() if run.qa_box is not None else None,
        )
        if recording is not None:
            outcome.record_dir = recording.recorder.finish(outcome.summary)
        if run.repo is not None:
            run.repo.close()  # ends the run's lock on the project, and git's helper processes
    return outcome


def _reuse_recorded_answers(root: Path, llms: list[LLM]) -> None:
    """`--resume` pays for nothing twice: an answer the project's record holds (received, then the run stopped
    before its stage was committed) is given again for the very same prompt (see `RecordedAnswers`)."""
    recorded = RecordedAnswers.of_project(root)
    if len(recorded):
        log.info("resume: the record holds %d answers this run may reuse instead of asking again", len(recorded))
    for llm in llms:
        llm.recorded = recorded


def _uncancel() -> None:
    """The stop the user asked for is handled here; tell the task so (Python 3.11+ counts cancellations)."""
    task = asyncio.current_task()
    if task is not None and hasattr(task, "uncancel"):
        task.uncancel()


def _qa_roles(options: RunOptions) -> list[type[Role]]:
    if not options.run_tests:
        return []
    from devteam.roles.qa_engineer import QaEngineer  # its sandbox and test actions load only for --run-tests

    return [QaEngineer]


class _Recording:
    """The run record's part in a run: the recorder, listening to the progress events and every exchange."""

    def __init__(self, options: RunOptions, outcome: RunOutcome) -> None:
        run = outcome.run
        self.recorder = RunRecorder(
            run_id=outcome.run_id,
            idea=options.idea,
            redactor=run.redactor,
            project_root=lambda: run.repo.root if run.repo is not None else None,
            failed_folder=options.workspace / FAILED_RUNS_DIR / outcome.run_id,
        )

    @classmethod
    def begin(cls, options: RunOptions, outcome: RunOutcome) -> _Recording:
        recording = cls(options, outcome)
        outcome.run.progress.listeners.append(recording.recorder.on_progress)
        recording.recorder.start()
        return recording

    def observers(self) -> list[ExchangeObserver]:
        return [self.recorder]


def _live_view(*, show_text: bool) -> Callable[[Progress, TextIO], ProgressView]:
    from devteam.console.live_view import LiveView  # rich is imported only for a terminal

    return functools.partial(LiveView, show_text=show_text)


def _qa_box(options: RunOptions) -> Box | None:
    """The box QA runs model code in (bubblewrap, or none only when the user asked): chosen once per run."""
    if not options.run_tests:
        return None
    from devteam.qa.box import choose_box

    return choose_box(options.qa_sandbox, unsafe=options.qa_unsafe)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
