"""Do the written files fit together? Every name imported from a planned module must exist there, and every
third-party import must be a required package — checked on the AST of what was written.

Small models write files in parallel that import what the other file was supposed to define
(`from game_logic import GameLogic`, no such class) and import packages the plan never required
(`import pygame` under "standard library only"). Each miss names what the module really defines, so the
file's writer can be asked once more with the real interface.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from devteam.artifacts.code_interface import class_members, module_names

# Import names whose package on the index is spelled otherwise: the common ones.
_DISTRIBUTIONS = {
    "PIL": "pillow",
    "yaml": "pyyaml",
    "cv2": "opencv-python",
    "sklearn": "scikit-learn",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "attr": "attrs",
    "serial": "pyserial",
    "usb": "pyusb",
    "OpenGL": "pyopengl",
    "Crypto": "pycryptodome",
    "jwt": "pyjwt",
    "magic": "python-magic",
    "docx": "python-docx",
    "git": "gitpython",
}
_MAX_NAMES_SHOWN = 12
# `__future__` is the compiler's; pytest is the one package QA always runs the tests with.
_ALWAYS_THERE = {"__future__", "pytest", "_pytest"}


@dataclass(frozen=True)
class ImportMiss:
    """One import that does not fit: `detail` says what is wrong and what exists instead."""

    path: str  # the file that imports
    line: int
    detail: str
    module_path: str | None = None  # the planned file it imports from (None: a package)
    module: str | None = None  # the top-level module a package import names


def module_paths(paths: list[str]) -> dict[str, str]:
    """Module name -> path for the planned Python files (`pkg/__init__.py` is `pkg`, `pkg/a.py` is `pkg.a`)."""
    modules: dict[str, str] = {}
    for path in paths:
        pure = PurePosixPath(path)
        if pure.suffix != ".py":
            continue
        parts = list(pure.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and all(part.isidentifier() for part in parts):
            modules[".".join(parts)] = path
    return modules


def import_misses(path: str, code: str, sources: dict[str, str], required: list[str]) -> list[ImportMiss]:
    """What `code` (the file at `path`) imports that does not exist: names missing from a planned module
    (whose text is in `sources`, path -> code) and third-party modules not among the `required` packages."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    modules = module_paths(list(sources))
    packages = {name.split(".")[0] for name in modules}
    misses: list[ImportMiss] = []
    wanted = required_names(required)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _absolute(node, path)
            if base is None:
                continue
            if base in modules:
                misses.extend(_names_missing(path, node, base, modules, sources))
            elif base.split(".")[0] not in packages:
                misses.extend(_third_party(path, node.lineno, base, wanted))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in packages:
                    misses.extend(_third_party(path, node.lineno, alias.name, wanted))
    misses.extend(_attributes_missing(path, tree, modules, sources))
    return list({(miss.line, miss.detail): miss for miss in misses}.values())


def _absolute(node: ast.ImportFrom, path: str) -> str | None:
    if not node.level:
        return node.module
    package = list(PurePosixPath(path).parent.parts)
    if node.level > 1:
        package = package[: len(package) - (node.level - 1)] if node.level - 1 <= len(package) else []
    parts = [*package, *(node.module.split(".") if node.module else [])]
    return ".".join(parts) or None


def _defined(module: str, modules: dict[str, str], sources: dict[str, str]) -> tuple[set[str], dict[str, set[str]]]:
    """The names `module` binds, its submodules among the planned files, and each of its classes' members."""
    try:
        tree = ast.parse(sources[modules[module]])
    except (SyntaxError, ValueError):
        return set(), {}
    names = module_names(tree)
    names |= {name[len(module) + 1 :].split(".")[0] for name in modules if name.startswith(module + ".")}
    classes = {node.name: class_members(node) for node in tree.body if isinstance(node, ast.ClassDef)}
    return names, classes


def _names_missing(
    path: str, node: ast.ImportFrom, module: str, modules: dict[str, str], sources: dict[str, str]
) -> list[ImportMiss]:
    try:
        ast.parse(sources[modules[module]])
    except (SyntaxError, ValueError):
        return []  # a module that does not compile has its own report; its names cannot be known
    names, _ = _defined(module, modules, sources)
    return [
        ImportMiss(
            path,
            node.lineno,
            f"`from {module} import {alias.name}`: {modules[module]} defines no `{alias.name}` "
            f"(it defines {_listed(names)})",
            modules[module],
        )
        for alias in node.names
        if alias.name != "*" and alias.name not in names
    ]


