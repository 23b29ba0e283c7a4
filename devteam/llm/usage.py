"""Usage, cost and the budget: the run's ledger of LLM calls.

The budget is a hard ceiling, also under concurrency: before a call, the ledger holds the most it can cost
(the prompt estimate plus max_tokens at the completion price) and refuses it when what is spent plus what
calls in flight hold would pass the investment; the unused part is given back when the call settles.
Local models cost 0, so only their token counts grow.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from devteam.core.errors import BudgetExceededError
from devteam.llm.types import ChatMessage, Timings, TokenCount, Usage

log = logging.getLogger("devteam.llm")

TOKENS_PER_MILLION = 1_000_000
# A reported count above this many times our estimate, plus a margin for tokenizers that cut text finer than
# four characters a token, is a server's bug rather than a bill; so is a negative or fractional one.
ABSURD_FACTOR = 16
ABSURD_MARGIN = 4096

log = logging.getLogger("devteam.llm")


def estimate_tokens(text: str) -> int:
    """A server-independent estimate (about four characters a token) for when the server reports no usage."""
    return max(1, (len(text) + 3) // 4) if text else 0


def estimated_count(text: str) -> TokenCount:
    """`estimate_tokens` as a `TokenCount`, marked as an estimate, for providers whose server cannot count."""
    return TokenCount(estimate_tokens(text), exact=False)


def estimate_prompt_tokens(messages: Iterable[ChatMessage]) -> int:
    return sum(estimate_tokens(message.content) for message in messages)


def estimate_usage(messages: Iterable[ChatMessage], text: str) -> Usage:
    """Usage for a server that reported none."""
    return Usage(
        prompt_tokens=estimate_prompt_tokens(messages), completion_tokens=estimate_tokens(text), estimated=True
    )


def plausible_usage(
    prompt_tokens: float | None,
    completion_tokens: float | None,
    *,
    messages: Iterable[ChatMessage],
    text: str,
    max_tokens: int | None = None,
    where: str = "the server",
) -> Usage:
    """The usage a server reported, each count checked; an absent count is estimated silently, a negative,
    NaN, fractional or absurd one is replaced by the estimate with a warning (it would poison the budget)."""
    estimate = estimate_usage(messages, text)
    if prompt_tokens is None and completion_tokens is None:
        return estimate
    prompt_limit = ABSURD_FACTOR * estimate.prompt_tokens + ABSURD_MARGIN
    completion_limit = max(max_tokens or 0, ABSURD_FACTOR * estimate.completion_tokens) + ABSURD_MARGIN
    prompt = _plausible(prompt_tokens, estimate.prompt_tokens, prompt_limit, "prompt_tokens", where)
    completion = _plausible(completion_tokens, estimate.completion_tokens, completion_limit, "completion_tokens", where)
    return Usage(prompt_tokens=prompt[0], completion_tokens=completion[0], estimated=prompt[1] or completion[1])


def _plausible(value: float | None, estimate: int, limit: int, name: str, where: str) -> tuple[int, bool]:
    """(count, estimated)."""
    if value is None:
        return estimate, True
    if math.isfinite(value) and value == int(value) and 0 <= value <= limit:
        return int(value), False
    log.warning("usage_implausible: %s reported %s=%s; counting the estimate %d instead", where, name, value, estimate)
    return estimate, True


@dataclass(frozen=True)
class Price:
    """USD per million tokens. `known=False` is a hosted model with no price: its cost is unknown, not 0."""

    prompt: float = 0.0
    completion: float = 0.0
    known: bool = True
    # Where the figures came from, for `metagpt check` and the run header: config, local, genai-prices (...).
    source: str = "config"

    # USD per million prompt tokens served from the provider's cache (OpenAI, DeepSeek and others discount
    # them); None: the full prompt price.
    cached_prompt: float | None = None

    def cost(self, usage: Usage) -> float:
        cached = min(usage.cached_tokens or 0, usage.prompt_tokens) if self.cached_prompt is not None else 0
        read = (usage.prompt_tokens - cached) * self.prompt + cached * (self.cached_prompt or 0.0)
        return (read + usage.completion_tokens * self.completion) / TOKENS_PER_MILLION

    @property
    def is_free(self) -> bool:
        return self.prompt == 0 and self.completion == 0


@dataclass
class CallStats:
    """One finished LLM exchange as the ledger keeps it."""

    role: str
    action: str
    model: str
    usage: Usage
    cost: float
    latency_s: float
    retries: int
    repairs: list[str] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)


@dataclass(frozen=True)
class TimeShares:
    """Where a run's model time went, over the calls that say (see `Ledger.time_shares`)."""

    model_s: float  # the calls' whole latencies
    prompt_read_s: float | None  # the server's prompt time, or the time to the first token; None: no call says
    prompt_read_share: float | None  # prompt_read_s over the latencies of the calls that report it
    cached_tokens: int | None  # prompt tokens served from the server's cache, over the calls that report it
    cache_hit_share: float | None  # cached over the prompt tokens of those calls
    first_token_s: float | None  # the median time to first token
    tokens_per_s: float | None  # completion tokens over generating seconds, over the calls that say


