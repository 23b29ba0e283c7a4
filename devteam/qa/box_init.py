"""Started by bubblewrap inside the box (`python -I`, standard library only): fill the box, then exec the program.

The project arrives read-only (a throwaway copy without `.git`); the program gets its own writable copy inside
the box's size-limited tmpfs, so whatever it writes — 20 files of 32 MiB or one endless one — hits one cap
and vanishes with the box. Exit status 125 means the box could not be filled: not the program's failure.
"""

from __future__ import annotations

import os
import shutil
import sys

BOX_FAILED = 125


def main(argv: list[str]) -> None:
    source, project, home, tmp, separator, *program = argv
    if separator != "--" or not program:
        raise SystemExit("usage: box_init.py SOURCE PROJECT HOME TMP -- PROGRAM [ARGS...]")
    try:
        shutil.copytree(source, project, symlinks=True, dirs_exist_ok=True)
        os.makedirs(home, exist_ok=True)
        os.makedirs(tmp, exist_ok=True)
        os.chdir(project)
    except OSError as error:
        print(f"devteam box: cannot copy the project into the box: {error}", file=sys.stderr)
        raise SystemExit(BOX_FAILED) from None
    try:
        os.execv(program[0], program)
    except OSError as error:
        print(f"devteam box: cannot start {program[0]}: {error}", file=sys.stderr)
        raise SystemExit(BOX_FAILED) from None


if __name__ == "__main__":
    main(sys.argv[1:])
