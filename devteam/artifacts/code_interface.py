"""The interface of a Python file, taken from its AST: what a file that imports it needs to know.

Classes with their bases, decorators, docstrings, class attributes and every attribute a method sets
(`self.x = ...` in `__init__` or anywhere else); functions and methods as signatures with their docstrings;
module-level names. Bodies are left out: a caller needs the contract, not the implementation, and the
interface is a fraction of the code's tokens.
"""

from __future__ import annotations

import ast

# A value longer than this is shown as `...`: the name and type matter to a caller, a long literal does not.
MAX_VALUE_CHARS = 60
_BODY = "..."


def python_interface(source: str) -> str | None:
    """The interface as Python-looking text, or None when the source does not parse (then send the code)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    lines: list[str] = []
    docstring = ast.get_docstring(tree, clean=False)
    if docstring:
        lines.append(_quoted(docstring, indent=""))
    for node in tree.body:
        block = _top_level(node)
        if block:
            if lines and (block[0].startswith(("def ", "class ", "@", "async def ")) or _is_block(lines[-1])):
                lines.append("")
            lines.extend(block)
    return "\n".join(lines) + "\n" if lines else ""


def top_level_names(source: str) -> set[str]:
    """The classes and functions a Python file defines at its top level (empty when it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


def module_names(tree: ast.Module) -> set[str]:
    """Every name a module binds at its top level — classes, functions, assignments (also inside a top-level
    `if`/`try`), and imports — i.e. what `from module import name` can find there."""
    names: set[str] = set()
    for node in _top_statements(tree.body):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {name.id for name in ast.walk(target) if isinstance(name, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*"}
    return names


def _top_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    found: list[ast.stmt] = []
    for node in body:
        found.append(node)
        if isinstance(node, ast.If):
            found.extend(_top_statements(node.body) + _top_statements(node.orelse))
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found.extend(_top_statements(block))
    return found


def class_members(node: ast.ClassDef) -> set[str]:
    """Every name an instance of the class has from its own body: methods, class attributes, and every
    attribute any method sets on `self`."""
    names = {child.name for child in node.body if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for child in node.body:
        if isinstance(child, (ast.Assign, ast.AnnAssign)):
            targets = child.targets if isinstance(child, ast.Assign) else [child.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
    for method in node.body:
        if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names |= {attribute for attribute, _, _ in _self_assignments(method)}
    return names


def _is_block(line: str) -> bool:
    return line.startswith((" ", "\t"))


def _top_level(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _function(node, indent="") if _public(node.name) else []
    if isinstance(node, ast.ClassDef):
        return _class(node) if _public(node.name) else []
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return _assignment(node, indent="")
    return []  # imports, `if __name__ == "__main__":` and other statements are not part of the contract


def _public(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _class(node: ast.ClassDef) -> list[str]:
    bases = [ast.unparse(base) for base in node.bases] + [ast.unparse(keyword) for keyword in node.keywords]
    lines = [f"@{ast.unparse(decorator)}" for decorator in node.decorator_list]
    lines.append(f"class {node.name}({', '.join(bases)}):" if bases else f"class {node.name}:")
    body: list[str] = []
    docstring = ast.get_docstring(node, clean=False)
    if docstring:
        body.append(_quoted(docstring, indent="    "))
    for child in node.body:
        if isinstance(child, (ast.Assign, ast.AnnAssign)):
            body.extend(_assignment(child, indent="    "))
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and _public(child.name):
            body.extend(_function(child, indent="    "))
    body.extend(_attributes_set_elsewhere(node))
    return lines + (body or [f"    {_BODY}"])


def _attributes_set_elsewhere(node: ast.ClassDef) -> list[str]:
    """Attributes first set outside `__init__` (`self.level = 1` in `reset()`): a caller reads them too."""
    in_init: set[str] = set()
    methods = [child for child in node.body if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for method in methods:
        if method.name == "__init__":
            in_init |= {attribute for attribute, _, _ in _self_assignments(method)}
    declared = {
        target.id
        for child in node.body
        if isinstance(child, (ast.Assign, ast.AnnAssign))
        for target in (child.targets if isinstance(child, ast.Assign) else [child.target])
        if isinstance(target, ast.Name)
    }
    lines: list[str] = []
    seen = in_init | declared
    for method in methods:
        if method.name == "__init__":
            continue
        for attribute, annotation, _ in _self_assignments(method):
            if attribute in seen or not _public(attribute):
                continue
            seen.add(attribute)
            typed = f": {ast.unparse(annotation)}" if annotation is not None else ""
            lines.append(f"    {attribute}{typed} = {_BODY}  # set by {method.name}()")
    return lines


def _self_assignments(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
) -> list[tuple[str, ast.expr | None, ast.expr | None]]:
    """(attribute, annotation, value) for each `self.x = ...` in the method, tuple targets included."""
    found = []
    for statement in ast.walk(node):
        targets: list[ast.expr] = []
        annotation = value = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            targets, value = [statement.target], statement.value
            annotation = statement.annotation if isinstance(statement, ast.AnnAssign) else None
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name) and part.value.id == "self":
                    found.append((part.attr, annotation, value if part is target else None))
    return found


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef, *, indent: str) -> list[str]:
    lines = [f"{indent}@{ast.unparse(decorator)}" for decorator in node.decorator_list]
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    lines.append(f"{indent}{prefix} {node.name}({ast.unparse(node.args)}){returns}:")
    inner = indent + "    "
    docstring = ast.get_docstring(node, clean=False)
    if docstring:
        lines.append(_quoted(docstring, indent=inner))
    if node.name == "__init__":
        lines.extend(_instance_attributes(node, indent=inner))
    lines.append(f"{inner}{_BODY}")
    return lines


def _instance_attributes(node: ast.FunctionDef | ast.AsyncFunctionDef, *, indent: str) -> list[str]:
    """`self.x = ...` in `__init__`: callers read these attributes (`board.cells`) as much as they call methods."""
    seen: set[str] = set()
    lines = []
    for attribute, annotation, value in _self_assignments(node):
        if attribute in seen or not _public(attribute):
            continue
        seen.add(attribute)
        typed = f": {ast.unparse(annotation)}" if annotation is not None else ""
        lines.append(f"{indent}self.{attribute}{typed} = {_short(value)}")
    return lines


def _assignment(node: ast.Assign | ast.AnnAssign, *, indent: str) -> list[str]:
    if isinstance(node, ast.AnnAssign):
        if not isinstance(node.target, ast.Name) or not _public(node.target.id):
            return []
        value = f" = {_short(node.value)}" if node.value is not None else ""
        return [f"{indent}{node.target.id}: {ast.unparse(node.annotation)}{value}"]
    names = [ast.unparse(target) for target in node.targets]
    if not all(_public(name) for name in names):
        return []
    return [f"{indent}{' = '.join(names)} = {_short(node.value)}"]


def _short(value: ast.expr | None) -> str:
    if value is None:
        return _BODY
    text = ast.unparse(value)
    return text if len(text) <= MAX_VALUE_CHARS and "\n" not in text else _BODY


def _quoted(docstring: str, *, indent: str) -> str:
    text = docstring.strip().replace('"""', r"\"\"\"")
    if "\n" not in text:
        return f'{indent}"""{text}"""'
    body = "\n".join(f"{indent}{line.strip()}" if line.strip() else "" for line in text.splitlines())
    return f'{indent}"""{body.lstrip()}\n{indent}"""'
