"""One function of a Python file: where it is (to splice a new body in), its text, and the code it uses.

A fix asked one function at a time shows the model that function and only the definitions it calls — for a
class, its `__init__` and the methods named — instead of whole files a small model copies back unchanged.
Works on files that parse; a file that does not is left to the whole-file fix.
"""

from __future__ import annotations

import ast
import re
import textwrap

from devteam.artifacts.hollow_code import HollowFunction

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def located_function(source: str, name: str, class_name: str | None = None) -> HollowFunction | None:
    """The place of function `name` (a method of `class_name`) in `source`, in the shape `splice_body`
    takes; None when the file does not parse or has no such function."""
    node = _find(source, name, class_name)
    if node is None or not node.body:
        return None
    lines = source.splitlines()
    first = node.body[0].lineno - 1
    header_start = node.lineno - 1
    one_line = first == header_start
    header = lines[header_start]
    indent = header[: len(header) - len(header.lstrip())]
    signature_end = first if not one_line else header_start + 1
    signature = textwrap.dedent("\n".join(lines[header_start:signature_end])).rstrip()
    colon = header.rfind(":", 0, node.body[0].col_offset) + 1 if one_line else 0
    return HollowFunction(
        name=name,
        class_name=class_name,
        signature=signature,
        header_start=header_start,
        body_start=header_start if one_line else first,
        body_end=node.end_lineno or first + 1,
        indent=indent,
        one_line=one_line,
        colon=colon,
        docstring=None,
    )


def function_at(source: str, line: int) -> tuple[str, str | None] | None:
    """The function, or method of a top-level class, whose lines hold `line` (1-based): (name, class name)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, _FUNCTIONS) and node.lineno <= line <= (node.end_lineno or node.lineno):
            return node.name, None
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, _FUNCTIONS) and item.lineno <= line <= (item.end_lineno or item.lineno):
                    return item.name, node.name
    return None


def function_named(source: str, name: str) -> tuple[str, str | None] | None:
    """The top-level function `name`, else the first method of that name in a top-level class."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    if any(isinstance(node, _FUNCTIONS) and node.name == name for node in tree.body):
        return name, None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and _has_method(node, {name}):
            return name, node.name
    return None


