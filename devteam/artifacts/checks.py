"""Checks of what the roles produce beyond its types: a PRD that still describes the user's idea, a design whose
packages, dependencies and entry point make sense, code that is code.

A valid `SystemDesign` can still list `random` as a package to install or plan a file that imports one that is
never written; weak models do both. Each check either fixes the artifact itself — a logged `repair_…` line,
when the fix is certain (a standard-library module is never a pip package) — or returns a *problem*: one
sentence for the model, which the action sends back once before settling it (`settle_*`) with a logged fix.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Generic, TypeVar

from devteam.artifacts.documents import PRD, PlannedFile, SystemDesign
from devteam.artifacts.file_plan import plan_key, resolve_dependency
from devteam.core.errors import WorkspaceError
from devteam.core.safe_paths import normalise_relative_path
from devteam.structured.extract import preview

log = logging.getLogger("devteam.repair")

T = TypeVar("T")


@dataclass
class Checked(Generic[T]):
    """An artifact after its checks: the fixes made (markers, each logged) and the problems left for the model."""

    value: T
    repairs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# -- the idea and the PRD -----------------------------------------------------------------------------------

# Words that say what kind of thing to build, or how, but not *what* it is about: "write the 2048 game for the
# terminal" is about 2048, and a PRD about a terminal game that never says 2048 has lost the idea.
_GENERIC_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "for",
        "to",
        "in",
        "on",
        "with",
        "without",
        "that",
        "which",
        "this",
        "these",
        "it",
        "its",
        "by",
        "from",
        "as",
        "at",
        "into",
        "onto",
        "is",
        "are",
        "be",
        "using",
        "use",
        "via",
        "me",
        "my",
        "our",
        "your",
        "you",
        "i",
        "we",
        "us",
        "please",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "must",
        "just",
        "also",
        "very",
        "some",
        "any",
        "all",
        "each",
        "every",
        "one",
        "two",
        "let",
        "lets",
        "want",
        "need",
        "write",
        "make",
        "build",
        "create",
        "develop",
        "implement",
        "design",
        "code",
        "generate",
        "produce",
        "give",
        "set",
        "up",
        "game",
        "games",
        "app",
        "apps",
        "application",
        "applications",
        "program",
        "programs",
        "tool",
        "tools",
        "utility",
        "script",
        "scripts",
        "project",
        "software",
        "system",
        "service",
        "simple",
        "small",
        "basic",
        "little",
        "tiny",
        "minimal",
        "quick",
        "easy",
        "nice",
        "fun",
        "classic",
        "new",
        "terminal",
        "console",
        "command",
        "commands",
        "line",
        "cli",
        "text",
        "based",
        "python",
        "python3",
        "gui",
        "web",
        "website",
        "page",
        "interface",
        "version",
        "clone",
        "style",
        "like",
        "playable",
        "file",
        "files",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")


def idea_subject_words(idea: str) -> list[str]:
    """The words of the idea that name its subject (order kept, no repeats)."""
    words: list[str] = []
    for word in _WORD.findall(idea.lower()):
        if word in _GENERIC_WORDS or word in words or (len(word) < 3 and not word.isdigit()):
            continue
        words.append(word)
    return words


def _stem(word: str) -> str:
    # A prefix is enough to see "tasks" in "task", "calculator" in "calculation", "snake" in "snakes".
    return word if word.isdigit() or len(word) <= 4 else word[: max(4, len(word) - 3)]


def _prd_text(prd: PRD) -> str:
    parts = [
        prd.original_requirements,
        prd.project_name,
        prd.requirement_analysis,
        prd.ui_design_draft,
        *prd.product_goals,
        *prd.user_stories,
        *(item.requirement for item in prd.requirement_pool),
    ]
    return " ".join(parts).lower()


def missing_idea_words(idea: str, prd: PRD) -> list[str]:
    """The idea's subject words the PRD never mentions."""
    text = _prd_text(prd)
    return [word for word in idea_subject_words(idea) if _stem(word) not in text]


