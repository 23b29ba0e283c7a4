"""The Engineer's answer to a QA bug report: fix the implicated files, most likely first, in one commit.

The code is asked for first, each candidate fix judged by the project's tests and smoke run before it is written
(`qa.fix_judge`) — the function the failure was raised in on its own first (`engineer_function_fixes`), then
the whole file; when no fix changes anything, the failing tests are asked for (the author stood by the code),
one test function at a time where pytest names them (`engineer_test_fixes`).
A round that changes nothing publishes nothing, so QA stops there instead of re-running the same code.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from devteam.actions.file_threads import fenced, thread_for
from devteam.actions.fix_code import NAME as FIX_CODE
from devteam.actions.fix_code import FixedFile, fix_code
from devteam.actions.persona import Persona
from devteam.actions.write_tests import repaired_tests, rewritten_tests_problem
from devteam.artifacts.program_layout import plan_purposes
from devteam.core.errors import StructuredOutputError
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.qa.fix_judge import check_score
from devteam.qa.program_checks import BugReport, imported_modules, is_test_path
from devteam.qa.sandbox import in_thread
from devteam.qa.test_failures import FailingTest
from devteam.roles.base import Message, RunContext
from devteam.roles.engineer_function_fixes import fix_failed_function
from devteam.roles.engineer_test_fixes import failing_test_functions, fix_test_functions
from devteam.roles.fix_candidates import CANDIDATE_TEMPERATURES
from devteam.roles.messages import FixesCommitted

log = logging.getLogger("devteam.engineer")

MAX_FILES_PER_ROUND = 2
MAX_CONTEXT_FILES = 3
FIX_CANDIDATE = "fix_candidate"


async def fix_reported_files(llm: LLM, persona: Persona, report: BugReport, run: RunContext) -> list[Message]:
    if not report.code_failure or not report.files:
        log.warning("QA round %d: the failure is not the code's; no file is sent to %s", report.round, FIX_CODE)
        return []
    repo = run.opened
    sources = {path: repo.read_text(path) or "" for path in report.files}
    # The code first: a test is rewritten only when the failure names no other file, or when no fix of the code
    # was kept (else a fix could simply bend the test to the bug). The other named files go into each prompt.
    readable = [path for path in report.files if sources[path]]
    code = [path for path in readable if not is_test_path(path)]
    tests = [path for path in readable if is_test_path(path)]
    semaphore = asyncio.Semaphore(run.max_concurrency)
    # Answered, and no answer kept: the file as it was, or only changes the checks scored worse.
    kept_as_written: set[str] = set()
    # Answered with something that is no fix of the file (its tests again, a file that no longer compiles): the
    # model could not fix it either, so its tests may still be asked for.
    unusable: set[str] = set()

    async def ask(path: str, kept: bool, temperature: float | None) -> FixedFile | None:
        context = {other: sources[other] for other in report.files if other != path}
        context = dict(list(context.items())[:MAX_CONTEXT_FILES])
        module = _tested_module(repo.root / path, code) if is_test_path(path) else None
        try:
            fixed = await fix_code(
                llm,
                persona,
                design=report.design,
                path=path,
                code=sources[path],
                failure=report.failure,
                context=context,
                repair=run.repair,
                thread=thread_for(run.conversations, path, sources),
                kept_module=module if kept else None,
                temperature=temperature,
            )
        except StructuredOutputError as error:
            # A fix the model cannot give (cut off even with the budget doubled, as a 0.5B's markdown
            # converter was) leaves the file as it was: QA reports the round, the run is not lost.
            log.warning("QA round %d: no usable fix for %s (%s); the file stays as it was", report.round, path, error)
            return None
        if fixed is None:
            unusable.add(path)
        if fixed is not None and is_test_path(path):
            fixed = _checked_test_fix(llm, path, sources[path], fixed, module, sources, report.round)
        return fixed

    async def judged(path: str) -> tuple[FixedFile | None, str]:
        """The first candidate fix the checks score better than the code as it is (else, when no test fails,
        the first one they score the same; else none): asked at the configured temperature, then warmer."""
        box = run.qa_box
        assert box is not None
        tracked = repo.tracked_files()
        purposes = plan_purposes(report.design.file_list)
        before = await in_thread(check_score, repo.root, tracked, box, purposes=purposes)
        # The function the failure was raised in first, on its own: a short prompt and a short answer.
        function_fix = await fix_failed_function(llm, persona, report, run, path, sources[path], before)
        if function_fix is not None:
            fixed = FixedFile(function_fix.text, run.conversations.get(path, []))
            return fixed, f"changed: {function_fix.score.describe()} (one function)"
        even: FixedFile | None = None
        answered = False
        for number in range(1, max(run.fix_candidates, 1) + 1):
            temperature = CANDIDATE_TEMPERATURES[min(number, len(CANDIDATE_TEMPERATURES)) - 1]
            shown = f"{FIX_CANDIDATE}: {path}, candidate {number} (temperature {temperature or 'as configured'})"
            candidate = await ask(path, False, temperature)
            if candidate is None:
                continue
            answered = True
            if candidate.code.strip() == sources[path].strip():
                log.info("%s: the file as it was", shown)
                continue
            score = await in_thread(
                check_score, repo.root, tracked, box, purposes=purposes, overrides={path: candidate.code}
            )
            log.info("%s: %s; as it is: %s", shown, score.describe(), before.describe())
            if score > before:
                return candidate, f"changed: {score.describe()} (candidate {number})"
            if score == before and even is None:
                even = candidate
        if even is not None and before.not_failing == 0:
            # Only the start failed: another version that scores the same is another try. Where tests fail, it
            # would only stand in for asking the tests (the 0.5B's converter: two rounds of equal rewrites of
            # correct code, its wrong tests never asked).
            return even, "changed: no better by the checks"
        if answered or path in unusable:
            kept_as_written.add(path)
        return None, "unchanged"

    async def fix_one(path: str, kept: bool) -> str | None:
        box = run.qa_box
        async with semaphore:
            run.progress.start(persona.role, f"{FIX_CODE} {path}")
            if is_test_path(path) or box is None or not box.runs_code:
                fixed = await ask(path, kept, None)
                changed = fixed is not None and fixed.code.strip() != sources[path].strip()
                if fixed is not None and not changed:
                    kept_as_written.add(path)
                detail = "changed" if changed else "unchanged"
            else:
                fixed, detail = await judged(path)
            run.progress.done(persona.role, f"{FIX_CODE} {path}", detail=detail)
        if fixed is None or fixed.code.strip() == sources[path].strip():
            return None
        if fixed.conversation:
            run.conversations[path] = fixed.conversation  # the next round's fix of this file continues it
        return fixed.code

    async def fix_all(targets: list[str], kept: bool) -> list[str]:
        answered: dict[str, str | None] = {}

        async def fix_kept(path: str) -> None:
            answered[path] = await fix_one(path, kept)

        try:
            results = await asyncio.gather(*(fix_kept(path) for path in targets), return_exceptions=True)
        except asyncio.CancelledError:
            # Stopped mid-round: a fix already answered is paid for; committed, a resume never asks for it again.
            _commit_fixes(targets, answered, run, persona, report.round)
            raise
        changed = _commit_fixes(targets, answered, run, persona, report.round)
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            raise failures[0]  # after the answered fixes are kept
        return changed

    async def fix_tests_one_by_one(failed: list[FailingTest]) -> list[str]:
        subjects = {test.path: module for test in failed if (module := _tested_module(repo.root / test.path, code))}
        kept: dict[str, str] = {}
        order = list(dict.fromkeys(test.path for test in failed))
        try:
            await fix_test_functions(llm, persona, report, run, failed, subjects, kept)
        finally:
            # Kept fixes are committed even when the round is stopped midway: a resume never asks them again.
            # A new version of a tested function can be kept too (`engineer_test_fixes._settled_value`).
            changed = _commit_fixes(
                [*order, *(path for path in kept if path not in order)], dict(kept), run, persona, report.round
            )
        return changed

    targets = code[:MAX_FILES_PER_ROUND] if code else readable[:1]
    changed = await fix_all(targets, kept=False)
    if not changed and code and tests and kept_as_written.issuperset(targets):
        # The code's author, shown the failure, kept the code (or changed it only for the worse): the 0.5B's
        # tests asserted values the requirements never promised and called methods its module does not have,
        # and its fixes of the code came back unchanged round after round. The failing tests are asked for now.
        log.warning(
            "QA round %d: the fix of %s changed nothing; the failing tests %s are asked for instead",
            report.round,
            ", ".join(targets),
            ", ".join(tests[:MAX_FILES_PER_ROUND]),
        )
        failed = failing_test_functions(report, tests[:MAX_FILES_PER_ROUND])
        box = run.qa_box
        if failed and box is not None and box.runs_code:
            changed = await fix_tests_one_by_one(failed)
        else:
            # No test function to name (a file that fails to collect), or no box to judge in: the whole file.
            changed = await fix_all(tests[:MAX_FILES_PER_ROUND], kept=True)
    if not changed:
        log.warning("QA round %d: the Engineer's fix changed nothing; QA stops here", report.round)
        return []
    return [Message("fixed", FixesCommitted(report.round, tuple(changed)), persona.role)]


def _tested_module(test: Path, code: list[str]) -> str | None:
    """The module a test file tests: the first of the round's code files it imports."""
    imported = imported_modules(test, code)
    return next((path for path in code if path in imported), None)


