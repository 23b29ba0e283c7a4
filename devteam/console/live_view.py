"""The terminal view of a run: a spinner per call in flight with its elapsed time, streamed tokens and tokens/s,
the last lines of the answer as it streams in (unless `--no-show-text`), and a footer with the stage, files
done / planned, calls in flight, tokens and cost so far. Finished events scroll above it as the plain view's
lines, so the terminal keeps the same history a log file gets.

rich draws it (cursor moves, redraws, terminal width); nothing here writes escape codes by hand.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from devteam.core.untrusted_text import escape_unsafe

if TYPE_CHECKING:
    from devteam.console.progress import Progress

REFRESHES_PER_SECOND = 8
# The streaming answer's last lines shown under each call: enough to see a model loop, few enough for 4 files.
TEXT_LINES = 3


class LiveView:
    def __init__(self, progress: Progress, stream: TextIO, *, show_text: bool = True) -> None:
        self.progress = progress
        self.show_text = show_text
        # The console's streams escape every control character (model text must not drive the terminal); the
        # live view's own cursor moves go to the terminal itself, and the text it shows is escaped here instead.
        self.console = Console(file=getattr(stream, "wrapped", stream), highlight=False, soft_wrap=False)
        self._spinners: dict[int, Spinner] = {}
        self._live = Live(
            _Renderable(self),
            console=self.console,
            refresh_per_second=REFRESHES_PER_SECOND,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._handlers: list[tuple[logging.StreamHandler, TextIO | None]] = []
        self._started = False

    def line(self, text: str) -> None:
        self._ensure_started()
        self.console.print(Text(escape_unsafe(text)), soft_wrap=True)

    def changed(self) -> None:
        self._ensure_started()

    def close(self) -> None:
        if self._started:
            self._live.stop()
            self._started = False
            for handler, stream in self._handlers:
                handler.setStream(stream)
            self._handlers.clear()

    def _ensure_started(self) -> None:
        if self._started:
            return
        self._started = True
        self._live.start()
        # -v log lines (repair_..., retries) go through rich's console too, so they scroll above the live view
        # instead of tearing it.
        for handler in logging.getLogger("devteam").handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stderr, sys.stdout):
                self._handlers.append((handler, handler.setStream(_ConsoleWriter(self.console))))

    def render(self) -> RenderableType:
        now = time.monotonic()
        rows = Table.grid(padding=(0, 1))
        for activity in self.progress.in_flight():
            spinner = self._spinners.setdefault(id(activity), Spinner("dots"))
            streamed = activity.streamed_tokens
            rate = activity.tokens_per_second(now)
            figures = f"{now - activity.started:6.1f}s"
            if streamed:
                figures += f"  {streamed:,} tokens" + (f"  {rate:.1f} tok/s" if rate is not None else "")
            else:
                figures += "  waiting for the first token"
            rows.add_row(
                spinner,
                Text(escape_unsafe(f"{activity.role:<15} {activity.what}"), overflow="ellipsis", no_wrap=True),
                Text(figures, style="dim"),
            )
            if self.show_text:
                for text_line in last_lines(activity.tail, TEXT_LINES):
                    rows.add_row("", Text(escape_unsafe(text_line), style="dim", overflow="ellipsis", no_wrap=True))
        tally = self.progress.tally
        files = f" · files {tally.files_done}/{tally.files_planned}" if tally.files_planned is not None else ""
        calls = self.progress.ledger.calls_in_flight
        flying = f" · {calls} call{'s' if calls != 1 else ''} in flight" if calls else ""
        footer = Text(
            escape_unsafe(f"{self.progress.elapsed:7.1f}s  {tally.stage}{files}{flying} · {self.progress.so_far()}"),
            style="bold",
            overflow="ellipsis",
            no_wrap=True,
        )
        return Group(rows, footer)


def last_lines(text: str, count: int) -> list[str]:
    """The last `count` non-blank lines of `text`, tabs as spaces (the answer's tail as the view shows it)."""
    lines = [line.replace("\t", "    ").rstrip() for line in text.splitlines()]
    return [line for line in lines if line.strip()][-count:]


class _Renderable:
    """Rebuilt on every refresh, so elapsed times tick while a call waits for its first token."""

    def __init__(self, view: LiveView) -> None:
        self.view = view

    def __rich__(self) -> RenderableType:
        return self.view.render()


class _ConsoleWriter:
    """A file-like that prints through the console (above the live view)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def write(self, text: str) -> int:
        if text.strip():
            self.console.print(Text(escape_unsafe(text.rstrip("\n"))), soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        pass
