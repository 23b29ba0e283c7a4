"""Tests that carry their own copy of the module under test (the 0.5B's todo list tests, bench suite idea 4)."""

from __future__ import annotations

from pathlib import Path

from cli_runner import pytest_output

from devteam.actions.write_tests import with_module_imports
from devteam.artifacts.module_copies import without_module_copies

TODO = """import json


class TodoList:
    def __init__(self):
        self.tasks = []

    def add_task(self, task):
        self.tasks.append(task)
        return len(self.tasks)


def main():
    print(TodoList().add_task("milk"))
"""
# As the 0.5B wrote them: the module's class rewritten (and wrong), then tests of that copy.
COPYING_TESTS = """import pytest

class TodoList:
    def __init__(self):
        self.tasks = []

    @staticmethod
    def helper():
        return 0

    def add_task(self, task):
        return 99


def test_add_task():
    todo = TodoList()
    assert todo.add_task("milk") == 1


class TestTodo:
    def test_two(self):
        todo = TodoList()
        todo.add_task("a")
        assert todo.add_task("b") == 2
"""


def test_the_copy_goes_and_the_tests_check_the_module_itself(tmp_path: Path) -> None:
    trimmed, copied = without_module_copies(COPYING_TESTS, TODO)
    assert copied == ["TodoList"]
    assert "class TodoList" not in trimmed and "return 99" not in trimmed
    assert "def test_add_task():" in trimmed and "class TestTodo:" in trimmed  # the tests stay
    fixed, added = with_module_imports(trimmed, TODO, "main")
    assert added == ["TodoList"]

    for tests, outcome in ((COPYING_TESTS, "2 failed"), (fixed, "2 passed")):  # the copy's bug, then the module's truth
        output = pytest_output(tmp_path, TODO, tests)
        assert outcome in output, output


def test_test_functions_helpers_of_other_names_and_unparsable_files_stay() -> None:
    module = "def add(a, b):\n    return a + b\n\n\ndef test_helper():\n    return 1\n"
    tests = "from main import add\n\n\ndef test_helper():\n    assert add(1, 2) == 3\n\n\ndef sample():\n    return 2\n"
    assert without_module_copies(tests, module) == (tests, [])
    assert without_module_copies("def add(:\n", module) == ("def add(:\n", [])
    assert without_module_copies(tests, "def add(:\n") == (tests, [])
