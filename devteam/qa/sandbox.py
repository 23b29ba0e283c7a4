"""How generated code runs: the one place that starts it, limits it and reads what it printed.

Generated programs and their tests run only with `--run-tests`, each in a subprocess with:
a wall-clock limit (the whole process group is killed), CPU, address-space, file-size and core-dump limits
(`resource.setrlimit` before exec), a process-count limit (RLIMIT_NPROC; the kernel ignores it for root, so
root gets a `pids` cgroup where one can be made), a fresh temporary HOME and TMPDIR, an environment built from
nothing (no inherited keys or tokens), output capped, and — where unprivileged user namespaces work
(`unshare -rn true`) — a network namespace of its own with nothing in it but its own loopback (brought up by
`loopback_up.py`, so a program can still talk to itself over 127.0.0.1). The process group is killed when
the run ends; a program that starts a session of its own can outlive it. It is not a container: the program
can read any file this user can read, and write to the project folder and anywhere else this user can write.
"""

from __future__ import annotations

import fcntl
import functools
import os
import pty
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

# No --pid --fork: unshare then execs the program itself, so its exit status (and the signal that killed it)
# is the program's own; the process group is killed at the end instead.
_UNSHARE = ("--user", "--map-root-user", "--net")
_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
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


@dataclass(frozen=True)
class Isolation:
    """What this machine lets the sandbox do beyond rlimits; the run summary repeats it to the user."""

    network: bool
    process_limit: str  # "rlimit", "cgroup" or "none"
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [
            "network: " + ("none (own namespace)" if self.network else "NOT isolated"),
            "process count: "
            + {"rlimit": "limited (RLIMIT_NPROC)", "cgroup": "limited (pids cgroup)", "none": "NOT limited"}[
                self.process_limit
            ],
        ]
        return "; ".join(parts + list(self.notes))


@dataclass
class SandboxResult:
    argv: list[str]
    returncode: int | None  # None: killed at the wall-clock limit
    output: str
    seconds: float
    timed_out: bool = False
    output_truncated: bool = False
    signal_name: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@functools.lru_cache(maxsize=1)
def probe_isolation() -> Isolation:
    """Try the namespaces once per process: they depend on the kernel and its settings, not on the program."""
    notes: list[str] = []
    network = _unshare_works()
    if not network:
        notes.append(
            "unprivileged user namespaces are unavailable here (`unshare -rn true` failed), "
            "so generated code can reach the network"
        )
    if os.geteuid() != 0:
        process_limit = "rlimit"
    elif _cgroup_parent() is not None:
        process_limit = "cgroup"
    else:
        process_limit = "none"
        notes.append(
            "running as root without a writable pids cgroup: the kernel does not apply "
            "RLIMIT_NPROC to root, so the process count is not limited"
        )
    return Isolation(network=network, process_limit=process_limit, notes=tuple(notes))


def _unshare_works() -> bool:
    """`unshare -rn true`, through the same launcher a real run uses (it must be allowed to raise `lo`)."""
    unshare, true = shutil.which("unshare"), shutil.which("true")
    if unshare is None or true is None:
        return False
    try:
        probe = subprocess.run(
            [*_namespace_prefix(Isolation(network=True, process_limit="none")), true], capture_output=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def _cgroup_parent() -> Path | None:
    """A pids-cgroup folder we may create children in (v1 `pids` hierarchy, or v2 with pids enabled)."""
    for root in _CGROUP_ROOTS:
        if not (root / "cgroup.procs").exists():
            continue
        if root.name != "pids" and "pids" not in _read(root / "cgroup.subtree_control"):
            continue
        probe = root / f"devteam-probe-{os.getpid()}"
        try:
            probe.mkdir()
            probe.rmdir()
        except OSError:
            continue
        return root
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def sandbox_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment built from nothing: no API keys, tokens or proxies of ours leak into generated code."""
    env = {
        "PATH": _SAFE_PATH,
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
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


def run_sandboxed(
    argv: Sequence[str],
    *,
    cwd: Path,
    limits: Limits = Limits(),
    env: Mapping[str, str] | None = None,
    terminal: bool = False,
) -> SandboxResult:
    """Run `argv` in `cwd` within `limits`; stdin is closed. Never raises for what the program does.

    `terminal` gives the program a pseudo-terminal (24x80) that nobody types into, instead of closed stdin and
    a pipe: a curses program refuses to start without one, and would otherwise never be seen running.
    """
    isolation = probe_isolation()
    command = [*_namespace_prefix(isolation), *argv]
    with tempfile.TemporaryDirectory(prefix="devteam-sandbox-") as scratch:
        home = Path(scratch) / "home"
        (home / "tmp").mkdir(parents=True)
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
                env=sandbox_env(home, env),
                start_new_session=True,
                preexec_fn=functools.partial(_limit_child, limits, nproc, cgroup),
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
        output = open(master, "rb", buffering=0) if master is not None else process.stdout
        assert output is not None
        reader = _CappedReader(output, limits.output_bytes, terminal=terminal)
        timed_out = False
        try:
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
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
    )


_SIGNALS = {int(s) for s in signal.Signals}


def _open_terminal() -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    return master, slave


def stop_all() -> None:
    """Kill every sandboxed program still running (the run was interrupted); their runs then end at once."""
    with _LIVE_LOCK:
        groups = list(_LIVE)
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _namespace_prefix(isolation: Isolation) -> list[str]:
    if not isolation.network:
        return []
    launcher = Path(__file__).with_name("loopback_up.py")
    return [shutil.which("unshare") or "unshare", *_UNSHARE, sys.executable, "-I", str(launcher)]


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
    parent = _cgroup_parent()
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
    if folder is None:
        return
    for _ in range(50):  # the killed processes leave the group a moment after the kill
        try:
            folder.rmdir()
            return
        except OSError:
            time.sleep(0.02)


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
        while chunk := _read(output):
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


def _read(output: BinaryIO) -> bytes:
    try:
        return getattr(output, "read1", output.read)(65536) or b""
    except OSError:  # a pseudo-terminal answers EIO once the program has closed its side
        return b""
