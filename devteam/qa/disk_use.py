"""How much of this machine's disk a folder the box writes to takes, and removing it when it took too much.

`--qa-install` fills `<project>/.venv` from inside the box through a writable mount: the one place where what
the box writes lands on the host's disk rather than in its size-limited tmpfs. RLIMIT_FSIZE caps one file;
this caps them all together (measured as the blocks they take, each hard-linked file once, links not followed).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any


def used_bytes(folder: Path, *, stop_above: int | None = None) -> int:
    """The disk space the files under `folder` take; counting stops early once past `stop_above`."""
    total = 0
    seen: set[tuple[int, int]] = set()
    pending = [str(folder)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                pending.append(entry.path)
            key = (info.st_dev, info.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += max(getattr(info, "st_blocks", 0) * 512, 0) or info.st_size
            if stop_above is not None and total > stop_above:
                return total
    return total


def remove_folder(folder: Path) -> None:
    """Remove `folder` and everything in it, links removed and never followed, read-only folders opened first."""
    if folder.is_symlink() or not folder.exists():
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=_force)
    else:
        shutil.rmtree(folder, onerror=_force)


def _force(_function: Any, path: str, _info: Any) -> None:
    try:
        os.chmod(os.path.dirname(path), 0o700)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass
