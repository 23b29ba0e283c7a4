"""Run the real `metagpt` on a pseudo-terminal, as a user at a terminal would, and read what it drew."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

from cli_runner import CliResult, clean_env, metagpt_command


def run_metagpt_on_pty(
    args: list[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    columns: int = 100,
    rows: int = 30,
    timeout: float = 120,
    typed: str = "",
) -> CliResult:
    """stdin, stdout and stderr are one terminal `columns` wide; the output is everything written to it.
    `typed` is what the user types, sent at once (the terminal holds it until the program reads a line)."""
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    environment = dict(env or clean_env(home))
    environment.setdefault("TERM", "xterm-256color")
    environment.pop("COLUMNS", None)
    environment.pop("LINES", None)
    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(
        [*metagpt_command(), *args],
        cwd=cwd,
        env=environment,
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        close_fds=True,
        start_new_session=True,
    )
    os.close(child_fd)
    if typed:
        os.write(main_fd, typed.encode())
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main_fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(main_fd, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        else:
            process.kill()
            raise TimeoutError(f"metagpt {' '.join(args)} ran past {timeout}s on the terminal")
        code = process.wait(timeout=10)
    finally:
        os.close(main_fd)
    text = b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")
    return CliResult(code, text, "")