def check_prd(prd: PRD, *, idea: str) -> Checked[PRD]:
    """A PRD that mentions fewer than half of the idea's subject words has drifted to another product; one that
    is about the idea but whose `original_requirements` (the idea, restated) names none of them gets the idea
    itself there."""
    words = idea_subject_words(idea)
    missing = missing_idea_words(idea, prd)
    if not words or (len(words) - len(missing)) * 2 >= len(words):
        restated = prd.original_requirements.lower()
        if words and not any(_stem(word) in restated for word in words):
            log.info(
                "repair_original_requirements: %s does not restate the idea; set to the idea %r",
                preview(prd.original_requirements, limit=80),
                idea,
            )
            return Checked(
                prd.model_copy(update={"original_requirements": idea}), repairs=["repair_original_requirements"]
            )
        return Checked(prd)
    quoted = ", ".join(f"'{word}'" for word in missing)
    return Checked(
        prd,
        problems=[
            f'The PRD is not about the user\'s idea: it never mentions {quoted}. The idea is: "{idea}". '
            "Write the PRD for exactly this idea, not for another product."
        ],
    )


def settle_prd(prd: PRD, *, idea: str) -> Checked[PRD]:
    """The model kept drifting: restate the idea in the PRD, so every later stage reads it there too."""
    missing = ", ".join(missing_idea_words(idea, prd))
    log.warning(
        "repair_idea_restored: the PRD still never mentions %s; original_requirements set to the idea "
        "%r (the design and the code are asked for the idea itself)",
        missing,
        idea,
    )
    return Checked(prd.model_copy(update={"original_requirements": idea}), repairs=["repair_idea_restored"])


# -- the design ---------------------------------------------------------------------------------------------

# What a plan says that is not a package: the interpreter itself, and tools that come with Python.
_NOT_PACKAGES = frozenset({"python", "python3", "pip", "venv", "stdlib", "standard_library", "none"})
_PACKAGE_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
ENTRY_POINT_NAMES = ("main.py", "app.py", "run.py", "cli.py", "game.py", "server.py", "manage.py", "start.py")
_ENTRY_PURPOSE = re.compile(
    r"\bentry[ -]?point\b|\bmain (?:file|module|script|program)\b|\bstarts? the\b", re.IGNORECASE
)
_LIBRARY_WORDS = frozenset({"library", "package", "module", "sdk", "plugin", "extension", "framework"})


def package_name(requirement: str) -> str:
    """`pygame==2.5.2` → `pygame`; `os.path` → `os` (what the requirement would install or import)."""
    match = _PACKAGE_NAME.match(requirement)
    name = match.group(1) if match else requirement.strip()
    return name.split(".")[0].lower().replace("-", "_")


def is_stdlib(name: str) -> bool:
    return name in sys.stdlib_module_names or name in _NOT_PACKAGES


def own_modules(files: list[PlannedFile]) -> set[str]:
    """The top-level module names the plan's Python files make: `game/logic.py` → `game`, `snake.py` → `snake`."""
    names = set()
    for planned in files:
        parts = PurePosixPath(plan_key(planned.path)).parts
        if parts and parts[-1].endswith(".py"):
            names.add(parts[0].removesuffix(".py").lower())
    return names


def wants_runnable_program(idea: str) -> bool:
    """Most ideas are programs to run; a library or package has no entry point to look for."""
    return not (_LIBRARY_WORDS & set(_WORD.findall(idea.lower())))


def find_entry_point(files: list[PlannedFile]) -> str | None:
    """The planned file that starts the program: `pkg/__main__.py`, a top-level `main.py`-like file, or one
    whose purpose says it is the entry point."""
    paths = [plan_key(planned.path) for planned in files]
    for path in paths:
        parts = PurePosixPath(path).parts
        if parts[-1] == "__main__.py" and len(parts) <= 2:
            return path
    for name in ENTRY_POINT_NAMES:
        if name in paths:
            return name
    for planned, path in zip(files, paths):
        if "/" not in path and path.endswith(".py") and _ENTRY_PURPOSE.search(planned.purpose):
            return path
    return None


def run_command_for(entry_point: str | None) -> str | None:
    if entry_point is None:
        return None
    parts = PurePosixPath(entry_point).parts
    if parts[-1] == "__main__.py":
        return f"python -m {parts[0]}" if len(parts) == 2 else "python __main__.py"
    return f"python {entry_point}"


