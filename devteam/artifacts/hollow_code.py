"""Hollow functions: a `def` whose body is empty, a comment, a docstring, `pass`, `...` or
`raise NotImplementedError` — found by reading lines, not the AST, because such a file often does not compile
(`def create_snake(self):\\n    # Create the initial snake body` with nothing after it).

Also here: splicing a new body into one function, and every syntax error of a file, not just the first
(each top-level block, and each member of a class, compiled on its own).
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

_DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>[A-Za-z_]\w*)[ \t]*\(")
_CLASS = re.compile(r"^(?P<indent>[ \t]*)class[ \t]+(?P<name>[A-Za-z_]\w*)(?P<bases>[^:]*):")
_DECORATOR = re.compile(r"^[ \t]*@[ \t]*(?P<name>[\w.]+)")
_SELF_ATTRIBUTE = re.compile(r"\bself\.([A-Za-z_]\w*)\s*(?::[^=\n]+)?=(?!=)")
# `self.width, self.height = width, height`: every target of the tuple, not the last only.
_SELF_TUPLE = re.compile(r"^\s*\(?((?:self\.\w+\s*,\s*)+self\.\w+)\s*\)?\s*=(?!=)")
_IMPORT = re.compile(r"^(?:import|from)[ \t]+[\w.]+")
# Bodies meant to stay empty: abstract methods, typing overloads, protocols.
_INTENDED = {"abstractmethod", "overload", "abc.abstractmethod", "typing.overload"}
_PROTOCOL_BASES = ("Protocol", "ABC")


@dataclass(frozen=True)
class HollowFunction:
    """One function without an implementation, located by lines (0-based, end exclusive)."""

    name: str
    class_name: str | None
    signature: str  # the `def` line(s) as written, dedented, decorators left out
    header_start: int  # the `def` line
    body_start: int  # the first line after the header (for `def f(): pass`, the header's own line)
    body_end: int  # first line after the body; trailing blank lines are not part of it
    indent: str  # the `def` line's indent
    one_line: bool  # `def f(): pass`
    colon: int  # for a one-line function, the column just after the header's `:`
    docstring: str | None  # the docstring it had, kept when a new body is spliced in

    @property
    def qualname(self) -> str:
        return f"{self.class_name}.{self.name}" if self.class_name else self.name


@dataclass(frozen=True)
class _Def:
    name: str
    indent: int
    start: int
    header_end: int  # index of the line that holds the header's `:`
    colon: int  # column just after the header's `:` on that line
    decorators: tuple[str, ...]


def hollow_functions(source: str) -> list[HollowFunction]:
    """Every hollow function and method of a Python source, in file order; the source need not compile."""
    lines = source.splitlines()
    found = []
    classes: list[tuple[int, str, bool]] = []  # (indent, name, intended to be empty) of the open classes
    strings = _inside_strings(lines)
    for index, line in enumerate(lines):
        if strings[index] or not line.strip() or line.lstrip().startswith("#"):
            continue
        width = _width(line)
        classes = [entry for entry in classes if entry[0] < width]
        if match := _CLASS.match(line):
            bases = match.group("bases")
            classes.append((width, match.group("name"), any(name in bases for name in _PROTOCOL_BASES)))
            continue
        if not _DEF.match(line):
            continue
        header = _header(lines, index)
        if header is None:
            continue
        owner = classes[-1] if classes else None
        if owner is not None and owner[2]:
            continue
        if any(decorator in _INTENDED for decorator in header.decorators):
            continue
        hollow = _hollow(lines, header, owner[1] if owner else None)
        if hollow is not None:
            found.append(hollow)
    return found


def _width(line: str) -> int:
    return len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())


def _inside_strings(lines: list[str]) -> list[bool]:
    """Whether each line starts inside a triple-quoted string (a `def` there is text, not code)."""
    inside: list[bool] = []
    quote = ""
    for line in lines:
        inside.append(bool(quote))
        position = 0
        while True:
            if quote:
                end = line.find(quote, position)
                if end == -1:
                    break
                quote, position = "", end + 3
                continue
            starts = [(line.find(q, position), q) for q in ('"""', "'''") if line.find(q, position) != -1]
            hash_at = line.find("#", position)
            if not starts:
                break
            start, opened = min(starts)
            if hash_at != -1 and hash_at < start:
                break
            quote, position = opened, start + 3
    return inside


