"""A scripted snake game for the QA loop: the first board.py has a bug (the snake grows on every step), the
tests QA asks for catch it, and the FixCode answer — given only when the prompt quotes the failure — fixes it."""

from __future__ import annotations

import json
import re

from fakes.base import RecordedRequest, Reply, Text, asked
from scripted_company import ScriptedCompany, ScriptedFile

BOARD_TEMPLATE = '''\
"""Snake game logic, separate from any drawing."""

DIRECTIONS = {{"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}}


class Board:
    def __init__(self, width: int = 10, height: int = 10) -> None:
        self.width, self.height = width, height
        self.snake = [(5, 5), (4, 5), (3, 5)]
        self.direction = "right"
        self.food = (8, 5)
        self.score = 0
        self.over = False

    def turn(self, direction: str) -> None:
        if direction in DIRECTIONS:
            self.direction = direction

    def step(self) -> None:
        dx, dy = DIRECTIONS[self.direction]
        x, y = self.snake[0]
        head = (x + dx, y + dy)
        if not (0 <= head[0] < self.width and 0 <= head[1] < self.height) or head in self.snake:
            self.over = True
            return
        self.snake.insert(0, head)
        if head == self.food:
            self.score += 1
            self.food = (0, 0)
{tail}
'''
BUGGY_BOARD = BOARD_TEMPLATE.format(tail="")
FIXED_BOARD = BOARD_TEMPLATE.format(tail="        else:\n            self.snake.pop()\n")

MAIN = """\
from snake.board import Board


def main() -> None:
    board = Board()
    for _ in range(3):
        board.step()
    print("score", board.score, "length", len(board.snake))


if __name__ == "__main__":
    main()
"""

TESTS = """\
from snake.board import Board


def test_step_moves_the_head() -> None:
    board = Board()
    board.step()
    assert board.snake[0] == (6, 5)


def test_length_stays_the_same_without_food() -> None:
    board = Board()
    board.step()
    assert len(board.snake) == 3


def test_eating_food_grows_and_scores() -> None:
    board = Board()
    for _ in range(3):
        board.step()
    assert board.score == 1


def test_hitting_the_wall_ends_the_game() -> None:
    board = Board()
    board.turn("up")
    for _ in range(6):
        board.step()
    assert board.over
"""

SNAKE_FILES = [
    ScriptedFile("snake/__init__.py", '"""Snake."""\n', [], "package marker"),
    ScriptedFile("snake/board.py", BUGGY_BOARD, [], "Board: snake, food, score, step(), turn()"),
    ScriptedFile("snake/__main__.py", MAIN, ["snake/board.py"], "entry point"),
]

_TEST_TARGET = re.compile(r"## Action: WriteTests\nWrite the pytest file `([^`]+)` for the module `([^`]+)`")
_FIX_TARGET = re.compile(r"## Action: FixCode\nFix the file `([^`]+)`")
_FUNCTION_FIX_TARGET = re.compile(r"## Action: FixFunction\n.* `([^`]+)` of `([^`]+)`\. Correct")
_TEST_FIX_TARGET = re.compile(r"## Action: FixTest\nThe test `([^`]+)` in `([^`]+)`")
_OTHER_THAN = "other than "  # a right value named as "not the test's", for a code whose value is not known
_NEW_VERSION_TARGET = re.compile(r"## Action: FillFunction\nWrite the body of `([^`]+)` in `([^`]+)`")
_INPUT_FILE_TARGET = re.compile(r"## Action: WriteInputFile\nThe test `[^`]+` of `[^`]+` reads the file `([^`]+)`")
_CHECK_EXPECTED = re.compile(r"disagree on what `(.+?)` gives: one says `(.+?)`, the other `(.+?)`\.")


