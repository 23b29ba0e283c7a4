"""One line per stage and per file as it starts and ends, with time, tokens and cost so far."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from devteam.llm.usage import Ledger


class Progress:
    def __init__(self, ledger: Ledger, *, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.ledger = ledger
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _emit(self, role: str, text: str) -> None:
        if self.quiet:
            return
        print(f"{self.elapsed:7.1f}s  {role:<15} {text}", file=self.stream, flush=True)

    def start(self, role: str, what: str) -> None:
        self._emit(role, f"{what} ...")

    def done(self, role: str, what: str) -> None:
        ledger = self.ledger
        tokens = ledger.prompt_tokens + ledger.completion_tokens
        self._emit(role, f"{what} done   [{len(ledger.calls)} calls, {tokens:,} tokens, ${ledger.cost:.4f} so far]")

    def note(self, role: str, text: str) -> None:
        self._emit(role, text)
