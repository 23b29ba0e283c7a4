"""Console log lines that name their project: a bench runs several projects in one process, and a line such as
`retry 1/4 after 5s: ... cut mid-answer` is no help unless it says whose call it was.

The project is a context variable set by the task that runs it (asyncio tasks and `asyncio.to_thread` carry it);
only the console handlers present when the bench starts prefix it, so the runs' own records stay as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_PROJECT: ContextVar[str | None] = ContextVar("devteam_bench_project", default=None)


def set_project_tag(tag: str) -> None:
    """Tag the log lines of the current task (and what it starts) with `tag`, e.g. `model/idea01_snake_…`."""
    _PROJECT.set(tag)


class _TaggedFormatter(logging.Formatter):
    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        tag = _PROJECT.get()
        return f"[{tag}] {text}" if tag else text


@contextmanager
def tagged_console(logger_name: str = "devteam") -> Iterator[None]:
    """While the bench runs, the console handlers of `logger_name` put the project before each line."""
    handlers = list(logging.getLogger(logger_name).handlers)
    before = [handler.formatter for handler in handlers]
    for handler, formatter in zip(handlers, before):
        handler.setFormatter(_TaggedFormatter(formatter))
    try:
        yield
    finally:
        for handler, formatter in zip(handlers, before):
            handler.setFormatter(formatter)
