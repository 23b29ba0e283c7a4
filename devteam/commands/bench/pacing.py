"""How many projects of a bench run at once: as many as each server serves, learnt the way a run learns it.

Every project's calls to one server pass one shared `ServerGate` (see `devteam.llm.concurrency`). The gate is
told the server's slots before the first project (llama.cpp's `GET /props`), and it turns serial when a
streamed answer is cut while another call was in flight (llama-cpp-python's server cuts the answer it streams
when a new request arrives). A serial server gets one project at a time from then on; the others keep
`--concurrency` (default 2), or the slots their server reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from devteam.config.settings import Config
from devteam.llm.concurrency import ServerGate
from devteam.llm.factory import build_llm
from devteam.llm.usage import Ledger

DEFAULT_CONCURRENCY = 2


@dataclass
class ServerPace:
    """One server as the bench sees it: its gate (shared with every run to it), its slots, projects running."""

    gate: ServerGate
    slots: int | None
    running: int = 0
    announced_serial: bool = False


async def probe_server(config: Config) -> ServerPace:
    """The shared gate of the contender's server, told what the server says of its slots (nothing is asked of
    a server that has no such endpoint). Call inside `shared_gates()`."""
    llm = build_llm(config.llm, ledger=Ledger(investment=0.0))
    try:
        parallel_slots = getattr(llm.provider, "parallel_slots", None)
        slots = await parallel_slots() if parallel_slots is not None else None
        llm.gate.note_slots(slots)
        return ServerPace(gate=llm.gate, slots=slots)
    finally:
        await llm.aclose()


class Pacer:
    """Lets a project start when its server, and the bench as a whole, have room for one more."""

    def __init__(self, ceiling: int | None) -> None:
        self.ceiling = ceiling  # --concurrency, when given
        self.running = 0
        self._changed = asyncio.Condition()

    def limit(self, pace: ServerPace) -> int:
        if pace.gate.serial:
            return 1
        wanted = pace.slots or self.ceiling or DEFAULT_CONCURRENCY
        return max(1, min(wanted, self.ceiling or wanted))

    def describe(self, pace: ServerPace) -> str:
        limit = self.limit(pace)
        if pace.gate.serial:
            return f"1 at a time (the server {pace.gate.reason})"
        if pace.slots:
            return f"{limit} at a time (the server serves {pace.slots} at once)"
        return f"{limit} at a time, 1 once the server shows it serves one request at a time"

    @asynccontextmanager
    async def turn(self, pace: ServerPace) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(
                lambda: pace.running < self.limit(pace) and (self.ceiling is None or self.running < self.ceiling)
            )
            pace.running += 1
            self.running += 1
        try:
            yield
        finally:
            async with self._changed:
                pace.running -= 1
                self.running -= 1
                self._changed.notify_all()
