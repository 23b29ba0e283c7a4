"""The Engineer's correction of failing tests, one test function at a time, each candidate judged by the checks.

Reached only when no fix of the code for the round's failure was kept (`engineer_fixes`): the author stands by
the code, so the tests that expect something else are what is asked for. Each failing test is asked on its own
(`actions.fix_test_function`), at the configured temperature and then warmer, and a candidate is kept only when
the project's checks, run in the box on a throwaway copy holding it, score it better than the tests as they are
(`qa.fix_judge`) — a rewrite that still fails, or breaks another test, is never written.
"""

from __future__ import annotations

import logging

from devteam.actions.fix_test_function import NAME as FIX_TEST
from devteam.actions.fix_test_function import TestSubject, fix_test_function
from devteam.actions.persona import Persona
from devteam.actions.write_tests import import_name
from devteam.artifacts.program_layout import plan_purposes
from devteam.llm.client import LLM
from devteam.qa.fix_judge import check_score
from devteam.qa.program_checks import BugReport
from devteam.qa.sandbox import in_thread
from devteam.qa.test_failures import FailingTest, failing_tests
from devteam.roles.base import RunContext

log = logging.getLogger("devteam.engineer")

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
    temperatures: tuple[float | None, ...],
    kept: dict[str, str],
) -> None:
    """Fill `kept` with the test files whose corrected functions the checks scored better, as they now read
    (path -> text), each as soon as it is kept: stopped midway, the caller still has what was paid for.
    `subjects`: each test file's tested module (path -> module path)."""
    repo = run.opened
    box = run.qa_box
    tracked = repo.tracked_files()
    purposes = plan_purposes(report.design.file_list)
    current = kept
    before = await in_thread(check_score, repo.root, tracked, box, purposes=purposes)
    for test in failed:
        module = subjects.get(test.path)
        tests = current.get(test.path) or repo.read_text(test.path) or ""
        if module is None or not tests:
            continue
        subject = TestSubject(module, import_name(module), repo.read_text(module) or "")
        run.progress.start(persona.role, f"{FIX_TEST} {test.path}::{test.qualname}")
        detail = "unchanged"
        for number in range(1, max(run.fix_candidates, 1) + 1):
            temperature = temperatures[min(number, len(temperatures)) - 1]
            shown = f"{TEST_CANDIDATE}: {test.path}::{test.qualname}, candidate {number}"
            shown += f" (temperature {temperature or 'as configured'})"
            candidate = await fix_test_function(
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
            if candidate is None:
                continue
            if candidate.strip() == tests.strip():
                log.info("%s: the test as it was", shown)
                continue
            score = await in_thread(
                check_score,
                repo.root,
                tracked,
                box,
                purposes=purposes,
                overrides={**current, test.path: candidate},
            )
            log.info("%s: %s; as it is: %s", shown, score.describe(), before.describe())
            if score > before:
                current[test.path] = candidate
                before = score
                detail = f"changed: {score.describe()} (candidate {number})"
                break
        run.progress.done(persona.role, f"{FIX_TEST} {test.path}::{test.qualname}", detail=detail)
