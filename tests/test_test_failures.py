"""Which tests failed, read from a real pytest run's output, as QA runs pytest."""

from __future__ import annotations

from pathlib import Path

from pytest_runs import pytest_output

from devteam.qa.test_failures import (
    REPORT_LIMIT,
    Frame,
    compared,
    crashed_tests,
    failing_tests,
    frames,
    given_by,
    missing_attribute,
    missing_file,
    start_failure,
)

TESTS = """\
import pytest


def add(a, b):
    return a + b


def test_adds():
    assert add(1, 2) == 3


def test_adds_wrongly():
    assert add(2, 2) == 5


@pytest.mark.parametrize("a", [1, 2])
def test_parametrized(a):
    assert add(a, 0) == 0


class TestInClass:
    def test_method(self):
        assert add(1, 1) == 3


@pytest.fixture
def broken():
    raise RuntimeError("setup broke")


def test_with_broken_setup(broken):
    assert broken
"""


def test_each_failing_test_is_named_once_with_its_own_report(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(TESTS)

    found = failing_tests(pytest_output(tmp_path))

    assert [(test.path, test.qualname, test.error) for test in found] == [
        ("test_sample.py", "test_adds_wrongly", False),
        ("test_sample.py", "test_parametrized", False),  # two failing parameters: one function
        ("test_sample.py", "TestInClass.test_method", False),
        ("test_sample.py", "test_with_broken_setup", True),
    ]
    wrongly = found[0].report
    assert "assert add(2, 2) == 5" in wrongly and "assert 4 == 5" in wrongly
    assert "test_method" not in wrongly and "TestInClass" not in wrongly  # only its own report
    assert "assert 2 == 3" in found[2].report
    assert "setup broke" in found[3].report


def test_a_file_that_fails_to_collect_names_no_function(tmp_path: Path) -> None:
    (tmp_path / "test_broken.py").write_text("from nowhere import thing\n\n\ndef test_x():\n    assert thing\n")

    assert failing_tests(pytest_output(tmp_path)) == []


def test_a_long_report_keeps_its_end(tmp_path: Path) -> None:
    long_list = "[" + ", ".join(str(n) for n in range(2000)) + "]"
    (tmp_path / "test_long.py").write_text(f"def test_long():\n    assert {long_list} == []\n")

    (found,) = failing_tests(pytest_output(tmp_path))

    assert len(found.report) <= REPORT_LIMIT + 10 and found.report.startswith("...\n")
    assert found.report.rstrip().splitlines()[-1].startswith("E ")


def test_output_with_no_summary_names_nothing() -> None:
    assert failing_tests("") == []
    assert failing_tests("FAILED to start: bwrap: no permission\n") == []


def test_the_project_frames_of_a_traceback_and_the_start_failure() -> None:
    output = (
        "tests/test_main.py:5: in test_add\n    todo.add(1)\nmain.py:12: in add\n    self.x\nE   AttributeError\n\n"
        "$ python main.py\nTraceback (most recent call last):\n"
        '  File "/box/project/main.py", line 30, in <module>\n'
        '  File "/box/project/main.py", line 20, in run\n'
        '  File "/usr/lib/python3.11/json/__init__.py", line 293, in load\n'
        "ValueError: bad\n"
    )

    assert frames(output) == [
        Frame("tests/test_main.py", 5, "test_add", "todo.add(1)"),
        Frame("main.py", 12, "add", "self.x"),
        Frame("main.py", 20, "run"),  # module level and the standard library's frames are not the project's
    ]
    started = start_failure(output)
    assert started is not None and started[0] == "python main.py" and started[1].endswith("ValueError: bad")
    assert start_failure("1 failed in 0.1s") is None


def test_failed_tests_that_ended_in_an_exception_of_the_code_are_counted(tmp_path: Path) -> None:
    (tmp_path / "test_mixed.py").write_text(
        "def test_raises():\n    return len - 1\n\n\n"
        "def test_raises_too():\n    {}['missing']\n\n\n"
        "def test_asserts():\n    assert 1 == 2\n\n\n"
        "def test_passes():\n    assert True\n"
    )

    assert crashed_tests(pytest_output(tmp_path)) == 2
    assert crashed_tests("") == 0


def test_what_a_failed_comparison_got_and_expected(tmp_path: Path) -> None:
    (tmp_path / "test_converter.py").write_text(
        "import pytest\n\n\ndef test_km():\n    assert 10 / 1000 == pytest.approx(1.0)\n\n\n"
        "def test_none():\n    assert print('x') == True\n\n\ndef test_truthy():\n    assert []\n\n\n"
        "def test_is():\n    assert print('x') is True\n"
    )

    found = {test.name: test for test in failing_tests(pytest_output(tmp_path))}

    assert compared(found["test_km"].report) == ("0.01", "1.0 ± 1.0e-06")
    assert compared(found["test_none"].report) == ("None", "True")
    assert compared(found["test_truthy"].report) is None
    assert compared(found["test_is"].report) == ("None", "True")


def test_what_a_failing_test_lacked_a_file_nobody_wrote_or_a_method_of_another_class(tmp_path: Path) -> None:
    (tmp_path / "words.py").write_text(
        "def count(path):\n    with open(path) as file:\n        return len(file.read())\n\n\n"
        "class Game:\n    pass\n\n\nclass Board:\n    def is_full(self):\n        return False\n"
    )
    (tmp_path / "test_words.py").write_text(
        "import words\n\n\ndef test_count():\n    assert words.count('example.txt') == 3\n\n\n"
        "def test_absolute():\n    assert words.count('/no/such/folder/x.txt') == 3\n\n\n"
        "def test_full():\n    assert not words.Game().is_full()\n"
    )

    found = {test.name: test for test in failing_tests(pytest_output(tmp_path))}

    assert missing_file(found["test_count"].report) == "example.txt"
    assert missing_file(found["test_absolute"].report) is None  # a path is not a file the test could write
    assert missing_attribute(found["test_full"].report) == ("Game", "is_full")
    assert missing_attribute(found["test_count"].report) is None


def test_which_function_gave_the_value_a_failed_comparison_got(tmp_path: Path) -> None:
    (tmp_path / "todo.py").write_text(
        "class TodoList:\n    def __init__(self):\n        self.tasks = []\n\n"
        "    def add_task(self, task):\n        self.tasks.append(task)\n\n\n"
        "def to_km(metres):\n    return metres / 1000\n"
    )
    (tmp_path / "test_todo.py").write_text(
        "from todo import TodoList, to_km\n\n\n"
        "def test_add():\n    assert TodoList().add_task('x') == True\n\n\n"
        "def test_km():\n    assert to_km(10) == 1.0\n\n\n"
        "def test_plain():\n    assert 1 + 1 == 3\n"
    )

    found = {test.name: test for test in failing_tests(pytest_output(tmp_path))}

    assert given_by(found["test_add"].report) == "add_task"  # a method: `<bound method ...>` or `.add_task`
    assert given_by(found["test_km"].report) == "to_km"
    assert given_by(found["test_plain"].report) is None
