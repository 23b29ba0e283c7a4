"""Ctrl-C and SIGTERM stop a run the same way: the run's task is cancelled, the files already answered are
written and committed, and the run ends with the resume command.

The signal is remembered in a `StopRequest`, so `run_company` can tell a stop the user asked for (reported as
an interrupted run) from a cancellation by its caller (an `asyncio.wait_for`, a task group), which it must let
through. Handlers go on the event loop rather than Python's default SIGINT handler, so the stop lands at the
next `await` — never in the middle of a commit — on every Python version the project supports.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable

SIGNAL_NAMES: dict[int, str] = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class StopRequest:
    """Which signal asked the run to stop; None while nobody has."""

    def __init__(self) -> None:
        self.signal: int | None = None

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def describe(self) -> str:
        return SIGNAL_NAMES.get(self.signal, f"signal {self.signal}") if self.signal is not None else "not stopped"

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM)."""
        return 128 + int(self.signal or signal.SIGINT)


def install_stop_signals(stop: StopRequest, task: asyncio.Task[object]) -> Callable[[], None]:
    """Make SIGINT and SIGTERM cancel `task` once (later signals wait for the commit); returns the undo."""
    loop = asyncio.get_running_loop()
    installed: list[int] = []

    def on_signal(number: int) -> None:
        if stop.signal is None:
            stop.signal = number
            task.cancel()
        else:
            print("\nmetagpt: stopping; committing the files already answered first", file=sys.stderr, flush=True)

    for number in SIGNAL_NAMES:
        try:
            loop.add_signal_handler(number, on_signal, number)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
            continue
        installed.append(number)

    def uninstall() -> None:
        for number in installed:
            loop.remove_signal_handler(number)

    return uninstall
