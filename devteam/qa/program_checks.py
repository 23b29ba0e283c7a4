"""What QA asks of a generated project: do its tests pass, does its entry point start — and if not, why.

Everything runs through `devteam.qa.sandbox`, in the run's box; this module only builds the commands and reads
the output. Verdicts are honest: no tests collected (or an exit before collection) is "no tests", never a pass;
a missing pytest or package, or a box that could not start, is never the code's failure.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from devteam.artifacts.import_fit import provided_by, required_names
from devteam.artifacts.program_layout import entry_point, is_test_path
from devteam.qa.box import PROJECT_DIR, Bind, Box
from devteam.qa.box_init import BOX_FAILED
from devteam.qa.disk_use import remove_folder, used_bytes
from devteam.qa.sandbox import Limits, SandboxResult, run_sandboxed

TEST_LIMITS = Limits(wall_seconds=120, cpu_seconds=120)
SMOKE_LIMITS = Limits(wall_seconds=5, cpu_seconds=30)
# Wheels can be large (numpy's one library is ~30 MiB): an install gets more room, and the network.
INSTALL_LIMITS = Limits(
    wall_seconds=600,
    cpu_seconds=600,
    memory_bytes=2048 * 1024 * 1024,
    file_bytes=512 * 1024 * 1024,
    processes=64,
    disk_bytes=2048 * 1024 * 1024,
)
PROJECT_VENV = ".venv"
# The user's own choice of package index reaches pip in the box; nothing else of the environment does.
_PIP_SETTINGS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_CERT")

_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")
_MISSING = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '([A-Za-z0-9_.]+)'")
_TRACE_FILE = re.compile(r'File "([^"]+)", line \d+|^([^\s:][^:\n]*\.py):\d+:', re.MULTILINE)
# bwrap's own complaints, or our launcher's: the box failed, the program never ran.
_BOX_ERROR = re.compile(r"^(?:bwrap: .*|devteam box: .*)$", re.MULTILINE)


@dataclass(frozen=True)
class BugReport:
    """What QA hands the Engineer: the failing output and the files it implicates, most likely first."""

    round: int
    failure: str
    files: list[str]
    design: Any  # the SystemDesign, for the fix prompt
    # False for a failure that is not the code's (no tests, a missing package, the box): nothing to fix.
    code_failure: bool = True


@dataclass
class TestRun:
    """One pytest run. `verdict`: "pass", "fail" (the code's failure), "no tests", "needs" (pytest or a
    package is missing), "box failed" (the box could not start the run)."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    returncode: int | None = 0
    output: str = ""
    needs: list[str] = field(default_factory=list)
    box_error: str | None = None

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors

    @property
    def verdict(self) -> str:
        if self.box_error is not None:
            return "box failed"
        if self.needs:
            return "needs"
        if self.failed or self.errors:
            return "fail"
        if self.returncode == 5 or (self.returncode == 0 and self.total == 0):
            return "no tests"  # nothing collected, or the process ended before pytest reported anything
        return "pass" if self.returncode == 0 else "fail"

    @property
    def ok(self) -> bool:
        return self.verdict == "pass"

    @property
    def code_failure(self) -> bool:
        return self.verdict == "fail"


@dataclass
class SmokeRun:
    """The entry point started with stdin closed: a clean exit, or still running at the limit, counts."""

    command: str
    verdict: str  # "clean exit", "clean start", "fails", "needs packages", "box failed"
    output: str = ""
    needs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict in ("clean exit", "clean start")

    @property
    def code_failure(self) -> bool:
        return self.verdict == "fails"


def interpreter_env(root: Path) -> dict[str, str]:
    """The project's own folder first on the path, then the packages `--qa-install` put in its virtualenv
    (as the box sees them: the virtualenv is mounted read-only at the project's `.venv`)."""
    paths = [PROJECT_DIR]
    venv = root / PROJECT_VENV
    paths += [
        f"{PROJECT_DIR}/{site.relative_to(root).as_posix()}" for site in sorted(venv.glob("lib/python*/site-packages"))
    ]
    return {"PYTHONPATH": ":".join(paths)}