def time_shares(calls: list[CallStats]) -> TimeShares:
    """The run's prompt-read share of model time and cache hit share: each over the calls that report it, so
    one server's silence does not read as zero."""
    model_s = sum(call.latency_s for call in calls)
    read = [(call.timings.prompt_read_s, call.latency_s) for call in calls if call.timings.prompt_read_s is not None]
    read_s = sum(seconds for seconds, _ in read) if read else None
    read_of = sum(latency for _, latency in read)
    cached = [
        (call.usage.cached_tokens, call.usage.prompt_tokens) for call in calls if call.usage.cached_tokens is not None
    ]
    cached_n = sum(n for n, _ in cached) if cached else None
    cached_of = sum(prompt for _, prompt in cached)
    firsts = sorted(call.timings.first_token_s for call in calls if call.timings.first_token_s is not None)
    generated = [
        (call.usage.completion_tokens, call.usage.completion_tokens / speed)
        for call in calls
        if (speed := call.timings.speed(call.usage.completion_tokens))
    ]
    generated_s = sum(seconds for _, seconds in generated)
    return TimeShares(
        model_s=model_s,
        prompt_read_s=read_s,
        prompt_read_share=min(read_s / read_of, 1.0) if read_s is not None and read_of > 0 else None,
        cached_tokens=cached_n,
        cache_hit_share=cached_n / cached_of if cached_n is not None and cached_of > 0 else None,
        first_token_s=firsts[len(firsts) // 2] if firsts else None,
        tokens_per_s=sum(n for n, _ in generated) / generated_s if generated_s > 0 else None,
    )


def cost_text(cost: float, *, known: bool) -> str:
    """`$0.0123`, or `cost unknown` when a model without a price took part (never a misleading $0)."""
    if not known:
        return "cost unknown" if cost == 0 else f"${cost:.4f} + unknown"
    return f"${cost:.4f}"


class Ledger:
    """Totals for a run. Thread-safe because files are written concurrently."""

    def __init__(self, *, investment: float | None = None) -> None:
        self.investment = investment
        self.calls: list[CallStats] = []
        self.repairs: Counter[str] = Counter()
        self.reasks = 0
        # Hosted models with no known price: their calls cost something we cannot say.
        self.unpriced_models: set[str] = set()
        self.field_followups = 0
        # Counted as they happen, so a call that gave up after its retries still shows them: the summary's
        # retries are the log's `retry` lines, and its calls include the calls that got no answer.
        self.retries = 0
        self.failed_calls = 0
        # Calls sent and not yet answered (or given up): the live view's footer shows them.
        self.calls_in_flight = 0
        self._held = 0.0
        self._lock = threading.Lock()

    @property
    def cost(self) -> float:
        return sum(call.cost for call in self.calls)

    @property
    def cost_known(self) -> bool:
        return not self.unpriced_models

    def cost_text(self) -> str:
        return cost_text(self.cost, known=self.cost_known)

    def note_unpriced(self, model: str) -> None:
        """A hosted model whose price nobody knows: say once that the budget cannot hold it."""
        with self._lock:
            if model in self.unpriced_models:
                return
            self.unpriced_models.add(model)
        if self.investment is not None:
            log.warning(
                "price: model %r has no known price, so --investment cannot be enforced for it; add "
                "pricing: {prompt: USD_PER_1M, completion: USD_PER_1M} under llm: in config2.yaml",
                model,
            )

    @property
    def prompt_tokens(self) -> int:
        return sum(call.usage.prompt_tokens for call in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(call.usage.completion_tokens for call in self.calls)

    @property
    def time_shares(self) -> TimeShares:
        with self._lock:
            calls = list(self.calls)
        return time_shares(calls)

    @property
    def call_count(self) -> int:
        """Every call made: answered ones (in `calls`) and those that ended in an error after their retries."""
        return len(self.calls) + self.failed_calls

    @property
    def held(self) -> float:
        """USD held for calls in flight (see `reserve`)."""
        return self._held

    def reserve(self, *, price: Price, prompt_tokens: int, max_tokens: int, describe: str) -> float:
        """Hold the most a call can cost — its prompt estimate plus `max_tokens` at the completion price — or
        refuse it. Calls in flight hold their share, so concurrent calls can never spend past the investment
        together; `add` (or `release`) gives back what the call did not use. Returns the USD held."""
        if self.investment is None or price.is_free:
            return 0.0
        upcoming = price.cost(Usage(prompt_tokens=prompt_tokens, completion_tokens=max_tokens))
        with self._lock:
            spent, held = self.cost, self._held
            if spent + held + upcoming > self.investment:
                in_flight = f", ${held:.4f} held by calls in flight" if held else ""
                raise BudgetExceededError(
                    f"budget reached: ${spent:.4f} spent of the ${self.investment:.2f} investment{in_flight}, and "
                    f"{describe} may cost up to ${upcoming:.4f} (prompt plus max_tokens={max_tokens}); the call "
                    "was not made. Raise it with --investment."
                )
            self._held += upcoming
        return upcoming

    def release(self, hold: float) -> None:
        """Give back a hold whose call was not made or failed (nothing was spent)."""
        with self._lock:
            self._held = max(self._held - hold, 0.0)

    def add(self, stats: CallStats, *, release: float = 0.0) -> None:
        """Record a finished call, and give back the hold it was made under in the same step."""
        with self._lock:
            self.calls.append(stats)
            self.repairs.update(stats.repairs)
            self._held = max(self._held - release, 0.0)

    def add_repairs(self, markers: list[str]) -> None:
        """Repairs found outside one exchange (e.g. a syntax fix of written code)."""
        with self._lock:
            self.repairs.update(markers)

    def count_reask(self) -> None:
        with self._lock:
            self.reasks += 1

    def count_field_followup(self) -> None:
        with self._lock:
            self.field_followups += 1

    def count_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def count_failed_call(self) -> None:
        with self._lock:
            self.failed_calls += 1
