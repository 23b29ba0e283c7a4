"""Tests that compare a computed float with `==`, made to compare it with `pytest.approx`.

`celsius_to_fahrenheit(36.6) == 97.88` fails on a right converter (36.6 * 9 / 5 + 32 is 97.88000000000001), and
the 0.5B's unit-converter tests compared every result that way: a test that fails on the last bit of a float
says nothing about the program. An equality in an `assert` whose expected side is a float literal, or arithmetic on
number literals that yields a float (`(100 - 32) * 5 / 9`), or a list or tuple of such, gets that side wrapped in
`pytest.approx(...)` — the comparison pytest documents for floats. Nothing else in the file changes.
"""

from __future__ import annotations

import ast

APPROX = "pytest.approx"


def with_approx_floats(test_code: str) -> tuple[str, int]:
    """The tests with float equalities compared by `pytest.approx`, and how many were changed; unchanged when
    the file does not parse (the caller imports `pytest` where the file reads it without an import)."""
    try:
        tree = ast.parse(test_code)
    except (SyntaxError, ValueError):
        return test_code, 0
    expected = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)):
            continue
        compare = node.test
        if len(compare.ops) != 1 or not isinstance(compare.ops[0], (ast.Eq, ast.NotEq)):
            continue
        left, right = compare.left, compare.comparators[0]
        if _float_literal(right) and not _float_literal(left):
            expected.append(right)
        elif _float_literal(left) and not _float_literal(right):
            expected.append(left)
    if not expected:
        return test_code, 0
    lines = test_code.splitlines(keepends=True)
    for side in sorted(expected, key=lambda node: (node.lineno, node.col_offset), reverse=True):
        start, end = side.lineno - 1, (side.end_lineno or side.lineno) - 1
        first = lines[start].encode()
        last = lines[end].encode()
        column, end_column = side.col_offset, side.end_col_offset or 0
        if start == end:
            lines[start] = (
                first[:column] + f"{APPROX}(".encode() + first[column:end_column] + b")" + first[end_column:]
            ).decode()
        else:
            lines[start] = (first[:column] + f"{APPROX}(".encode() + first[column:]).decode()
            lines[end] = (last[:end_column] + b")" + last[end_column:]).decode()
    return "".join(lines), len(expected)


def _float_literal(node: ast.expr) -> bool:
    """A value written with number literals only that is a float: `98.6`, `-1.5`, `(100 - 32) * 5 / 9`,
    `[0.1, 0.2]` (any float in it)."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return bool(node.elts) and all(_number_literal(e) for e in node.elts) and any(map(_float_valued, node.elts))
    return _number_literal(node) and _float_valued(node)


def _number_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _number_literal(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        return _number_literal(node.left) and _number_literal(node.right)
    return False


def _float_valued(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, float)
    if isinstance(node, ast.UnaryOp):
        return _float_valued(node.operand)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.Div) or _float_valued(node.left) or _float_valued(node.right)
    return False
