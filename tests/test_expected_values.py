"""The value a failing test expects against the value the code gives, read from real pytest runs."""

from __future__ import annotations

from pathlib import Path

from pytest_runs import pytest_output

from devteam.actions.check_expected import option_text
from devteam.artifacts.expected_values import DisputedValue, agree, disputed_truth, disputed_value, with_one_check
from devteam.qa.test_failures import asserted_truth, compared, failing_tests, frames
from devteam.roles.engineer_value_votes import computing_functions

MODULE = """\
def to_km(meters):
    return meters / 1000


def shout(text):
    return text.upper()


def evens(limit):
    return [n for n in range(limit) if n % 2 == 0]


def add_task(tasks, task):
    tasks.append(task)


class Point:
    pass
"""

TESTS = """\
import pytest
from units import Point, add_task, evens, shout, to_km


def test_km():
    assert to_km(10) == pytest.approx(1.0), "10 m is 1 km"


def test_shout():
    assert shout("hi") == "HI!"


def test_literal_first():
    assert [0, 2] == evens(6)


def test_gives_nothing():
    assert add_task([], "x") == True


def test_an_object():
    assert Point() == 3


def test_no_literal():
    assert to_km(10) == to_km(20)
"""


def _disputes(tmp_path: Path) -> dict[str, DisputedValue | None]:
    (tmp_path / "units.py").write_text(MODULE)
    (tmp_path / "test_units.py").write_text(TESTS)
    found = {}
    for test in failing_tests(pytest_output(tmp_path)):
        values = compared(test.report)
        line = [frame.line for frame in frames(test.report) if frame.path == test.path]
        found[test.name] = disputed_value(TESTS, line[-1], *values) if values and line else None
    return found


def test_a_plain_value_against_a_literal_is_a_dispute_and_the_literal_is_replaced_in_place(tmp_path: Path) -> None:
    found = _disputes(tmp_path)

    km = found["test_km"]
    assert km is not None
    assert (km.computed, km.code_gives, km.test_expects) == ("to_km(10)", "0.01", "1.0")
    assert 'assert to_km(10) == pytest.approx(0.01), "10 m is 1 km"' in km.corrected  # approx and message kept
    shout = found["test_shout"]
    assert shout is not None and (shout.code_gives, shout.test_expects) == ("'HI'", '"HI!"')
    literal_first = found["test_literal_first"]
    assert literal_first is not None
    assert (literal_first.computed, literal_first.code_gives) == ("evens(6)", "[0, 2, 4]")
    assert "assert [0, 2, 4] == evens(6)" in literal_first.corrected


def test_the_corrected_file_passes_where_the_code_is_right(tmp_path: Path) -> None:
    found = _disputes(tmp_path)
    km = found["test_km"]
    assert km is not None
    (tmp_path / "test_units.py").write_text(km.corrected)

    still_failing = {test.name for test in failing_tests(pytest_output(tmp_path))}

    assert "test_km" not in still_failing and "test_shout" in still_failing  # the others as they were


def test_no_dispute_where_the_code_gives_nothing_an_object_or_the_test_has_no_literal(tmp_path: Path) -> None:
    found = _disputes(tmp_path)

    assert found["test_gives_nothing"] is None  # `== None` would check nothing
    assert found["test_an_object"] is None
    assert found["test_no_literal"] is None


def test_no_dispute_in_a_file_that_does_not_parse_or_at_a_line_with_no_compare() -> None:
    assert disputed_value("def test_x(:\n", 1, "0.01", "1.0") is None
    assert disputed_value("def test_x():\n    assert ok\n", 2, "0.01", "1.0") is None
    assert disputed_value("def test_x():\n    assert f(1) == 1.0\n", 2, "1.0000000001", "1.0") is None  # same value


GAME = """\
class TicTacToe:
    def __init__(self):
        self.cells = [" "] * 9

    def check_winner(self, mark):
        return False

    def is_valid_move(self, cell):
        return 0 <= cell < 9

    def moves(self):
        return 0
"""

GAME_TESTS = """\
from game import TicTacToe


def test_no_winner_on_a_new_board():
    assert TicTacToe().check_winner("X"), "the check_winner method failed"


def test_a_cell_on_the_board_is_a_move():
    game = TicTacToe()
    assert not game.is_valid_move(3)


def test_not_a_bool():
    assert TicTacToe().moves()


def test_two_checks():
    assert TicTacToe().check_winner("X") or TicTacToe().check_winner("O")
"""


