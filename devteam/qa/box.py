"""The box generated code runs in: bubblewrap (`bwrap`), the sandbox Flatpak and coding agents use on Linux.

A model's code is attacker-controlled, so it runs with its own mount, PID, network, IPC, UTS and user
namespaces, `--die-with-parent` and `--new-session`; it sees `/usr`, a few files of `/etc`, the interpreter
devteam runs under (read-only, so it has pytest) and a size-limited tmpfs holding a throwaway copy of the
project without `.git` — never the user's home, config or sockets. When the program ends, its PID namespace
ends with it: daemons and children die too. Nothing comes back from the box but what it printed.

Where no box can be had (no bwrap, no user namespaces, not Linux) QA runs no model code unless the user says
`--qa-unsafe` or `qa_sandbox: none`; then rlimits, a cgroup and (where possible) a network namespace are all
there is, and every report says so.
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
from typing import Literal

from devteam.qa.isolation import probe_isolation

# Where things are inside the box. Tracebacks name files under PROJECT_DIR in every mode, so QA reads them the
# same way (an unsafe run's copy path is shown as PROJECT_DIR).
BOX_DIR = "/box"
PROJECT_DIR = f"{BOX_DIR}/project"
SOURCE_DIR = "/box-source"
LAUNCHER = "/box-init.py"
HOME_DIR = f"{BOX_DIR}/home"
TMP_DIR = f"{BOX_DIR}/tmp"
# /tmp stays for programs that hard-code it, small: the project's own area is the size-limited one.
TMP_BYTES = 16 * 1024 * 1024

# What of /etc a program (and pip, for an install) needs: names, certificates, locale. Not the rest.
_ETC = (
    "hosts",
    "resolv.conf",
    "nsswitch.conf",
    "passwd",
    "group",
    "localtime",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "mime.types",
    "alternatives",
    "pki",
)
_ROOT_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")

Kind = Literal["bubblewrap", "unsafe", "missing"]
SETTINGS = ("auto", "bubblewrap", "none")


@dataclass(frozen=True)
class Box:
    """Which box QA's runs get; `missing` means QA runs no model code at all."""

    kind: Kind
    bwrap: str | None = None
    reason: str = ""

    @property
    def runs_code(self) -> bool:
        return self.kind != "missing"

    def describe(self) -> str:
        """One line for every report and summary: the box this round ran in."""
        if self.kind == "bubblewrap":
            return (
                "bubblewrap box (own mount, PID, network, IPC and user namespaces; a throwaway copy of the "
                "project without .git; no home or config; rlimits"
                + (" and a pids cgroup" if _has_cgroup() else "")
                + ")"
            )
        if self.kind == "unsafe":
            return "NO BOX (--qa-unsafe / qa_sandbox: none): generated code ran with rlimits only" + (
                f" ({self.reason})" if self.reason else ""
            )
        return f"no box here ({self.reason}): generated code was NOT run; install bubblewrap or pass --qa-unsafe"


def choose_box(setting: str = "auto", *, unsafe: bool = False, bwrap: str | None = None) -> Box:
    """The box for this run: bubblewrap when it works here; else unsafe only when the user asked for it."""
    if setting == "none" or (unsafe and setting != "bubblewrap"):
        return Box("unsafe", reason=_unsafe_reason())
    found = bwrap or shutil.which("bwrap")
    problem = _bwrap_problem(found)
    if problem is None:
        return Box("bubblewrap", bwrap=found)
    return Box("missing", reason=problem)


def _unsafe_reason() -> str:
    return probe_isolation().describe()


def _has_cgroup() -> bool:
    return probe_isolation().process_limit == "cgroup"


@functools.lru_cache(maxsize=4)
def _bwrap_problem(bwrap: str | None) -> str | None:
    """None when `bwrap` can start a box here (tried once: user namespaces depend on the kernel's settings)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux; this is {sys.platform}"
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap, dnf install bubblewrap"
    # No launcher, no project: just the namespaces and mounts a real run asks for.
    probe = [
        *bwrap_prefix(bwrap, network=False, disk_bytes=1024 * 1024, binds=()),
        "--",
        sys.executable,
        "-I",
        "-c",
        "",
    ]
    try:
        done = subprocess.run(probe, check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        return f"bubblewrap could not start: {error}"
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        return f"bubblewrap could not start a box here ({detail[-1] if detail else f'exit {done.returncode}'})"
    return None


@dataclass(frozen=True)
class Bind:
    """A host folder seen inside the box at `inside` (read-only unless `writable`)."""

    host: Path
    inside: str
    writable: bool = False


def bwrap_prefix(bwrap: str, *, network: bool, disk_bytes: int, binds: Sequence[Bind]) -> list[str]:
    """bwrap's arguments up to the command: namespaces, the read-only system, the sized writable area."""
    args = [bwrap, "--unshare-all"]
    if network:
        args.append("--share-net")  # only for an install of wheels: no model code runs while it is shared
    args += ["--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "box"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in _ROOT_DIRS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    args += ["--size", str(disk_bytes), "--tmpfs", BOX_DIR]
    for prefix in interpreter_prefixes():
        args += ["--ro-bind", prefix, prefix]
    for bind in binds:
        args += ["--bind" if bind.writable else "--ro-bind", str(bind.host), bind.inside]
    return args


@functools.lru_cache(maxsize=1)
def interpreter_prefixes() -> tuple[str, ...]:
    """The folders the running interpreter (and its pytest) live in, outside /usr: bound read-only."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    candidates.add(str(Path(os.path.realpath(sys.executable)).parent.parent))
    kept: list[str] = []
    for raw in sorted(candidates, key=len):
        path = os.path.realpath(raw)
        if path in ("/", "") or path == "/usr" or path.startswith("/usr/"):
            continue
        if any(path == done or path.startswith(done + "/") for done in kept):
            continue
        kept.append(path)
    # A virtualenv's own path may be a link to its real folder: bind both spellings.
    for raw in sorted(candidates):
        if os.path.realpath(raw) != raw and raw not in kept and not raw.startswith("/usr/"):
            kept.append(raw)
    return tuple(kept)
