"""What this machine lets the sandbox do beyond rlimits, probed once per process: namespaces through `unshare`
(no network, a PID namespace of its own) and a `pids` cgroup for root, whom RLIMIT_NPROC does not bind.

Both the box (to describe itself) and the sandbox (to run a program) ask here, so neither imports the other for it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# A PID namespace of its own, /proc showing only it: when the program ends (or devteam kills the group, or dies:
# --kill-child), process 1 of the namespace ends and the kernel kills everything left in it, a daemon that made a
# session of its own included. The launcher is that process 1 and reports a signal as 128 + its number.
_UNSHARE = ("--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "--mount-proc")
_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


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
    elif cgroup_parent() is not None:
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
            [*namespace_prefix(Isolation(network=True, process_limit="none")), true],
            check=False,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def cgroup_parent(roots: Sequence[Path] = _CGROUP_ROOTS) -> Path | None:
    """A pids-cgroup folder we may create children in (v1 `pids` hierarchy, or v2 with pids enabled)."""
    for root in roots:
        if not (root / "cgroup.procs").exists():
            continue
        if root.name != "pids" and "pids" not in _read_text(root / "cgroup.subtree_control").split():
            continue
        probe = root / f"devteam-probe-{os.getpid()}"
        try:
            probe.mkdir()
            probe.rmdir()
        except OSError:
            continue
        return root
    return None


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def namespace_prefix(isolation: Isolation) -> list[str]:
    """The words that start a program in namespaces of its own, where this machine allows them (else none)."""
    if not isolation.network:
        return []
    launcher = Path(__file__).with_name("loopback_up.py")
    return [shutil.which("unshare") or "unshare", *_UNSHARE, sys.executable, "-I", str(launcher)]
