"""The Engineer's correction of failing tests, one test function at a time, each candidate judged by the checks.

Reached only when no fix of the code for the round's failure was kept (`engineer_fixes`): the author stands by
the code, so the tests that expect something else are what is asked for. Each failing test is asked on its own
(`actions.fix_test_function`), at the configured temperature and then warmer, and a candidate is kept only when
the project's checks, run in the box on a throwaway copy holding it, score it better than the tests as they are
(`qa.fix_judge`) — a rewrite that still fails, or breaks another test, is never written. Before that, a file
the test reads and nobody wrote is given to it (`artifacts.input_files`), and a value it disputes with the code
is settled by running the function written anew (`engineer_value_votes`), else by a choice
(`actions.check_expected`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from devteam.actions.check_expected import right_value
from devteam.actions.fill_function import FileBrief
from devteam.actions.fix_test_function import NAME as FIX_TEST
from devteam.actions.fix_test_function import TestSubject, fix_test_function
from devteam.actions.persona import Persona
from devteam.actions.write_input_file import input_file_content
from devteam.actions.write_tests import import_name
from devteam.artifacts.function_source import function_named, function_text
from devteam.artifacts.input_files import input_file_name, with_input_file
from devteam.artifacts.program_layout import plan_purposes
from devteam.llm.client import LLM
from devteam.qa.fix_judge import CheckScore, check_score
from devteam.qa.program_checks import BugReport, TestRun, run_tests
from devteam.qa.sandbox import in_thread
from devteam.qa.test_failures import FailingTest, failing_tests, frames, missing_file, same_test
from devteam.roles.base import RunContext
from devteam.roles.engineer_value_votes import NewVersions, dispute_of, voted_side
from devteam.roles.fix_candidates import CANDIDATE_TEMPERATURES, first_better

# Each failing test costs up to `--fix-candidates` short calls and as many runs of the checks.
MAX_TESTS_PER_ROUND = 4
TEST_CANDIDATE = "test_candidate"
EXPECTED_VALUE = "expected_value"
INPUT_FILE = "input_file"
# Each dispute costs two runs of the tests with the function's new versions (written once a round: the first
# dispute pays their two short calls), a run of the checks, and two short choice calls where the versions do not
# settle it. The 0.5B wrote three wrong literals into one converter test, and more asserts than that per test.
MAX_DISPUTES_PER_TEST = 6

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
    versions: NewVersions = {}

    async def judge_files(files: dict[str, str]) -> CheckScore:
        overrides = {**kept, **files}
        return await in_thread(check_score, repo.root, tracked, box, purposes=purposes, overrides=overrides)

    for test in failed:
        module = subjects.get(test.path)
        tests = kept.get(test.path) or repo.read_text(test.path) or ""
        if module is None or not tests:
            continue
        subject = TestSubject(module, import_name(module), kept.get(module) or repo.read_text(module) or "")
        what = f"{FIX_TEST} {test.path}::{test.qualname}"
        run.progress.start(persona.role, what)
        supplied = await _input_supplied(llm, persona, run, test, tests, subject, judge_files, before)
        if supplied is not None:
            kept.update(supplied.files)
            before = supplied.score
            tests = kept[test.path]
            now = next((one for one in failing_tests(before.tests_output) if same_test(one, test)), None)
            if now is None or now.error:
                run.progress.done(persona.role, what, detail=f"changed: {before.describe()} ({supplied.how})")
                continue
            test = now  # failing now on what it checks: settled below like any other

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
            return await judge_files({path: candidate})

        async def run_with(code: str, tests: str, path: str = test.path, module: str = module) -> TestRun:
            overrides = {**kept, path: tests, module: code}
            return await in_thread(run_tests, repo.root, box, overrides=overrides)

        label = f"{TEST_CANDIDATE}: {test.path}::{test.qualname}"
        brief = FileBrief(module, purposes.get(module, ""), run.idea, report.design, {})
        evidence = _Evidence(judge_files, run_with, brief, before, versions)
        settled = await _settled_value(llm, persona, run, test, tests, subject, evidence)
        if settled is not None:
            kept.update(settled.files)
            before = settled.score
            run.progress.done(persona.role, what, detail=f"changed: {settled.score.describe()} ({settled.how})")
            continue
        better = await first_better(ask, judge, current=tests, before=before, count=run.fix_candidates, label=label)
        if better is not None:
            kept[test.path] = better.text
            before = better.score
        detail = f"changed: {better.score.describe()} (candidate {better.number})" if better else "unchanged"
        if better is None and supplied is not None:
            detail = f"changed: {before.describe()} ({supplied.how})"
        run.progress.done(persona.role, what, detail=detail)


@dataclass(frozen=True)
class _Settled:
    files: dict[str, str]  # path -> the text kept
    score: CheckScore
    how: str  # in the progress line: "the code's value"


async def _input_supplied(
    llm: LLM,
    persona: Persona,
    run: RunContext,
    test: FailingTest,
    tests: str,
    subject: TestSubject,
    judge_files: Callable[[dict[str, str]], Awaitable[CheckScore]],
    before: CheckScore,
) -> _Settled | None:
    """The test file with the test writing the file it reads and nobody wrote (`artifacts.input_files`), its
    content asked of the model (`actions.write_input_file`), when the checks then score it better; else None."""
    file_name = input_file_name(missing_file(test.report))
    function = function_text(tests, test.name, test.class_name)
    if file_name is None or function is None or (f"{file_name!r}" not in function and f'"{file_name}"' not in function):
        return None
    subject_line = f"{test.path}::{test.qualname}"
    reader = next((frame.function for frame in reversed(frames(test.report)) if frame.path == subject.path), None)
    found = function_named(subject.code, reader) if reader else None
    best: _Settled | None = None
    for number in range(1, max(run.fix_candidates, 1) + 1):
        temperature = CANDIDATE_TEMPERATURES[min(number, len(CANDIDATE_TEMPERATURES)) - 1]
        content = await input_file_content(
            llm,
            persona,
            file_name=file_name,
            test_name=test.qualname,
            function=function,
            reader=function_text(subject.code, *found) if found else None,
            module_path=subject.path,
            idea=run.idea,
            subject=subject_line,
            repair=run.repair,
            temperature=temperature,
        )
        text = with_input_file(tests, test.name, test.class_name, file_name, content) if content else None
        shown = f"{INPUT_FILE}: {subject_line}, {file_name} {number} (temperature {temperature or 'as configured'})"
        if text is None:
            log.info("%s: not written into the test", shown)
            continue
        score = await judge_files({test.path: text})
        lines = len((content or "").splitlines())
        log.info(
            "%s, %d lines, written first by the test: %s; as it is: %s",
            shown,
            lines,
            score.describe(),
            before.describe(),
        )
        if score > (best.score if best is not None else before):
            best = _Settled({test.path: text}, score, f"{file_name} written first")
            if not any(same_test(one, test) for one in failing_tests(score.tests_output)):
                break  # the test passes with this file
    return best


@dataclass(frozen=True)
class _Evidence:
    """What settles a disputed value besides the model's choice, for one failing test."""

    judge_files: Callable[[dict[str, str]], Awaitable[CheckScore]]  # the checks' score with these files (path -> text)
    run_with: Callable[[str, str], Awaitable[TestRun]]  # the tests run with `(code, tests)` in place of module and file
    brief: FileBrief  # the tested module, for writing one of its functions anew
    before: CheckScore  # the checks' score as the project is
    versions: NewVersions  # the functions written anew this round, each written once


