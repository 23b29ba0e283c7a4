"""Checks of the Architect's design beyond its types: a plan a small model can carry, packages the program can
have where it runs, dependencies on planned files, and exactly one entry point.

A valid `SystemDesign` can still plan a file with no extension (`a-small-product-game`, then paid 690 s of
WriteCode), eight files for a model that writes one, Flask for a terminal game, or no file that starts the
program. Each check either fixes the design itself — a logged `repair_…` line, when the fix is certain — or
returns a *problem*: one sentence for the model, which WriteDesign sends back once before `settle_design`
settles what is left, again with logged fixes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from devteam.artifacts.checked import Checked, note_repair
from devteam.artifacts.documents import PlannedFile, SystemDesign
from devteam.artifacts.file_plan import plan_key, resolve_dependency
from devteam.artifacts.package_checks import (
    Importable,
    PackageRules,
    check_packages,
    importable_here,
    is_stdlib,
    package_name,
    settle_packages,
)
from devteam.artifacts.program_layout import CODE_SUFFIXES, is_test_path, planned_entry_point
from devteam.core.errors import WorkspaceError
from devteam.core.safe_paths import normalise_relative_path

_LIBRARY_WORDS = frozenset({"library", "package", "sdk", "plugin", "extension", "framework"})
# Words that name something to run: they win over a library word ("a game whose logic is a package of its own").
_PROGRAM_WORDS = frozenset(
    {
        "game",
        "app",
        "application",
        "cli",
        "command",
        "tool",
        "script",
        "program",
        "server",
        "api",
        "bot",
        "converter",
        "generator",
        "calculator",
        "checker",
        "service",
        "utility",
        "website",
    }
)
_WORD = re.compile(r"[a-z0-9]+")
# Files that have no extension by convention; any other planned file without one is a name, not a file.
_NO_EXTENSION_NAMES = frozenset(
    {"makefile", "dockerfile", "procfile", "license", "licence", "readme", "changelog", "authors", "notice"}
)
ONE_FILE = "main.py"
# Written by the Engineer from the design (requirements.txt from the checked `required_packages`, the README
# with the entry point QA runs): a planned copy would be a second, unchecked answer (the 0.5B planned a
# requirements.txt and wrote numpy, pandas and requests into it for a todo list with no package required).
PROJECT_FILES = frozenset({"requirements.txt", "readme.md"})
_MERGED_PURPOSE_LIMIT = 1500


@dataclass(frozen=True)
class DesignRules:
    """What a design is checked against besides itself.

    `max_files`: the most files (tests aside) the model can write well, from its preset or config (None: no
    limit; a design extending an existing one is not limited). `install_allowed`: `--qa-install` installs
    requirements.txt before QA, so a package this interpreter lacks may stay.
    """

    idea: str
    max_files: int | None = None
    install_allowed: bool = False
    importable: Importable = importable_here


def schema_type_names() -> frozenset[str]:
    """The type names in the schema the Architect answers (`SystemDesign`, `PlannedFile`), lower-cased: weak
    models list them as packages to install."""
    schema = SystemDesign.model_json_schema()
    names = {schema.get("title", ""), *schema.get("$defs", {})}
    return frozenset(package_name(name) for name in names if name)


def wants_runnable_program(idea: str) -> bool:
    """Most ideas are programs to run; a library or package has no entry point to look for, unless the idea
    also names something to run ("a snake game, the game logic in its own module" is a game)."""
    words = set(_WORD.findall(idea.lower()))
    return not (_LIBRARY_WORDS & words) or bool(_PROGRAM_WORDS & words)


def own_modules(files: list[PlannedFile]) -> set[str]:
    """The top-level module names the plan's Python files make: `game/logic.py` → `game`, `snake.py` → `snake`."""
    names = set()
    for planned in files:
        parts = PurePosixPath(plan_key(planned.path)).parts
        if parts and parts[-1].endswith(".py"):
            names.add(parts[0].removesuffix(".py").lower())
    return names


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


