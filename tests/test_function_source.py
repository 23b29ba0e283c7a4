"""One function of a file: found, shown, spliced, and whether a test still checks the module."""

from __future__ import annotations

from devteam.artifacts.function_source import (
    checks_something_of,
    function_at,
    function_text,
    gives_nothing,
    located_function,
    module_names,
    stands_in,
    used_definitions,
    with_parameter,
)
from devteam.artifacts.hollow_code import class_attributes, splice_body

MODULE = '''\
"""A todo list."""

LIMIT = 10


class TodoList:
    """Tasks by number."""

    kind = "list"

    def __init__(self):
        self.tasks = {}

    def add(self, text):
        self.tasks[len(self.tasks) + 1] = {"text": text, "done": False}

    def complete(self, number):
        self.tasks[number]["done"] = True

    def delete(self, number):
        del self.tasks[number]


def describe(task):
    return task["text"]


def unused():
    return 1
'''

TESTS = """\
import pytest
from main import TodoList


@pytest.mark.slow
def test_complete():
    todo = TodoList()
    todo.add("milk")
    assert todo.complete(1) == "Completed"


class TestTodo:
    def test_add(self):
        todo = TodoList()
        todo.add("milk")
        assert len(todo.tasks) == 2


def test_one_line(): assert TodoList().tasks == {}
"""


def test_the_definitions_a_test_uses_are_shown_and_nothing_else() -> None:
    test = function_text(TESTS, "test_complete")
    assert test is not None and test.startswith("@pytest.mark.slow\ndef test_complete():")

    shown = used_definitions(MODULE, test)

    assert "class TodoList:" in shown and '"""Tasks by number."""' in shown and 'kind = "list"' in shown
    assert "def __init__(self):" in shown and "def add(self, text):" in shown and "def complete(" in shown
    assert "def delete(" not in shown and "def describe(" not in shown and "def unused(" not in shown


def test_a_test_method_is_found_in_its_class_and_spliced_in_place() -> None:
    place = located_function(TESTS, "test_add", "TestTodo")
    assert place is not None and place.signature == "def test_add(self):"

    spliced = splice_body(TESTS, place, "def test_add(self):\n    todo = TodoList()\n    assert todo.tasks == {}\n")

    assert spliced is not None
    assert function_text(spliced, "test_add", "TestTodo") == (
        "def test_add(self):\n    todo = TodoList()\n    assert todo.tasks == {}"
    )
    assert function_text(spliced, "test_complete") == function_text(TESTS, "test_complete")  # the rest as it was
    assert "@pytest.mark.slow" in spliced


def test_a_one_line_test_is_spliced_too() -> None:
    place = located_function(TESTS, "test_one_line")
    assert place is not None and place.one_line

    spliced = splice_body(TESTS, place, "def test_one_line():\n    assert len(TodoList().tasks) == 0\n")

    assert spliced is not None and "def test_one_line():\n    assert len(TodoList().tasks) == 0" in spliced


def test_a_comment_kept_above_the_body_is_not_written_twice() -> None:
    # The 0.5B's markdown converter written anew: its answer repeated the comment the signature carried.
    source = "def convert(path):\n    # Read the Markdown file\n    return open(path).read()\n"
    place = located_function(source, "convert")
    assert place is not None and place.signature == "def convert(path):\n    # Read the Markdown file"

    answer = "def convert(path):\n    # Read the Markdown file\n\n    # Then turn it into HTML\n    return path\n"
    spliced = splice_body(source, place, answer)

    assert (
        spliced == "def convert(path):\n    # Read the Markdown file\n    # Then turn it into HTML\n    return path\n"
    )


def test_nothing_is_found_in_a_file_that_does_not_parse_or_lacks_the_function() -> None:
    assert located_function("def test_x(:\n    pass\n", "test_x") is None
    assert located_function(TESTS, "test_missing") is None
    assert located_function(TESTS, "test_add", "NoSuchClass") is None
    assert function_text(TESTS, "test_add") is None  # a method, not a module-level function
    assert used_definitions("def broken(:", "def test(): pass") == ""


