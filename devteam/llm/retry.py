"""Transport retries, in one place: only transient provider faults, exponential waits, `Retry-After` honoured.

Providers make exactly one attempt per call and set their SDK's own retries to zero, so loops never nest
(MetaGPT's nested retries retried a 404). Validation re-asks are a different loop, counted elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential

from devteam.core.errors import ProviderError, RetriesExhaustedError, ServerUnreachableError, is_transient_status

__all__ = ["RetryPolicy", "call_with_retries", "is_transient", "is_transient_status", "retry_after_seconds"]

T = TypeVar("T")

logger = logging.getLogger("devteam.llm")

_MAX_REASON = 300


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait between attempts (defaults from the OpenHands seed). Seconds."""

    num_retries: int = 4
    min_wait: float = 5.0
    max_wait: float = 30.0
    multiplier: float = 2.0


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """What the server asked us to wait: `retry-after-ms` (OpenAI), `Retry-After` in seconds or as a date."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


def is_transient(exc: BaseException) -> bool:
    """Whether another attempt may get an answer: decided by the error's type (see `core.errors`), never by
    flags a provider sets — unreachable, timed out, cut, a server fault, or a transient HTTP status."""
    return isinstance(exc, ProviderError) and exc.transient


def is_worth_retrying(*, first_contact: bool) -> Callable[[BaseException], bool]:
    """A refused connection to a server never reached yet is a wrong address or a server not started: say so
    in a second, don't wait out the retries. Once it has answered, a refusal is a restart worth waiting for."""

    def worth(exc: BaseException) -> bool:
        if first_contact and isinstance(exc, ServerUnreachableError):
            return False
        return is_transient(exc)

    return worth


def waiting(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    """tenacity's exponential wait, except that a server's `Retry-After` wins (capped at `max_wait`)."""
    exponential = wait_exponential(multiplier=policy.multiplier, min=policy.min_wait, max=policy.max_wait)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        retry_after = error.retry_after if isinstance(error, ProviderError) else None
        if retry_after is not None:
            return min(max(retry_after, 0.0), policy.max_wait)
        return exponential(state)

    return wait


def failure_text(exc: BaseException, describe: str) -> str:
    """One line naming the failure and where it happened; providers usually name themselves already."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if describe not in text:
        text = f"{describe}: {text}"
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    describe: str,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    first_contact: bool = False,
) -> tuple[T, int]:
    """Await `fn()` until it succeeds; return (result, retries used).

    Only a transient `ProviderError` (`is_transient`) is retried; anything else propagates at once. When the
    retries run out, one `RetriesExhaustedError` names the server, the model, the attempts and the last failure.
    """
    attempts = 0

    async def attempt() -> T:
        nonlocal attempts
        attempts += 1
        return await fn()

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.num_retries + 1),
        wait=waiting(policy),
        retry=retry_if_exception(is_worth_retrying(first_contact=first_contact)),
        before_sleep=_announce(policy=policy, describe=describe, on_retry=on_retry),
        reraise=True,
    )
    try:
        result: T = await retrying(attempt)
    except ProviderError as exc:
        if not is_transient(exc) or (first_contact and isinstance(exc, ServerUnreachableError)):
            raise
        raise _exhausted(exc, attempts=attempts, describe=describe) from exc
    return result, attempts - 1


def _announce(
    *,
    policy: RetryPolicy,
    describe: str,
    on_retry: Callable[[int, BaseException, float], None] | None,
) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if error is None:
            return
        pause = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "retry %d/%d after %ss: %s",
            state.attempt_number,
            policy.num_retries,
            f"{round(pause, 2):g}",
            failure_text(error, describe),
        )
        if on_retry is not None:
            on_retry(state.attempt_number, error, pause)

    return before_sleep


def _exhausted(last: ProviderError, *, attempts: int, describe: str) -> RetriesExhaustedError:
    return RetriesExhaustedError(
        f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}: {failure_text(last, describe)}",
        last=last,
        attempts=attempts,
    )
