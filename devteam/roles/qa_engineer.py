"""QaEngineer (`--run-tests`): tests for the core modules when the plan has none, then rounds of
run → report → hand the failure to the Engineer, each round a commit, at most `qa_rounds` fixes.

The round number and the fixes already made are read from the repository (QA reports in `docs/qa/`, the
Engineer's "Fix …" commits), so an interrupted QA keeps its rounds and `--resume` continues after the last.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from devteam.actions.write_tests import NAME as WRITE_TESTS
from devteam.actions.write_tests import WrittenTests, test_path_for, write_tests
from devteam.artifacts.documents import PRD, SystemDesign
from devteam.artifacts.file_plan import FileLevels, build_levels
from devteam.artifacts.program_layout import entry_point, plan_purposes
from devteam.artifacts.requirements import check_requirements
from devteam.core.errors import StructuredOutputError, WorkspaceError
from devteam.core.prompting import render_document
from devteam.qa.program_checks import (
    BugReport,
    InstallError,
    SmokeRun,
    TestRun,
    implicated_files,
    install_requirements,
    is_test_path,
    run_tests,
    smoke_run,
)
from devteam.qa.sandbox import in_thread
from devteam.roles.base import Message, Role, RunContext
from devteam.roles.messages import DesignWritten
from devteam.roles.qa_test_candidates import ModuleTests, chosen_tests

log = logging.getLogger("devteam.qa")
T = TypeVar("T")

REPORTS = "docs/qa"
FIX_PREFIX = "Fix "
MAX_TESTED_MODULES = 4
_UI_IMPORT = re.compile(r"^\s*(?:import|from)\s+(?:curses|pygame|tkinter|turtle|pyglet|arcade)\b", re.MULTILINE)
_NOT_CORE = {"__init__.py", "__main__.py", "conftest.py", "setup.py", "main.py", "app.py", "run.py", "cli.py"}
# A module with something to test: a top-level function or class.
_DEFINES = re.compile(r"^(?:async\s+)?(?:def|class)\s+\w+", re.MULTILINE)


@dataclass
class RoundReport:
    round: int
    tests: TestRun | None
    smoke: SmokeRun | None
    needs: list[str] = field(default_factory=list)

    @property
    def code_failure(self) -> bool:
        """Only what the code did wrong: no tests, a missing package or pytest, a box that failed are not."""
        tests_fail = self.tests is not None and self.tests.code_failure
        return tests_fail or (self.smoke is not None and self.smoke.code_failure)

    @property
    def headline(self) -> str:
        parts = []
        tests = self.tests
        if tests is None:
            parts.append("no tests")
        elif tests.needs and not tests.total:
            parts.append("tests need " + ", ".join(tests.needs))
        elif tests.verdict == "no tests":
            parts.append("no tests ran")
        elif tests.verdict == "box failed":
            parts.append("tests not run (the box failed)")
        elif tests.ok:
            parts.append(f"{tests.passed} of {tests.total} tests pass")
        else:
            parts.append(f"{tests.failed + tests.errors} of {max(tests.total, 1)} tests fail")
        if self.smoke is not None:
            parts.append(f"{self.smoke.command}: {self.smoke.verdict}")
        return ", ".join(parts)

    @property
    def output(self) -> str:
        failing = []
        if self.tests is not None and not self.tests.ok:
            failing.append(self.tests.output)
        if self.smoke is not None and not self.smoke.ok:
            failing.append(f"$ {self.smoke.command}\n{self.smoke.output}")
        return "\n\n".join(failing)

    def to_json(self) -> dict[str, Any]:
        tests = self.tests
        return {
            "round": self.round,
            "tests_passed": tests.passed if tests else 0,
            "tests_failed": (tests.failed + tests.errors) if tests else 0,
            "tests_total": tests.total if tests else 0,
            "smoke": self.smoke.verdict if self.smoke else None,
            "needs": list(self.needs),
            "tests": tests.verdict if tests else None,
            "code_failure": self.code_failure,
        }


class QaEngineer(Role):
    name = "QaEngineer"
    profile = "a QA engineer who writes focused pytest tests and reads failures carefully"
    goal = "Make sure the code runs and does what the requirements promise."
    watches = frozenset({"design", "code", "fixed"})

    def __init__(self, llm: Any) -> None:
        super().__init__(llm)
        self.prd: PRD | None = None
        self.design: SystemDesign | None = None

    async def react(self, message: Message, run: RunContext) -> list[Message]:
        if message.kind == "design":
            written = message.expect(DesignWritten)
            self.prd, self.design = written.prd, written.design
            return []
        if self.design is None or self.prd is None:
            return []
        box = run.qa_box
        if box is None or not box.runs_code:
            if message.kind == "code":  # said once, and no test is paid for that could never run
                run.progress.note(self.name, "generated code is not run: " + (box.describe() if box else "no box"))
            return []
        if message.kind == "code":
            await self._write_missing_tests(run, self.prd, self.design)
            if run.qa_install:
                await self._install(run)
        return await self._round(run, self.design)

    # -- tests ---------------------------------------------------------------------------------------------

    async def _write_missing_tests(self, run: RunContext, prd: PRD, design: SystemDesign) -> None:
        repo = run.opened
        tracked = repo.tracked_files()
        if any(is_test_path(path) and path.endswith(".py") for path in tracked):
            return
        plan = build_levels(design.file_list)
        modules = self._core_modules(run, plan, tracked)
        if not modules:
            run.progress.note(self.name, "no core module to test")
            return
        taken: set[str] = set(tracked)
        targets = []
        for module in modules:
            test_path = test_path_for(module, taken)
            taken.add(test_path)
            targets.append((module, test_path))
        semaphore = asyncio.Semaphore(run.max_concurrency)
        written = await asyncio.gather(
            *(self._write_one(run, prd, design, plan, module, test_path, semaphore) for module, test_path in targets)
        )
        # Each answer's conversation, by its code: a later fix of the test file continues the one committed.
        threads = {tests.code: tests.conversation for tests in written if tests is not None}
        kept = [
            ModuleTests(module, test_path, tests.code)
            for (module, test_path), tests in zip(targets, written)
            if tests is not None
        ]
        if not kept:
            return  # no usable test from the model: the round still runs the program itself

        async def again(test: ModuleTests, temperature: float | None) -> str | None:
            tests = await self._write_one(
                run, prd, design, plan, test.module, test.path, semaphore, temperature=temperature
            )
            if tests is None:
                return None
            threads[tests.code] = tests.conversation
            return tests.code

        kept = await chosen_tests(kept, again, run, purposes=plan_purposes(design.file_list))
        if not kept:
            return  # no version of the tests checked anything: the round runs the program itself
        for test in kept:
            run.conversations[test.path] = threads[test.code]
            repo.write_text(test.path, test.code)
        repo.commit(
            f"Add tests for {', '.join(test.module for test in kept)}",
            author=self.name,
            paths=[test.path for test in kept],
        )

    def _core_modules(self, run: RunContext, plan: FileLevels, tracked: list[str]) -> list[str]:
        """Logic modules in plan order (the ones others build on first), without entry points and UI code; a
        one-file program (what a small model is asked for) is its own core, when its logic is not UI code."""
        repo = run.opened
        modules = []
        alone: list[str] = []
        for planned in plan.files:
            try:
                key = repo.relative(planned.path)
            except WorkspaceError:
                continue  # a refused plan entry (".", "", a path out of the project) has no module to test
            if not key.endswith(".py") or key not in tracked or is_test_path(key):
                continue
            text = repo.read_text(key) or ""
            if _UI_IMPORT.search(text):
                continue
            if PurePosixPath(key).name in _NOT_CORE:
                if _DEFINES.search(text):
                    alone.append(key)
                continue
            modules.append(key)
        if not modules and len(alone) == 1 and len([p for p in tracked if p.endswith(".py")]) == 1:
            return alone
        return modules[:MAX_TESTED_MODULES]

    async def _write_one(
        self,
        run: RunContext,
        prd: PRD,
        design: SystemDesign,
        plan: FileLevels,
        module: str,
        test_path: str,
        semaphore: asyncio.Semaphore,
        *,
        temperature: float | None = None,
    ) -> WrittenTests | None:
        """The test file and the conversation that wrote it, or None when the model gave no usable answer: tests QA writes are a means to
        judge the program, so their failure is logged and the round goes on (never the run's end).
        `temperature` set: another candidate of the file (`qa_test_candidates`)."""
        repo = run.opened
        dependencies = {
            path: repo.read_text(path) or "" for path in plan.dependencies.get(module, []) if repo.exists(path)
        }
        what = f"{WRITE_TESTS} {test_path}" + (f" (temperature {temperature})" if temperature is not None else "")
        async with semaphore:
            run.progress.start(self.name, what)
            try:
                written = await write_tests(
                    self.llm,
                    self.persona,
                    prd=prd,
                    design=design,
                    module_path=module,
                    code=repo.read_text(module) or "",
                    test_path=test_path,
                    dependencies=dependencies,
                    repair=run.repair,
                    idea=run.idea,
                    conversation=run.conversations.get(module),
                    temperature=temperature,
                )
            except StructuredOutputError as error:
                log.warning("QA writes no tests for %s: %s", module, error)
                run.progress.done(self.name, what, detail="no usable answer")
                return None
            lines = len(written.code.splitlines())
            run.progress.done(self.name, what, detail=f"{lines} lines")
        return written

    async def _install(self, run: RunContext) -> None:
        repo = run.opened
        run.progress.start(self.name, "install requirements.txt into .venv")
        # The file may be the model's own: only PEP 508 names reach pip, never options, URLs or paths.
        checked = check_requirements((repo.read_text("requirements.txt") or "").splitlines())
        for line, reason in checked.refused:
            log.warning("repair_requirement_refused: %r is not installed: %s", run.redactor.text(line), reason)
        try:
            await in_thread(
                partial(install_requirements, allow_sdist=run.qa_allow_sdist), repo.root, checked.kept, run.qa_box
            )
        except InstallError as error:
            log.warning("%s", run.redactor.text(str(error)))
            run.progress.done(self.name, "install requirements.txt into .venv", detail="failed")
            return
        run.progress.done(self.name, "install requirements.txt into .venv")

    # -- rounds --------------------------------------------------------------------------------------------

    async def _round(self, run: RunContext, design: SystemDesign) -> list[Message]:
        repo = run.opened
        tracked = repo.tracked_files()
        number = _next_round(repo.root, tracked)
        what = f"QA round {number}"
        run.progress.start(self.name, what)
        has_tests = any(is_test_path(path) and path.endswith(".py") for path in tracked)
        box = run.qa_box
        tests = await in_thread(run_tests, repo.root, box) if has_tests else None
        # The entry point as the README names it: the plan's purposes decide where names do not.
        purposes = plan_purposes(design.file_list)
        smoke = await in_thread(partial(smoke_run, purposes=purposes), repo.root, tracked, box)
        # Nothing the box printed leaves it unscrubbed: reports, commit messages, fix prompts, the console.
        for checked in (tests, smoke):
            if checked is not None:
                checked.output = run.redactor.text(checked.output)
        needs = sorted({*(tests.needs if tests else []), *(smoke.needs if smoke else [])})
        report = RoundReport(number, tests, smoke, needs)
        run.qa_results.append({**report.to_json(), "box": box.kind})
        path = f"{REPORTS}/round_{number}.md"
        headline = run.redactor.text(report.headline)
        try:
            repo.write_text(path, render_document("qa_report.md.j2", report=report, isolation=box.describe()))
            repo.commit(f"{headline[0].upper()}{headline[1:]} (round {number})", author=self.name, paths=[path])
        except WorkspaceError as error:
            # A refused report path (docs/qa a link out of the project) fails this round, not the run; --resume
            # goes on, and so does QA once the path is the project's again.
            log.warning("QA round %d: its report could not be kept (%s); QA stops here", number, error)
            run.qa_results[-1]["report"] = f"refused: {error}"
            run.progress.done(self.name, what, detail="report refused")
            return []
        run.qa_results[-1]["report"] = path
        run.progress.done(self.name, what, detail=headline + (f"; needs {', '.join(needs)}" if needs else ""))
        fixes = sum(
            1 for commit in repo.history() if commit.author == "Engineer" and commit.message.startswith(FIX_PREFIX)
        )
        if not report.code_failure or fixes >= run.qa_rounds:
            return []
        code_files = [p for p in tracked if p.endswith(".py") and not p.startswith(f"{REPORTS}/")]
        files = implicated_files(report.output, repo.root, code_files) or self._fallback_files(tracked, purposes)
        return [Message("bug_report", BugReport(number, report.output, files, design), self.name)]

    @staticmethod
    def _fallback_files(tracked: list[str], purposes: dict[str, str]) -> list[str]:
        """No file named in the output (e.g. a smoke run that printed nothing): the entry point."""
        entry = entry_point(tracked, purposes)
        return [entry.path] if entry is not None else []


_ROUND = re.compile(rf"^{REPORTS}/round_(\d+)\.md$")
MAX_SKIPPED_REPORTS = 100


def _next_round(root: Path, tracked: list[str]) -> int:
    """The round after the last committed report, past any path there that is not a report devteam made (a link
    planted at `round_2.md`, a folder, a file of the user's): never written through or over, it is left alone
    and the round takes the next free number, so one planted path cannot hold every later `--resume` at it."""
    done = [int(match.group(1)) for path in tracked if (match := _ROUND.match(path))]
    number = 1 + max(done, default=0)
    for _ in range(MAX_SKIPPED_REPORTS):
        taken = root / REPORTS / f"round_{number}.md"
        if not os.path.lexists(taken):
            break
        kind = (
            "a symbolic link" if taken.is_symlink() else "a folder" if taken.is_dir() else "a file git does not track"
        )
        log.warning("%s/round_%d.md is not a QA report devteam made (%s); left alone", REPORTS, number, kind)
        number += 1
    return number
