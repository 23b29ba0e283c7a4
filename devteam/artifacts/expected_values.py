"""The value a failing test expects and the value the code gives, where both are plain values (`0.01`, `1.0`,
`'HELLO'`, `[2, 4]`): what the test computes, what each side says, and the test with the code's value instead.

A small model asked to correct a test whose expected value is wrong writes the same value again: the 0.5B's unit
converter tests expected `meters_to_kilometers(10) == 1.0` in every FixTest answer, over three suites, while
the code gave 0.01. Which of two values is right is a question it can answer (a choice, asked in both orders:
`actions.check_expected`); the edit is made here, by the syntax tree, on the one literal the assert compares.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any

_APPROX = "approx"
# pytest prints an approx value as `1.0 ± 1.0e-06`: the value is before the sign.
_TOLERANCE = " ± "


@dataclass(frozen=True)
class DisputedValue:
    """One `==` of a failing test where the code gives one plain value and the test expects another."""

    computed: str  # the source of the side the test computes from the code: `UnitConverter().to_km(10)`
    code_gives: str  # that value, as Python writes it: `0.01`
    test_expects: str  # the literal as the test writes it: `1.0`
    corrected: str  # the whole test file with `code_gives` in place of `test_expects`
    line: int  # the assert's line in the test file


def disputed_value(tests: str, line: int, got: str, expected: str) -> DisputedValue | None:
    """The dispute in the assert at `line` (1-based) of the test file `tests`, from pytest's `assert got ==
    expected`; None where either side is not a plain value (an object, a cut-off repr), the code's value is
    `None` (a function that gives nothing: a test of `== None` checks nothing), or the assert is not one `==`
    (or `is`) between a literal and what the code computes."""
    node = _assert_at(tests, line)
    compare = node.test if node is not None else None
    if not (isinstance(compare, ast.Compare) and len(compare.ops) == 1 and isinstance(compare.ops[0], _EQUAL)):
        return None
    # pytest shows `assert <left's value> == <right's value>`; the test's literal is one side (the right, most
    # often) and what it computes from the code the other.
    left, right = compare.left, compare.comparators[0]
    for literal_side, computed_side, shown, gives in ((right, left, expected, got), (left, right, got, expected)):
        literal = _literal_node(literal_side)
        if literal is None or _literal_node(computed_side) is not None:
            continue
        written = ast.literal_eval(literal)
        code_value = _plain(gives)
        if not _same(written, _plain(shown)) or code_value is _NOT_PLAIN or code_value is None:
            return None
        if _same(written, code_value):
            return None  # no dispute to settle
        replacement = repr(code_value)
        corrected = _replaced(tests, literal, replacement)
        if corrected is None:
            return None
        return DisputedValue(_source(tests, computed_side), replacement, _source(tests, literal), corrected, line)
    return None


def disputed_truth(tests: str, line: int, code_gave: bool) -> DisputedValue | None:
    """The dispute in `assert <call>` (or `assert not <call>`) at `line` of `tests` when the code gave the bool
    `code_gave` and the test wanted the other (`assert game.check_winner('X')` on a new board): the test with the
    `not` added or taken away. None for any other assert (a compare, `and`/`or`: what is disputed is unclear)."""
    node = _assert_at(tests, line)
    if node is None:
        return None
    checked = node.test
    negated = isinstance(checked, ast.UnaryOp) and isinstance(checked.op, ast.Not)
    inner = checked.operand if isinstance(checked, ast.UnaryOp) and negated else checked
    if not isinstance(inner, _COMPUTED) or code_gave != negated:
        return None
    computed = _source(tests, inner)
    corrected = _replaced(tests, checked, computed if negated else f"not {computed}")
    if corrected is None:
        return None
    return DisputedValue(computed, repr(code_gave), repr(not code_gave), corrected, line)


def with_one_check(tests: str, line: int) -> str | None:
    """The test file `tests` with every other `assert` of the test function holding `line` turned into an
    expression its calls still run in (`(game.make_move(0, 0) == True, "msg")`), line for line, so that a run
    of it can fail only on the assert at `line`; None when the file does not parse or `line` holds no assert.

    A new version of a function is asked what one call gives: the 0.5B's converter test asserted `to_pounds(1)
    == 2.2046` before the disputed `to_pounds(5) == 10.0`, and a new version giving 2.20462 failed there first,
    which said nothing of the value in dispute."""
    disputed = _assert_at(tests, line)
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError):
        return None
    holding = [
        node
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    owner = max(holding, key=lambda node: node.lineno, default=None)  # the innermost
    if disputed is None or owner is None:
        return None
    others = [
        node
        for node in ast.walk(owner)
        if isinstance(node, ast.Assert) and node.lineno != disputed.lineno and node.end_lineno is not None
    ]
    text = tests
    # From the last to the first: each replacement leaves the offsets of those before it as they were.
    for node in sorted(others, key=lambda node: (node.lineno, node.col_offset), reverse=True):
        source = ast.get_source_segment(text, node)
        if source is None or not source.startswith("assert"):
            return None
        replaced = _replaced(text, node, "(" + source[len("assert") :].strip() + ")")
        if replaced is None:
            return None
        text = replaced
    return text


# Two implementations of one conversion agree when they differ in a constant's last digits (2.2046 against
# 2.20462 pounds to the kilogram), not when one is off by a factor.
_AGREEING = 1e-3


def agree(one: str, other: str) -> bool:
    """Whether two values of one call, as Python writes them (`5.5115`, `5.51155`), are the same value: plain
    values, equal, floats within a thousandth of each other."""
    first, second = _plain(one), _plain(other)
    if first is _NOT_PLAIN or second is _NOT_PLAIN:
        return False
    if isinstance(first, float) or isinstance(second, float):
        if isinstance(first, bool) or isinstance(second, bool):
            return False
        try:
            return math.isclose(float(first), float(second), rel_tol=_AGREEING, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return _same(first, second)


class _NotPlain:
    pass


_NOT_PLAIN: Any = _NotPlain()


def _plain(text: str) -> Any:
    try:
        return ast.literal_eval(text.split(_TOLERANCE, 1)[0].strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_PLAIN


# What a test computes from the code and asserts true (or, with `not`, false).
_COMPUTED = (ast.Call, ast.Attribute, ast.Name, ast.Subscript)


_EQUAL = (ast.Eq, ast.Is)


def _assert_at(tests: str, line: int) -> ast.Assert | None:
    """The `assert` of the test file `tests` that spans `line`; None when there is none or the file does not parse."""
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError):
        return None
    return next(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Assert) and node.lineno <= line <= (node.end_lineno or node.lineno)
        ),
        None,
    )


def _literal_node(node: ast.expr) -> ast.expr | None:
    """The literal a side holds: itself, or the value inside `pytest.approx(...)`; None when it is not one."""
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name == _APPROX:
            node = node.args[0]
    try:
        ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return node


def _same(first: Any, second: Any) -> bool:
    if isinstance(first, float) or isinstance(second, float):
        try:
            return math.isclose(float(first), float(second), rel_tol=1e-6, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return bool(first == second) and type(first) is type(second)


def _source(text: str, node: ast.expr) -> str:
    return ast.get_source_segment(text, node) or ast.unparse(node)


def _replaced(text: str, node: ast.expr | ast.stmt, replacement: str) -> str | None:
    """`text` with `node`'s source replaced (ast offsets count UTF-8 bytes); None when the result does not parse."""
    if node.end_lineno is None or node.end_col_offset is None:
        return None
    lines = text.splitlines(keepends=True)
    start = sum(len(line.encode()) for line in lines[: node.lineno - 1]) + node.col_offset
    end = sum(len(line.encode()) for line in lines[: node.end_lineno - 1]) + node.end_col_offset
    raw = text.encode()
    corrected = (raw[:start] + replacement.encode() + raw[end:]).decode()
    try:
        ast.parse(corrected)
    except SyntaxError:
        return None
    return corrected
