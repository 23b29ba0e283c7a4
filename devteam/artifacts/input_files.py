"""A file a test reads and nobody wrote, written into the test: the test gets pytest's `tmp_path`, writes the
file there first, and reads it from there.

The 0.5B's CSV, word-frequency and markdown tests read `data.csv`, `example.txt`, `example.md` from the folder
the tests run in, and none exists: every one a FileNotFoundError. Told so and shown how (`tmp_path`,
`write_text`), its FixTest answers came back without the module's calls, three times out of three. What the
file must hold is a question it can answer on its own (`actions.write_input_file`); the edit of the test is
made here, by the syntax tree: the file's name, where the test passes it, becomes `str(tmp_path / name)`.
"""

from __future__ import annotations

import ast
import re

from devteam.artifacts.function_source import located_function, with_parameter

TMP_PATH = "tmp_path"
# A name in the test's folder (pytest shows no path), and no code or test file of the project's own.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,80}")
_CODE_SUFFIXES = (".py", ".pyc", ".pyi", ".so")
# What a test's input file may hold: sample data, not a dump.
MAX_CONTENT_CHARS = 4000


def input_file_name(name: str | None) -> str | None:
    """`name` when it can be a test's input file: a plain file name, not a module or a test; else None."""
    if name is None or not _NAME.fullmatch(name) or name.endswith(_CODE_SUFFIXES) or ".." in name:
        return None
    return name


def with_input_file(tests: str, name: str, class_name: str | None, file_name: str, content: str) -> str | None:
    """The test file with test `name` (a method of `class_name`) writing `content` to `tmp_path / file_name`
    first and passing that path where it passed `"file_name"`; None when the test does not name the file as a
    string of its own, its `def` cannot take `tmp_path`, or the content is no text to write."""
    if not content or len(content) > MAX_CONTENT_CHARS or "\x00" in content:
        return None
    with_fixture = with_parameter(tests, name, class_name, TMP_PATH)
    place = located_function(with_fixture, name, class_name) if with_fixture else None
    if with_fixture is None or place is None:
        return None
    tree = ast.parse(with_fixture)
    function = next(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno - 1 == place.header_start
        ),
        None,
    )
    if function is None:
        return None
    uses = [
        node
        for node in ast.walk(function)
        if isinstance(node, ast.Constant) and node.value == file_name and not _is_docstring(function, node)
    ]
    if not uses:
        return None
    path = f"{TMP_PATH} / {file_name!r}"
    lines = with_fixture.splitlines(keepends=True)
    # Replace from the last use backwards: offsets before an edit stay true.
    for node in sorted(uses, key=lambda one: (one.lineno, one.col_offset), reverse=True):
        line = lines[node.lineno - 1].encode()
        start, end = node.col_offset, node.end_col_offset or node.col_offset
        lines[node.lineno - 1] = (line[:start] + f"str({path})".encode() + line[end:]).decode()
    first = function.body[0]
    if _is_docstring(function, first.value if isinstance(first, ast.Expr) else None) and len(function.body) > 1:
        first = function.body[1]
    if first.lineno - 1 <= place.header_start:
        return None  # `def test_x(): assert ...` on one line
    indent = lines[first.lineno - 1][: first.col_offset]
    lines.insert(first.lineno - 1, f"{indent}({path}).write_text({content!r})\n")
    result = "".join(lines)
    try:
        ast.parse(result)
    except SyntaxError:
        return None
    return result


def _is_docstring(function: ast.FunctionDef | ast.AsyncFunctionDef, node: ast.AST | None) -> bool:
    first = function.body[0] if function.body else None
    return isinstance(first, ast.Expr) and first.value is node
