"""The Engineer's correction of failing tests, one test function at a time, each candidate judged by the checks.

Reached only when no fix of the code for the round's failure was kept (`engineer_fixes`): the author stands by
the code, so the tests that expect something else are what is asked for. Each failing test is asked on its own
(`actions.fix_test_function`), at the configured temperature and then warmer, and a candidate is kept only when
the project's checks, run in the box on a throwaway copy holding it, score it better than the tests as they are
(`qa.fix_judge`) — a rewrite that still fails, or breaks another test, is never written.
"""

from __future__ import annotations

from devteam.actions.fix_test_function import NAME as FIX_TEST
from devteam.actions.fix_test_function import TestSubject, fix_test_function
from devteam.actions.persona import Persona
from devteam.actions.write_tests import import_name
from devteam.artifacts.program_layout import plan_purposes
from devteam.llm.client import LLM
from devteam.qa.fix_judge import CheckScore, check_score
from devteam.qa.program_checks import BugReport
from devteam.qa.sandbox import in_thread
from devteam.qa.test_failures import FailingTest, failing_tests
from devteam.roles.base import RunContext
from devteam.roles.fix_candidates import first_better

# Each failing test costs up to `--fix-candidates` short calls and as many runs of the checks.
MAX_TESTS_PER_ROUND = 4
TEST_CANDIDATE = "test_candidate"


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
        better = await first_better(ask, judge, current=tests, before=before, count=run.fix_candidates, label=label)
        if better is not None:
            kept[test.path] = better.text
            before = better.score
        detail = f"changed: {better.score.describe()} (candidate {better.number})" if better else "unchanged"
        run.progress.done(persona.role, what, detail=detail)
