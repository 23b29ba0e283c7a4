"""How fast a server reads prompts and writes answers, and what that means for a project: measured by
`metagpt check` with one short call, cached per server and model, and repeated by the run header.

A laptop CPU running a small model writes 3 to 30 tokens a second and may take as long to read a prompt as to
write an answer; a user should know before the first run whether a project takes two minutes or an hour.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from devteam.core.prompting import render_prompt
from devteam.llm.cache_file import JsonCacheFile
from devteam.llm.client import LLM
from devteam.llm.output_levels import default_cache_path
from devteam.llm.types import MIN_MEASURED_S, ChatMessage, ChatRequest

log = logging.getLogger("devteam.llm")

CACHE_FILE = "server_speed.json"
ROLE, ACTION = "Check", "Speed"
# The measuring call: a prompt of about 600 tokens to read and an answer of at most 64 tokens to write.
SPEED_PROMPT_LINES = 24
SPEED_ANSWER_TOKENS = 64

# A typical project, the one place the estimate's figures live. From the run records: `metagpt demo`'s snake
# game (devteam/demos/snake_game.jsonl) makes 8 writing calls of 25,200 prompt and 10,900 answer tokens (its 6
# reviews add 19,600 prompt tokens and a few answer tokens); a real Qwen2.5-Coder-0.5B run through
# bench/real_server_bench.py made 7 calls of 5,600 prompt and 3,700 answer tokens before its QA. About 10
# calls then, 30,000 prompt tokens to read and 10,000 to write (a server's prefix cache reads less).
TYPICAL_CALLS = 10
TYPICAL_PROMPT_TOKENS = 30_000
TYPICAL_ANSWER_TOKENS = 10_000


@dataclass(frozen=True)
class ServerSpeed:
    """One measurement. A speed is None where the call could not tell it (too quick to time, or not reported)."""

    prompt_tokens_per_s: float | None
    answer_tokens_per_s: float | None
    slots: int | None = None
    # Whether the figures are the server's own timings (llama.cpp, ollama) or derived from usage and wall time.
    from_server: bool = False
    measured_at: str = ""

    def project_seconds(self) -> float | None:
        """The typical project's reading and writing at these speeds, one call at a time; None: no answer speed."""
        if not self.answer_tokens_per_s:
            return None
        seconds = TYPICAL_ANSWER_TOKENS / self.answer_tokens_per_s
        if self.prompt_tokens_per_s:
            seconds += TYPICAL_PROMPT_TOKENS / self.prompt_tokens_per_s
        return seconds

    def describe(self) -> str:
        reads = f"reads {self.prompt_tokens_per_s:,.0f} tokens/s" if self.prompt_tokens_per_s else "reading not timed"
        writes = f"writes {self.answer_tokens_per_s:,.1f} tokens/s" if self.answer_tokens_per_s else "writing not timed"
        how = "the server's own timings" if self.from_server else "usage and wall time"
        text = f"{reads}, {writes} ({how})"
        if self.slots is not None:
            text += f"; {self.slots} slot{'s' if self.slots != 1 else ''}"
            text += " (one request at a time)" if self.slots == 1 else " (files of one level written at once)"
        return text

    def expectation(self) -> str | None:
        """'about 25 min for a typical project (...)', or None when the answer speed is unknown."""
        seconds = self.project_seconds()
        if seconds is None:
            return None
        unread = "" if self.prompt_tokens_per_s else ", reading the prompts not counted"
        return (
            f"about {_duration(seconds)} for a typical project here (~{TYPICAL_CALLS} calls: "
            f"{TYPICAL_PROMPT_TOKENS:,} prompt and {TYPICAL_ANSWER_TOKENS:,} answer tokens{unread})"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> ServerSpeed | None:
        """A cached entry, or None when it is not one (the cache is a file anyone may have edited)."""
        if not isinstance(data, dict):
            return None
        speeds = [data.get("prompt_tokens_per_s"), data.get("answer_tokens_per_s")]
        if not all(value is None or (_is_number(value) and value > 0) for value in speeds):
            return None
        slots = data.get("slots")
        if slots is not None and not (isinstance(slots, int) and not isinstance(slots, bool) and slots > 0):
            return None
        return cls(
            prompt_tokens_per_s=speeds[0],
            answer_tokens_per_s=speeds[1],
            slots=slots,
            from_server=data.get("from_server") is True,
            measured_at=str(data.get("measured_at") or ""),
        )


async def measure_speed(llm: LLM) -> ServerSpeed:
    """One short call (plus llama.cpp's `/props` for its slots); the call is settled in `llm`'s ledger."""
    prompt = render_prompt("speed_check.j2", reference=secrets.token_hex(4), lines=SPEED_PROMPT_LINES)
    request = ChatRequest(
        messages=[ChatMessage("user", prompt)], max_tokens=SPEED_ANSWER_TOKENS, role=ROLE, action=ACTION
    )
    started = time.monotonic()
    response = await llm.complete(request)
    wall_s = time.monotonic() - started
    llm.settle(request, response, repairs=[])
    usage, timings = response.usage, response.timings
    read_s = timings.prompt_read_s
    read_tokens = usage.prompt_tokens - (usage.cached_tokens or 0)
    prompt_speed = read_tokens / read_s if read_s and read_s >= MIN_MEASURED_S and read_tokens > 0 else None
    answer_speed = timings.speed(usage.completion_tokens)
    if answer_speed is None and usage.completion_tokens > 1:
        # No stream timing or server figure: the whole call's time, less the reading where it is known.
        writing_s = wall_s - (read_s or 0.0)
        answer_speed = usage.completion_tokens / writing_s if writing_s >= MIN_MEASURED_S else None
    parallel_slots = getattr(llm.provider, "parallel_slots", None)
    slots = await parallel_slots() if parallel_slots is not None else None
    return ServerSpeed(
        prompt_tokens_per_s=_rounded(prompt_speed),
        answer_tokens_per_s=_rounded(answer_speed),
        slots=slots if isinstance(slots, int) and slots > 0 else None,
        from_server=timings.tokens_per_s is not None or timings.prompt_s is not None,
        measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def speed_cache_path(env: Mapping[str, str], home: Path) -> Path:
    """Beside the structured-output cache: `$XDG_CACHE_HOME/devteam/server_speed.json`."""
    return default_cache_path(env, home).with_name(CACHE_FILE)


class SpeedCache:
    """Server key (`output_levels.server_key`) -> its last measurement. Losing it costs one `metagpt check`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = JsonCacheFile(path, "the speed cache")

    def get(self, key: str) -> ServerSpeed | None:
        return ServerSpeed.from_json(self._file.read().get(key))

    def put(self, key: str, speed: ServerSpeed) -> None:
        entries = self._file.read()
        entries[key] = speed.to_json()
        self._file.write(entries)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and value != float("inf")


def _rounded(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None
