"""What QA asks of a generated project: do its tests pass, does its entry point start — and if not, why.

Everything runs through `devteam.qa.sandbox`; this module only builds the commands and reads the output.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from devteam.qa.sandbox import Limits, SandboxResult, run_sandboxed

TEST_LIMITS = Limits(wall_seconds=120, cpu_seconds=120)
SMOKE_LIMITS = Limits(wall_seconds=5, cpu_seconds=30)
PROJECT_VENV = ".venv"

_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")
_MISSING = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '([A-Za-z0-9_.]+)'")
_TRACE_FILE = re.compile(r'File "([^"]+)", line \d+|^([^\s:][^:\n]*\.py):\d+:', re.MULTILINE)
_ENTRY_NAMES = ("main.py", "app.py", "run.py", "game.py", "cli.py")


@dataclass(frozen=True)
class BugReport:
    """What QA hands the Engineer: the failing output and the files it implicates, most likely first."""

    round: int
    failure: str
    files: list[str]
    design: Any  # the SystemDesign, for the fix prompt


@dataclass
class TestRun:
    """One pytest run; `total` 0 with returncode 5 means no tests were collected."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    returncode: int | None = 0
    output: str = ""
    needs: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.errors == 0 and self.returncode in (0, 5) and not self.needs


@dataclass
class SmokeRun:
    """The entry point started with stdin closed: a clean exit, or still running at the limit, counts."""

    command: str
    verdict: str  # "clean exit", "clean start", "fails", "needs packages"
    output: str = ""
    needs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict in ("clean exit", "clean start")

    @property
    def code_failure(self) -> bool:
        return self.verdict == "fails"


def interpreter_env(root: Path) -> dict[str, str]:
    """The project's own folder first on the path, then the packages `--qa-install` put in its virtualenv."""
    paths = [str(root)]
    venv = root / PROJECT_VENV
    paths += [str(site) for site in sorted(venv.glob("lib/python*/site-packages"))]
    return {"PYTHONPATH": ":".join(paths)}


def run_tests(root: Path, limits: Limits = TEST_LIMITS) -> TestRun:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "--tb=short",
        "-rfE",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(root),
        "-o",
        "addopts=",
    ]
    result = run_sandboxed(argv, cwd=root, limits=limits, env=interpreter_env(root))
    counts = _counts(result.output)
    run = TestRun(
        passed=counts.get("passed", 0),
        failed=counts.get("failed", 0),
        errors=counts.get("errors", 0) + counts.get("error", 0),
        returncode=result.returncode,
        output=_with_limit_note(result),
        needs=missing_packages(result.output, root),
    )
    if result.returncode not in (0, 1, 5) and run.total == 0:
        run.errors = 1  # pytest itself failed (usage error, internal error, killed): not a pass
    return run


def _counts(output: str) -> dict[str, int]:
    lines = [line for line in output.splitlines() if _COUNT.search(line) and " in " in line]
    if not lines:
        return {}
    return {kind: int(number) for number, kind in _COUNT.findall(lines[-1])}


def entry_command(paths: list[str]) -> list[str] | None:
    """How the project starts: `python -m package` for a package with __main__.py, else a main-like script."""
    for path in sorted(paths):
        parts = PurePosixPath(path).parts
        if len(parts) == 2 and parts[1] == "__main__.py":
            return ["-m", parts[0]]
    for name in _ENTRY_NAMES:
        if name in paths:
            return [name]
    return None


def smoke_run(root: Path, paths: list[str], limits: Limits = SMOKE_LIMITS) -> SmokeRun | None:
    command = entry_command(paths)
    if command is None:
        return None
    terminal = uses_curses(root, paths)
    result = run_sandboxed(
        [sys.executable, *command], cwd=root, limits=limits, env=interpreter_env(root), terminal=terminal
    )
    shown = "python " + " ".join(command) + (" (in a pseudo-terminal)" if terminal else "")
    output = _with_limit_note(result)
    needs = missing_packages(result.output, root)
    if result.timed_out:
        return SmokeRun(shown, "clean start", output)
    if result.returncode == 0 or (result.returncode == 2 and "usage:" in result.output.lower()):
        return SmokeRun(shown, "clean exit", output)
    if needs:
        return SmokeRun(shown, "needs packages", output, needs)
    return SmokeRun(shown, "fails", output)


