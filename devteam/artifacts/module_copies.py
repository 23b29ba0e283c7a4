"""Tests that carry their own copy of the module under test, made to test the module itself.

The 0.5B's tests for a todo list began with its own `class TodoList` (the module's, rewritten) and tested
that: three of its four tests "passed" on a NameError inside `pytest.raises(Exception)`, and not one line of
`main.py` ran. A definition in a test file with the name of one the module defines (a class or a function
that is not a test) is the module's code copied; it is removed, and the names are then imported from the
module (`write_tests` imports what a test uses and does not bind), so the tests check the program QA runs.
"""

from __future__ import annotations

import ast


def without_module_copies(test_code: str, module_code: str) -> tuple[str, list[str]]:
    """The tests without their top-level copies of the module's classes and functions, and the names removed;
    unchanged when either file does not parse or nothing is copied."""
    try:
        tests, module = ast.parse(test_code), ast.parse(module_code)
    except (SyntaxError, ValueError):
        return test_code, []
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    defined = {node.name for node in module.body if isinstance(node, kinds)}
    copies = [node for node in tests.body if isinstance(node, kinds) and node.name in defined and not _is_test(node)]
    if not copies:
        return test_code, []
    lines = test_code.splitlines(keepends=True)
    for node in sorted(copies, key=lambda copy: copy.lineno, reverse=True):
        start = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)]) - 1
        end = node.end_lineno or node.lineno
        while end < len(lines) and not lines[end].strip():
            end += 1  # the blank lines after it go too
        del lines[start:end]
    return "".join(lines), [node.name for node in copies]


def _is_test(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    return node.name.startswith("test") if not isinstance(node, ast.ClassDef) else node.name.startswith("Test")