def functions_using(source: str, names: set[str]) -> list[tuple[str, str | None]]:
    """The top-level functions and methods of top-level classes that read one of `names` (a module whose import
    was dropped: the 0.5B's `markdown.markdown(text)`), as (name, class name) in file order."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found: list[tuple[str, str | None]] = []
    for node in tree.body:
        members: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str | None]] = (
            [(node, None)] if isinstance(node, _FUNCTIONS) else []
        )
        if isinstance(node, ast.ClassDef):
            members = [(item, node.name) for item in node.body if isinstance(item, _FUNCTIONS)]
        for function, class_name in members:
            if any(
                isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load) and inner.id in names
                for inner in ast.walk(function)
            ):
                found.append((function.name, class_name))
    return found


def called_names(statement: str) -> list[str]:
    """The names called in one line of code (`assert todo.add("x") == True` -> ["add"]), in order."""
    text = statement.strip()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return list(dict.fromkeys(re.findall(r"(\w+)\s*\(", text)))
    calls = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Call)), key=lambda n: n.col_offset)
    names = [call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "") for call in calls]
    return list(dict.fromkeys(name for name in names if name))


def answer_functions(answer: str) -> dict[tuple[str, str | None], str]:
    """The functions an answer defines, as written (dedented): top-level ones under (name, None), methods under
    (name, class name). An answer that does not parse has none."""
    try:
        tree = ast.parse(textwrap.dedent(answer))
    except (SyntaxError, ValueError):
        return {}
    text = textwrap.dedent(answer)
    found: dict[tuple[str, str | None], str] = {}
    for node in tree.body:
        if isinstance(node, _FUNCTIONS):
            found.setdefault((node.name, None), function_text(text, node.name) or "")
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, _FUNCTIONS):
                    found.setdefault((item.name, node.name), function_text(text, item.name, node.name) or "")
    return {key: value for key, value in found.items() if value}


def function_text(source: str, name: str, class_name: str | None = None) -> str | None:
    """The function as written (decorators included), dedented; None when it is not found."""
    node = _find(source, name, class_name)
    if node is None:
        return None
    start = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)]) - 1
    lines = source.splitlines()[start : node.end_lineno]
    return textwrap.dedent("\n".join(lines)).strip("\n")


def used_definitions(module_source: str, function_source: str) -> str:
    """The top-level functions and classes of `module_source` that `function_source` names, as written; of a
    class, its header and class-level lines, `__init__` and the methods named, in file order."""
    try:
        module = ast.parse(module_source)
        used = ast.parse(textwrap.dedent(function_source))
    except (SyntaxError, ValueError):
        return ""
    names = {node.id for node in ast.walk(used) if isinstance(node, ast.Name)}
    attributes = {node.attr for node in ast.walk(used) if isinstance(node, ast.Attribute)}
    lines = module_source.splitlines()
    shown: list[str] = []
    for node in module.body:
        if isinstance(node, _FUNCTIONS) and node.name in names:
            shown.append(_lines(lines, node))
        elif isinstance(node, ast.ClassDef) and (node.name in names or _has_method(node, attributes)):
            shown.append(_class_excerpt(lines, node, attributes))
    return "\n\n".join(shown)


def classes_with_method(module_source: str, method: str) -> list[str]:
    """The classes of a module that define `method` (empty when the module does not parse)."""
    try:
        tree = ast.parse(module_source)
    except (SyntaxError, ValueError):
        return []
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(isinstance(inner, _FUNCTIONS) and inner.name == method for inner in node.body)
    ]


def module_names(module_source: str) -> set[str]:
    """The names a module defines at its top level (functions, classes, assigned names)."""
    try:
        tree = ast.parse(module_source)
    except (SyntaxError, ValueError):
        return set()
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.update(target.id for target in targets if isinstance(target, ast.Name))
    return found


def checks_something_of(function_source: str, names: set[str], module: str) -> bool:
    """Whether a test function still tests the module: an `assert` (or a `raises` block) and a use of one of
    the module's `names`, of the module `module` itself, or of one of its arguments (a pytest fixture, or
    the `self` of a test class, that the test file builds from the module); unittest's `self.assert...(...)` are
    checks too. `assert True` beside a call checks nothing, and neither does anything inside a function the test
    only defines: the 0.5B's FixTest answers wrapped a password generator's asserts in nested `def`s that never
    ran, and "2 of 2 tests pass" tested nothing."""
    try:
        tree = ast.parse(textwrap.dedent(function_source))
    except (SyntaxError, ValueError):
        return False
    function = next((node for node in tree.body if isinstance(node, _FUNCTIONS)), None)
    if function is None:
        return False
    arguments = {arg.arg for arg in function.args.args}  # fixtures, or `self` of a test class
    # `self` in `self.assertEqual(...)` is unittest's, not an object built from the module.
    # The module may be used in a helper the test defines and calls; its checks must be the test's own.
    asserting = {
        id(node.value)
        for node in ast.walk(function)
        if isinstance(node, ast.Attribute) and node.attr.startswith("assert") and isinstance(node.value, ast.Name)
    }
    used = {node.id for node in ast.walk(function) if isinstance(node, ast.Name) and id(node) not in asserting}
    if not used & (names | arguments | {module}):
        return False
    return any(is_check(node) for node in own_nodes(function))


def is_check(node: ast.AST) -> bool:
    """Whether `node` checks something: an `assert` of more than a constant, a `raises` block, or unittest's
    `self.assert...(...)` with something in it that is not a constant (the 0.5B wrote TestCase classes too)."""
    if isinstance(node, ast.Assert):
        return not isinstance(node.test, ast.Constant)
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return any(
            isinstance(item.context_expr, ast.Call)
            and (getattr(item.context_expr.func, "attr", None) or getattr(item.context_expr.func, "id", None))
            in ("raises", "assertRaises")
            for item in node.items
        )
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr.startswith("assert")
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
        and any(not isinstance(arg, ast.Constant) for arg in node.args)
    )


def collected_tests(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The test functions pytest collects from a file: its top-level `test*` functions and the `test*` methods
    of its `Test*` classes — not a `test_*` function another one only defines."""
    found: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    for node in tree.body:
        if isinstance(node, _FUNCTIONS) and node.name.startswith("test"):
            found.append(node)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found.extend(
                inner for inner in node.body if isinstance(inner, _FUNCTIONS) and inner.name.startswith("test")
            )
    return found


