"""A module's own method called as a bare function, made a call on the object it was given.

The 0.5B's tic-tac-toe defined `TicTacToe.print_board(self)` and called `print_board(game)` in `play_game`:
a NameError before the first move, so the program never started — and asked for `play_game` alone six times,
it rewrote the class each time and kept the call. The intent is plain when the name is bound nowhere in the
file, exactly one class has a method of that name, and the call's first argument is a plain name with the
rest fitting the method's parameters: `print_board(game)` → `game.print_board()`. Anything less certain is
left for QA to report.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

from devteam.artifacts.missing_imports import bound_names

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class _Method:
    owner: str
    least: int  # positional arguments it needs besides `self`
    most: int | None  # positional arguments it takes besides `self`; None with `*args`


def with_method_receivers(code: str) -> tuple[str, list[str]]:
    """`code` with each bare call of one of its classes' methods made a method call on its first argument,
    and the calls rewritten (`print_board(game) -> game.print_board()`); unchanged when there is none or the
    file does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code, []
    methods = _methods(tree)
    others = bound_names(tree, methods=False)  # a call of such a name may mean that, not the method
    top = {node.name for node in tree.body if isinstance(node, (*_FUNCTIONS, ast.ClassDef))}
    edits: list[tuple[ast.Call, str]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        name = node.func.id
        method = methods.get(name)
        if method is None or name in others or name in top or hasattr(builtins, name):
            continue
        if not node.args or not isinstance(node.args[0], ast.Name) or any(_starred(arg) for arg in node.args):
            continue
        rest = len(node.args) - 1
        if rest < method.least - len(node.keywords) or (method.most is not None and rest > method.most):
            continue
        edits.append((node, _rewritten(code, node, name)))
    if not edits:
        return code, []
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line.encode("utf-8")))
    data = code.encode("utf-8")
    shown = []
    for call, text in sorted(edits, key=lambda edit: (edit[0].lineno, edit[0].col_offset), reverse=True):
        start = offsets[call.lineno - 1] + call.col_offset
        end = offsets[(call.end_lineno or call.lineno) - 1] + (call.end_col_offset or 0)
        shown.append(f"{data[start:end].decode('utf-8')} -> {text}")
        data = data[:start] + text.encode("utf-8") + data[end:]
    return data.decode("utf-8"), list(reversed(shown))


def _methods(tree: ast.Module) -> dict[str, _Method]:
    """Method name -> its method, for names exactly one top-level class has (private and dunder ones left out)."""
    found: dict[str, list[_Method]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if not isinstance(item, _FUNCTIONS) or item.name.startswith("_") or _is_static(item):
                continue
            positional = [*item.args.posonlyargs, *item.args.args][1:]  # without `self`
            least = len(positional) - len(item.args.defaults)
            most = None if item.args.vararg else len(positional)
            found.setdefault(item.name, []).append(_Method(node.name, max(least, 0), most))
    return {name: options[0] for name, options in found.items() if len(options) == 1}


def _is_static(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(decorator, ast.Name) and decorator.id in ("staticmethod", "classmethod")
        for decorator in function.decorator_list
    )


def _starred(node: ast.expr) -> bool:
    return isinstance(node, ast.Starred)


def _rewritten(code: str, call: ast.Call, name: str) -> str:
    receiver = ast.get_source_segment(code, call.args[0]) or ""
    parts = [ast.get_source_segment(code, arg) or "" for arg in call.args[1:]]
    parts += [ast.get_source_segment(code, keyword) or "" for keyword in call.keywords]
    return f"{receiver}.{name}({', '.join(parts)})"