def check_design(design: SystemDesign, rules: DesignRules) -> Checked[SystemDesign]:
    """Fix the packages, the module names and the non-file dependencies; report what the Architect must change."""
    repairs: list[str] = []
    design = design.model_copy(
        update={"file_list": _importable_files(_without_project_files(design, repairs), repairs)}
    )
    own = own_modules(design.file_list)
    packages = check_packages(design.required_packages, _package_rules(rules, own))
    repairs += packages.repairs
    installed = {package_name(item) for item in packages.packages}
    by_path = {plan_key(planned.path): planned for planned in design.file_list}
    files: list[PlannedFile] = []
    problems = [_no_extension_problem(planned.path) for planned in design.file_list if _lacks_extension(planned.path)]
    for planned in design.file_list:
        kept = []
        for raw in planned.depends_on:
            name = package_name(raw)
            if resolve_dependency(raw, by_path) is not None:
                kept.append(raw)
            elif plan_key(raw).lower() in PROJECT_FILES:
                note_repair(
                    repairs, "repair_plan_project_file", f"{planned.path} depends on {raw!r}, a project file; dropped"
                )
            elif "/" not in raw and not raw.endswith(".py") and (is_stdlib(name) or name in installed):
                note_repair(
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
    problems += packages.problems
    size = _size_problem(files, rules.max_files)
    if size:
        problems.append(size)
    if wants_runnable_program(rules.idea) and not _has_code(files):
        problems.append(
            "file_list plans no code file: plan the Python files that implement the idea, with "
            "`main.py` as the entry point that starts the program."
        )
    elif wants_runnable_program(rules.idea) and _has_python(files) and planned_entry_point(files) is None:
        problems.append(
            "file_list has no entry point: add `main.py` (or `<package>/__main__.py`) whose purpose "
            "is to start the program, depending on the files it uses."
        )
    value = design.model_copy(update={"required_packages": packages.packages, "file_list": files})
    if rules.max_files == 1 and problems and not packages.problems:
        # Merged into main.py, a plan's every file problem is settled, whatever the plan was: asking a model
        # that can carry one file to re-plan costs a call and (the 0.5B, 9 designs of 10) returns the same plan.
        settled = settle_design(value, rules)
        return Checked(settled.value, repairs=repairs + settled.repairs)
    return Checked(value, repairs=repairs, problems=problems)


def settle_design(design: SystemDesign, rules: DesignRules) -> Checked[SystemDesign]:
    """After the Architect was asked once: drop files without an extension and dependencies on unplanned files,
    merge a plan too large for the model into one file, plan an entry point."""
    repairs: list[str] = []
    packages = settle_packages(design.required_packages, _package_rules(rules, own_modules(design.file_list)))
    repairs += packages.repairs
    files = _without_extensionless(design.file_list, repairs)
    if _size_problem(files, rules.max_files):
        files = _one_file(files, rules.idea, repairs)
    by_path = {plan_key(planned.path): planned for planned in files}
    settled = []
    for planned in files:
        kept = [raw for raw in planned.depends_on if resolve_dependency(raw, by_path) is not None]
        for raw in planned.depends_on:
            if raw not in kept:
                note_repair(
                    repairs,
                    "repair_unplanned_dependency",
                    f"{planned.path} depends on {raw!r}, which is not in the file plan; dropped",
                )
        settled.append(planned.model_copy(update={"depends_on": kept}))
    files = settled
    if wants_runnable_program(rules.idea) and not _has_code(files):
        files.append(
            PlannedFile(
                path=ONE_FILE,
                purpose=f"The whole program (the user's idea: {rules.idea}), in one file; runs with `python main.py`.",
            )
        )
        note_repair(repairs, "repair_program_planned", "the plan has no code file; planned main.py to hold the program")
    elif wants_runnable_program(rules.idea) and _has_python(files) and planned_entry_point(files) is None:
        sources = [plan_key(f.path) for f in files if f.path.endswith(".py") and not is_test_path(plan_key(f.path))]
        files.append(
            PlannedFile(
                path=ONE_FILE,
                depends_on=sources,
                purpose=f"Entry point: starts the program (the user's idea: {rules.idea}) using "
                f"{', '.join(sources) or 'the other files'}; runs with `python main.py`.",
            )
        )
        note_repair(repairs, "repair_entry_point", "the plan has no entry point; planned main.py to start the program")
    value = design.model_copy(update={"file_list": files, "required_packages": packages.packages})
    return Checked(value, repairs=repairs)


def _without_project_files(design: SystemDesign, repairs: list[str]) -> list[PlannedFile]:
    kept = []
    for planned in design.file_list:
        if plan_key(planned.path).lower() in PROJECT_FILES:
            note_repair(
                repairs,
                "repair_plan_project_file",
                f"{planned.path} is planned, but it is written from the design; dropped from the plan",
            )
            continue
        kept.append(planned)
    return kept


def _package_rules(rules: DesignRules, own: set[str]) -> PackageRules:
    return PackageRules(
        idea=rules.idea,
        own_modules=frozenset(own),
        schema_names=schema_type_names(),
        install_allowed=rules.install_allowed,
        importable=rules.importable,
    )


def _lacks_extension(path: str) -> bool:
    try:
        name = PurePosixPath(normalise_relative_path(path)).name
    except WorkspaceError:
        return False  # an unsafe path is the workspace's to refuse, and to count as refused
    return "." not in name.lstrip(".") and not name.startswith(".") and name.casefold() not in _NO_EXTENSION_NAMES


def _no_extension_problem(path: str) -> str:
    return (
        f"`{path}` has no file extension: every entry of file_list is a file to write. Name it with its type "
        f"(e.g. `{importable_path(plan_key(path) + '.py')}` for Python code) or remove it."
    )


def _without_extensionless(files: list[PlannedFile], repairs: list[str]) -> list[PlannedFile]:
    kept = []
    for planned in files:
        if _lacks_extension(planned.path):
            note_repair(
                repairs,
                "repair_file_without_extension",
                f"{planned.path!r} has no file extension; dropped from the plan",
            )
        else:
            kept.append(planned)
    return kept


def _program_files(files: list[PlannedFile]) -> list[PlannedFile]:
    return [planned for planned in files if not is_test_path(plan_key(planned.path))]


def _size_problem(files: list[PlannedFile], max_files: int | None) -> str | None:
    count = len(_program_files(files))
    if max_files is None or count <= max_files:
        return None
    if max_files == 1:
        return (
            f"file_list plans {count} files, but this model writes one file well: plan the whole program as one "
            f"file, `{ONE_FILE}`, that starts the program."
        )
    return (
        f"file_list plans {count} files besides tests, but this model writes at most {max_files} well: merge "
        f"files until at most {max_files} are left, one of them the entry point."
    )


def _one_file(files: list[PlannedFile], idea: str, repairs: list[str]) -> list[PlannedFile]:
    """The program in `main.py` alone, told what the plan had in its files (tests go with the modules they
    imported; QA writes new ones). The old files are described, never named: a 0.5B told that main.py "holds
    what the plan had in tictactoe.py" wrote `import tictactoe` for a module that no longer exists."""
    program = _program_files(files)
    parts = "; ".join(f.purpose.strip().rstrip(".") for f in program if f.purpose.strip())
    purpose = (
        f"The whole program (the user's idea: {idea}), in one file; runs with `python {ONE_FILE}`. "
        "There are no other files: define every class and function it uses in this file."
    )
    if parts:
        purpose += f" It holds: {parts}."[:_MERGED_PURPOSE_LIMIT]
    note_repair(
        repairs,
        "repair_plan_one_file",
        f"the plan has {len(program)} files, more than this model can carry; planned {ONE_FILE} to hold the program",
    )
    return [PlannedFile(path=ONE_FILE, purpose=purpose)]


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
            note_repair(
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
                update={"path": renamed.get(plan_key(planned.path), planned.path), "depends_on": depends_on}
            )
        )
    return out


def _has_python(files: list[PlannedFile]) -> bool:
    return any(planned.path.endswith(".py") for planned in files)


def _has_code(files: list[PlannedFile]) -> bool:
    return any(PurePosixPath(plan_key(planned.path)).suffix.lower() in CODE_SUFFIXES for planned in files)
