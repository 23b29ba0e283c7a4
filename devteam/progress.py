"""One line per stage and per file as it starts and ends, with time, tokens and cost so far.

Listeners get the same start/done/note events as data, so the run record can time each stage without the
roles knowing a record exists.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, Literal, TextIO

from devteam.llm.usage import Ledger


@dataclass(frozen=True)
class StageEvent:
    """A stage starting or ending (`text` is what the progress line says), `elapsed` seconds into the run."""

    kind: Literal["start", "done", "note"]
    role: str
    text: str
    elapsed: float
    detail: str = ""


ProgressListener = Callable[[StageEvent], None]


class Progress:
    def __init__(
        self,
        ledger: Ledger,
        *,
        stream: TextIO | None = None,
        quiet: bool = False,
        listeners: list[ProgressListener] | None = None,
    ) -> None:
        self.ledger = ledger
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.listeners: list[ProgressListener] = list(listeners or [])
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _emit(self, role: str, text: str) -> None:
        if self.quiet:
            return
        print(f"{self.elapsed:7.1f}s  {role:<15} {text}", file=self.stream, flush=True)

    def _tell(self, kind: Literal["start", "done", "note"], role: str, text: str, detail: str = "") -> None:
        event = StageEvent(kind, role, text, self.elapsed, detail)
        for listener in self.listeners:
            listener(event)

    def start(self, role: str, what: str) -> None:
        self._emit(role, f"{what} ...")
        self._tell("start", role, what)

    def done(self, role: str, what: str, *, detail: str = "") -> None:
        """`what` is the text given to `start`, so a listener can pair them; `detail` says how it went."""
        ledger = self.ledger
        tokens = ledger.prompt_tokens + ledger.completion_tokens
        said = f"{what} done" + (f" ({detail})" if detail else "")
        self._emit(role, f"{said}   [{len(ledger.calls)} calls, {tokens:,} tokens, {ledger.cost_text()} so far]")
        self._tell("done", role, what, detail)

    def note(self, role: str, text: str) -> None:
        self._emit(role, text)
        self._tell("note", role, text)
