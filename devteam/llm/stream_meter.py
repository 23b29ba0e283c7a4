"""How much of an answer has streamed in so far: for the live progress view, and for the record of a call that
a stop cut short.

A provider reports each streamed piece with `count_streamed`; whoever wants to watch a call (the progress view,
one activity per asyncio task) installs a counter with `metering`. The context variable keeps concurrent calls
apart: each file is written in its own task, and a task sees only the counter it installed. `tapping` adds a
second listener for the length of one call (the client keeps the partial answer of a call that never ends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

StreamCounter = Callable[[str], None]

_counter: ContextVar[StreamCounter | None] = ContextVar("devteam_stream_counter", default=None)
_tap: ContextVar[StreamTap | None] = ContextVar("devteam_stream_tap", default=None)


class StreamTap:
    """The text the current attempt of one call has streamed so far (a retry starts it afresh)."""

    def __init__(self) -> None:
        self.pieces: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def count_streamed(piece: str) -> None:
    if piece:
        counter = _counter.get()
        if counter is not None:
            counter(piece)
        tap = _tap.get()
        if tap is not None:
            tap.pieces.append(piece)


def metering(counter: StreamCounter | None) -> None:
    """Send the current task's streamed pieces to `counter` (None: to nobody)."""
    _counter.set(counter)


@contextmanager
def tapping() -> Iterator[StreamTap]:
    """Keep what the calls inside the block stream, in a `StreamTap` of their own."""
    tap = StreamTap()
    token = _tap.set(tap)
    try:
        yield tap
    finally:
        _tap.reset(token)


def new_attempt() -> None:
    """A retry sends the request again: what the cut attempt streamed is not part of the answer."""
    tap = _tap.get()
    if tap is not None:
        tap.pieces.clear()
