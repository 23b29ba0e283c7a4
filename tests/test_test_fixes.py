"""A fix of the tests may correct them, never hollow them: what `rewritten_tests_problem` keeps and refuses."""

from __future__ import annotations

import pytest

from devteam.actions.write_tests import checked_tests, rewritten_tests_problem

FOUR_TESTS = """\
import pytest
from main import add


def test_add():
    assert add(1, 2) == 3


def test_add_negative():
    assert add(-1, -2) == -3


def test_add_text_fails():
    with pytest.raises(TypeError):
        add("a", 1)


class TestMore:
    def test_zero(self):
        assert add(0, 0) == 0
"""


def test_asserts_and_raises_blocks_count_as_checks_and_bare_calls_do_not() -> None:
    assert checked_tests(FOUR_TESTS) == 4
    assert checked_tests("def test_runs():\n    add(1, 2)\n\n\ndef helper():\n    assert True\n") == 0
    assert checked_tests("def test_(:\n") is None
    unittest_style = (
        "class TestAdd(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n"
    )
    assert checked_tests(unittest_style) == 1
    # A test function another one only defines is never run by pytest, nor are the asserts inside it.
    nested = "def test_main():\n    def test_inner():\n        assert add(1, 2) == 3\n\n    print('defined')\n"
    assert checked_tests(nested) == 0


@pytest.mark.parametrize(
    ("after", "problem"),
    [
        (FOUR_TESTS.replace("== 3", "== 4"), None),  # an expectation corrected
        (FOUR_TESTS.split("\n\n\ndef test_add_text_fails")[0] + "\n", None),  # two of four kept: half
        (
            "from main import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
            "1 of its tests check anything, where 4 did",
        ),
        ("from main import add\n\n\ndef test_add():\n    add(1, 2)\n", "0 of its tests check anything, where 4 did"),
        ("def test_add(:\n", "it does not parse"),
    ],
)
def test_a_test_fix_keeps_at_least_half_of_the_checking_tests(after: str, problem: str | None) -> None:
    assert rewritten_tests_problem(FOUR_TESTS, after) == problem


def test_a_file_that_checked_nothing_must_check_something_after_its_fix() -> None:
    assert rewritten_tests_problem("def test_a():\n    pass\n", "def test_a():\n    pass\n") == (
        "0 of its tests check anything, where 0 did"
    )
    assert rewritten_tests_problem("def test_a():\n    pass\n", "def test_a():\n    assert 1 + 1 == 2\n") is None