def importable_path(path: str) -> str:
    """`a-small-game.py` → `a_small_game.py`, `my game/board.py` → `my_game/board.py`: a Python file whose
    name or folder is not an identifier cannot be imported by the others (`import a-small-game` is a syntax
    error), so each part becomes one (letters of any script stay: `échecs.py` is importable)."""
    parts = PurePosixPath(path).parts
    fixed = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        stem = part.removesuffix(".py") if last else part
        if not stem.isidentifier():
            stem = "".join(char if f"a{char}".isidentifier() else "_" for char in stem) or "module"
            stem = f"_{stem}" if stem[0].isdigit() else stem
        fixed.append(stem + (".py" if last else ""))
    return "/".join(fixed)


def _importable_files(files: list[PlannedFile], repairs: list[str]) -> list[PlannedFile]:
    """Rename the Python files that cannot be imported, and the dependencies that name them."""
    keys = {plan_key(planned.path) for planned in files}
    renamed: dict[str, str] = {}
    for planned in files:
        try:
            key = normalise_relative_path(planned.path)
        except WorkspaceError:
            continue  # an unsafe path is refused as it is, never made acceptable by a rename
        if not key.endswith(".py"):
            continue
        fixed = importable_path(key)
        if fixed != key and fixed not in keys and fixed not in renamed.values():
            renamed[key] = fixed
            _repair(
                repairs, "repair_module_name", f"{planned.path} cannot be imported under that name; planned as {fixed}"
            )
    if not renamed:
        return files
    by_path = {plan_key(planned.path): planned for planned in files}
    out = []
    for planned in files:
        depends_on = []
        for raw in planned.depends_on:
            target = resolve_dependency(raw, by_path)
            depends_on.append(renamed.get(target, raw) if target is not None else raw)
        out.append(
            planned.model_copy(
                update={
                    "path": renamed.get(plan_key(planned.path), planned.path),
                    "depends_on": depends_on,
                }
            )
        )
    return out


def check_design(design: SystemDesign, *, idea: str) -> Checked[SystemDesign]:
    """Fix the packages, the module names and the non-file dependencies; report unplanned files and a missing
    entry point."""
    repairs: list[str] = []
    design = design.model_copy(update={"file_list": _importable_files(design.file_list, repairs)})
    own = own_modules(design.file_list)
    packages = _checked_packages(design.required_packages, own, repairs)
    installed = {package_name(item) for item in packages}
    by_path = {plan_key(planned.path): planned for planned in design.file_list}
    files, problems = [], []
    for planned in design.file_list:
        kept = []
        for raw in planned.depends_on:
            name = package_name(raw)
            if resolve_dependency(raw, by_path) is not None:
                kept.append(raw)
            elif "/" not in raw and not raw.endswith(".py") and (is_stdlib(name) or name in installed):
                _repair(
                    repairs,
                    "repair_dependency_not_a_file",
                    f"{planned.path} depends on {raw!r}, a module to import, not a planned file; dropped",
                )
            else:
                kept.append(raw)
                problems.append(
                    f"`{planned.path}` depends on `{raw}`, which is not in file_list: add `{raw}` to "
                    "file_list (with its purpose and depends_on) or remove it from depends_on."
                )
        files.append(planned.model_copy(update={"depends_on": kept}))
    if wants_runnable_program(idea) and not _has_code(files):
        problems.append(
            "file_list plans no code file: plan the Python files that implement the idea, with "
            "`main.py` as the entry point that starts the program."
        )
    elif wants_runnable_program(idea) and _has_python(files) and find_entry_point(files) is None:
        problems.append(
            "file_list has no entry point: add `main.py` (or `<package>/__main__.py`) whose purpose "
            "is to start the program, depending on the files it uses."
        )
    value = design.model_copy(update={"required_packages": packages, "file_list": files})
    return Checked(value, repairs=repairs, problems=problems)


