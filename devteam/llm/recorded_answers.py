"""Answers a project's earlier runs already paid for, given again by `--resume` instead of asked again.

A stopped run commits each stage when it ends, and `--resume` skips what is committed. Between an answer and
its commit, though, a run can stop (Ctrl-C, a server that dies): a file answered while a hollow function of it
was being filled, a review that came back while a neighbour failed, one of two fixes of a QA round. Those
answers are in the project's record (`.devteam/exchanges.jsonl`, appended by every run), so a resume that sends
the very same prompt (role, action, subject and every message byte-identical) gets the recorded answer back
without a call. The prompts are deterministic from what is committed, so a resume re-runs the earlier run's
steps for free until it reaches the first call that was never answered, and only from there pays.

What is never given again: a call a stop cut short (its half answer was never used), an answer that was itself
given again (its original is in the record already), and the last answer of a call that ended unusable (a
give-up, or the one a run stopped after): giving that one again would only fail the same way, so the resume
asks the server for a new one instead.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from devteam.llm.record_file import EXCHANGES, INTERRUPTED, RECORD_DIR
from devteam.llm.types import OUTPUT_LEVELS, SCHEMA_LEVELS, ChatRequest, ChatResponse, Usage

log = logging.getLogger("devteam.llm")

Key = tuple[str, str, str, str]
USABLE = "ok"
# A record past this size is not read for reuse (it is still the run's record): a resume then asks anew.
MAX_RECORD_BYTES = 256 * 1024 * 1024
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NON_BLOCK = getattr(os, "O_NONBLOCK", 0)


def request_key(role: str, action: str, subject: str, messages: list[dict[str, str]]) -> Key:
    return (role, action, subject, json.dumps(messages, ensure_ascii=False, sort_keys=True))


class RecordedAnswers:
    """The reusable answers of a record, by exact request; each is given once, in the order it was received."""

    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        self._queues: dict[Key, deque[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.given = 0
        for exchange in _reusable(exchanges):
            key = request_key(
                exchange["role"], exchange["action"], str(exchange.get("subject") or ""), exchange["messages"]
            )
            self._queues.setdefault(key, deque()).append(exchange)

    @classmethod
    def of_project(cls, root: Path) -> RecordedAnswers:
        """The answers in `<root>/.devteam/exchanges.jsonl`; none (with a warning) when it cannot be read safely."""
        path = root / RECORD_DIR / EXCHANGES
        text = _read_regular(path)
        return cls(_parse(text, path) if text else [])

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def take(self, request: ChatRequest) -> ChatResponse | None:
        """The next recorded answer to exactly this request, or None: then the server is asked."""
        key = request_key(request.role, request.action, request.subject, [m.as_dict() for m in request.messages])
        with self._lock:
            queue = self._queues.get(key)
            if not queue:
                return None
            exchange = queue.popleft()
            self.given += 1
        mode = exchange.get("output_mode")
        output_mode = mode if mode in OUTPUT_LEVELS else request.output_mode
        started = time.perf_counter()
        return ChatResponse(
            text=exchange["answer"],
            finish_reason=_str_or_none(exchange.get("finish_reason")),
            # Nothing is paid now: the tokens were counted by the run that asked.
            usage=Usage(0, 0),
            model=str(exchange.get("model") or ""),
            reasoning=str(exchange.get("reasoning") or ""),
            native_schema=output_mode in SCHEMA_LEVELS,
            output_mode=output_mode,
            latency_s=time.perf_counter() - started,
            reused=True,
        )


def _reusable(exchanges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every answer that was used or led on to the next step of its call (see the module's docstring)."""
    shaped = [e for e in exchanges if _well_shaped(e) and not e.get("reused")]
    last: dict[tuple[object, str, str, str], int] = {}
    for index, exchange in enumerate(shaped):
        last[(exchange.get("run"), exchange["role"], exchange["action"], str(exchange.get("subject") or ""))] = index
    # A call's last answer that was unusable ended it (or the run); one a stop cut short led nowhere either. An
    # unusable answer followed by an interrupted call did lead on: to the re-ask the stop cut short.
    ended = {index for index in last.values() if shaped[index].get("outcome", USABLE) != USABLE}
    return [
        exchange
        for index, exchange in enumerate(shaped)
        if index not in ended and exchange.get("outcome") != INTERRUPTED
    ]


def _well_shaped(exchange: dict[str, Any]) -> bool:
    """A line of the record is model output kept on disk: used only when every field read has its type."""
    messages = exchange.get("messages")
    return (
        isinstance(exchange.get("role"), str)
        and isinstance(exchange.get("action"), str)
        and isinstance(exchange.get("subject", ""), str)
        and isinstance(exchange.get("answer"), str)
        and isinstance(exchange.get("outcome", USABLE), str)
        and isinstance(messages, list)
        and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        )
    )


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _parse(text: str, path: Path) -> list[dict[str, Any]]:
    exchanges = []
    skipped = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            skipped += 1  # a torn last line (a run killed mid-write) or a damaged one: that answer is asked anew
            continue
        if isinstance(data, dict):
            exchanges.append(data)
    if skipped:
        log.warning("%s: %d line(s) could not be read; their calls are asked again", path, skipped)
    return exchanges


def _read_regular(path: Path) -> str:
    """The file's text when it is a regular file (never through a link, never waiting on a FIFO), else ""."""
    try:
        fd = os.open(path, os.O_RDONLY | _NO_FOLLOW | _NON_BLOCK)
    except FileNotFoundError:
        return ""
    except OSError as error:
        reason = "a symbolic link" if error.errno == errno.ELOOP else str(error)
        log.warning("the record %s is not read for reuse (%s); its answers are asked again", path, reason)
        return ""
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            log.warning("the record %s is not a regular file; its answers are asked again", path)
            return ""
        if info.st_size > MAX_RECORD_BYTES:
            log.warning("the record %s is over %d MiB; its answers are asked again", path, MAX_RECORD_BYTES >> 20)
            return ""
        return handle.read(MAX_RECORD_BYTES).decode("utf-8", errors="replace")