_CURSES = re.compile(r"^\s*(?:import|from)\s+curses\b", re.MULTILINE)


def uses_curses(root: Path, paths: list[str]) -> bool:
    """A curses program needs a terminal to start at all, so its smoke run gets a pseudo-terminal."""
    for rel in paths:
        if rel.endswith(".py"):
            try:
                if _CURSES.search((root / rel).read_text(encoding="utf-8")):
                    return True
            except (OSError, UnicodeDecodeError):
                continue
    return False


def _with_limit_note(result: SandboxResult) -> str:
    if result.timed_out:
        return result.output + f"\n[stopped at the {result.seconds:.0f}s wall-clock limit]"
    if result.signal_name:
        return result.output + f"\n[killed by {result.signal_name}]"
    return result.output


def missing_packages(output: str, root: Path) -> list[str]:
    """Third-party modules the code imports but this interpreter lacks ("needs pygame"); a missing module
    that the project itself should contain is a code failure, not a missing package."""
    needs: list[str] = []
    for name in _MISSING.findall(output):
        top = name.split(".")[0]
        if (root / top).is_dir() or (root / f"{top}.py").is_file() or top in needs:
            continue
        needs.append(top)
    return needs


def implicated_files(output: str, root: Path, known: list[str]) -> list[str]:
    """Project files named in the failure output, the deepest frame of each traceback first and test files
    last: the error is usually raised in the code under test, not in the test that called it."""
    root = root.resolve()
    seen: list[str] = []
    for match in _TRACE_FILE.finditer(output):
        raw = match.group(1) or match.group(2)
        path = Path(raw)
        if path.is_absolute():
            try:
                rel = path.resolve().relative_to(root).as_posix()
            except ValueError:
                continue
        else:
            rel = PurePosixPath(raw).as_posix()
        if rel in known:
            if rel in seen:
                seen.remove(rel)
            seen.append(rel)
    ordered = list(reversed(seen))
    code = [p for p in ordered if not is_test_path(p)]
    tests = [p for p in ordered if is_test_path(p)]
    # An assertion fails inside the test, so its traceback may name no other file: the modules the failing
    # test imports are the next suspects.
    for test in tests:
        for module in imported_modules(root / test, known):
            if module not in code:
                code.append(module)
    return code + tests


_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.MULTILINE)


def imported_modules(path: Path, known: list[str]) -> list[str]:
    """The project files among `known` that a Python file imports (absolute imports only)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    found = []
    for match in _IMPORT.finditer(text):
        dotted = (match.group(1) or match.group(2)).replace(".", "/")
        for candidate in (f"{dotted}.py", f"{dotted}/__init__.py"):
            if candidate in known and candidate not in found:
                found.append(candidate)
    return found


def is_test_path(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def install_requirements(root: Path, *, timeout: float = 600) -> str:
    """`--qa-install`: requirements.txt into `<project>/.venv` (ignored by git). Runs outside the sandbox,
    because pip needs the network; returns pip's output, raises `InstallError` when it fails."""
    venv = root / PROJECT_VENV
    requirements = root / "requirements.txt"
    steps = []
    if not (venv / "bin" / "python").exists():
        steps.append([sys.executable, "-m", "venv", str(venv)])
    if requirements.is_file():
        steps.append(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
                str(requirements),
            ]
        )
    output = []
    for step in steps:
        try:
            done = subprocess.run(step, cwd=root, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise InstallError(f"{' '.join(step[:4])} failed: {error}") from error
        output.append(done.stdout + done.stderr)
        if done.returncode != 0:
            raise InstallError(f"installing requirements.txt failed:\n{(done.stdout + done.stderr)[-2000:]}")
    return "".join(output)


class InstallError(Exception):
    """Installing the project's requirements failed (reported by QA, never fatal to the run)."""
