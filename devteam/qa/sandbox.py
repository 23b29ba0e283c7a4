"""How generated code runs: the one place that starts it, limits it and reads what it printed.

Every run gets a throwaway copy of the project without `.git` (`project_copy`) and runs in the box chosen for
the run (`devteam.qa.box`): bubblewrap's namespaces and a size-limited tmpfs, or — only when the user said
`--qa-unsafe` — no box at all. Either way the second layer is here: a wall-clock limit (the whole process
group is killed), CPU, address-space, file-size and core-dump limits (`resource.setrlimit` before exec), a
process-count limit (RLIMIT_NPROC; the kernel ignores it for root, so root gets a `pids` cgroup where one can
be made), an environment built from nothing (no inherited keys or tokens) and output capped. Argument lists
and environments speak of the box's paths (`PROJECT_DIR`); an unsafe run maps them to its copy.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import pty
import re
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, TypeVar, cast

from devteam.qa.box import HOME_DIR, LAUNCHER, PROJECT_DIR, SOURCE_DIR, TMP_DIR, Bind, Box, bwrap_prefix
from devteam.qa.disk_use import remove_folder
from devteam.qa.isolation import cgroup_parent, namespace_prefix, probe_isolation
from devteam.qa.project_copy import copy_project, scratch_folder

T = TypeVar("T")
_SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
# Process groups running now: Ctrl-C on devteam must not leave them running until their wall-clock limit.
_LIVE: set[int] = set()
_LIVE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Limits:
    """What one sandboxed command may use; every limit applies to each run separately."""

    wall_seconds: float = 60.0
    cpu_seconds: int = 60
    memory_bytes: int = 1024 * 1024 * 1024
    file_bytes: int = 32 * 1024 * 1024
    processes: int = 32
    output_bytes: int = 64 * 1024
    # Everything the program may write, all files together (the box's tmpfs); file_bytes caps one file.
    disk_bytes: int = 256 * 1024 * 1024


@dataclass
class SandboxResult:
    argv: list[str]
    returncode: int | None  # None: killed at the wall-clock limit
    output: str
    seconds: float
    timed_out: bool = False
    output_truncated: bool = False
    signal_name: str | None = None
    stopped: str | None = None  # why the caller's watch stopped the program before it ended

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def sandbox_env(home: str, tmp: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment built from nothing: no API keys, tokens or proxies of ours leak into generated code."""
    env = {
        "PATH": _SAFE_PATH,
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONHASHSEED": "0",
        # Headless: games and plots draw nowhere instead of failing to find a display.
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "dummy",
        "MPLBACKEND": "Agg",
        "TERM": "xterm-256color",
        "COLUMNS": "80",
        "LINES": "24",
    }
    env.update(extra or {})
    return env


class NoBoxError(Exception):
    """No box was chosen for this run: model code is not run (the caller reports why)."""


