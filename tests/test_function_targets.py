"""Which function of a file a round's failure points at: where it was raised, or what a failing assert called."""

from __future__ import annotations

from pathlib import Path

from pytest_runs import pytest_output

from devteam.qa.program_checks import BugReport
from devteam.roles.engineer_function_fixes import failed_inside

MODULE = """\
import json


class TodoList:
    def __init__(self):
        self.tasks = []

    def add_task(self, task):
        self.tasks.append(task)

    def load(self, path):
        with open(path) as file:
            return json.load(file)


def count(todo):
    return len(todo.items)
"""

TESTS = """\
from main import TodoList, count


def test_own_mistake():
    assert todo.load("tasks.json")


def test_add_returns_true():
    todo = TodoList()
    assert todo.add_task("milk") == True


def test_count():
    assert count(TodoList()) == 0


def test_length():
    assert len([1]) == 2
"""


def _report(root: Path) -> BugReport:
    (root / "main.py").write_text(MODULE)
    (root / "test_main.py").write_text(TESTS)
    return BugReport(1, pytest_output(root), ["main.py", "test_main.py"], design=None)


def test_the_function_raised_in_and_the_function_a_failing_assert_calls(tmp_path: Path) -> None:
    report = _report(tmp_path)

    found = failed_inside(report, "main.py", MODULE, {"test_main.py": TESTS})

    # test_own_mistake fails on a name it never set (NameError), not on what add_task gives: not a target.
    assert [(f.qualname, f.relation, f.check) for f in found] == [
        ("TodoList.add_task", "fails on what it expects of", "The test `test_add_returns_true`"),
        ("count", "fails inside", "The test `test_count`"),
    ]
    assert found[0].test_function is not None and found[0].test_function.startswith("def test_add_returns_true")
    assert "assert None == True" in found[0].report
    assert "AttributeError: 'TodoList' object has no attribute 'items'" in found[1].report


def test_a_start_failure_comes_first_and_other_files_are_not_named(tmp_path: Path) -> None:
    report = _report(tmp_path)
    started = (
        "\n\n$ python main.py\nTraceback (most recent call last):\n"
        '  File "/box/project/main.py", line 13, in load\n'
        '  File "/usr/lib/python3.11/json/__init__.py", line 293, in load\n'
        "ValueError: bad\n"
    )
    report = BugReport(1, report.failure + started, report.files, design=None)

    found = failed_inside(report, "main.py", MODULE, {"test_main.py": TESTS})

    assert found[0].qualname == "TodoList.load" and found[0].check == "The program's start (`python main.py`)"
    assert len(found) == 2  # at most two functions of one file a round
    assert failed_inside(report, "other.py", "def load():\n    pass\n", {}) == []