def settle_design(design: SystemDesign, *, idea: str) -> Checked[SystemDesign]:
    """After the Architect was asked once: drop the dependencies on unplanned files, plan an entry point."""
    repairs: list[str] = []
    by_path = {plan_key(planned.path): planned for planned in design.file_list}
    files = []
    for planned in design.file_list:
        kept = [raw for raw in planned.depends_on if resolve_dependency(raw, by_path) is not None]
        for raw in planned.depends_on:
            if raw not in kept:
                _repair(
                    repairs,
                    "repair_unplanned_dependency",
                    f"{planned.path} depends on {raw!r}, which is not in the file plan; dropped",
                )
        files.append(planned.model_copy(update={"depends_on": kept}))
    if wants_runnable_program(idea) and not _has_code(files):
        files.append(
            PlannedFile(
                path="main.py",
                purpose=f"The whole program (the user's idea: {idea}), in one file; runs with `python main.py`.",
            )
        )
        _repair(repairs, "repair_program_planned", "the plan has no code file; planned main.py to hold the program")
    elif wants_runnable_program(idea) and _has_python(files) and find_entry_point(files) is None:
        sources = [plan_key(f.path) for f in files if f.path.endswith(".py") and not _is_test(f.path)]
        files.append(
            PlannedFile(
                path="main.py",
                depends_on=sources,
                purpose=f"Entry point: starts the program (the user's idea: {idea}) using "
                f"{', '.join(sources) or 'the other files'}; runs with `python main.py`.",
            )
        )
        _repair(repairs, "repair_entry_point", "the plan has no entry point; planned main.py to start the program")
    return Checked(design.model_copy(update={"file_list": files}), repairs=repairs)


def _checked_packages(packages: list[str], own: set[str], repairs: list[str]) -> list[str]:
    kept = []
    for requirement in packages:
        name = package_name(requirement)
        if not name:
            continue
        if is_stdlib(name):
            _repair(
                repairs,
                "repair_stdlib_requirement",
                f"{requirement!r} comes with Python, not from pip; dropped from required_packages",
            )
        elif name in own:
            _repair(
                repairs,
                "repair_own_module_requirement",
                f"{requirement!r} is one of the project's own files; dropped from required_packages",
            )
        else:
            kept.append(requirement)
    return kept


def _has_python(files: list[PlannedFile]) -> bool:
    return any(planned.path.endswith(".py") for planned in files)


def _has_code(files: list[PlannedFile]) -> bool:
    return any(PurePosixPath(plan_key(planned.path)).suffix.lower() in _CODE_SUFFIXES for planned in files)


def _is_test(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return parts[0] in ("tests", "test") or parts[-1].startswith("test_") or parts[-1] == "conftest.py"


def _repair(repairs: list[str], marker: str, detail: str) -> None:
    log.info("%s: %s", marker, detail)
    if marker not in repairs:
        repairs.append(marker)


# -- code ---------------------------------------------------------------------------------------------------

_CODE_SUFFIXES = frozenset({".py", ".js", ".ts", ".html", ".css", ".go", ".rs", ".java", ".sh", ".c", ".cpp"})
_SENTENCE = re.compile(r"^[\"'(]?[A-Za-z][^=(){}\[\];<>#]*[.!?:]?$")


def code_problem(path: str, code: str) -> str | None:
    """Why a written file is not code worth keeping (empty, only `pass` or stubs, prose), or None."""
    name = PurePosixPath(path).name
    suffix = PurePosixPath(path).suffix.lower()
    if suffix not in _CODE_SUFFIXES or name == "__init__.py":
        return None  # documents may be prose; an empty package marker is normal
    if not code.strip():
        return "the file is empty"
    if suffix != ".py":
        return None
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return "the answer is prose, not Python code" if _mostly_prose(code) else None
    if not [node for node in tree.body if not _is_placeholder(node)]:
        return "the file has no code: only `pass`, `...` or a docstring"
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if functions and all(all(_is_placeholder(stmt) for stmt in fn.body) for fn in functions):
        return "every function in the file is a stub (`pass` or `...`): nothing is implemented"
    return None


def _is_placeholder(node: ast.stmt) -> bool:
    return isinstance(node, ast.Pass) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))


def _mostly_prose(code: str) -> bool:
    lines = [line.strip() for line in code.splitlines() if line.strip()]
    sentences = [line for line in lines if len(line.split()) >= 4 and _SENTENCE.match(line)]
    return len(sentences) * 2 > len(lines)