def _header(lines: list[str], start: int) -> _Def | None:
    """The `def` at `start`: where its header ends (the `:` after the parameters), or None if it never does."""
    depth = 0
    quote = ""
    for index in range(start, min(start + 30, len(lines))):
        line = lines[index]
        column = 0
        while column < len(line):
            ch = line[column]
            if quote:
                if ch == "\\":
                    column += 1
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == ":" and depth == 0:
                return _Def(
                    name=_DEF.match(lines[start]).group("name"),  # type: ignore[union-attr]
                    indent=_width(lines[start]),
                    start=start,
                    header_end=index,
                    colon=column + 1,
                    decorators=_decorators(lines, start),
                )
            column += 1
        quote = ""  # a string does not go on to the next line in a header
    return None


def _decorators(lines: list[str], start: int) -> tuple[str, ...]:
    names = []
    index = start - 1
    while index >= 0 and (match := _DECORATOR.match(lines[index])):
        names.append(match.group("name"))
        index -= 1
    return tuple(names)


def _hollow(lines: list[str], header: _Def, class_name: str | None) -> HollowFunction | None:
    signature = textwrap.dedent("\n".join(lines[header.start : header.header_end + 1]))
    indent = lines[header.start][: len(lines[header.start]) - len(lines[header.start].lstrip())]
    tail = lines[header.header_end][header.colon :].strip()
    if tail and not tail.startswith("#"):
        # `def f(): pass` — the body is on the header's line
        statements = _statements(tail)
        if statements is None or not _placeholders(statements):
            return None
        signature = signature[: len(signature) - len(lines[header.header_end][header.colon :])].rstrip()
        return HollowFunction(
            header.name,
            class_name,
            signature,
            header.start,
            header.header_end,
            header.header_end + 1,
            indent,
            True,
            header.colon,
            _docstring(statements),
        )
    end = header.header_end + 1
    last = header.header_end  # the last line that belongs to the body
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.lstrip().startswith("#") and _width(line) <= header.indent:
            break
        if line.strip() and (_width(line) > header.indent or not line.lstrip().startswith("#")):
            last = end
        end += 1
    body = [line for line in lines[header.header_end + 1 : last + 1]]
    code = [line for line in body if line.strip() and not line.lstrip().startswith("#")]
    if code:
        statements = _statements(textwrap.dedent("\n".join(body)))
        if statements is None or not _placeholders(statements):
            return None
        docstring = _docstring(statements)
    else:
        docstring = None
    return HollowFunction(
        header.name, class_name, signature, header.start, header.header_end + 1, last + 1, indent, False, 0, docstring
    )


def _statements(code: str) -> list[ast.stmt] | None:
    try:
        return ast.parse(code).body
    except (SyntaxError, ValueError):
        return None


def _placeholders(statements: list[ast.stmt]) -> bool:
    return all(_placeholder(statement) for statement in statements)