def run_sandboxed(
    argv: Sequence[str],
    *,
    project: Path,
    box: Box,
    limits: Limits = Limits(),
    env: Mapping[str, str] | None = None,
    terminal: bool = False,
    network: bool = False,
    binds: Sequence[Bind] = (),
    watch: Watch | None = None,
    overrides: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Run `argv` (absolute program, box paths) in a throwaway copy of `project` within `limits`; stdin is
    closed. Never raises for what the program does; `NoBoxError` when `box` runs no code.

    `overrides`: files of the project (relative paths devteam tracks) that the copy holds in another version —
    a candidate fix judged by the tests before anything is written to the project.

    `watch` is asked a few times a second while the program runs; a reason it returns stops the program there
    (`SandboxResult.stopped`): a limit only the caller can measure, such as the size of a writable bind.

    `terminal` gives the program a pseudo-terminal (24x80) that nobody types into, instead of closed stdin and
    a pipe: a curses program refuses to start without one, and would otherwise never be seen running.
    `network` is for installs only; `binds` are extra host folders under `PROJECT_DIR` (the packages).
    """
    if not box.runs_code:
        raise NoBoxError(box.describe())
    scratch = scratch_folder()
    try:
        copy = copy_project(project, scratch / "project")
        for relative, text in (overrides or {}).items():
            target = copy / PurePosixPath(relative)
            if copy.resolve() not in target.resolve().parents:
                raise ValueError(f"an override outside the project: {relative!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if box.kind == "bubblewrap":
            assert box.bwrap is not None
            launcher = Bind(Path(__file__).with_name("box_init.py"), LAUNCHER)
            command = [
                *bwrap_prefix(
                    box.bwrap,
                    network=network,
                    disk_bytes=limits.disk_bytes,
                    binds=[Bind(copy, SOURCE_DIR), launcher, *binds],
                ),
                "--",
                sys.executable,
                "-I",
                LAUNCHER,
                SOURCE_DIR,
                PROJECT_DIR,
                HOME_DIR,
                TMP_DIR,
                "--",
                *argv,
            ]
            result = _run(
                command,
                cwd=scratch,
                env=sandbox_env(HOME_DIR, TMP_DIR, env),
                limits=limits,
                terminal=terminal,
                network=True,
                watch=watch,
            )
            _signal_from_status(result)
        else:
            for bind in binds:  # no mounts without a box: the copy links to the folder instead
                link = copy / PurePosixPath(bind.inside).relative_to(PROJECT_DIR)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(bind.host, target_is_directory=True)
            home, tmp = scratch / "home", scratch / "tmp"
            home.mkdir()
            tmp.mkdir()
            here = str(copy)
            mapped = [arg.replace(PROJECT_DIR, here) for arg in argv]
            extra = {key: value.replace(PROJECT_DIR, here) for key, value in (env or {}).items()}
            result = _run(
                mapped,
                cwd=copy,
                env=sandbox_env(str(home), str(tmp), extra),
                limits=limits,
                terminal=terminal,
                network=network,
                watch=watch,
            )
            result.output = result.output.replace(here, PROJECT_DIR)
            if probe_isolation().network:  # the namespace launcher reported the program's signal as 128 + it
                _signal_from_status(result)
    finally:
        remove_folder(scratch)
    result.argv = list(argv)
    return result


def _signal_from_status(result: SandboxResult) -> None:
    """bwrap's init reports a program killed by a signal as 128 + the signal, as a shell does."""
    code = result.returncode
    if code is not None and 128 < code < 128 + 65 and code - 128 in _SIGNALS and result.signal_name is None:
        result.signal_name = signal.Signals(code - 128).name


def _run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    limits: Limits,
    terminal: bool,
    network: bool,
    watch: Watch | None = None,
) -> SandboxResult:
    """Start `argv`, limited, and wait for it; `network` False asks for a namespace of its own (no box)."""
    isolation = probe_isolation()
    command = [*([] if network else namespace_prefix(isolation)), *argv]
    cgroup = _make_cgroup(limits) if isolation.process_limit == "cgroup" else None
    # RLIMIT_NPROC counts every process of this user, so the cap is "this many more than now" (counted
    # here: the child between fork and exec must not walk /proc).
    nproc = _user_process_count() + limits.processes if isolation.process_limit == "rlimit" else None
    master, slave = _open_terminal() if terminal else (None, None)
    streams: dict[str, Any] = (
        {"stdin": slave, "stdout": slave, "stderr": slave}
        if slave is not None
        else {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
    )
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=functools.partial(_limit_child, limits, nproc, cgroup),  # noqa: PLW1509 (only async-signal-safe calls)
            **streams,
        )
    except OSError as error:
        _remove_cgroup(cgroup)
        if master is not None:
            os.close(master)
        return SandboxResult(list(argv), 127, f"cannot start {argv[0]}: {error}", 0.0)
    finally:
        if slave is not None:
            os.close(slave)  # the child holds its own copy; the reader sees EOF when the child is gone
    with _LIVE_LOCK:
        _LIVE.add(process.pid)
    # The reader closes it.
    output = open(master, "rb", buffering=0) if master is not None else process.stdout  # noqa: SIM115
    assert output is not None
    reader = _CappedReader(cast(BinaryIO, output), limits.output_bytes, terminal=terminal)
    timed_out = False
    stopped: str | None = None
    try:
        timed_out, stopped = _wait(process, limits.wall_seconds, watch)
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(process.pid)
        _kill_group(process)
        process.wait()
        reader.join()
        _remove_cgroup(cgroup)
    seconds = time.monotonic() - started
    code = None if timed_out else process.returncode
    signal_name = signal.Signals(-code).name if code is not None and code < 0 and -code in _SIGNALS else None
    return SandboxResult(
        list(argv),
        code,
        reader.text(),
        seconds,
        timed_out=timed_out,
        output_truncated=reader.truncated,
        signal_name=signal_name,
        stopped=stopped,
    )


