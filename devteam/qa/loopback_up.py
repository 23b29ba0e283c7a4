"""Started by the sandbox inside its new namespaces: bring the loopback up, then run the program as the namespace's
only child and wait for it.

A new network namespace starts with `lo` down, so a generated web server and its own tests could not even talk over
127.0.0.1. In a PID namespace of its own (`unshare --pid --fork`) this launcher is process 1: it starts the program
and waits, reaping what the program leaves, and when the program ends it exits with the program's status (128 + the
signal, as bubblewrap's init and a shell report one) — and with process 1 gone the kernel kills every process
left in the namespace, daemons and children that started sessions of their own included. Run with `python -I` (so
nothing of the project shadows the standard library) and only the standard library.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import sys

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sh22x"  # struct ifreq: the name, then the flags, padded to its 40 bytes


def main(argv: list[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = struct.unpack(_IFREQ, fcntl.ioctl(sock, SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0)))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | IFF_UP))
    if os.getpid() != 1:
        os.execv(argv[0], argv)
    raise SystemExit(run_as_init(argv))


def run_as_init(argv: list[str]) -> int:
    """Start `argv`, reap every child until it ends, and return its status as a shell would."""
    program = os.fork()
    if program == 0:
        try:
            os.execv(argv[0], argv)
        except OSError as error:
            print(f"devteam sandbox: cannot start {argv[0]}: {error}", file=sys.stderr)
            os._exit(127)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 127
        except InterruptedError:
            continue
        if pid == program:
            return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


if __name__ == "__main__":
    main(sys.argv[1:])