def _checked_test_fix(
    llm: LLM,
    path: str,
    before: str,
    fixed: FixedFile,
    module: str | None,
    sources: dict[str, str],
    round_number: int,
) -> FixedFile | None:
    """A rewritten test file with the repairs new tests get (imports, the module's own names, floats), or None
    when it no longer tests enough (`rewritten_tests_problem`). A test file that imports none of the code
    (`module` None: it does not parse, or forgot its import) gets no repairs, and the floor all the same — the
    0.5B answered such a file with a copy of its module."""
    code = repaired_tests(fixed.code, sources[module], module, path, llm) if module is not None else fixed.code
    problem = rewritten_tests_problem(before, code)
    if problem is not None:
        log.warning("QA round %d: the fix of %s is not kept: %s", round_number, path, problem)
        return None
    return FixedFile(code, [*fixed.conversation[:-1], ChatMessage("assistant", fenced(path, code))])


def _commit_fixes(
    order: list[str], answered: dict[str, str | None], run: RunContext, persona: Persona, round_number: int
) -> list[str]:
    repo = run.opened
    changed = []
    for path in order:  # the order asked, not the order answered
        fixed = answered.get(path)
        if fixed is not None:
            repo.write_text(path, fixed)
            changed.append(path)
    if changed:
        repo.commit(f"Fix {', '.join(changed)} (QA round {round_number})", author=persona.role, paths=changed)
    return changed
