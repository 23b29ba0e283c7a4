"""Started by the sandbox inside its new network namespace: bring the loopback up, then exec the program.

A new namespace starts with `lo` down, so a generated web server and its own tests could not even talk over
127.0.0.1. Run with `python -I` (so nothing of the project shadows the standard library) and only the standard
library, before the program replaces this process.
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
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
