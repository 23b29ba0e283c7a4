"""Judging a candidate fix by the project's own checks before it is written: tests and the smoke run, in the box.

At temperature 0 a small model's fix is one answer, often the file again or a change that breaks something
else; warmer answers differ, and the tests QA already wrote can tell which of them helps. A candidate is run
in a throwaway copy of the project holding it (`run_sandboxed`'s overrides), never written to the project
until it is chosen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devteam.qa.box import Box
from devteam.qa.program_checks import is_test_path, run_tests, smoke_run
from devteam.qa.test_failures import crashed_tests


@dataclass(frozen=True, order=True)
class CheckScore:
    """What the checks say of one version of the project, ordered worst to best: a version whose tests all pass
    and that starts beats any other; then tests that run at all; then starting; then more tests passing; then
    fewer failing; then fewer failing on an exception of the code."""

    all_pass: bool
    # Whether any test ran: a version whose module exits or fails on import stops pytest at collection (one
    # error, "fewer failures" than two tests failing): the 0.5B's word-frequency fix dropped its `__main__`
    # guard, so importing it ran `sys.exit(2)`, and that fix was kept. It orders before starting too: the 0.5B's
    # whole-file fix of its notes API replaced the notes classes two tests passed on with a bare HTTP server
    # that started, and was kept over the code as asked for. Keyword-only: it orders before `starts`.
    tests_run: bool = field(default=True, kw_only=True)
    starts: bool
    passed: int
    not_failing: int  # minus the failing tests and errors, so that fewer failures order higher
    # Minus the failed tests that ended in an exception of the code (TypeError, ...) rather than a failed assert:
    # the 0.5B's snake fixed `randint(0, len - 1)` and its seven tests still failed, now on their asserts.
    not_crashing: int = 0
    # pytest's output of this version, not part of the order: what a failing test now says, for the next step.
    tests_output: str = field(default="", compare=False, repr=False)

    def describe(self) -> str:
        crashed = f" ({-self.not_crashing} with an error)" if self.not_crashing else ""
        started = "starts" if self.starts else "does not start"
        if not self.tests_run:
            errors = -self.not_failing
            return f"no test runs ({errors} error{'' if errors == 1 else 's'}), {started}"
        return f"{self.passed} tests pass, {-self.not_failing} fail{crashed}, {started}"


def check_score(
    root: Path,
    tracked: list[str],
    box: Box,
    *,
    purposes: Mapping[str, str],
    overrides: Mapping[str, str] | None = None,
) -> CheckScore:
    """The score of the project at `root` with `overrides` in place of those files (none: as it is)."""
    has_tests = any(is_test_path(path) and path.endswith(".py") for path in tracked)
    tests = run_tests(root, box, overrides=overrides) if has_tests else None
    smoke = smoke_run(root, tracked, box, purposes=purposes, overrides=overrides)
    tests_ok = tests is None or tests.ok
    starts = smoke is None or smoke.ok
    failing = (tests.failed + tests.errors) if tests is not None else 0
    passed = tests.passed if tests is not None else 0
    crashed = crashed_tests(tests.output) if tests is not None else 0
    return CheckScore(
        all_pass=tests_ok and starts,
        starts=starts,
        tests_run=tests is None or tests.passed + tests.failed > 0,
        passed=passed,
        not_failing=-failing,
        not_crashing=-crashed,
        tests_output=tests.output if tests is not None else "",
    )
