"""Tests importing a class's methods as module functions, as the 0.5B's 2048 and unit-converter tests did."""

from __future__ import annotations

import ast
from pathlib import Path

from cli_runner import pytest_output

from devteam.artifacts.method_imports import imported_methods, with_method_calls

# The 0.5B's 2048 module and its tests (bench suite, idea 3), shortened: `merge` is a method of `Board`.
BOARD = """import random


class Board:
    def __init__(self):
        self.grid = [[0] * 4 for _ in range(4)]

    def merge(self, row_index, col_index):
        return self.grid[row_index]

    def add_tile(self):
        self.grid[0][0] = random.choice([2, 4])


def main():
    Board().add_tile()
"""
BOARD_TESTS = """import pytest

# Importing the main module
from main import Board, merge, add_tile

def test_merge():
    board = Board()
    board.grid[0][0] = 1
    assert merge(0, 0) == [1, 0, 0, 0]

def test_add_tile():
    add_tile()
    assert True
"""
# The unit converter's (idea 5): every function a method of `Main`, tests in a class.
CONVERTER = """class Main:
    def convert_length(self, length, from_unit, to_unit):
        return length * 1000 if (from_unit, to_unit) == ("km", "m") else length
"""
CONVERTER_TESTS = """from main import convert_length

class TestMain:
    def test_convert_length(self):
        assert convert_length(1, 'km', 'm') == 1000, "km to m"
"""


def test_a_method_imported_as_a_function_is_called_on_the_tests_own_object() -> None:
    fixed = with_method_calls(BOARD_TESTS, BOARD, "main")

    assert fixed.methods == {"merge": "Board", "add_tile": "Board"}
    assert "from main import Board\n" in fixed.code
    assert "assert board.merge(0, 0) == [1, 0, 0, 0]" in fixed.code  # the board the test set up
    assert "    Board().add_tile()\n" in fixed.code  # no object made in that test: a new one
    assert "# Importing the main module" in fixed.code  # the rest stays as written


def test_tests_in_a_class_call_a_new_object_and_pass_where_they_could_not_import(tmp_path: Path) -> None:
    fixed = with_method_calls(CONVERTER_TESTS, CONVERTER, "main")

    assert fixed.methods == {"convert_length": "Main"}
    assert fixed.code.startswith("from main import Main\n")
    assert "assert Main().convert_length(1, 'km', 'm') == 1000" in fixed.code
    for tests, outcome in ((CONVERTER_TESTS, "1 error"), (fixed.code, "1 passed")):
        output = pytest_output(tmp_path, CONVERTER, tests)
        assert outcome in output, output


def test_names_that_are_real_or_nowhere_or_aliased_are_left_alone() -> None:
    module = "def helper():\n    return 1\n\n\nclass Game:\n    def play(self):\n        return 2\n"
    tests = (
        "from main import helper, missing\nfrom main import play as run\n\n\ndef test_it():\n    assert helper() == 1\n"
    )

    assert imported_methods(tests, module, "main") == {}
    assert with_method_calls(tests, module, "main").code == tests
    # another module's names, and files that do not parse, change nothing
    assert imported_methods("from other import play\n", module, "main") == {}
    assert imported_methods("from main import play\n", "class Game(:\n", "main") == {}
    assert with_method_calls("def test_(:\n", module, "main").code == "def test_(:\n"


def test_a_nested_call_and_a_multi_line_import_are_rewritten_once() -> None:
    module = "class Stack:\n    def push(self, item):\n        return [item]\n"
    tests = (
        "from main import (\n    Stack,\n    push,\n)\n\n\n"
        "def test_push():\n    def inner():\n        return push('é')\n    assert inner() == ['é']\n"
    )
    fixed = with_method_calls(tests, module, "main")

    assert fixed.code.startswith("from main import Stack\n\n\ndef test_push")
    assert "return Stack().push('é')" in fixed.code and "Stack().Stack()" not in fixed.code
    ast.parse(fixed.code)


def test_methods_reached_through_a_star_import_are_called_on_an_object_too(tmp_path: Path) -> None:
    # The unit converter's tests on the final code (bench suite, idea 5): `from main import *`, then the methods.
    module = "class UnitConverter:\n    def meters_to_kilometers(self, meters):\n        return meters / 1000\n"
    tests = "from main import *\n\ndef test_km():\n    assert meters_to_kilometers(10) == 0.01\n"

    fixed = with_method_calls(tests, module, "main")

    assert fixed.methods == {"meters_to_kilometers": "UnitConverter"}
    assert fixed.code == tests.replace("meters_to_kilometers(10)", "UnitConverter().meters_to_kilometers(10)")
    assert "1 passed" in pytest_output(tmp_path, module, fixed.code)
