"""A function fix whose answer rewrote other functions of the file too: each spliced in place of its own."""

from __future__ import annotations

from devteam.actions.fix_function import FailedInside, with_other_functions
from devteam.artifacts.function_source import answer_functions, function_text

SNAKE = """\
from random import randint


class Snake:
    def __init__(self, length):
        self.body = [randint(0, length - 1) for _ in range(length)]

    def draw(self):
        for i in range(len(self.body)):
            print(self.body[i][0], self.body[i][1])


def main():
    Snake(3).draw()
"""

# The 0.5B's answer to a fix of `draw`: its whole class again, the fix in `__init__`, and a helper the file lacks.
ANSWER = """\
import sys
from random import randint

class Snake:
    def __init__(self, length):
        self.body = [[0, i] for i in range(length)]

    def draw(self):
        for i in range(len(self.body)):
            print(self.body[i][0], self.body[i][1])

    def grow(self):
        self.body.append([0, 0])

def main():
    Snake(3).draw()
"""

DRAW = FailedInside("snake.py", "draw", "Snake", "The test `test_draw`", "fails inside", "TypeError")


def test_the_functions_an_answer_rewrote_are_spliced_in_place_and_no_other_is_added() -> None:
    assert set(answer_functions(ANSWER)) == {
        ("__init__", "Snake"),
        ("draw", "Snake"),
        ("grow", "Snake"),
        ("main", None),
    }

    spliced, others = with_other_functions(SNAKE, ANSWER, DRAW)

    assert others == ["Snake.__init__"]  # draw was asked (spliced before), main is unchanged, grow is new
    assert function_text(spliced, "__init__", "Snake") == (
        "def __init__(self, length):\n    self.body = [[0, i] for i in range(length)]"
    )
    assert "def grow" not in spliced and "import sys" not in spliced
    assert function_text(spliced, "main") == function_text(SNAKE, "main")


def test_an_answer_that_does_not_parse_or_holds_only_the_function_changes_nothing_else() -> None:
    assert with_other_functions(SNAKE, "def draw(self):\n    print(", DRAW) == (SNAKE, [])
    only = "def draw(self):\n    for part in self.body:\n        print(part)\n"
    assert with_other_functions(SNAKE, only, DRAW) == (SNAKE, [])