class ScriptedQaCompany(ScriptedCompany):
    """ScriptedCompany plus WriteTests and FixCode answers; `fixes` maps a path to the code FixCode returns."""

    def __init__(
        self,
        files: list[ScriptedFile] | None = None,
        *,
        project_name: str = "snake",
        fixes: dict[str, str] | None = None,
        tests: dict[str, str | list[str]] | None = None,
        test_fixes: dict[str, list[str]] | None = None,
        function_fixes: dict[str, list[str]] | None = None,
        right_values: dict[str, str] | None = None,
        new_versions: dict[str, list[str]] | None = None,
        input_files: dict[str, list[str]] | None = None,
    ) -> None:
        """`tests`: a module -> its WriteTests answer, or the answers in turn (the last one repeats);
        `test_fixes`: a test function's name -> the FixTest answers in turn (the last one repeats);
        `function_fixes`: a function's qualified name -> the FixFunction answers in turn;
        `right_values`: a call a test makes -> the value CheckExpected names for it ("first": whichever the
        prompt lists first, as a model that picks by position does; "other than X": the option that is not X);
        `new_versions`: a function's qualified name -> the FillFunction answers in turn (the last one repeats),
        when it is written anew; without one, an answer with no body (no new version);
        `input_files`: a file a test reads -> the WriteInputFile answers in turn (the last one repeats); without
        one, the file's name (an answer never used)."""
        super().__init__(files or SNAKE_FILES, project_name=project_name)
        self.test_fixes = dict(test_fixes or {})
        self.function_fixes = dict(function_fixes or {})
        self.right_values = dict(right_values or {})
        self.new_versions = dict(new_versions or {})
        self.input_files = dict(input_files or {})
        self.fixes = dict(fixes if fixes is not None else {"snake/board.py": FIXED_BOARD})
        self.tests: dict[str, str | list[str]] = dict(tests if tests is not None else {"snake/board.py": TESTS})
        self.prompts: dict[str, list[str]] = {}  # action -> each request's messages, as one text
        self.requests: dict[str, list[list[dict[str, str]]]] = {}  # action -> each request's messages

    def __call__(self, request: RecordedRequest) -> Reply:
        messages = (request.json or {}).get("messages", [])
        first_user = asked(messages)
        tests = _TEST_TARGET.search(first_user)
        if tests:
            module = tests.group(2)
            self.calls.append(f"tests:{module}")
            self._keep("WriteTests", messages)
            answers = self.tests[module]
            if isinstance(answers, list):
                answers = answers[min(self.calls.count(f"tests:{module}") - 1, len(answers) - 1)]
            return Text(f"```python\n{answers}```\n", usage=(len(first_user) // 4, 100))
        new_version = _NEW_VERSION_TARGET.search(messages[-1]["content"] if messages else "")
        if new_version:
            return self._in_turn("new_version", "WriteAnew", new_version.group(1), self.new_versions, True, messages)
        input_file = _INPUT_FILE_TARGET.search(first_user)
        if input_file:
            # Unscripted: the file's own name, as the 0.5B answered at first (never used).
            name = input_file.group(1)
            answers = {name: self.input_files.get(name) or [name]}
            return self._in_turn("input_file", "WriteInputFile", name, answers, True, messages)
        check = _CHECK_EXPECTED.search(first_user)
        if check:
            computed, first, second = check.groups()
            self.calls.append(f"check_expected:{computed}")
            self._keep("CheckExpected", messages)
            named = self.right_values.get(computed, "first")
            if named == "first":
                named = first
            elif named.startswith(_OTHER_THAN):
                named = second if first == named[len(_OTHER_THAN) :] else first
            return Text(json.dumps({"choice": named}), usage=(len(first_user) // 4, 8))
        test_fix = _TEST_FIX_TARGET.search(first_user)
        if test_fix:
            # Only a prompt with pytest's report of this test earns the scripted answer.
            shown = "assert" in first_user and "What pytest said" in first_user
            return self._in_turn("fix_test", "FixTest", test_fix.group(1), self.test_fixes, shown, messages)
        function_fix = _FUNCTION_FIX_TARGET.search(first_user)
        if function_fix:
            shown = "## What failed" in first_user and "Error" in first_user
            return self._in_turn(
                "fix_function", "FixFunction", function_fix.group(1), self.function_fixes, shown, messages
            )
        fix = _FIX_TARGET.search(first_user)
        if fix:
            path = fix.group(1)
            self.calls.append(f"fix:{path}")
            self._keep("FixCode", messages)
            # Only a prompt that shows the failure earns the fix: that is what the loop must deliver.
            shown_failure = "assert" in first_user and "FAILED" in first_user
            code = self.fixes[path] if shown_failure and path in self.fixes else "# unchanged\n"
            return Text(f"```python\n{code}```\n", usage=(len(first_user) // 4, 100))
        return super().__call__(request)

    def _in_turn(
        self,
        call: str,
        action: str,
        name: str,
        scripted: dict[str, list[str]],
        shown_failure: bool,
        messages: list[dict[str, str]],
    ) -> Reply:
        """The next scripted answer for `name` (the last one repeats), when the prompt shows the failure."""
        self.calls.append(f"{call}:{name}")
        self._keep(action, messages)
        answers = scripted.get(name) or ["# unchanged"]
        asked_before = self.calls.count(f"{call}:{name}") - 1
        code = answers[min(asked_before, len(answers) - 1)] if shown_failure else "# unchanged"
        return Text(f"```python\n{code}\n```\n", usage=(len(asked(messages)) // 4, 60))

    def _keep(self, action: str, messages: list[dict[str, str]]) -> None:
        self.prompts.setdefault(action, []).append("\n\n".join(m["content"] for m in messages))
        self.requests.setdefault(action, []).append(messages)