def _placeholder(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return statement.value.value is Ellipsis or isinstance(statement.value.value, str)
    if isinstance(statement, ast.Raise) and statement.exc is not None:
        raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
        return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"
    return False


def _docstring(statements: list[ast.stmt]) -> str | None:
    first = statements[0] if statements else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.value.value
    return None


# --- what a prompt for one function needs of its file ----------------------------------------------------


def class_attributes(source: str, class_name: str) -> list[str]:
    """`self.x` assigned anywhere in the class (any method), and its class-level names, in order of first
    assignment; read by lines, so a class that does not compile still has them."""
    lines = source.splitlines()
    names: dict[str, None] = {}
    start = next(
        (i for i, line in enumerate(lines) if (m := _CLASS.match(line)) and m.group("name") == class_name), None
    )
    if start is None:
        return []
    width = _width(lines[start])
    for line in lines[start + 1 :]:
        if line.strip() and not line.lstrip().startswith("#") and _width(line) <= width:
            break
        tuple_targets = _SELF_TUPLE.match(line)
        found = re.findall(r"self\.(\w+)", tuple_targets.group(1)) if tuple_targets else []
        for name in [*found, *_SELF_ATTRIBUTE.findall(line)]:
            names.setdefault(f"self.{name}")
    return list(names)


def outline(source: str) -> list[str]:
    """The file's imports, classes and `def` lines (signatures only): what a body may call in its own file."""
    kept = []
    strings = _inside_strings(source.splitlines())
    for index, line in enumerate(source.splitlines()):
        if strings[index]:
            continue
        if _IMPORT.match(line) or _CLASS.match(line) or _DEF.match(line):
            kept.append(line.rstrip())
    return kept


# --- splicing a body in -----------------------------------------------------------------------------------


def splice_body(source: str, hollow: HollowFunction, answer: str) -> str | None:
    """`source` with the body of `hollow` replaced by the body of `answer` (a whole function, or only its body);
    the answer's own imports go to the top of the file. None when the answer holds no usable body."""
    body, imports = _answer_body(answer, hollow.name)
    if body is None:
        return None
    lines = source.splitlines()
    unit = _indent_unit(lines)
    inner = hollow.indent + unit
    if hollow.docstring is not None and not _starts_with_docstring(body):
        body = f'"""{hollow.docstring.strip()}"""\n' + body
    new_body = _without_kept_comments(
        [inner + line if line.strip() else "" for line in body.splitlines()],
        lines[hollow.header_start + 1 : hollow.body_start],
    )
    if hollow.one_line:
        header_end = lines[hollow.body_start][: hollow.colon]
        replaced = [*lines[: hollow.body_start], header_end, *new_body, *lines[hollow.body_end :]]
    else:
        replaced = [*lines[: hollow.body_start], *new_body, *lines[hollow.body_end :]]
    return _add_imports(replaced, imports)


def _without_kept_comments(body: list[str], kept: list[str]) -> list[str]:
    """`body` without the comment lines it starts with that the lines kept above it (between the `def` line
    and the old body's first statement) already hold: the signature a prompt shows carries them, and the 0.5B's
    answer repeated `# Read the Markdown file` under the one left in place."""
    comments = {line.strip() for line in kept if line.strip().startswith("#")}
    start = 0
    while start < len(body) and (not body[start].strip() or body[start].strip() in comments):
        start += 1
    return body[start:] if start < len(body) else body


def _answer_body(answer: str, name: str) -> tuple[str | None, list[str]]:
    """The body (dedented) of function `name` in `answer`, or the answer itself when it is only a body."""
    lines = answer.strip("\n").splitlines()
    imports = [line.strip() for line in lines if _IMPORT.match(line)]
    start = next((i for i, line in enumerate(lines) if (m := _DEF.match(line)) and m.group("name") == name), None)
    if start is None:
        code = "\n".join(line for line in lines if not _IMPORT.match(line))
        body = textwrap.dedent(code).strip("\n")
    else:
        header = _header(lines, start)
        if header is None:
            return None, imports
        tail = lines[header.header_end][header.colon :].strip()
        if tail and not tail.startswith("#"):
            body = tail
        else:
            width = header.indent
            end = header.header_end + 1
            while end < len(lines) and (
                not lines[end].strip() or lines[end].lstrip().startswith("#") or _width(lines[end]) > width
            ):
                end += 1
            body = textwrap.dedent("\n".join(lines[header.header_end + 1 : end])).strip("\n")
    if not body.strip():
        return None, imports
    statements = _statements(body)
    if statements is not None and (not statements or _placeholders(statements)):
        return None, imports  # a placeholder again; a body that does not parse is the caller's to judge
    return body, imports


def _starts_with_docstring(body: str) -> bool:
    statements = _statements(body)
    return bool(statements) and _docstring(statements or []) is not None


def _indent_unit(lines: list[str]) -> str:
    for line in lines:
        stripped = line.lstrip()
        if stripped and stripped != line and not stripped.startswith("#"):
            unit = line[: len(line) - len(stripped)]
            return "\t" if unit.startswith("\t") else " " * min(len(unit), 8)
    return "    "


def _add_imports(lines: list[str], imports: list[str]) -> str:
    present = {line.strip() for line in lines}
    missing = [line for line in dict.fromkeys(imports) if line not in present]
    if missing:
        last_import = max((i for i, line in enumerate(lines) if _IMPORT.match(line)), default=-1)
        at = last_import + 1 if last_import >= 0 else _after_module_docstring(lines)
        lines = [*lines[:at], *missing, *lines[at:]]
    return "\n".join(lines) + "\n"


def _after_module_docstring(lines: list[str]) -> int:
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return 0
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno or 0
    return 0


# --- every syntax error, not the first -------------------------------------------------------------------


def syntax_errors(path: str, source: str, *, limit: int = 12) -> list[str]:
    """Each syntax error of the file as one line; each top-level block (and each member of a class) is compiled
    on its own, so one error does not hide the next. Empty when the file compiles or is not Python."""
    if not path.endswith(".py"):
        return []
    first = _compile_error(source, path)
    if first is None:
        return []
    lines = source.splitlines()
    errors: list[str] = []
    for start, end in _blocks(lines, 0, len(lines), 0):
        errors.extend(_block_errors(lines, start, end, path))
        if len(errors) >= limit:
            break
    return list(dict.fromkeys(errors or [first]))[:limit]


def _compile_error(source: str, path: str) -> str | None:
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"{error.msg} (line {error.lineno}): {(error.text or '').strip()}"
    except ValueError as error:
        return str(error)
    return None


def _blocks(lines: list[str], start: int, end: int, width: int) -> list[tuple[int, int]]:
    """Line ranges of the statements at indent `width` between `start` and `end` (decorators and `else:` or
    `except:` stay with the statement they belong to)."""
    blocks: list[tuple[int, int]] = []
    current: int | None = None
    decorated = False
    continuing = ("else", "elif", "except", "finally", ")", "]", "}")
    for index in range(start, end):
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or _width(line) != width:
            continue
        if stripped.startswith(continuing) or decorated:
            decorated = stripped.startswith("@")
            continue
        if current is not None:
            blocks.append((current, index))
        current = index
        decorated = stripped.startswith("@")
    if current is not None:
        blocks.append((current, end))
    return blocks


def _block_errors(lines: list[str], start: int, end: int, path: str) -> list[str]:
    text = "\n" * start + "\n".join(lines[start:end])
    error = _compile_error(text, path)
    if error is None:
        return []
    header = lines[start].strip()
    if not (header.startswith("class ") or header.startswith("@")) or not _CLASS.match(
        next((line for line in lines[start:end] if _CLASS.match(line)), "")
    ):
        return [error]
    # A class: each member on its own, under a class line of its own, so nine hollow methods are nine errors.
    class_line = next(i for i in range(start, end) if _CLASS.match(lines[i]))
    members = [
        (s, e)
        for s, e in _blocks(lines, class_line + 1, end, _member_width(lines, class_line + 1, end))
        if s > class_line
    ]
    found: list[str] = []
    for member_start, member_end in members:
        block = "\n" * (member_start - 1) + "class _:\n" + "\n".join(lines[member_start:member_end])
        member_error = _compile_error(block, path)
        if member_error is not None:
            found.append(member_error)
    return found or [error]


def _member_width(lines: list[str], start: int, end: int) -> int:
    for line in lines[start:end]:
        if line.strip() and not line.lstrip().startswith("#"):
            return _width(line)
    return 4
