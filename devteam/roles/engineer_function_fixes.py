"""The Engineer's fix of the one function a failure was raised in, before the whole file is asked for.

The failing checks' tracebacks name, by their deepest frame in the file, the functions to correct: a test
that fails inside `TodoList.complete`, a program that fails to start inside `Game.draw` — or, where a test's
own assert failed, the function its failing line calls (`assert todo.add_task("x") == True`: add_task). Each is asked on its
own (`actions.fix_function`, a prompt of a few hundred tokens), at the configured temperature and then warmer,
then once written anew without its body, and a candidate is kept only when the project's checks score it
better (`roles.fix_candidates`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from devteam.actions.fill_function import FileBrief, written_anew
from devteam.actions.fix_function import NAME as FIX_FUNCTION
from devteam.actions.fix_function import FailedInside, fix_function
from devteam.actions.persona import Persona
from devteam.artifacts.function_source import called_names, function_at, function_named, function_text
from devteam.artifacts.program_layout import is_test_path, plan_purposes
from devteam.llm.client import LLM
from devteam.qa.fix_judge import CheckScore, check_score
from devteam.qa.program_checks import BugReport
from devteam.qa.sandbox import in_thread
from devteam.qa.test_failures import failing_tests, frames, start_failure
from devteam.roles.base import RunContext
from devteam.roles.fix_candidates import Kept, first_better

_ERROR_LINE = re.compile(r"^E\s+(\w+(?:Error|Exception|Exit|Interrupt))\b", re.MULTILINE)
# Each function costs up to `--fix-candidates` short calls and as many runs of the checks.
MAX_FUNCTIONS_PER_FILE = 2
FUNCTION_CANDIDATE = "function_candidate"
# The function written anew, after the fixes: as configured, then warmer (the 0.5B's snake `__init__`: a
# NameError as configured; at 0.6 a body that runs).
ANEW_TEMPERATURES: tuple[float | None, ...] = (None, 0.6)


def failed_inside(report: BugReport, path: str, code: str, read: dict[str, str]) -> list[FailedInside]:
    """The functions of `path` (its text `code`) that the round's failing checks failed inside, the program's
    start first (a program that does not start is the worse failure), each once. `read`: test files' texts."""
    found: dict[str, FailedInside] = {}
    started = start_failure(report.failure)
    if started is not None:
        command, output = started
        _add(found, path, code, output, f"The program's start (`{command}`)", None)
    for test in failing_tests(report.failure):
        tests = read.get(test.path, "")
        shown = function_text(tests, test.name, test.class_name) if tests else None
        _add(found, path, code, test.report, f"The test `{test.qualname}`", shown)
    return list(found.values())[:MAX_FUNCTIONS_PER_FILE]


def _add(
    found: dict[str, FailedInside], path: str, code: str, report: str, check: str, test_function: str | None
) -> None:
    raised = frames(report)
    if not raised:
        return
    deepest = raised[-1]
    if deepest.path == path:
        located = function_at(code, deepest.line)
        if located is not None and located[0] == deepest.function:  # else a nested function, or changed since
            _found(found, FailedInside(path, *located, check, "fails inside", report, test_function))
    elif is_test_path(deepest.path) and deepest.code.startswith("assert") and not _raised_errors(report):
        # The test's own assert failed: the first function of this file that the failing line calls is what
        # did not give what the test expects (`assert todo.add_task("x") == True` -> add_task returned None).
        for name in called_names(deepest.code):
            named = function_named(code, name)
            if named is not None:
                _found(found, FailedInside(path, *named, check, "fails on what it expects of", report, test_function))
                return


def _raised_errors(report: str) -> list[str]:
    """The exceptions other than a failed assert that pytest reports (`E   NameError: ...`): a test that fails
    on its own mistake (a name it never set) says nothing of what the code gives."""
    return [name for name in _ERROR_LINE.findall(report) if name != "AssertionError"]


def _found(found: dict[str, FailedInside], failed: FailedInside) -> None:
    found.setdefault(failed.qualname, failed)


async def fix_failed_function(
    llm: LLM, persona: Persona, report: BugReport, run: RunContext, path: str, code: str, before: CheckScore
) -> Kept | None:
    """The file with the first function fix the checks scored better than `before` (the project as it is), or
    None (no function named, or no candidate better)."""
    repo = run.opened
    tracked = repo.tracked_files()
    read = {other: repo.read_text(other) or "" for other in tracked if other.endswith(".py") and other != path}
    targets = failed_inside(report, path, code, read)
    if not targets:
        return None
    box = run.qa_box
    purposes = plan_purposes(report.design.file_list)

    async def judge(candidate: str) -> CheckScore:
        return await in_thread(check_score, repo.root, tracked, box, purposes=purposes, overrides={path: candidate})

    for failed in targets:

        async def ask(temperature: float | None, failed: FailedInside = failed) -> str | None:
            return await fix_function(
                llm, persona, code=code, failed=failed, repair=run.repair, temperature=temperature
            )

        what = f"{FIX_FUNCTION} {path}:{failed.qualname}"
        run.progress.start(persona.role, what)
        label = f"{FUNCTION_CANDIDATE}: {path}:{failed.qualname}"
        better = await first_better(ask, judge, current=code, before=before, count=run.fix_candidates, label=label)
        if better is None:
            brief = FileBrief(path, purposes.get(path, ""), run.idea, report.design, {})
            better = await _anew(llm, persona, run, code, failed, brief, judge, before, label)
        detail = f"changed: {better.score.describe()} (candidate {better.number})" if better else "unchanged"
        run.progress.done(persona.role, what, detail=detail)
        if better is not None:
            return better
    return None


async def _anew(
    llm: LLM,
    persona: Persona,
    run: RunContext,
    code: str,
    failed: FailedInside,
    brief: FileBrief,
    judge: Callable[[str], Awaitable[CheckScore]],
    before: CheckScore,
    label: str,
) -> Kept | None:
    """The file with the function written anew, its body not shown (`actions.fill_function.written_anew`),
    when the checks score it better; the last candidates. Shown its body, the 0.5B gave back `randint(0, len -
    1)` (the built-in `len`) in six FixFunction candidates over two rounds, in every snake: what a model is
    shown it writes again."""

    async def ask(temperature: float | None) -> str | None:
        return await written_anew(
            llm,
            persona,
            code=code,
            name=failed.name,
            class_name=failed.class_name,
            brief=brief,
            repair=run.repair,
            temperature=temperature,
        )

    return await first_better(
        ask,
        judge,
        current=code,
        before=before,
        count=len(ANEW_TEMPERATURES),
        label=label,
        temperatures=ANEW_TEMPERATURES,
        first_number=max(run.fix_candidates, 1) + 1,
        kind="written anew, ",
    )
