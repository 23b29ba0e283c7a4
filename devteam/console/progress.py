"""What the user sees while a run works: one line per stage and per file as it starts and ends, with time,
tokens and cost so far — and, on a terminal, a live view of the calls in flight.

Listeners get the same start/done/note events as data, so the run record can time each stage without the
roles knowing a record exists. The roles never print: they tell `Progress`, and a view draws it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TextIO

from devteam.llm.stream_meter import metering
from devteam.llm.usage import Ledger, estimate_tokens

# How much of a streaming answer each activity keeps for the live view (a few screen lines' worth).
TAIL_CHARS = 2000


@dataclass(frozen=True)
class StageEvent:
    """A stage starting or ending (`text` is what the progress line says), `elapsed` seconds into the run."""

    kind: Literal["start", "done", "note"]
    role: str
    text: str
    elapsed: float
    detail: str = ""


ProgressListener = Callable[[StageEvent], None]


@dataclass
class Activity:
    """One thing in flight (a stage, or one file): what it is, since when, how much answer has streamed in."""

    role: str
    what: str
    started: float
    streamed_chars: int = 0
    first_piece: float | None = None
    # The end of the answer streaming in (the live view shows its last lines, so a looping model is visible).
    tail: str = ""

    def add(self, piece: str) -> None:
        if self.first_piece is None:
            self.first_piece = time.monotonic()
        self.streamed_chars += len(piece)
        self.tail = (self.tail + piece)[-TAIL_CHARS:]

    @property
    def streamed_tokens(self) -> int:
        return estimate_tokens("x" * self.streamed_chars) if self.streamed_chars else 0

    def tokens_per_second(self, now: float) -> float | None:
        if self.first_piece is None or now - self.first_piece < 0.5:
            return None
        return self.streamed_tokens / (now - self.first_piece)


@dataclass
class RunTally:
    """The footer's figures: files done of those planned, and the stage last reported."""

    files_planned: int | None = None
    files_done: int = 0
    stage: str = ""
    in_flight: dict[int, Activity] = field(default_factory=dict)


class ProgressView(Protocol):
    def line(self, text: str) -> None: ...
    def changed(self) -> None: ...
    def close(self) -> None: ...


class PlainView:
    """One line per event: for pipes, files, CI logs and `--plain`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def changed(self) -> None:
        pass

    def close(self) -> None:
        pass


class Progress:
    def __init__(
        self,
        ledger: Ledger,
        *,
        stream: TextIO | None = None,
        quiet: bool = False,
        listeners: list[ProgressListener] | None = None,
        view: Callable[[Progress, TextIO], ProgressView] | None = None,
    ) -> None:
        self.ledger = ledger
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.listeners: list[ProgressListener] = list(listeners or [])
        self.started = time.monotonic()
        self.tally = RunTally()
        self._lock = threading.Lock()
        # The view is handed in (the live one imports rich, only for a terminal); plain lines otherwise.
        self.view: ProgressView = view(self, self.stream) if view is not None and not quiet else PlainView(self.stream)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _emit(self, role: str, text: str) -> None:
        if self.quiet:
            return
        self.view.line(f"{self.elapsed:7.1f}s  {role:<15} {text}")

    def _tell(self, kind: Literal["start", "done", "note"], role: str, text: str, detail: str = "") -> None:
        event = StageEvent(kind, role, text, self.elapsed, detail)
        for listener in self.listeners:
            listener(event)

    def so_far(self) -> str:
        ledger = self.ledger
        tokens = ledger.prompt_tokens + ledger.completion_tokens
        calls = len(ledger.calls)
        return f"{calls} call{'s' if calls != 1 else ''}, {tokens:,} tokens, {ledger.cost_text()} so far"

    def start(self, role: str, what: str) -> None:
        """Called in the task that does the work: the answer it streams is counted for this activity."""
        activity = Activity(role, what, time.monotonic())
        with self._lock:
            self.tally.in_flight[id(activity)] = activity
            self.tally.stage = f"{role}: {what}"
        metering(activity.add)
        self._emit(role, f"{what} ...")
        self._tell("start", role, what)
        self.view.changed()

    def done(self, role: str, what: str, *, detail: str = "", file_written: bool = False) -> None:
        """`what` is the text given to `start`, so a listener can pair them; `detail` says how it went;
        `file_written` counts one more planned file done in the footer."""
        with self._lock:
            for key, activity in list(self.tally.in_flight.items()):
                if (activity.role, activity.what) == (role, what):
                    del self.tally.in_flight[key]
                    break
            if file_written:
                self.tally.files_done += 1
        metering(None)
        said = f"{what} done" + (f" ({detail})" if detail else "")
        self._emit(role, f"{said}   [{self.so_far()}]")
        self._tell("done", role, what, detail)
        self.view.changed()

    def note(self, role: str, text: str) -> None:
        self._emit(role, text)
        self._tell("note", role, text)

    def expect_files(self, count: int) -> None:
        """The Engineer's plan: how many files the footer counts towards."""
        with self._lock:
            self.tally.files_planned = count
        self.view.changed()

    def in_flight(self) -> list[Activity]:
        with self._lock:
            return sorted(self.tally.in_flight.values(), key=lambda activity: activity.started)

    def close(self) -> None:
        self.view.close()
