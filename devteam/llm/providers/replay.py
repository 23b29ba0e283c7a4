"""`api_type: replay` / `--replay RECORD.jsonl`: every call answered from a recorded run, no network.

Calls are matched by (role, action, subject), not by position: the files of one plan level are written
concurrently, so the order of their calls differs between runs, while the calls for one key (an answer, its
re-ask, its syntax fix) always come in the same order.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

from devteam.core.errors import ConfigError, ReplayMismatchError
from devteam.llm.record_file import EXCHANGES, INTERRUPTED, read_exchanges
from devteam.llm.types import Capabilities, ChatRequest, ChatResponse, TokenCount, Usage
from devteam.llm.usage import estimated_count

log = logging.getLogger("devteam.llm")

Key = tuple[str, str, str]
_LISTED_KEYS = 6  # how many remaining calls a mismatch message names


def describe_key(key: Key) -> str:
    return " ".join(part for part in key if part)


class ReplayProvider:
    """Pops the next recorded answer for the request's key; a call the record lacks is `ReplayMismatchError`."""

    name = "replay"
    # All off: requests are prompt-mode, like a server that ignores response_format.
    capabilities = Capabilities()

    def __init__(self, *, record: Path, model: str = "", context_length: int | None = None) -> None:
        self.record = record
        exchanges = read_exchanges(record)
        self.model = model or str(exchanges[0].get("model") or "replay")
        self._window = context_length
        self._queues: dict[Key, deque[dict[str, Any]]] = {}
        self._used: dict[Key, int] = {}
        self._mismatched = False
        for exchange in exchanges:
            if exchange.get("outcome") == INTERRUPTED:
                continue  # a call a stop cut short: its half answer was never used, so it answers nothing now
            self._queues.setdefault(key_of(exchange), deque()).append(exchange)

    def describe(self) -> str:
        return f"replay of {self.record}"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        key = (request.role, request.action, request.subject)
        queue = self._queues.get(key)
        if not queue:
            self._mismatched = True
            raise ReplayMismatchError(self._mismatch(key))
        started = time.perf_counter()
        exchange = queue.popleft()
        self._used[key] = self._used.get(key, 0) + 1
        return ChatResponse(
            text=exchange["answer"],
            finish_reason=exchange.get("finish_reason"),
            usage=Usage(
                prompt_tokens=int(exchange.get("prompt_tokens") or 0),
                completion_tokens=int(exchange.get("completion_tokens") or 0),
                estimated=bool(exchange.get("usage_estimated", False)),
            ),
            model=str(exchange.get("model") or self.model),
            reasoning=str(exchange.get("reasoning") or ""),
            latency_s=time.perf_counter() - started,
        )

    def remaining(self) -> dict[Key, int]:
        return {key: len(queue) for key, queue in self._queues.items() if queue}

    def _mismatch(self, key: Key) -> str:
        used = self._used.get(key, 0)
        if used:
            problem = f"the record held {used} answer(s) for this call and all were used"
        else:
            problem = "the record holds no answer for this call"
        left = self.remaining()
        if left:
            names = [f"{describe_key(k)} (x{n})" if n > 1 else describe_key(k) for k, n in list(left.items())]
            more = f" and {len(names) - _LISTED_KEYS} more" if len(names) > _LISTED_KEYS else ""
            holds = f"it still holds: {', '.join(names[:_LISTED_KEYS])}{more}"
        else:
            holds = "every answer it holds was already used"
        return (
            f"replay: the pipeline asked for {describe_key(key)} but {problem} ({self.record}); {holds}. "
            "Replay the record with the idea and options of the run that made it, or record a new run."
        )

    async def context_window(self) -> int | None:
        return self._window

    async def count_tokens(self, text: str) -> TokenCount:
        return estimated_count(text)

    async def list_models(self) -> list[str]:
        return [self.model]

    async def aclose(self) -> None:
        left = self.remaining()
        if left and not self._mismatched:  # after a mismatch, answers left over are expected
            log.warning(
                "replay: %d recorded answer(s) were not asked for (%s)",
                sum(left.values()),
                ", ".join(describe_key(key) for key in list(left)[:_LISTED_KEYS]),
            )


def key_of(exchange: dict[str, Any]) -> Key:
    return (str(exchange["role"]), str(exchange["action"]), str(exchange.get("subject") or ""))


def build_replay(
    *, replay_file: str | None = None, model: str = "", context_length: int | None = None, **_transport: Any
) -> ReplayProvider:
    """The registry's factory: a recording needs no URL, key or sampling settings."""
    if not replay_file:
        raise ConfigError(
            f"api_type replay needs replay_file: PATH (a run's .devteam/{EXCHANGES}), or pass --replay PATH"
        )
    return ReplayProvider(record=Path(replay_file).expanduser(), model=model, context_length=context_length)
