"""Tests that import a class's methods as if they were the module's functions, made to call them on an object.

The 0.5B's tests for a 2048 game wrote `from main import Board, merge, score_tile` and `merge(0, 0)`, where
`merge` is a method of `Board`; a unit converter's, `from main import convert_length` for `Main.convert_length`.
Each is an ImportError before any test runs, and sent back, the model wrote the same imports again (its own
answer above it, temperature 0). The intent is plain, so it is carried out here: the method is called on the
test's own object of that class where it made one (`board = Board()` → `board.merge(0, 0)`), else on a new
one (`Main().convert_length(...)`), and the class is imported instead. Names the module has nowhere are left
for QA to report.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from devteam.artifacts.code_interface import module_names
from devteam.artifacts.missing_imports import bound_names


@dataclass(frozen=True)
class MethodCalls:
    code: str
    methods: dict[str, str]  # the method imported as a function -> its class


def imported_methods(test_code: str, module_code: str, module: str) -> dict[str, str]:
    """`name -> class` for each name the tests import from `module` (by name, or by `*` and then call) that it
    lacks at its top level but one of its classes has as a method; {} when either file does not parse."""
    try:
        tests, code = ast.parse(test_code), ast.parse(module_code)
    except (SyntaxError, ValueError):
        return {}
    defined = module_names(code)
    owners: dict[str, str] = {}
    for node in code.body:
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and not member.name.startswith("_"):
                    owners.setdefault(member.name, node.name)
    imports = [node for node in ast.walk(tests) if isinstance(node, ast.ImportFrom) and node.module == module]
    named = [alias.name for node in imports if node.level == 0 for alias in node.names if alias.asname is None]
    if "*" in named:
        # `from main import *`, then `meters_to_kilometers(10)`: a call of a name bound nowhere in the tests
        bound = bound_names(tests)
        named += [
            node.func.id
            for node in ast.walk(tests)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in bound
        ]
    return {name: owners[name] for name in dict.fromkeys(named) if name not in defined and name in owners}


def with_method_calls(test_code: str, module_code: str, module: str) -> MethodCalls:
    """The tests with each imported method called on an object of its class; unchanged when there is none."""
    methods = imported_methods(test_code, module_code, module)
    if not methods:
        return MethodCalls(test_code, {})
    tree = ast.parse(test_code)
    lines = test_code.splitlines(keepends=True)
    calls: dict[tuple[int, int], tuple[int, int, int, str]] = {}  # a nested function's calls are seen twice
    for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        objects = _objects_made(function)
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            called = call.func
            if not isinstance(called, ast.Name) or called.id not in methods:
                continue
            owner = methods[called.id]
            made = [name for line, cls, name in objects if cls == owner and line < call.lineno]
            target = made[-1] if made else f"{owner}()"
            where = (called.lineno - 1, called.col_offset)
            calls.setdefault(where, (*where, called.end_col_offset or 0, f"{target}.{called.id}"))
    edits = list(calls.values())  # (line index, start column, end column, text)
    for node in (n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == module and n.level == 0):
        names = [alias.name if alias.asname is None else f"{alias.name} as {alias.asname}" for alias in node.names]
        if "*" in names:
            continue  # it imports the classes already
        kept = [name for name in names if name not in methods]
        kept += [owner for owner in dict.fromkeys(methods.values()) if owner not in kept]
        start, end = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        edits.append((start, -1, end, f"{indent}from {module} import {', '.join(kept)}\n"))
    for index, start, end, text in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        if start == -1:  # a whole import statement, lines index..end
            lines[index : end + 1] = [text]
        else:
            line = lines[index]
            prefix = line.encode()[:start].decode(errors="replace")
            suffix = line.encode()[end:].decode(errors="replace")
            lines[index] = prefix + text + suffix
    return MethodCalls("".join(lines), methods)


def _objects_made(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[int, str, str]]:
    """`(line, class, variable)` for each `variable = Class(...)` in the function, in order."""
    made = []
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
        ):
            made.append((node.lineno, node.value.func.id, node.targets[0].id))
    return sorted(made)