def own_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """The nodes of a function's body that run when it runs: not those of the functions, classes and lambdas
    it only defines."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, (*_FUNCTIONS, ast.ClassDef, ast.Lambda)):
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def gives_nothing(source: str, name: str, class_name: str | None = None) -> bool:
    """Whether function `name` (a method of `class_name`) of `source` never gives a value: no `return` with
    one and no `yield` of its own. A test that asserts on what it returns (the 0.5B's `add_task(...) == True`)
    expects what the code never says; told so, a fix adds the `return` or checks the attributes instead."""
    node = _find(source, name, class_name)
    if node is None:
        return False
    return not any(
        (isinstance(inner, ast.Return) and inner.value is not None) or isinstance(inner, (ast.Yield, ast.YieldFrom))
        for inner in own_nodes(node)
    )


def with_parameter(source: str, name: str, class_name: str | None, parameter: str) -> str | None:
    """`source` with `parameter` added last to the parameters of function `name` (a test given pytest's
    `tmp_path` fixture); `source` itself when it has it; None when its `def` is not one line that can be read."""
    place = located_function(source, name, class_name)
    if place is None:
        return None
    lines = source.splitlines()
    header = header_with_parameter(lines[place.header_start], name, parameter)
    if header is None:
        return None
    lines[place.header_start] = header
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def header_with_parameter(line: str, name: str, parameter: str) -> str | None:
    """The one-line `def` of `name` with `parameter` added last (as it was when it has it), or None."""
    header = re.match(rf"^(\s*(?:async\s+)?def\s+{re.escape(name)}\()(.*)(\)\s*(?:->[^:]*)?:.*)$", line)
    if header is None:
        return None
    parameters = [part.strip() for part in header.group(2).split(",") if part.strip()]
    if parameter in parameters:
        return line
    if any(part.startswith("*") or "=" in part for part in parameters):
        return None  # a parameter after defaults or *args would not parse
    return header.group(1) + ", ".join([*parameters, parameter]) + header.group(3)


_STAND_INS = re.compile(r"\b(?:patch|Mock|MagicMock|monkeypatch|mocker)\b")


def stands_in(function_source: str) -> bool:
    """Whether a test puts stand-ins in place of real code (`patch`, `Mock`, `monkeypatch`, `mocker`): a
    corrected test that mocks the function it tests passes whatever the function does."""
    return bool(_STAND_INS.search(function_source))


def _find(source: str, name: str, class_name: str | None) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    body: list[ast.stmt] = tree.body
    if class_name is not None:
        owner = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name), None)
        if owner is None:
            return None
        body = owner.body
    return next((n for n in body if isinstance(n, _FUNCTIONS) and n.name == name), None)


def _has_method(node: ast.ClassDef, names: set[str]) -> bool:
    return any(isinstance(item, _FUNCTIONS) and item.name in names for item in node.body)


def _lines(lines: list[str], node: ast.stmt) -> str:
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(decorator.lineno for decorator in decorators)]) - 1
    return "\n".join(lines[start : node.end_lineno]).rstrip()


def _class_excerpt(lines: list[str], node: ast.ClassDef, attributes: set[str]) -> str:
    first = node.body[0].lineno - 1 if node.body else node.lineno
    start = node.decorator_list[0].lineno - 1 if node.decorator_list else node.lineno - 1
    header = lines[start:first]
    parts = ["\n".join(header).rstrip()]
    for item in node.body:
        if isinstance(item, _FUNCTIONS) and item.name != "__init__" and item.name not in attributes:
            continue
        parts.append(_lines(lines, item))
    return "\n\n".join(part for part in parts if part.strip())