def package_binds(root: Path) -> list[Bind]:
    """The virtualenv `--qa-install` made, read-only: a test may use the packages, never change them."""
    venv = root / PROJECT_VENV
    if venv.is_dir() and not venv.is_symlink():
        return [Bind(venv, f"{PROJECT_DIR}/{PROJECT_VENV}")]
    return []


def has_pytest() -> bool:
    """pytest is a dependency of devteam, but an interpreter assembled by hand may lack it."""
    return importlib.util.find_spec("pytest") is not None


def run_tests(
    root: Path, box: Box, limits: Limits = TEST_LIMITS, *, overrides: Mapping[str, str] | None = None
) -> TestRun:
    """The project's tests under pytest, in the box; the counts come from pytest's own summary line.
    `overrides`: files run in another version than the project's (`run_sandboxed`)."""
    if not has_pytest():
        return TestRun(
            returncode=None,
            output=f"the interpreter devteam runs under ({sys.executable}) has no pytest: pip install pytest",
            needs=["pytest"],
        )
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
        PROJECT_DIR,
        "-o",
        "addopts=",
    ]
    result = run_sandboxed(
        argv,
        project=root,
        box=box,
        limits=limits,
        env=interpreter_env(root),
        binds=package_binds(root),
        overrides=overrides,
    )
    counts = _counts(result.output)
    run = TestRun(
        passed=counts.get("passed", 0),
        failed=counts.get("failed", 0),
        errors=counts.get("errors", 0) + counts.get("error", 0),
        returncode=result.returncode,
        output=_with_limit_note(result),
        needs=missing_packages(result.output, root),
        box_error=box_error(result),
    )
    if result.returncode not in (0, 1, 5) and run.total == 0 and run.box_error is None:
        run.errors = 1  # pytest itself failed (usage error, internal error, killed): not a pass
    return run


def box_error(result: SandboxResult) -> str | None:
    """What the box said when it could not start the program (bwrap's or the launcher's own line)."""
    if result.returncode == BOX_FAILED or (result.returncode == 1 and result.output.startswith("bwrap: ")):
        found = _BOX_ERROR.search(result.output)
        return found.group(0) if found else result.output.strip()[:200]
    return None


def _counts(output: str) -> dict[str, int]:
    lines = [line for line in output.splitlines() if _COUNT.search(line) and " in " in line]
    if not lines:
        return {}
    return {kind: int(number) for number, kind in _COUNT.findall(lines[-1])}


def entry_command(paths: list[str], purposes: Mapping[str, str] | None = None) -> list[str] | None:
    """How the project starts (the interpreter's arguments): the one answer `program_layout.entry_point` gives
    the README and the design check too; `purposes` are the plan's, when QA has it."""
    entry = entry_point(paths, purposes)
    return entry.argv if entry is not None else None