async def _settled_value(
    llm: LLM,
    persona: Persona,
    run: RunContext,
    test: FailingTest,
    tests: str,
    subject: TestSubject,
    evidence: _Evidence,
) -> _Settled | None:
    """The test file with the code's values in place of those the test expected, where the code's value is
    shown right — the function written anew gives it each time (`engineer_value_votes`), or else the model
    names it in both orders of a choice — and the checks then score the file better; else None. A test's next
    assert can dispute a value too (the 0.5B's `add_task(...) == True`, then `list_tasks() == [...]`): each is
    settled in turn, up to `MAX_DISPUTES_PER_TEST`. Where every new version of the function passes the test
    instead, the code is what is wrong: the first new version, kept when the checks score it better."""
    subject_line = f"{test.path}::{test.qualname}"
    before = evidence.before
    report, text = test.report, tests
    settled: set[int] = set()
    for _ in range(MAX_DISPUTES_PER_TEST):
        dispute = dispute_of(test, report, text)
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
        vote = await voted_side(
            llm,
            persona,
            dispute=dispute,
            test=test,
            report=report,
            tests=text,
            module=subject.code,
            brief=evidence.brief,
            run_with=evidence.run_with,
            repair=run.repair,
            written=evidence.versions,
        )
        if vote is not None and vote.module is not None:
            # With the values settled so far, if any.
            files = {subject.path: vote.module, **({test.path: text} if text != tests else {})}
            score = await evidence.judge_files(files)
            log.info(
                "%s: %s: %s with the new version: %s; as it is: %s",
                EXPECTED_VALUE,
                subject_line,
                subject.path,
                score.describe(),
                before.describe(),
            )
            return _Settled(files, score, "a new version of the code") if score > before else None
        if vote is not None and vote.side == "test":
            return None
        side = (
            vote.side
            if vote is not None
            else await right_value(
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
        )
        if side != "code":
            return None
        text = dispute.corrected
        score = await evidence.judge_files({test.path: text})
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
            again = await evidence.judge_files({test.path: text})
            if again > before:
                return _Settled({test.path: text}, min(score, again), "the code's value")
            log.info(
                "%s: %s: not the same on a second run (%s); not kept", EXPECTED_VALUE, subject_line, again.describe()
            )
            return None
        now = next((failing for failing in failing_tests(score.tests_output) if same_test(failing, test)), None)
        if now is None:
            return None
        report = now.report
    return None
