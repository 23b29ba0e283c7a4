"""How QA chooses among candidates of the tests it writes: what counts as checking the module, and the order."""

from __future__ import annotations

from devteam.qa.fix_judge import CheckScore
from devteam.roles.qa_test_candidates import agreement, checking_tests, defined_tests

CONVERTER = """\
class UnitConverter:
    def meters_to_kilometers(self, meters):
        return meters / 1000.0


def celsius_to_fahrenheit(celsius):
    return celsius * 9 / 5 + 32
"""

# The 0.5B's converter tests, and the shapes a candidate takes that check nothing of the module.
TESTS = """\
import unittest

import pytest
from main import UnitConverter, celsius_to_fahrenheit


def test_meters_to_kilometers():
    assert UnitConverter().meters_to_kilometers(10) == pytest.approx(0.01)


def test_celsius_to_fahrenheit():
    assert celsius_to_fahrenheit(37) == pytest.approx(98.6)


def test_bad_input():
    with pytest.raises(TypeError):
        celsius_to_fahrenheit("hot")


def test_only_calls():
    UnitConverter().meters_to_kilometers(1)
    assert True


def test_other_things():
    assert 1 + 1 == 2


class TestConverter:
    def test_in_a_class(self):
        assert UnitConverter().meters_to_kilometers(0) == 0


class TestUnittestStyle(unittest.TestCase):
    def test_checked_by_unittest(self):
        self.assertEqual(UnitConverter().meters_to_kilometers(10), 0.01)

    def test_checks_a_constant(self):
        self.assertTrue(True)
"""


def test_a_test_checks_the_module_when_it_asserts_or_expects_a_raise_on_its_names() -> None:
    # The three module-level checks, the one in a class and unittest's; `assert True`, `self.assertTrue(True)`
    # and arithmetic check nothing.
    assert checking_tests(TESTS, CONVERTER, "main.py") == 5


def test_a_test_file_that_does_not_parse_checks_nothing() -> None:
    assert checking_tests("def test_x(:\n", CONVERTER, "main.py") == 0
    # A module that does not parse names nothing the tests could check.
    assert checking_tests(TESTS, "class Broken(:\n", "main.py") == 0


def test_a_module_used_by_its_import_name_counts() -> None:
    tests = "import converter.units\n\n\ndef test_it():\n    assert converter.units.celsius_to_fahrenheit(0) == 32\n"
    assert checking_tests(tests, CONVERTER, "converter/units.py") == 1


def test_all_passing_beats_fewer_failing_which_beats_more_passing() -> None:
    ranked = [
        CheckScore(all_pass=False, starts=True, passed=5, not_failing=-3),
        CheckScore(all_pass=False, starts=True, passed=6, not_failing=-2, not_crashing=-2),
        CheckScore(all_pass=False, starts=True, passed=6, not_failing=-2),
        CheckScore(all_pass=False, starts=True, passed=2, not_failing=-1),
        # All its tests pass, though the program does not start: the start is not the tests' to change.
        CheckScore(all_pass=False, starts=False, passed=3, not_failing=0),
    ]
    assert sorted(reversed(ranked), key=lambda score: agreement(score, 3)) == ranked
    # No test at all is not "all pass".
    assert agreement(CheckScore(all_pass=True, starts=True, passed=0, not_failing=0), 0)[1] is False


def test_a_test_file_that_does_not_collect_ranks_below_any_that_runs() -> None:
    # The 0.5B's first tic-tac-toe tests: a syntax error, one error in pytest's count; the next: four failures.
    not_collected = agreement(CheckScore(all_pass=False, starts=False, passed=0, not_failing=-1), 4)
    runs = agreement(CheckScore(all_pass=False, starts=False, passed=0, not_failing=-4), 4)
    assert runs > not_collected and not_collected[0] is False
    assert defined_tests("def test_a():\n    assert 1\n\n\nclass TestB:\n    def test_c(self):\n        pass\n") == 2
    assert defined_tests("def test_a(:\n") == 0
