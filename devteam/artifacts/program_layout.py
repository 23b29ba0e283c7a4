"""Two questions about a generated program, each answered here once: which file starts it, and which files are
its tests.

The README's run command, the design check that sends back a plan with no entry point, QA's smoke run and the
benchmarks all ask; when each had its own rules, a plan with only `server.py` got `python server.py` in its
README while QA found nothing to start, and a plan with `cli.py` and `game.py` had the README and QA name
different files. The answer depends only on the paths (and, where known, the plan's purposes), never on their
order, so the plan and the repository's file list give the same one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

from devteam.artifacts.file_plan import plan_key

# Top-level file names that start a program, in the order they win when a plan has several.
ENTRY_POINT_NAMES = ("main.py", "app.py", "run.py", "cli.py", "game.py", "server.py", "manage.py", "start.py")
_ENTRY_PURPOSE = re.compile(
    r"\bentry[ -]?point\b|\bmain (?:file|module|script|program)\b|\bstarts? the\b", re.IGNORECASE
)
# Python files that never start a program, whatever their purpose says.
_NEVER_ENTRY = frozenset({"__init__.py", "conftest.py", "setup.py"})
_TEST_FOLDERS = frozenset({"tests", "test"})
# The suffixes of files that are code (a plan with none of them has nothing to run).
CODE_SUFFIXES = frozenset({".py", ".js", ".ts", ".html", ".css", ".go", ".rs", ".java", ".sh", ".c", ".cpp"})


def is_test_path(path: str) -> bool:
    """A file of the program's tests: the names pytest collects (`test_*.py`, `*_test.py`), its `conftest.py`,
    and anything in a top-level `tests/` or `test/` folder (helpers and fixtures included)."""
    parts = PurePosixPath(path).parts
    if not parts:
        return False
    name = parts[-1]
    return (
        (len(parts) > 1 and parts[0] in _TEST_FOLDERS)
        or (name.startswith("test_") and name.endswith(".py"))
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


@dataclass(frozen=True)
class EntryPoint:
    """The file that starts the program, and how: `python -m pkg` for a package's `__main__.py`."""

    path: str

    @property
    def argv(self) -> list[str]:
        """The interpreter's arguments: `["-m", "pkg"]` or `["main.py"]`."""
        parts = PurePosixPath(self.path).parts
        if len(parts) == 2 and parts[1] == "__main__.py":
            return ["-m", parts[0]]
        return [self.path]

    @property
    def command(self) -> str:
        return "python " + " ".join(self.argv)


def entry_point(paths: Iterable[str], purposes: Mapping[str, str] | None = None) -> EntryPoint | None:
    """The one file that starts the program, or None.

    In this order: a top-level package's `__main__.py`; a top-level file named like `main.py`
    (`ENTRY_POINT_NAMES`, in that order); a top-level module whose purpose (from the plan, when given) says it
    starts the program; the only top-level module there is.
    """
    ordered = sorted({path for path in paths if path.endswith(".py")})
    for path in ordered:
        parts = PurePosixPath(path).parts
        if len(parts) == 2 and parts[1] == "__main__.py":
            return EntryPoint(path)
    if "__main__.py" in ordered:
        return EntryPoint("__main__.py")
    for name in ENTRY_POINT_NAMES:
        if name in ordered:
            return EntryPoint(name)
    modules = [path for path in ordered if "/" not in path and path not in _NEVER_ENTRY and not is_test_path(path)]
    for path in modules:
        if purposes and _ENTRY_PURPOSE.search(purposes.get(path, "")):
            return EntryPoint(path)
    return EntryPoint(modules[0]) if len(modules) == 1 else None


class _Planned(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def purpose(self) -> str: ...


def plan_purposes(files: Iterable[_Planned]) -> dict[str, str]:
    """The plan as `entry_point` reads it: each planned path (as the workspace writes it) with its purpose."""
    return {plan_key(planned.path): planned.purpose for planned in files}


def planned_entry_point(files: Iterable[_Planned]) -> EntryPoint | None:
    """The entry point of a file plan (the README's run command, the design check)."""
    purposes = plan_purposes(files)
    return entry_point(purposes, purposes)