def test_a_bool_the_test_wanted_the_other_way_is_a_dispute_settled_by_a_not(tmp_path: Path) -> None:
    (tmp_path / "game.py").write_text(GAME)
    (tmp_path / "test_game.py").write_text(GAME_TESTS)
    found: dict[str, DisputedValue | None] = {}
    truths: dict[str, bool | None] = {}
    for test in failing_tests(pytest_output(tmp_path)):
        truths[test.name] = truth = asserted_truth(test.report)
        line = [frame.line for frame in frames(test.report) if frame.path == test.path][-1]
        found[test.name] = disputed_truth(GAME_TESTS, line, truth) if truth is not None else None

    assert truths == {
        "test_no_winner_on_a_new_board": False,
        "test_a_cell_on_the_board_is_a_move": True,
        "test_not_a_bool": None,  # `assert 0`: not a bool the code gave
        "test_two_checks": None,  # `assert (False or False)`: which side is disputed is unclear
    }
    winner = found["test_no_winner_on_a_new_board"]
    assert winner is not None
    assert (winner.computed, winner.code_gives, winner.test_expects) == (
        'TicTacToe().check_winner("X")',
        "False",
        "True",
    )
    assert 'assert not TicTacToe().check_winner("X"), "the check_winner method failed"' in winner.corrected
    move = found["test_a_cell_on_the_board_is_a_move"]
    assert move is not None and "    assert game.is_valid_move(3)\n" in move.corrected
    assert disputed_truth(GAME_TESTS, 18, False) is None  # nor from the syntax: not one computed value


def test_a_value_is_offered_as_a_choice_only_when_a_short_quote_free_option_carries_it() -> None:
    assert option_text("0.01") == "0.01"
    assert option_text("'HELLO'") == "HELLO"  # a string without its quotes
    assert option_text("[2, 4]") == "[2, 4]"
    assert option_text("['a', 'b']") is None  # quotes inside: an enum value a server's grammar choked on
    assert option_text("'it\\'s'") is None
    assert option_text("'" + "x" * 80 + "'") is None


def test_two_values_of_one_call_agree_within_a_constant_s_last_digits_not_a_factor() -> None:
    assert agree("5.5115", "5.51155")  # 2.2046 and 2.20462 pounds to the kilogram
    assert agree("0.01", "0.010000000000000002")
    assert agree("[2, 4]", "[2, 4]") and agree("'HELLO'", "'HELLO'")
    assert not agree("0.01", "1.0")
    assert not agree("5.5115", "7.5")
    assert not agree("True", "1")  # a bool is no number here
    assert agree("1.0 ± 1.0e-06", "1.0")  # pytest's approx sign is read off
    assert not agree("<main.Point object at 0x7f>", "<main.Point object at 0x7f>")  # not a plain value


def test_the_function_a_disputed_call_computes_with_is_read_outermost_first() -> None:
    assert computing_functions("UnitConverter().kilograms_to_pounds(2.5)") == ["kilograms_to_pounds", "UnitConverter"]
    assert computing_functions("calculate_temperatures([30, 40])['mean']") == ["calculate_temperatures"]
    assert computing_functions("game.board.is_full()") == ["is_full"]
    assert computing_functions("to_km") == []  # no call
    assert computing_functions("to_km(") == []  # not code


ASSERTS_BEFORE_AND_AFTER = """\
from units import add_task, to_km


def test_km():
    tasks = []
    assert add_task(tasks, 'a') is None, (
        "adds"
    )
    assert to_km(10) == 1.0
    assert to_km(2000) == 2
    assert tasks == ['a']


def test_other():
    assert to_km(1) == 5
"""


def test_a_version_is_asked_only_the_disputed_value_the_test_s_other_asserts_kept_as_calls(tmp_path: Path) -> None:
    """The run that asks a new version one value fails only on that assert: the others of its test still run
    their calls (`add_task` fills the list), line for line; the other tests are as they were."""
    line = ASSERTS_BEFORE_AND_AFTER.splitlines().index("    assert to_km(10) == 1.0") + 1
    asked = with_one_check(ASSERTS_BEFORE_AND_AFTER, line)
    assert asked is not None

    assert len(asked.splitlines()) == len(ASSERTS_BEFORE_AND_AFTER.splitlines())
    assert asked.splitlines()[line - 1] == "    assert to_km(10) == 1.0"
    assert "    (add_task(tasks, 'a') is None, (\n        \"adds\"\n    ))" in asked
    assert "    (to_km(2000) == 2)\n    (tasks == ['a'])" in asked
    assert "def test_other():\n    assert to_km(1) == 5" in asked
    (tmp_path / "units.py").write_text(MODULE)
    (tmp_path / "test_units.py").write_text(asked)
    failing = {test.name: test for test in failing_tests(pytest_output(tmp_path))}
    assert set(failing) == {"test_km", "test_other"}
    assert frames(failing["test_km"].report)[-1].line == line  # failed there, and only there


def test_no_version_s_file_where_the_line_holds_no_assert_or_the_file_does_not_parse() -> None:
    assert with_one_check(ASSERTS_BEFORE_AND_AFTER, 5) is None  # `tasks = []`
    assert with_one_check("def test_x(:\n    assert f() == 1\n", 2) is None
