"""The tests QA writes, chosen among candidates by the program they test: when the first test file's tests do not
all pass, it is written again warmer, and the version the program fails least is the one committed.

A small model's tests are its guesses at the program's behaviour, and the 0.5B guessed wrong at least as often
as its code did: `meters_to_kilometers(10) == 1.0`, a fresh todo list expected to hold two tasks, a board's
winner on an empty board. Asked again, it writes other tests — and the tests a program agrees with are more
likely to say what it was meant to do (CodeT, Chen et al. 2022, picks programs and tests by that agreement).
The cost is plain: a test file that agrees with a wrong program. Hence the floor: a candidate is a choice
only while it checks the module as much as the first did (at least three tests that assert something of the
module's names, or as many as the first had, and never none), and QA's later rounds still judge every fix by these tests.
A test file none of whose tests checks the module (the 0.5B's password generator: `assert True`, three times —
"3 of 3 pass") is never a choice, not even the first: when no candidate checks anything, QA writes no tests
for that module, and its rounds run the program alone — never a pass that tested nothing.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from devteam.actions.write_tests import import_name
from devteam.artifacts.function_source import checks_something_of, collected_tests, module_names
from devteam.qa.fix_judge import CheckScore, check_score
from devteam.qa.sandbox import in_thread
from devteam.roles.base import RunContext
from devteam.roles.fix_candidates import CANDIDATE_TEMPERATURES

log = logging.getLogger("devteam.qa")

TESTS_CANDIDATE = "tests_candidate"
# A candidate test file must check the module at least this often (or as often as the first one did, if less).
MIN_CHECKING_TESTS = 3


@dataclass(frozen=True)
class ModuleTests:
    module: str  # the module it tests
    path: str
    code: str


def checking_tests(test_code: str, module_code: str, module: str) -> int:
    """How many test functions of `test_code` assert something of the module `module` (`checks_something_of`)."""
    try:
        tree = ast.parse(test_code)
    except (SyntaxError, ValueError):
        return 0
    names = module_names(module_code)
    top = import_name(module).split(".")[0]
    return sum(
        1
        for node in collected_tests(tree)
        if checks_something_of(ast.get_source_segment(test_code, node) or "", names, top)
    )


# Whether its tests run, whether all pass, minus the failing, the passing, minus those failing on an exception.
Agreement = tuple[bool, bool, int, int, int]


def agreement(score: CheckScore, tests: int) -> Agreement:
    """How well a program agrees with one version of its tests (`tests`: its test functions), worst to best: its
    tests run at all; all of them pass; then fewer fail; then more pass; then fewer fail on an exception. A file
    that does not collect is one error in pytest's count, whatever it holds — fewer failures than any file that
    runs — so it ranks below every one that runs (the 0.5B's first tic-tac-toe tests had a syntax error). The
    start does not depend on the tests and is left out."""
    failing = -score.not_failing
    runs = tests > 0 and score.passed + failing >= tests
    return (runs, runs and failing == 0 and score.passed > 0, -failing, score.passed, score.not_crashing)


def defined_tests(test_code: str) -> int:
    """How many test functions pytest collects from `test_code` (0 when it does not parse)."""
    try:
        tree = ast.parse(test_code)
    except (SyntaxError, ValueError):
        return 0
    return len(collected_tests(tree))


async def chosen_tests(
    written: list[ModuleTests],
    ask: Callable[[ModuleTests, float | None], Awaitable[str | None]],
    run: RunContext,
    *,
    purposes: Mapping[str, str],
) -> list[ModuleTests]:
    """`written` with each test file replaced by the candidate its program fails least, and without the files
    no candidate of which checks the module; `ask(file, temperature)` writes the file again (None: no usable
    answer). The files are judged together, one at a time, so each choice sees the ones made before it."""
    box = run.qa_box
    repo = run.opened
    judged = box is not None and box.runs_code and run.fix_candidates > 1
    if not judged:
        return [test for test in written if _checks_the_module(test, repo.read_text(test.module) or "")]
    assert box is not None
    tracked = [*repo.tracked_files(), *(test.path for test in written)]
    chosen = {test.path: test.code for test in written}

    async def judge(path: str, code: str) -> CheckScore:
        overrides = {**chosen, path: code}
        return await in_thread(check_score, repo.root, tracked, box, purposes=purposes, overrides=overrides)

    result = []
    for test in written:
        module_code = repo.read_text(test.module) or ""
        label = f"{TESTS_CANDIDATE}: {test.path}"
        first = checking_tests(test.code, module_code, test.module)
        floor = max(1, min(MIN_CHECKING_TESTS, first))
        best: _Choice | None = None
        if first:
            best = await _judged(test.code, judge, test.path)
            log.info("%s, candidate 1 (temperature as configured): %s", label, best.described)
        else:
            # `assert True` three times (the 0.5B's password generator): passing, and no test of anything.
            log.info(
                "%s, candidate 1 (temperature as configured): not a choice: none of its tests check the module", label
            )
        for number in range(2, run.fix_candidates + 1):
            if best is not None and best.rank[1]:
                break
            temperature = CANDIDATE_TEMPERATURES[min(number, len(CANDIDATE_TEMPERATURES)) - 1]
            shown = f"{label}, candidate {number} (temperature {temperature or 'as configured'})"
            candidate = await ask(test, temperature)
            if candidate is None or candidate.strip() == (best.code if best else test.code).strip():
                log.info("%s: %s", shown, "no usable answer" if candidate is None else "as it was")
                continue
            checking = checking_tests(candidate, module_code, test.module)
            if checking < floor:
                log.info("%s: not a choice: %d of its tests check the module, where %d did", shown, checking, floor)
                continue
            judged = await _judged(candidate, judge, test.path)
            log.info("%s: %s; best so far: %s", shown, judged.described, best.described if best else "none")
            if best is None or judged.rank > best.rank:
                best = judged
        if best is None:
            log.warning("QA writes no tests for %s: no version of them checks the module", test.module)
            chosen.pop(test.path, None)
            continue
        chosen[test.path] = best.code
        result.append(ModuleTests(test.module, test.path, best.code))
    return result


def _checks_the_module(test: ModuleTests, module_code: str) -> bool:
    if checking_tests(test.code, module_code, test.module):
        return True
    log.warning("QA writes no tests for %s: none of its tests check the module", test.module)
    return False


@dataclass(frozen=True)
class _Choice:
    code: str
    score: CheckScore
    rank: Agreement

    @property
    def described(self) -> str:
        return self.score.describe() if self.rank[0] else f"{self.score.describe()} (its tests do not run)"


async def _judged(code: str, judge: Callable[[str, str], Awaitable[CheckScore]], path: str) -> _Choice:
    score = await judge(path, code)
    return _Choice(code, score, agreement(score, defined_tests(code)))
