"""The design's `required_packages`, checked: what goes into requirements.txt must be a package that pip can
install and that the program can have where it will run.

Weak models list standard-library modules (`random`), the project's own files (`snake`), prose ("the standard
library"), the schema's own type names (`FrameworkOption` in 5 of 5 SmolLM2 runs) and frameworks the idea never
asked for (Flask for a terminal snake game) that QA's interpreter cannot import. The certain fixes are made
here with a logged `repair_…`; the rest are problems for the Architect, sent back once.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from devteam.artifacts.checked import note_repair
from devteam.artifacts.requirements import REFUSED_MARKER, refusal

log = logging.getLogger("devteam.repair")

# What a plan says that is not a package: the interpreter itself, and tools that come with Python.
_NOT_PACKAGES = frozenset({"python", "python3", "pip", "venv", "stdlib", "standard_library", "none"})
_PACKAGE_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_STDLIB_WORDS = re.compile(r"\bstandard[ _-]?library\b|\bstdlib\b|\bbuilt[ -]?in\b", re.IGNORECASE)

Importable = Callable[[str], bool]


def package_name(requirement: str) -> str:
    """`pygame==2.5.2` → `pygame`; `os.path` → `os` (what the requirement would install or import)."""
    match = _PACKAGE_NAME.match(requirement)
    name = match.group(1) if match else requirement.strip()
    return name.split(".")[0].lower().replace("-", "_")


def is_stdlib(name: str) -> bool:
    return name in sys.stdlib_module_names or name in _NOT_PACKAGES


def importable_here(requirement: str) -> bool:
    """Whether this interpreter (the one QA runs the program with) has the package: as a module to import, or
    as an installed distribution (`pyyaml` installs `yaml`, `Pillow` installs `PIL`)."""
    name = package_name(requirement)
    try:
        if importlib.util.find_spec(name) is not None:
            return True
    except (ImportError, ValueError):
        pass
    match = _PACKAGE_NAME.match(requirement)
    try:
        importlib.metadata.distribution(match.group(1) if match else name)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return True


def named_in(idea: str, requirement: str) -> bool:
    """Whether the idea asks for this package by name ("a snake game with pygame"). A format the idea converts
    is not a package it asks for, though a package shares its name: "a markdown to HTML converter" asks for a
    converter, not for the `markdown` package (which the 0.5B's converter imported, and never started)."""
    name = package_name(requirement)
    spellings = {name, name.replace("_", "-"), name.replace("_", "")}
    text = idea.lower()
    converts = bool(_CONVERTS.search(text))
    for spelling in spellings:
        for mention in re.finditer(rf"(?<![\w-]){re.escape(spelling)}(?![\w-])", text):
            source = _CONVERSION_SOURCE.match(text, mention.end())
            target = converts and _CONVERSION_TARGET.search(text, 0, mention.start())
            if not source and not target:
                return True
    return False


# "markdown to HTML", "yaml into json": the mention is what is converted from.
_CONVERSION_SOURCE = re.compile(r"\s+(?:to|into)\s+\w")
# "... HTML to markdown" in an idea that converts: what is converted to.
_CONVERSION_TARGET = re.compile(r"\b(?:to|into)\s+$")
_CONVERTS = re.compile(r"\bconver(?:t|ts|ter|sion)\b")


@dataclass
class CheckedPackages:
    packages: list[str]
    repairs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PackageRules:
    """What the packages are checked against: the idea, the program's own module names, the schema's type
    names, and whether a package this interpreter lacks may stay (`--qa-install` installs it for QA)."""

    idea: str
    own_modules: frozenset[str]
    schema_names: frozenset[str]
    install_allowed: bool = False
    importable: Importable = importable_here


def check_packages(packages: list[str], rules: PackageRules) -> CheckedPackages:
    """Drop what is certainly not a package; name the packages the Architect must reconsider."""
    result = CheckedPackages([])
    for requirement in packages:
        requirement = requirement.strip()
        if not requirement:
            continue
        name = package_name(requirement)
        if is_stdlib(name) or _STDLIB_WORDS.search(requirement):
            note_repair(
                result.repairs,
                "repair_stdlib_requirement",
                f"{requirement!r} comes with Python, not from pip; dropped from required_packages",
            )
            continue
        if name in rules.own_modules:
            note_repair(
                result.repairs,
                "repair_own_module_requirement",
                f"{requirement!r} is one of the project's own files; dropped from required_packages",
            )
            continue
        if _not_a_name(requirement, result.repairs):
            continue
        result.packages.append(requirement)
        if name in rules.schema_names:
            result.problems.append(
                f"required_packages lists `{requirement}`, a type name of the answer's schema, not a package: "
                "remove it (list only real third-party packages, or none)."
            )
        elif not rules.install_allowed and not named_in(rules.idea, requirement) and not rules.importable(requirement):
            result.problems.append(
                f"required_packages lists `{requirement}`, which is not installed where the program will run, and "
                "the idea does not ask for it: build the program with the Python standard library instead (remove "
                f"`{requirement}` from required_packages and from the files and the approach that use it)."
            )
    return result


def settle_packages(packages: list[str], rules: PackageRules) -> CheckedPackages:
    """After the Architect was asked once: schema names go, and so does a package the model insists on that
    cannot be imported where the program runs (the idea does not name it, `--qa-install` is off): the writers
    are then told the standard library is all there is, and an import of it goes back to its writer. A 0.5B
    insisted on pygame for a terminal snake game and wrote a program that could not start."""
    result = CheckedPackages([])
    for requirement in packages:
        if _not_a_name(requirement, result.repairs):
            continue
        name = package_name(requirement)
        if name in rules.schema_names:
            note_repair(
                result.repairs,
                "repair_schema_name_package",
                f"{requirement!r} is a type name of the answer's schema, not a package; dropped from required_packages",
            )
            continue
        if not rules.install_allowed and not named_in(rules.idea, requirement) and not rules.importable(requirement):
            note_repair(
                result.repairs,
                "repair_package_dropped",
                f"{requirement!r} is not installed here and the idea does not ask for it; dropped from "
                "required_packages, the program is written with the standard library (name the package in the "
                "idea, or use --qa-install, to keep it)",
            )
            continue
        result.packages.append(requirement)
    return result


def _not_a_name(requirement: str, repairs: list[str]) -> bool:
    """pip reads requirements.txt as a command line: an option, a URL, a path or a direct reference is dropped."""
    reason = refusal(requirement)
    if reason is None:
        return False
    note_repair(
        repairs, REFUSED_MARKER, f"{requirement!r} is not a package name ({reason}); dropped from required_packages"
    )
    return True
