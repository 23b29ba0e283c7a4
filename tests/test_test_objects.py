"""Objects of the module's classes a test uses and never makes: the 0.5B's fixture nobody defined, its free name."""

from __future__ import annotations

from pathlib import Path

from pytest_runs import pytest_output

from devteam.artifacts.test_objects import with_made_objects

MODULE = """\
class Snake:
    def __init__(self, length):
        self.body = [(0, i) for i in range(length)]

    def move(self, direction):
        head = self.body[0]
        self.body.insert(0, (head[0] - 1, head[1]) if direction == "up" else head)
        self.body.pop()


class UserInputValidator:
    def validate_password(self, password):
        return len(password) >= 8


class Request:
    def __init__(self, url):
        self.url = url
"""

# As the 0.5B wrote them: `snake` a fixture nobody defined, `user_input_validator` a name nobody bound.
TESTS = """\
from game import Snake


def test_initial_snake():
    snake = Snake(3)
    assert len(snake.body) == 3


def test_move_up(snake):
    snake.move("up")
    assert snake.body[0] == (-1, 0)


def test_user_input_validator():
    \"\"\"A long password is valid.\"\"\"
    password = "1234567890"
    assert user_input_validator.validate_password(password) == True
"""


def test_a_missing_fixture_and_a_free_name_are_made_and_the_tests_pass(tmp_path: Path) -> None:
    made = with_made_objects(TESTS, MODULE)

    assert made.fixtures == ["snake"] and made.names == ["user_input_validator"]
    assert "@pytest.fixture\ndef snake():\n    return Snake(3)\n" in made.code  # as the file makes it elsewhere
    assert '    """A long password is valid."""\n    user_input_validator = UserInputValidator()\n' in made.code
    (tmp_path / "game.py").write_text(MODULE)
    # The module's names are imported by the repair that follows (`with_module_imports`); here by hand.
    (tmp_path / "test_game.py").write_text("from game import UserInputValidator\n" + made.code)
    assert "3 passed" in pytest_output(tmp_path)
    # Before: every test but the first an error.
    (tmp_path / "test_game.py").write_text(TESTS)
    output = pytest_output(tmp_path)
    assert "fixture 'snake' not found" in output and "NameError: name 'user_input_validator'" in output


def test_an_object_is_not_made_without_a_way_to_make_it() -> None:
    # `Snake` needs a length, and the file never calls it with literal arguments: left as it is.
    tests = "def test_move_up(snake):\n    snake.move('up')\n    assert snake.body\n"
    assert with_made_objects(tests, MODULE).code == tests
    made_with_a_variable = "def test_a():\n    n = 3\n    s = Snake(n)\n    assert snake.body\n"
    assert with_made_objects(made_with_a_variable, MODULE).code == made_with_a_variable


def test_bound_names_pytest_fixtures_and_unrelated_names_are_left_alone() -> None:
    tests = (
        "import pytest\n\n\n"
        "@pytest.fixture\ndef snake():\n    return Snake(2)\n\n\n"
        "def test_a(snake, request):\n    assert snake.body and request\n\n\n"
        "def test_b():\n    validator = 1\n    assert helper(validator)\n\n\n"
        "def test_c(): assert user_input_validator.validate_password('x' * 9)\n"  # one line: nowhere to bind it
    )
    made = with_made_objects(tests, MODULE)
    assert made.code == tests and not made.fixtures and not made.names


def test_files_that_do_not_parse_are_left_as_they_are() -> None:
    assert with_made_objects("def test_a(:\n", MODULE).code == "def test_a(:\n"
    assert with_made_objects(TESTS, "class Snake(:\n").code == TESTS


def test_test_methods_get_their_fixtures_too(tmp_path: Path) -> None:
    # The 0.5B's 2048 tests: fixtures asked for by methods of test classes, annotated with the class.
    tests = (
        "from game import UserInputValidator\n\n\n"
        "class TestValidator:\n"
        "    def test_long(self, user_input_validator: UserInputValidator):\n"
        "        assert user_input_validator.validate_password('x' * 9)\n\n"
        "    def test_short(self):\n"
        "        assert not user_input_validator.validate_password('x')\n"
    )
    made = with_made_objects(tests, MODULE)

    assert made.fixtures == ["user_input_validator"] and made.names == ["user_input_validator"]
    (tmp_path / "game.py").write_text(MODULE)
    (tmp_path / "test_game.py").write_text(made.code)
    assert "2 passed" in pytest_output(tmp_path)
