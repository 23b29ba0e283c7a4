"""The value a failing test expects against the value the code gives, read from real pytest runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pytest_runs import pytest_output

from devteam.artifacts.expected_values import DisputedValue, disputed_value
from devteam.qa.test_failures import compared, failing_tests, frames

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

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_units.py::test_km"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert "1 passed" in result.stdout


def test_no_dispute_where_the_code_gives_nothing_an_object_or_the_test_has_no_literal(tmp_path: Path) -> None:
    found = _disputes(tmp_path)

    assert found["test_gives_nothing"] is None  # `== None` would check nothing
    assert found["test_an_object"] is None
    assert found["test_no_literal"] is None


def test_no_dispute_in_a_file_that_does_not_parse_or_at_a_line_with_no_compare() -> None:
    assert disputed_value("def test_x(:\n", 1, "0.01", "1.0") is None
    assert disputed_value("def test_x():\n    assert ok\n", 2, "0.01", "1.0") is None
    assert disputed_value("def test_x():\n    assert f(1) == 1.0\n", 2, "1.0000000001", "1.0") is None  # same value
