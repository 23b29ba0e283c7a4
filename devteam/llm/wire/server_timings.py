"""Where a call's seconds went and how much of its prompt the server's cache served, from what servers report.

- llama.cpp's server (`/completion`, and its OpenAI routes on current versions) sends `timings`: `prompt_n`
  (prompt tokens read for this call), `prompt_ms`, `predicted_n`, `predicted_ms`, `predicted_per_second` and
  `cache_n` (prompt tokens reused from the slot's cache); older versions send `tokens_cached`.
- OpenAI, DeepSeek and vLLM send `usage.prompt_tokens_details.cached_tokens`.
- ollama sends `prompt_eval_count`, `prompt_eval_duration` and `eval_duration` (nanoseconds).
- A stream shows the rest: the time to its first piece and from the first piece to the last (`StreamClock`).

Server figures are data from the wire: anything that is not a finite, non-negative number is left out (None),
so a hostile or buggy server can make a figure unknown, never wrong in a way that breaks a sum.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from devteam.llm.types import Timings

_NS = 1e9
_MS = 1e3


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _count(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) else None


def _field(source: Any, name: str) -> Any:
    """`source[name]` or `source.name` (SDK objects keep fields they do not know as attributes)."""
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def _seconds(value: Any, unit: float) -> float | None:
    number = _number(value)
    return number / unit if number is not None else None


def llamacpp_figures(timings: Any, *, tokens_cached: Any = None) -> tuple[Timings, int | None]:
    """(timings, cached prompt tokens) from llama.cpp's `timings` object (and the older `tokens_cached`)."""
    cached = _count(_field(timings, "cache_n")) if timings is not None else None
    if cached is None:
        cached = _count(tokens_cached)
    if timings is None:
        return Timings(), cached
    return (
        Timings(
            prompt_s=_seconds(_field(timings, "prompt_ms"), _MS),
            generation_s=_seconds(_field(timings, "predicted_ms"), _MS),
            tokens_per_s=_number(_field(timings, "predicted_per_second")) or None,
        ),
        cached,
    )


def cached_from_usage(usage: Any) -> int | None:
    """OpenAI's (and vLLM's, DeepSeek's) `usage.prompt_tokens_details.cached_tokens`; None when absent."""
    details = _field(usage, "prompt_tokens_details") if usage is not None else None
    cached = _count(_field(details, "cached_tokens")) if details is not None else None
    if cached is None and usage is not None:
        cached = _count(_field(usage, "prompt_cache_hit_tokens"))  # DeepSeek's own name
    return cached


def ollama_timings(line: Mapping[str, Any]) -> Timings:
    """ollama's final line: durations in nanoseconds; tokens/s from `eval_count` over `eval_duration`."""
    generation = _seconds(line.get("eval_duration"), _NS)
    count = _count(line.get("eval_count"))
    speed = count / generation if count and generation else None
    return Timings(
        prompt_s=_seconds(line.get("prompt_eval_duration"), _NS), generation_s=generation, tokens_per_s=speed
    )


def plausible_cached(cached: int | None, prompt_tokens: int) -> int | None:
    """A cache figure larger than the prompt is no figure at all."""
    return cached if cached is not None and cached <= prompt_tokens else None


class StreamClock:
    """When a streamed answer began and last moved, to tell the prompt's reading from the answer's writing."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None
        self.last: float | None = None

    def mark(self, piece: str) -> None:
        if not piece:
            return
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.last = now

    def timings(self, server: Timings | None = None) -> Timings:
        """The server's figures where it gave them, the stream's for the rest."""
        server = server or Timings()
        first_token = self.first - self.started if self.first is not None else None
        generating = self.last - self.first if self.first is not None and self.last is not None else None
        return Timings(
            first_token_s=first_token,
            prompt_s=server.prompt_s,
            generation_s=server.generation_s if server.generation_s is not None else generating,
            tokens_per_s=server.tokens_per_s,
        )
