"""How many calls a server takes at once: as many as the run sends, until it shows it serves one at a time.

llama.cpp's server says so in `GET /props` (`total_slots`); llama-cpp-python's says nothing and, by default,
cuts the answer it is streaming when another request arrives — so concurrent calls cut each other and their
retries go on cutting. Either sign switches the gate to one call at a time for the rest of the run, with a log
line; a call that still fails after cuts seen under concurrency says to run with `--max-concurrency 1`.

Several runs in one process (`metagpt bench`) share one gate per server inside `shared_gates()`, so a cut that one
project's call causes in another's makes them all queue, as the calls of one run do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from devteam.core.errors import ProviderError

log = logging.getLogger("devteam.llm")

T = TypeVar("T")

ONE_AT_A_TIME_HINT = (
    "The server cut streamed answers while other requests to it were in flight: it serves one request at a "
    "time (llama-cpp-python's server does this by default). Run with --max-concurrency 1 (or max_concurrency: 1 "
    "in config2.yaml)."
)


class ServerGate:
    """Every attempt to one server passes here; once the server is known to be serial, attempts queue."""

    def __init__(self, describe: str) -> None:
        self.describe = describe
        self.serial = False
        self.reason: str | None = None
        self.in_flight = 0
        self.cuts_while_busy = 0
        self._one_at_a_time = asyncio.Lock()

    def go_serial(self, reason: str) -> None:
        if self.serial:
            return
        self.serial, self.reason = True, reason
        log.warning("concurrency: %s %s; making one call at a time for the rest of the run", self.describe, reason)

    def note_slots(self, slots: int | None) -> None:
        """What the server says of itself (llama.cpp's `GET /props` `total_slots`)."""
        if slots == 1:
            self.go_serial("serves one request at a time (GET /props: total_slots=1)")

    async def attempt(self, fn: Callable[[], Awaitable[T]]) -> T:
        """One attempt of a call: queued behind the others when the server is serial."""
        if self.serial:
            async with self._one_at_a_time:
                return await self._counted(fn)
        return await self._counted(fn)

    async def _counted(self, fn: Callable[[], Awaitable[T]]) -> T:
        self.in_flight += 1
        try:
            return await fn()
        except ProviderError as error:
            others = self.in_flight - 1
            if error.cut and others > 0:
                self.cuts_while_busy += 1
                self.go_serial(
                    f"cut a streamed answer while {others} other request(s) were in flight: "
                    "it serves one request at a time"
                )
            raise
        finally:
            self.in_flight -= 1

    def explain(self, error: ProviderError) -> ProviderError:
        """The final error of a call, naming concurrency when cuts under concurrency were seen on the way."""
        if not self.cuts_while_busy or ONE_AT_A_TIME_HINT in str(error):
            return error
        # In place: the error keeps its type (what failed), only its message gains the hint.
        error.args = (f"{error} {ONE_AT_A_TIME_HINT}", *error.args[1:])
        return error


# The gates shared by the runs of one `shared_gates()` scope (the bench's projects), keyed by the server's description.
_SHARED: ContextVar[dict[str, ServerGate] | None] = ContextVar("devteam_shared_gates", default=None)


def gate_for(describe: str) -> ServerGate:
    """This server's gate: the one every run in the current `shared_gates()` scope uses, else a new one."""
    shared = _SHARED.get()
    if shared is None:
        return ServerGate(describe)
    if describe not in shared:
        shared[describe] = ServerGate(describe)
    return shared[describe]


@contextmanager
def shared_gates() -> Iterator[dict[str, ServerGate]]:
    """Within this scope (and the tasks it starts) every `LLM` to one server passes the same gate."""
    gates: dict[str, ServerGate] = {}
    token = _SHARED.set(gates)
    try:
        yield gates
    finally:
        _SHARED.reset(token)
