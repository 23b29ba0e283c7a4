"""git's own lock files in a project, found when the project is opened: before any call is paid for.

git takes `index.lock`, `HEAD.lock` or a branch's `refs/heads/<name>.lock` with an exclusive create and removes it
when it is done; a git that was killed (a crash, SIGKILL, a full disk) leaves it behind, and every later git that
writes refuses ("Unable to create '.../index.lock': File exists"). A resumed run would find out only at its first
commit, after the calls that made the files were paid for — on every `--resume`.

The lock is never removed here: a git still running (a `git commit` waiting for its editor holds `index.lock`
without keeping it open) would lose its index. Instead the run stops before its first call and says which it is:
a git command (named, with its pid) working in the project — wait for it; or none found — the lock was left
behind, and the message gives the one command that removes it.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from devteam.core.errors import WorkspaceError
from devteam.core.untrusted_text import escape_unsafe

# The locks a run's git calls take: staging (index), committing (HEAD, the branch, packed refs), config.
_FIXED_LOCKS = ("index.lock", "HEAD.lock", "packed-refs.lock", "config.lock")
_PROC = Path("/proc")


class GitLockedError(WorkspaceError):
    """A git lock file stands in the project: a git is running there, or one left it behind."""


@dataclass(frozen=True)
class GitProcess:
    pid: int
    command: str


def find_locks(git_dir: Path) -> list[Path]:
    """git's lock files in `git_dir` that a run's git calls would stumble on (links and folders count too)."""
    found = [git_dir / name for name in _FIXED_LOCKS if os.path.lexists(git_dir / name)]
    heads = git_dir / "refs" / "heads"
    if heads.is_dir() and not heads.is_symlink():
        found += sorted(path for path in heads.rglob("*.lock"))
    return found


def check_no_git_locks(root: Path, git_dir: Path) -> None:
    """Raise `GitLockedError` naming each lock and what to do, when git would refuse to write here."""
    locks = find_locks(git_dir)
    if not locks:
        return
    names = ", ".join(str(lock) for lock in locks)
    running = git_processes_in(root, git_dir)
    if running:
        who = "; ".join(f"pid {process.pid}: {process.command}" for process in running)
        raise GitLockedError(
            f"git is working in the project {root} right now ({who}): it holds {names}. "
            "Nothing was sent to the model. Wait for it to finish (or end it), then run again"
        )
    where = "on this machine" if _PROC.is_dir() else "here (this system cannot show other processes)"
    removal = " ".join(shlex.quote(str(lock)) for lock in locks)
    raise GitLockedError(
        f"the project {root} has git lock files: {names}. No git command is running in it {where}, so a git "
        "that was stopped mid-write left them behind, and git refuses to write while they exist. Nothing was "
        f"sent to the model. Remove them, then run again: rm {removal}"
    )


def git_processes_in(root: Path, git_dir: Path) -> list[GitProcess]:
    """git processes (by their program's name) whose folder is in the project or that have a file of its `.git`
    open. Linux's /proc only; elsewhere none are found, and the message says it could not look."""
    if not _PROC.is_dir():
        return []
    inside = (str(root), str(git_dir))
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid() or _parent(entry) == os.getpid():
            continue  # this run's own git helpers (gitpython keeps `cat-file` running) hold nothing
        command = _command(entry)
        if command is None or not _is_git(command):
            continue
        if _within(_link(entry / "cwd"), inside) or _has_open_file(entry, inside):
            found.append(GitProcess(int(entry.name), command))
    return found


def _parent(entry: Path) -> int | None:
    try:
        stat = (entry / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the name in parentheses may hold spaces
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _command(entry: Path) -> str | None:
    """The command line as a user would recognise it: the program and its words, without `-c key=value`."""
    try:
        raw = (entry / "cmdline").read_bytes()
    except OSError:
        return None
    words = [word.decode("utf-8", "replace") for word in raw.split(b"\0") if word]
    shown: list[str] = []
    skip = False
    for word in words:
        if skip or word == "-c":
            skip = not skip
            continue
        shown.append(word)
    return escape_unsafe(" ".join(shown)[:120]) if shown else None


def _is_git(command: str) -> bool:
    program = os.path.basename(command.split(" ", 1)[0])
    return program == "git" or program.startswith("git-")


def _link(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _within(target: str | None, folders: tuple[str, ...]) -> bool:
    return target is not None and any(target == folder or target.startswith(folder + "/") for folder in folders)


def _has_open_file(entry: Path, folders: tuple[str, ...]) -> bool:
    try:
        fds = list((entry / "fd").iterdir())
    except OSError:
        return False
    return any(_within(_link(fd), folders[1:]) for fd in fds)
