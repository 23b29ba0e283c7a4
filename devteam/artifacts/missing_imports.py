"""Standard-library modules a file uses but never imports, found in its syntax tree and imported.

Small models write `collections.Counter(...)` under `from collections import Counter`, or subclass
`http.server.SimpleHTTPRequestHandler` with no `import http.server`: the program dies at start with a NameError
that a fix round then spends a call on (the 0.5B's word counter and JSON API did). A name that is only ever read,
never bound anywhere in the file, and is a standard-library module (or a dotted submodule of one) can only mean
that module, so the import is added — nothing else in the file changes.

The same holds for a bare name that one of a few everyday standard-library modules exports: the 0.5B's notes
API called `StringIO(...)` with no import, a NameError in every test, and its fix round kept it. Such a name,
never bound in the file, gets `from io import StringIO` (the first module in `NAME_PROVIDERS` that has it).
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import importlib.util
import pkgutil
import sys

# Besides the standard library: the test runner QA guarantees, for test files.
_ALSO_FOR_TESTS = frozenset({"pytest"})
# Standard-library names never imported for a file: importing them runs something (`this`, `antigravity`), or
# they are the interpreter's own tooling, not what a program means by the name.
_NEVER = frozenset(
    {"this", "antigravity", "test", "idlelib", "turtledemo", "lib2to3", "ensurepip", "venv", "pydoc_data"}
)


# Everyday modules whose public names a small model uses bare (`StringIO(...)`, `defaultdict(list)`,
# `randint(1, 6)`, `sqrt(x)`), in the order that settles a name two of them have (collections' `Counter`, not
# typing's alias of it). Only these: every name of `os` or `re` (`open`, `split`, `compile`) is too likely to
# mean something else.
NAME_PROVIDERS = (
    "io",
    "collections",
    "pathlib",
    "dataclasses",
    "enum",
    "random",
    "math",
    "statistics",
    "time",
    "datetime",
    "itertools",
    "functools",
    "copy",
    "string",
    "textwrap",
    "heapq",
    "bisect",
    "decimal",
    "fractions",
    "typing",
    "unittest.mock",
)


def missing_name_imports(code: str) -> list[tuple[str, str]]:
    """`(module, name)` for each bare name the file reads but never binds, that is no builtin and no module,
    and that a module of `NAME_PROVIDERS` exports; empty when the file does not parse or star-imports."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    if any(isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names) for node in ast.walk(tree)):
        return []
    bound = bound_names(tree)
    modules = set(sys.stdlib_module_names)
    wanted: list[tuple[str, str]] = []
    names = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)]
    for node in sorted(names, key=lambda name: (name.lineno, name.col_offset)):
        if node.id in bound or node.id in modules or hasattr(builtins, node.id) or node.id.startswith("_"):
            continue
        module = _exported_names().get(node.id)
        if module is not None and (module, node.id) not in wanted:
            wanted.append((module, node.id))
    return wanted


@functools.cache
def _exported_names() -> dict[str, str]:
    """name -> the first module of `NAME_PROVIDERS` that exports it (standard-library modules only, imported
    here to read their names; nothing model-written is imported)."""
    exported: dict[str, str] = {}
    for module_name in NAME_PROVIDERS:
        module = importlib.import_module(module_name)
        public = getattr(module, "__all__", None) or [name for name in dir(module) if not name.startswith("_")]
        for name in public:
            exported.setdefault(name, module_name)
    return exported


def missing_module_imports(code: str, *, test_file: bool = False) -> list[str]:
    """The `import ...` targets the file needs (e.g. `collections`, `http.server`), in the order first used;
    empty when the file does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    bound = bound_names(tree)
    known = {name for name in sys.stdlib_module_names if not name.startswith("_")} - _NEVER
    known |= _ALSO_FOR_TESTS if test_file else set()
    wanted: list[str] = []
    names = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)]
    for node in sorted(names, key=lambda name: (name.lineno, name.col_offset)):
        if node.id in bound or node.id not in known or hasattr(builtins, node.id):
            continue
        if node.id not in wanted:
            wanted.append(node.id)
        submodule = _used_submodule(tree, node)
        if submodule and submodule not in wanted and _is_submodule(submodule):
            wanted.append(submodule)
    # `import http.server` binds `http` too: a plain `import http` is then not needed.
    return [name for name in wanted if not any(other.startswith(name + ".") for other in wanted)]


def with_module_imports(code: str, *, test_file: bool = False) -> tuple[str, list[str]]:
    """The file with `import <module>` and `from <module> import <name>` lines added after its docstring and
    `__future__` imports; what was added (`collections`, `StringIO (from io)`)."""
    missing = missing_module_imports(code, test_file=test_file)
    names = missing_name_imports(code)
    if not missing and not names:
        return code, []
    tree = ast.parse(code)
    insert_at = 0  # a line index: after the docstring and `from __future__` imports
    for statement in tree.body:
        is_docstring = (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
            and statement is tree.body[0]
        )
        if is_docstring or (isinstance(statement, ast.ImportFrom) and statement.module == "__future__"):
            insert_at = statement.end_lineno or insert_at
            continue
        break
    lines = code.splitlines(keepends=True)
    by_module: dict[str, list[str]] = {}
    for module, name in names:
        by_module.setdefault(module, []).append(name)
    added = "".join(f"import {name}\n" for name in missing)
    added += "".join(f"from {module} import {', '.join(sorted(found))}\n" for module, found in by_module.items())
    described = [*missing, *(f"{name} (from {module})" for module, name in names)]
    return "".join([*lines[:insert_at], added, *lines[insert_at:]]), described


def bound_names(tree: ast.AST, *, methods: bool = True) -> set[str]:
    """Every name the file binds anywhere (imports, assignments, definitions, parameters, loop and `with`
    targets, `except ... as`, `global`): such a name may mean something other than the module. `methods`
    False: a method's name is not counted (it binds an attribute of its class, not a name a call can reach)."""
    members = (
        set()
        if methods
        else {
            id(item)
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            for item in node.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
    )
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if id(node) not in members:
                bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound |= set(node.names)
    return bound


def _used_submodule(tree: ast.AST, name: ast.Name) -> str | None:
    """`http.server` for `http.server.SimpleHTTPRequestHandler`: the dotted prefix used on `name`, one level."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.value is name:
            parent = next(
                (outer for outer in ast.walk(tree) if isinstance(outer, ast.Attribute) and outer.value is node), None
            )
            return f"{name.id}.{node.attr}" if parent is not None else None
    return None


def _is_submodule(dotted: str) -> bool:
    """Whether `package.name` is a module of a standard-library package, looked up on disk without importing
    anything (the name comes from model-written code)."""
    package, name = dotted.split(".", 1)
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return False
    locations = spec.submodule_search_locations if spec is not None else None
    return bool(locations) and any(module.name == name for module in pkgutil.iter_modules(list(locations or [])))
