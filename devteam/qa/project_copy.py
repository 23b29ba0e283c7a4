"""The throwaway copy of a project that generated code gets: its files, never its `.git` or devteam's record.

The copy is what the box mounts, so a test that rewrites `.git/config`, plants a hook, turns `.devteam/*` into
FIFOs or leaves a link where the next QA report goes changes a folder devteam deletes afterwards, never the
repository devteam commits to. Only regular files and folders are copied: a link in the project could point
anywhere on this machine, and a FIFO or device could block the copy.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

# Never handed to generated code: git's folder (its config runs programs), the run record (prompts, answers),
# the packages `--qa-install` made (mounted read-only on their own).
SKIPPED = frozenset({".git", ".devteam", ".venv"})


def copy_project(root: Path, into: Path) -> Path:
    """Copy the regular files and folders of `root` to the new folder `into` (returned)."""
    into.mkdir(parents=True)
    _copy_folder(root, into, top=True)
    return into


def _copy_folder(source: Path, target: Path, *, top: bool) -> None:
    with os.scandir(source) as entries:
        for entry in entries:
            if top and entry.name in SKIPPED:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                (target / entry.name).mkdir()
                _copy_folder(Path(entry.path), target / entry.name, top=False)
            elif stat.S_ISREG(info.st_mode):
                _copy_file(Path(entry.path), target / entry.name)


def _copy_file(source: Path, target: Path) -> None:
    # O_NOFOLLOW | O_NONBLOCK: a file swapped for a link or a FIFO after the scan is refused, not followed or
    # waited on.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(source, flags)
    except OSError:
        return
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            return
        with open(target, "wb") as out:
            shutil.copyfileobj(src, out)


def scratch_folder() -> Path:
    """A private temporary folder for one box run (removed by the caller)."""
    return Path(tempfile.mkdtemp(prefix="devteam-box-"))
