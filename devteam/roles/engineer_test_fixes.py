"""The Engineer's correction of failing tests, one test function at a time, each candidate judged by the checks.

Reached only when no fix of the code for the round's failure was kept (`engineer_fixes`): the author stands by
the code, so the tests that expect something else are what is asked for. Each failing test is asked on its own
(`actions.fix_test_function`), at the configured temperature and then warmer, and a candidate is kept only when
the project's checks, run in the box on a throwaway copy holding it, score it better than the tests as they are
(`qa.fix_judge`) — a rewrite that still fails, or breaks another test, is never written.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from devteam.actions.check_expected import right_value
from devteam.actions.fix_test_function import NAME as FIX_TEST
from devteam.actions.fix_test_function import TestSubject, fix_test_function
from devteam.actions.persona import Persona
from devteam.actions.write_tests import import_name
from devteam.artifacts.expected_values import DisputedValue, disputed_truth, disputed_value
from devteam.artifacts.function_source import function_text
from devteam.artifacts.program_layout import plan_purposes
from devteam.llm.client import LLM
from devteam.qa.fix_judge import CheckScore, check_score
from devteam.qa.program_checks import BugReport
from devteam.qa.sandbox import in_thread
from devteam.qa.test_failures import FailingTest, asserted_truth, compared, failing_tests, frames
from devteam.roles.base import RunContext
from devteam.roles.fix_candidates import Kept, first_better

# Each failing test costs up to `--fix-candidates` short calls and as many runs of the checks.
MAX_TESTS_PER_ROUND = 4
TEST_CANDIDATE = "test_candidate"
EXPECTED_VALUE = "expected_value"
# Each dispute costs two short choice calls and a run of the checks.
MAX_DISPUTES_PER_TEST = 3

log = logging.getLogger("devteam.engineer")


def failing_test_functions(report: BugReport, tests: list[str]) -> list[FailingTest]:
    """The round's failed tests (not setup errors) in the test files the round names, at most a round's worth."""
    failed = [test for test in failing_tests(report.failure) if test.path in tests and not test.error]
    return failed[:MAX_TESTS_PER_ROUND]


async def fix_test_functions(
    llm: LLM,
    persona: Persona,
    report: BugReport,
    run: RunContext,
    failed: list[FailingTest],
    subjects: dict[str, str],
    kept: dict[str, str],
) -> None:
    """Fill `kept` with the test files whose corrected functions the checks scored better, as they now read
    (path -> text), each as soon as it is kept: stopped midway, the caller still has what was paid for.
    `subjects`: each test file's tested module (path -> module path)."""
    repo = run.opened
    box = run.qa_box
    tracked = repo.tracked_files()
    purposes = plan_purposes(report.design.file_list)
    before = await in_thread(check_score, repo.root, tracked, box, purposes=purposes)
    for test in failed:
        module = subjects.get(test.path)
        tests = kept.get(test.path) or repo.read_text(test.path) or ""
        if module is None or not tests:
            continue
        subject = TestSubject(module, import_name(module), repo.read_text(module) or "")

        async def ask(
            temperature: float | None, test: FailingTest = test, tests: str = tests, subject: TestSubject = subject
        ) -> str | None:
            return await fix_test_function(
                llm,
                persona,
                test_path=test.path,
                tests=tests,
                failing=test,
                subject=subject,
                idea=run.idea,
                repair=run.repair,
                temperature=temperature,
            )

        async def judge(candidate: str, path: str = test.path) -> CheckScore:
            overrides = {**kept, path: candidate}
            return await in_thread(check_score, repo.root, tracked, box, purposes=purposes, overrides=overrides)

        what = f"{FIX_TEST} {test.path}::{test.qualname}"
        run.progress.start(persona.role, what)
        label = f"{TEST_CANDIDATE}: {test.path}::{test.qualname}"
        better = await _settled_value(llm, persona, run, test, tests, subject, judge, before)
        if better is None:
            better = await first_better(ask, judge, current=tests, before=before, count=run.fix_candidates, label=label)
        if better is not None:
            kept[test.path] = better.text
            before = better.score
        how = f"candidate {better.number}" if better and better.number else "the code's value"
        detail = f"changed: {better.score.describe()} ({how})" if better else "unchanged"
        run.progress.done(persona.role, what, detail=detail)


async def _settled_value(
    llm: LLM,
    persona: Persona,
    run: RunContext,
    test: FailingTest,
    tests: str,
    subject: TestSubject,
    judge: Callable[[str], Awaitable[CheckScore]],
    before: CheckScore,
) -> Kept | None:
    """The test file with the code's values in place of those the test expected, when the model names the
    code's value as the right one in both orders, each time, and the checks then score the file better; else
    None. A test's next assert can dispute a value too (the 0.5B's `add_task(...) == True`, then
    `list_tasks() == [...]`): each is settled in turn, up to `MAX_DISPUTES_PER_TEST`."""
    subject_line = f"{test.path}::{test.qualname}"
    report, text = test.report, tests
    settled: set[int] = set()
    for _ in range(MAX_DISPUTES_PER_TEST):
        dispute = _dispute(test, report, text)
        function = function_text(text, test.name, test.class_name)
        if dispute is None or function is None:
            return None
        if dispute.line in settled:
            # The assert just given the code's value fails on another: the code gives a new one each run.
            log.info(
                "%s: %s: %s gives another value each run; not kept", EXPECTED_VALUE, subject_line, dispute.computed
            )
            return None
        settled.add(dispute.line)
        side = await right_value(
            llm,
            persona,
            dispute=dispute,
            test_name=test.qualname,
            function=function,
            module_path=subject.path,
            idea=run.idea,
            subject=subject_line,
            repair=run.repair,
        )
        if side != "code":
            return None
        text = dispute.corrected
        score = await judge(text)
        log.info(
            "%s: %s: the code's %s in place of %s: %s; as it is: %s",
            EXPECTED_VALUE,
            subject_line,
            dispute.code_gives,
            dispute.test_expects,
            score.describe(),
            before.describe(),
        )
        if score > before:
            # Once more: a value the code gives at random (a password, a dice) passes only the run it came from.
            again = await judge(text)
            if again > before:
                return Kept(text, min(score, again), 0)
            log.info(
                "%s: %s: not the same on a second run (%s); not kept", EXPECTED_VALUE, subject_line, again.describe()
            )
            return None
        now = next((failing for failing in failing_tests(score.tests_output) if _same_test(failing, test)), None)
        if now is None:
            return None
        report = now.report
    return None


def _same_test(one: FailingTest, other: FailingTest) -> bool:
    return (one.path, one.class_name, one.name) == (other.path, other.class_name, other.name)


def _dispute(test: FailingTest, report: str, tests: str) -> DisputedValue | None:
    """What the failing assert of `test` (pytest's `report` of it) disputes: a plain value the code gives where
    the test expects another, or a bool where it wants the other."""
    own = [frame for frame in frames(report) if frame.path == test.path]
    if not own:
        return None
    values = compared(report)
    if values is not None:
        return disputed_value(tests, own[-1].line, *values)
    truth = asserted_truth(report)
    return disputed_truth(tests, own[-1].line, truth) if truth is not None else None
