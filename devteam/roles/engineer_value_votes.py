"""Which value a disputed call must give, asked of code rather than of a judge: the function the call computes
with is written anew (`actions.fill_function.written_anew`: its signature, its class and the design, neither
its body nor the test shown), and each new version runs the failing test in the box.

Asked to choose between two values, the 0.5B picked by position (`kilograms_to_pounds(2.5)`: 5.5115, then
7.5) and said `False` to every bool; asked for the value as an arithmetic expression, it wrote `2.5 * 1000`
and `10.0 / 3.6` for a kilogram in pounds and 10 m in km. Asked for the function, it writes `kilograms *
2.20462`: a small coder model computes in code what it cannot work out in words. Every new version giving the
code's value is a vote for the code; every one passing the test, for the test; anything else (they differ, one
raises, one cannot be written) decides nothing, and the choice (`actions.check_expected`) is asked as before.
The code's own version is not counted: it is the one in dispute. A bool is one bit: new versions that agree
with the code on it say little (each new `check_winner` of the 0.5B called a row of blanks a win, as the
code did), so a bool is voted only the test's way — where every new version passes the test, it is the fix.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from devteam.actions.fill_function import FileBrief, written_anew
from devteam.actions.persona import Persona
from devteam.artifacts.expected_values import DisputedValue, agree, disputed_truth, disputed_value, with_one_check
from devteam.artifacts.function_source import function_named
from devteam.llm.client import LLM
from devteam.qa.program_checks import TestRun
from devteam.qa.test_failures import FailingTest, asserted_truth, compared, failing_tests, frames, given_by, same_test
from devteam.roles.fix_candidates import CANDIDATE_TEMPERATURES

log = logging.getLogger("devteam.engineer")

VALUE_VOTE = "value_vote"
# New versions written per dispute: two short calls and two test runs; both must give the same side.
VERSIONS = 2

_BOOLS = ("True", "False")

Side = Literal["code", "test"]
# The new versions written so far in a round, by the module's text, the function, its class and the version's
# number: each dispute a function's value is in (the 0.5B's converter tests: three wrong literals in one test)
# runs the versions already written rather than paying two more calls for the same answers.
NewVersions = dict[tuple[str, str, str | None, int], str | None]
# What one new version did with the failing test: gave the code's value, passed it, or neither (None).
Reading = Side | None


@dataclass(frozen=True)
class Vote:
    side: Side
    # With the test's side: the module with the first new version, a fix of the code to judge like any other.
    module: str | None = None


async def voted_side(
    llm: LLM,
    persona: Persona,
    *,
    dispute: DisputedValue,
    test: FailingTest,
    report: str,
    tests: str,
    module: str,
    brief: FileBrief,
    run_with: Callable[[str, str], Awaitable[TestRun]],
    repair: bool,
    written: NewVersions | None = None,
) -> Vote | None:
    """The side every new version of the function `report` shows the disputed call computing with agrees with;
    None when they do not all agree or the function is not one of `module`'s (`module`: its code).
    `run_with(code, tests)`: the tests run with `code` in place of the module and `tests` in place of the test
    file — here `tests` with the test's other asserts made harmless (`expected_values.with_one_check`), so that
    a version is asked only the disputed value; `written`: the versions written before, used and filled."""
    written = written if written is not None else {}
    asked = with_one_check(tests, dispute.line) or tests
    subject = f"{test.path}::{test.qualname}"
    found = next(
        (
            place
            for name in (*computing_functions(dispute.computed), given_by(report))
            if name and (place := function_named(module, name))
        ),
        None,
    )
    if found is None:
        return None
    readings: list[Reading] = []
    values: list[str] = []
    versions: list[str] = []
    for number in range(VERSIONS):
        key = (module, found[0], found[1], number)
        if key not in written:
            written[key] = await written_anew(
                llm,
                persona,
                code=module,
                name=found[0],
                class_name=found[1],
                brief=brief,
                repair=repair,
                temperature=CANDIDATE_TEMPERATURES[min(number, len(CANDIDATE_TEMPERATURES) - 1)],
            )
        version = written[key]
        if version is None:
            readings.append(None)
            values.append("no new version")
            break
        if version.strip() == module.strip():
            # Written without seeing it, the function came out as the code has it (the 0.5B's `meters /
            # 1000.0`, twice): it gives the code's value, with no need to run it.
            reading: Reading = "code"
            shown = f"{dispute.code_gives} (the code's own body)"
        else:
            reading, shown = _reading(await run_with(version, asked), test, asked, dispute)
        readings.append(reading)
        versions.append(version)
        values.append(shown)
        if reading is None:
            break
    qualname = f"{found[1]}.{found[0]}" if found[1] else found[0]
    side = readings[0] if len(readings) == VERSIONS and len(set(readings)) == 1 else None
    verdict = f"the {side}'s value" if side else "no vote"
    if side == "code" and dispute.code_gives in _BOOLS:
        # One bit: versions agree on it by chance, and a bug they share agrees too (every new
        # `check_winner` of the 0.5B called a row of blanks a win). A bool the code gives is not voted in.
        side, verdict = None, "no vote (a bool)"
    log.info(
        "%s: %s: %s written anew: %s; the code gives %s, the test expects %s: %s",
        VALUE_VOTE,
        subject,
        qualname,
        ", ".join(values),
        dispute.code_gives,
        dispute.test_expects,
        verdict,
    )
    if side is None:
        return None
    return Vote(side, versions[0] if side == "test" else None)


def computing_functions(computed: str) -> list[str]:
    """The functions a test's computed side calls, outermost first (`UnitConverter().to_km(10)`: to_km, then
    UnitConverter): the first the module defines is the one whose value is disputed. pytest names it only
    for some asserts (`where 0.01 = <bound method ...>`; never beside `pytest.approx`)."""
    try:
        node: ast.AST = ast.parse(computed, mode="eval").body
    except (SyntaxError, ValueError):
        return []
    names = []
    while isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute):
                names.append(function.attr)
            elif isinstance(function, ast.Name):
                names.append(function.id)
            node = function.value if isinstance(function, ast.Attribute) else function
        else:
            node = node.value
    return names


def _reading(result: TestRun, test: FailingTest, tests: str, dispute: DisputedValue) -> tuple[Reading, str]:
    """Which side a run of the tests with a new version of the function takes, and what it gave, in words."""
    if result.box_error is not None or result.needs:
        return None, "not run"
    failing = next((one for one in failing_tests(result.output) if same_test(one, test)), None)
    if failing is None:
        # Passed, unless the file did not collect (or the run ended before pytest reported).
        if result.errors or result.passed == 0:
            return None, "its tests did not run"
        return "test", f"{dispute.test_expects} (the test passes)"
    if failing.error:
        return None, "an error"
    now = dispute_of(failing, failing.report, tests)
    if now is None or now.line != dispute.line:
        return None, "a failure elsewhere" if now is not None else "no plain value"
    return ("code" if agree(now.code_gives, dispute.code_gives) else None), now.code_gives


def dispute_of(test: FailingTest, report: str, tests: str) -> DisputedValue | None:
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
