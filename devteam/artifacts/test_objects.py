"""Objects of the module's classes that a test uses and never makes: made for it, the way the test file makes
them elsewhere.

The 0.5B's tests used `snake` as a pytest fixture nobody defined (`def test_move_up(snake):` — four of six
tests of a snake game, each "fixture 'snake' not found") and `user_input_validator.validate_password(...)` with
no such name anywhere (a password checker's tests, each a NameError). The intent is plain: an object of the
module's `Snake`, of its `UserInputValidator`. A missing fixture becomes a fixture that returns one; a free name
is bound at the start of the test that uses it. The object is made as the test file makes it elsewhere
(`Snake(3)`), or with no arguments where its class needs none; otherwise the test is left as it is.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field

from devteam.artifacts.function_source import collected_tests
from devteam.artifacts.missing_imports import bound_names

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# pytest's own fixtures: a module's class `Request` is no reason to replace `request`.
_PYTEST_FIXTURES = frozenset(
    {
        "cache",
        "capfd",
        "capfdbinary",
        "caplog",
        "capsys",
        "capsysbinary",
        "doctest_namespace",
        "monkeypatch",
        "pytestconfig",
        "record_property",
        "record_testsuite_property",
        "record_xml_attribute",
        "recwarn",
        "request",
        "testdir",
        "tmp_path",
        "tmp_path_factory",
        "tmpdir",
        "tmpdir_factory",
    }
)


@dataclass
class MadeObjects:
    code: str
    fixtures: list[str] = field(default_factory=list)  # fixtures added
    names: list[str] = field(default_factory=list)  # free names bound in the tests that use them


def with_made_objects(test_code: str, module_code: str) -> MadeObjects:
    """`test_code` with the objects it uses and never makes made for it; as it was when either file does not
    parse or nothing is missing."""
    try:
        tests, module = ast.parse(test_code), ast.parse(module_code)
    except (SyntaxError, ValueError):
        return MadeObjects(test_code)
    classes = {
        spelling: node
        for node in module.body
        if isinstance(node, ast.ClassDef)
        for spelling in (_snake_case(node.name), node.name.lower())
    }
    if not classes:
        return MadeObjects(test_code)
    bound = _bound_names(tests)
    lines = test_code.splitlines()
    made = MadeObjects(test_code)
    # Free names first, bottom up, so that earlier line numbers stay right.
    insertions: list[tuple[int, str]] = []
    for function in collected_tests(tests):
        local = bound | bound_names(function)  # its parameters and whatever it binds
        used = sorted({node.id for node in ast.walk(function) if isinstance(node, ast.Name)} - local)
        for name in used:
            cls = classes.get(name)
            construction = _construction(cls, tests, test_code) if cls is not None else None
            if construction is None:
                continue
            first = _first_statement(function)
            if first.lineno == function.lineno:
                continue  # a one-line test: no line of its own to bind the name on
            indent = re.match(r"\s*", lines[first.lineno - 1]).group(0)  # type: ignore[union-attr]
            insertions.append((first.lineno - 1, f"{indent}{name} = {construction}"))
            made.names.append(name)
    for index, line in sorted(insertions, reverse=True):
        lines.insert(index, line)
    # Fixtures the tests ask for and the file does not define.
    fixtures = []
    for function in collected_tests(tests):
        for arg in function.args.args:
            cls = classes.get(arg.arg)
            if arg.arg in bound or arg.arg in made.fixtures or arg.arg in _PYTEST_FIXTURES or cls is None:
                continue
            construction = _construction(cls, tests, test_code)
            if construction is None:
                continue
            fixtures.append(f"@pytest.fixture\ndef {arg.arg}():\n    return {construction}\n")
            made.fixtures.append(arg.arg)
    if not made.names and not made.fixtures:
        return made
    if fixtures:
        after = _after_imports(tests)
        block = ["", "", *"\n\n".join(fixtures).splitlines(), ""]
        if "pytest" not in bound:
            block = ["import pytest", *block]
        lines[after:after] = block
    made.code = "\n".join(lines) + "\n"
    return made


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _bound_names(tree: ast.Module) -> set[str]:
    """The names the test file binds at its top level: imports, definitions, assignments."""
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With)):
            bound.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return bound | set(dir(builtins))


def _construction(cls: ast.ClassDef, tests: ast.Module, test_code: str) -> str | None:
    """How the test file makes an object of `cls` (its first call of the class with literal arguments), or
    `Cls()` when the class needs no arguments; None when neither."""
    for node in ast.walk(tests):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == cls.name
            and all(_literal(arg) for arg in [*node.args, *(keyword.value for keyword in node.keywords)])
        ):
            return ast.get_source_segment(test_code, node)
    init = next((node for node in cls.body if isinstance(node, _FUNCTIONS) and node.name == "__init__"), None)
    if init is None:
        return f"{cls.name}()"
    positional = [*init.args.posonlyargs, *init.args.args][1:]  # without self
    required = len(positional) - len(init.args.defaults)
    required += sum(1 for default in init.args.kw_defaults if default is None)
    return f"{cls.name}()" if required <= 0 else None


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _first_statement(function: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.stmt:
    """The first statement of the body that is not its docstring (the docstring when it is all there is)."""
    body = function.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return body[1]
    return body[0]


def _after_imports(tree: ast.Module) -> int:
    """The line index after the file's leading imports (and docstring): where a fixture goes."""
    end = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and end == 0
        ):
            end = node.end_lineno or node.lineno
            continue
        break
    return end