def _attributes_missing(
    path: str, tree: ast.Module, modules: dict[str, str], sources: dict[str, str]
) -> list[ImportMiss]:
    """`module.name` after `import module`, and `Class.name` on a class imported from a planned module."""
    bound: dict[str, tuple[str, str | None]] = {}  # local name -> (module, class name or None)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    bound[alias.asname or alias.name] = (alias.name, None)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module in modules:
            for alias in node.names:
                bound[alias.asname or alias.name] = (node.module, alias.name)
    misses = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound):
            continue
        module, class_name = bound[node.value.id]
        names, classes = _defined(module, modules, sources)
        if not names and not classes:
            continue
        if class_name is None and node.attr not in names:
            detail = f"`{node.value.id}.{node.attr}`: {modules[module]} defines no `{node.attr}` (it defines {_listed(names)})"
        elif class_name is not None and class_name in classes and node.attr not in classes[class_name]:
            members = classes[class_name] | {"__name__", "__doc__", "__class__", "mro"}
            if node.attr in members or _inherits(module, class_name, sources, modules):
                continue
            detail = f"`{class_name}.{node.attr}`: class {class_name} of {modules[module]} has no `{node.attr}` (it has {_listed(classes[class_name])})"
        else:
            continue
        misses.append(ImportMiss(path, node.lineno, detail, modules[module]))
    return misses


def _inherits(module: str, class_name: str, sources: dict[str, str], modules: dict[str, str]) -> bool:
    """Whether the class has bases (then its members may come from them: not judged)."""
    tree = ast.parse(sources[modules[module]])
    return any(isinstance(node, ast.ClassDef) and node.name == class_name and node.bases for node in tree.body)


def _third_party(path: str, line: int, module: str, wanted: set[str]) -> list[ImportMiss]:
    top = module.split(".")[0]
    if not top or top in sys.stdlib_module_names or top in _ALWAYS_THERE:
        return []
    if provided_by(top) & wanted:
        return []
    listed = ", ".join(sorted(wanted)) if wanted else "none: standard library only"
    return [
        ImportMiss(
            path,
            line,
            f"`import {top}`: {top} is neither a planned file nor a required package (required: {listed})",
            module=top,
        )
    ]


def without_import_lines(code: str, lines: set[int]) -> str | None:
    """`code` without the top-level import statements that start at `lines`; None when there is none, or the
    file would not parse without them."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    doomed = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno in lines]
    if not doomed:
        return None
    kept = code.splitlines(keepends=True)
    for node in sorted(doomed, key=lambda n: n.lineno, reverse=True):
        del kept[node.lineno - 1 : (node.end_lineno or node.lineno)]
    trimmed = "".join(kept)
    try:
        ast.parse(trimmed)
    except (SyntaxError, ValueError):
        return None
    return trimmed


def imported_names(code: str, lines: set[int]) -> set[str]:
    """The names the top-level import statements starting at `lines` bind in `code` (`import a.b` binds `a`,
    `from a import b as c` binds `c`); a star import binds nothing that can be named."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno in lines:
            for alias in node.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def imports_any(code: str, modules: set[str]) -> bool:
    """Whether `code` imports one of the top-level `modules` anywhere, under any name (`import markdown as md`
    inside a function too); a file that does not parse imports nothing that can be seen."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] in modules for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] in modules:
            return True
    return False


def provided_by(module: str) -> set[str]:
    """The canonical names of the distributions that may provide the top-level module `module`."""
    top = module.split(".")[0]
    return {canonicalize_name(top), canonicalize_name(_DISTRIBUTIONS.get(top, top))}


def required_names(required: list[str]) -> set[str]:
    """The canonical distribution names that requirement lines name (anything unparsable by its first word)."""
    names: set[str] = set()
    for line in required:
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            names.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            names.add(canonicalize_name(re.split(r"[\s<>=!~\[;]", text, maxsplit=1)[0]))
    return names


def _listed(names: set[str]) -> str:
    public = sorted(name for name in names if not name.startswith("_"))
    if not public:
        return "nothing importable"
    shown = ", ".join(f"`{name}`" for name in public[:_MAX_NAMES_SHOWN])
    return shown + (f" and {len(public) - _MAX_NAMES_SHOWN} more" if len(public) > _MAX_NAMES_SHOWN else "")