def smoke_run(
    root: Path,
    paths: list[str],
    box: Box,
    limits: Limits = SMOKE_LIMITS,
    *,
    purposes: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> SmokeRun | None:
    command = entry_command(paths, purposes)
    if command is None:
        return None
    terminal = uses_curses(root, paths)
    result = run_sandboxed(
        [sys.executable, *command],
        project=root,
        box=box,
        limits=limits,
        env=interpreter_env(root),
        terminal=terminal,
        binds=package_binds(root),
        overrides=overrides,
    )
    shown = "python " + " ".join(command) + (" (in a pseudo-terminal)" if terminal else "")
    output = _with_limit_note(result)
    needs = missing_packages(result.output, root)
    if box_error(result) is not None:
        return SmokeRun(shown, "box failed", output)
    if result.timed_out:
        return SmokeRun(shown, "clean start", output)
    if result.returncode == 0 or _usage_exit(result.returncode, result.output):
        return SmokeRun(shown, "clean exit", output)
    if _waits_for_input(result.output):
        return SmokeRun(shown, "clean start", output)
    if needs:
        return SmokeRun(shown, "needs packages", output, needs)
    return SmokeRun(shown, "fails", output)


def _usage_exit(returncode: int | None, output: str) -> bool:
    """A program that wants arguments and, started without them, says how to call it and exits (argparse with
    2, hand-written code often with 1: the 0.5B's `Usage: python snake_game.py <length>`), without a
    traceback: it started."""
    return returncode in (1, 2) and "usage:" in output.lower() and "Traceback (most recent call last)" not in output


def _waits_for_input(output: str) -> bool:
    """An interactive program ran up to its first `input()` and asked (stdin is closed in the box, so the read
    ends in EOFError): it started, as a curses program that waits in its pseudo-terminal does. The 0.5B's 2048
    and unit converter did; nothing before the read failed."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return bool(lines) and lines[-1].strip() == "EOFError: EOF when reading a line"


def required_modules(root: Path) -> set[str]:
    """The distributions the project's requirements.txt names (canonical names), read as the box will."""
    try:
        text = (root / "requirements.txt").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    return required_names(text.splitlines())


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
    """Third-party modules the code imports, that its requirements.txt asks for, but this interpreter lacks
    ("needs pygame"). A missing module that the project should contain, or one that no requirement names (the
    0.5B's `from graphics import *` in a standard-library program), is the code's failure, not a missing
    package: it goes to the Engineer's fix like any other."""
    required = required_modules(root)
    needs: list[str] = []
    for name in _MISSING.findall(output):
        top = name.split(".")[0]
        if (root / top).is_dir() or (root / f"{top}.py").is_file() or top in needs:
            continue
        if not required & provided_by(top):
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
        if raw.startswith(PROJECT_DIR + "/"):
            rel = raw[len(PROJECT_DIR) + 1 :]
        elif path.is_absolute():
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


def install_requirements(
    root: Path, names: list[str], box: Box, *, allow_sdist: bool = False, limits: Limits = INSTALL_LIMITS
) -> str:
    """`--qa-install`: the checked requirement `names` into `<project>/.venv` (ignored by git), inside the box.

    The virtualenv is made and filled by the interpreter devteam runs under, started by absolute path with
    `-I`, in the box, with the project copy as its only project: a planned `venv.py` or `pip/__main__.py`
    cannot stand in for the real tool. Wheels only unless `allow_sdist` (an sdist runs its setup.py); the
    network is shared only when there is something to download. Returns pip's output; `InstallError` when it
    fails.
    """
    venv = root / PROJECT_VENV
    if venv.is_symlink() or (venv.exists() and not venv.is_dir()):
        raise InstallError(f"{PROJECT_VENV} in the project is not a folder; nothing was installed")
    venv.mkdir(exist_ok=True)
    inside = f"{PROJECT_DIR}/{PROJECT_VENV}"
    binds = [Bind(venv, inside, writable=True)]
    steps: list[tuple[list[str], bool]] = []
    if not (venv / "bin" / "python").exists():
        steps.append(([sys.executable, "-I", "-m", "venv", inside], False))
    if names:
        binary = [] if allow_sdist else ["--only-binary", ":all:"]
        pip = [f"{inside}/bin/python", "-I", "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]
        steps.append(([*pip, *binary, *names], True))
    env = {key: value for key, value in os.environ.items() if key in _PIP_SETTINGS}
    # .venv is the one folder the box writes on this disk: all its files together stay under the box's disk cap.
    cap = limits.disk_bytes
    too_big = f"the installed packages in {PROJECT_VENV} grew past {cap // (1024 * 1024)} MiB, the cap for all of them"

    def over_cap() -> str | None:
        return too_big if used_bytes(venv, stop_above=cap) > cap else None

    output = []
    for argv, network in steps:
        result = run_sandboxed(
            argv, project=root, box=box, limits=limits, env=env, network=network, binds=binds, watch=over_cap
        )
        output.append(result.output)
        if result.stopped is not None or over_cap() is not None:
            remove_folder(venv)
            raise InstallError(f"{too_big}; it was removed and nothing was installed")
        if not result.ok:
            raise InstallError(f"installing the requirements failed:\n{_with_limit_note(result)[-2000:]}")
    return "".join(output)


class InstallError(Exception):
    """Installing the project's requirements failed (reported by QA, never fatal to the run)."""
