"""How much of an answer has streamed in so far, for the live progress view.

A provider reports each streamed piece with `count_streamed`; whoever wants to watch a call (the progress view,
one activity per asyncio task) installs a counter with `metering`. The context variable keeps concurrent calls
apart: each file is written in its own task, and a task sees only the counter it installed.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

StreamCounter = Callable[[str], None]

_counter: ContextVar[StreamCounter | None] = ContextVar("devteam_stream_counter", default=None)


def count_streamed(piece: str) -> None:
    if piece:
        counter = _counter.get()
        if counter is not None:
            counter(piece)


def metering(counter: StreamCounter | None) -> None:
    """Send the current task's streamed pieces to `counter` (None: to nobody)."""
    _counter.set(counter)