Watch = Callable[[], "str | None"]
_WATCH_SECONDS = 0.25


def _wait(process: subprocess.Popen[bytes], wall_seconds: float, watch: Watch | None) -> tuple[bool, str | None]:
    """Wait for the program: (timed out, the reason `watch` gave to stop it)."""
    if watch is None:
        try:
            process.wait(timeout=wall_seconds)
        except subprocess.TimeoutExpired:
            return True, None
        return False, None
    deadline = time.monotonic() + wall_seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return True, None
        try:
            process.wait(timeout=min(left, _WATCH_SECONDS))
            return False, None
        except subprocess.TimeoutExpired:
            reason = watch()
            if reason is not None:
                return False, reason


_SIGNALS = {int(s) for s in signal.Signals}


def _open_terminal() -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    return master, slave


async def in_thread(check: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A blocking sandbox run in a thread; on Ctrl-C its program is killed so the thread ends at once."""
    try:
        return await asyncio.to_thread(check, *args, **kwargs)
    except asyncio.CancelledError:
        stop_all()
        raise


def stop_all() -> None:
    """Kill every sandboxed program still running (the run was interrupted); their runs then end at once."""
    with _LIVE_LOCK:
        groups = list(_LIVE)
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _limit_child(limits: Limits, nproc: int | None, cgroup: Path | None) -> None:
    """Runs in the child between fork and exec: only async-signal-safe-ish calls, no logging."""
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if nproc is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    if cgroup is not None:
        with open(cgroup / "cgroup.procs", "w") as procs:
            procs.write(str(os.getpid()))


def _user_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _make_cgroup(limits: Limits) -> Path | None:
    parent = cgroup_parent()
    if parent is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="devteam-sandbox-", dir=parent))
    try:
        (folder / "pids.max").write_text(str(limits.processes + 1))  # the program itself and `processes` more
    except OSError:
        _remove_cgroup(folder)
        return None
    return folder


def _remove_cgroup(folder: Path | None) -> None:
    """Kill what is left in the group (a daemon has left the process group, never the cgroup), then remove it."""
    if folder is None:
        return
    _kill_cgroup(folder)
    for _ in range(50):  # the killed processes leave the group a moment after the kill
        try:
            folder.rmdir()
            return
        except OSError:
            time.sleep(0.02)


def _kill_cgroup(folder: Path) -> None:
    try:
        (folder / "cgroup.kill").write_text("1")  # cgroup v2 (Linux 5.14+): every process in it, at once
        return
    except OSError:
        pass
    for _ in range(3):  # v1: one by one; a process forking meanwhile is caught by the next pass
        try:
            pids = [int(word) for word in (folder / "cgroup.procs").read_text().split() if word.isdigit()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\r")


class _CappedReader:
    """Drains the output in a thread (a full pipe would stall the program) keeping the head and the tail."""

    def __init__(self, output: BinaryIO, cap: int, *, terminal: bool = False) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.cap = cap
        self.total = 0
        self.terminal = terminal
        self._thread = threading.Thread(target=self._drain, args=(output,), daemon=True)
        self._thread.start()

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def _drain(self, output: BinaryIO) -> None:
        half = self.cap // 2
        while chunk := _read_chunk(output):
            self.total += len(chunk)
            room = half - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail = (self.tail + chunk)[-half:]
        output.close()

    def join(self) -> None:
        self._thread.join(timeout=5)

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if self.terminal:  # what a screen would show, roughly: the drawing codes say nothing in a report
            head, tail = _ESCAPES.sub("", head), _ESCAPES.sub("", tail)
        if self.truncated:
            return f"{head}\n[... {self.total - len(self.head) - len(self.tail):,} bytes of output cut ...]\n{tail}"
        return head + tail


def _read_chunk(output: BinaryIO) -> bytes:
    try:
        return getattr(output, "read1", output.read)(65536) or b""
    except OSError:  # a pseudo-terminal answers EIO once the program has closed its side
        return b""
