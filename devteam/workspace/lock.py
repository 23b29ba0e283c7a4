"""One run per project at a time: an exclusive lock on `<project>/.git/devteam.lock`, held for the whole run.

An OS lock (flock, or msvcrt's on Windows) rather than a lock file's mere existence: the kernel drops it when
the process ends, however it ends, so a killed run never leaves a project locked. It lives in `.git/`, which
git ignores and no planned file may touch.
"""

from __future__ import annotations

import os
from pathlib import Path

from devteam.core.errors import WorkspaceError

LOCK_NAME = "devteam.lock"

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


class ProjectBusyError(WorkspaceError):
    """Another run holds the project right now."""


class ProjectLock:
    """Acquire with `ProjectLock.acquire(git_dir, root)`; `release` at the end of the run (idempotent)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, git_dir: Path, root: Path) -> ProjectLock:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(git_dir / LOCK_NAME, flags, 0o644)
        except OSError as error:
            raise WorkspaceError(f"cannot lock the project {root}: {error}") from error
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            raise ProjectBusyError(
                f"another devteam run is using the project {root} right now; wait for it to finish "
                "(then --resume or --inc it), or choose another --project-name"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # the pid is only a hint for a curious user; the lock is what counts
        return cls(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)


def _lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