def test_a_test_checks_the_module_only_with_a_real_assert_on_its_names() -> None:
    names = module_names(MODULE)
    assert names == {"LIMIT", "TodoList", "describe", "unused"}

    assert checks_something_of("def test():\n    assert TodoList().tasks == {}\n", names, "main")
    assert checks_something_of("def test():\n    assert main.LIMIT == 10\n", names, "main")
    assert checks_something_of("def test(todo):\n    assert todo.tasks == {}\n", names, "main")  # a fixture
    assert checks_something_of("def test(self):\n    assert self.todo.tasks\n", names, "main")  # a test class's
    raises = "def test():\n    with pytest.raises(KeyError):\n        TodoList().complete(3)\n"
    assert checks_something_of(raises, names, "main")

    assert not checks_something_of("def test():\n    TodoList().add('x')\n    assert True\n", names, "main")
    assert not checks_something_of("def test():\n    assert sorted([2, 1]) == [1, 2]\n", names, "main")
    assert not checks_something_of("def test():\n    TodoList().add('x')\n", names, "main")
    assert not checks_something_of("def test(:\n", names, "main")
    # The 0.5B's FixTest answers: the asserts inside a function the test only defines, which never runs.
    nested = "def test():\n    def test_inner():\n        assert TodoList().tasks == {}\n    lambda: TodoList()\n"
    assert not checks_something_of(nested, names, "main")
    called = "def test():\n    def make():\n        return TodoList()\n    assert make().tasks == {}\n"
    assert checks_something_of(called, names, "main")  # a helper it calls may use the module; the check is its own


def test_a_class_attributes_include_every_target_of_a_tuple_assignment() -> None:
    source = (
        "class Board:\n    def __init__(self, w, h):\n        self.width, self.height = w, h\n        self.snake = []\n"
    )

    assert class_attributes(source, "Board") == ["self.width", "self.height", "self.snake"]


def test_the_function_a_line_is_in() -> None:
    assert function_at(MODULE, 18) == ("complete", "TodoList")  # self.tasks[number]["done"] = True
    assert function_at(MODULE, 25) == ("describe", None)
    assert function_at(MODULE, 3) is None  # LIMIT = 10: module level
    assert function_at("def broken(:\n", 1) is None


def test_a_test_with_stand_ins_for_real_code_is_seen() -> None:
    assert stands_in("def test(monkeypatch):\n    monkeypatch.setattr(main, 'load', lambda: [])\n")
    assert stands_in("def test():\n    with patch('main.TodoList.add') as add:\n        assert add.called\n")
    assert not stands_in("def test():\n    assert TodoList().dispatch('x') == 1\n")  # a word that holds 'patch'


def test_a_fixture_is_added_to_a_test_that_uses_it() -> None:
    tests = "def test_a():\n    assert 1\n\n\nclass TestB:\n    def test_c(self) -> None:\n        assert 2\n"

    assert "def test_a(tmp_path):" in (with_parameter(tests, "test_a", None, "tmp_path") or "")
    assert "    def test_c(self, tmp_path) -> None:" in (with_parameter(tests, "test_c", "TestB", "tmp_path") or "")
    given = "def test_a(tmp_path):\n    assert 1\n"
    assert with_parameter(given, "test_a", None, "tmp_path") == given
    # After a default, or over two lines, it could not be added safely.
    assert with_parameter("def test_a(x=1):\n    assert x\n", "test_a", None, "tmp_path") is None
    assert with_parameter("def test_a(\n    x,\n):\n    assert x\n", "test_a", None, "tmp_path") is None
    assert with_parameter(tests, "test_missing", None, "tmp_path") is None


def test_a_function_that_gives_no_value_is_told_from_one_that_does() -> None:
    module = (
        "class TodoList:\n"
        "    def add_task(self, task):\n        self.tasks.append(task)\n        return\n\n"
        "    def count(self):\n        return len(self.tasks)\n\n"
        "    def later(self):\n        def inner():\n            return 1\n        inner()\n\n"
        "    def each(self):\n        yield from self.tasks\n\n\n"
        "def main():\n    print('hi')\n"
    )

    assert gives_nothing(module, "add_task", "TodoList")  # a bare `return` gives None
    assert not gives_nothing(module, "count", "TodoList")
    assert gives_nothing(module, "later", "TodoList")  # the value is a nested function's, not its own
    assert not gives_nothing(module, "each", "TodoList")
    assert gives_nothing(module, "main")
    assert not gives_nothing(module, "missing")  # not found: nothing is said of it
