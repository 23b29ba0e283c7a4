"""`LLM`: a provider with the run's policies around it — budget, retries, schema fallback, usage, record.

Roles never build clients: the team builds one `LLM` per distinct role config and passes it down.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from devteam.core.errors import ContextWindowError, DevteamError, ProviderError, SchemaRejectedError
from devteam.core.redaction import Redactor
from devteam.llm.concurrency import gate_for
from devteam.llm.output_levels import OutputLevels, request_at_level
from devteam.llm.record_file import INTERRUPTED
from devteam.llm.recorded_answers import RecordedAnswers
from devteam.llm.retry import RetryPolicy, call_with_retries
from devteam.llm.stream_meter import new_attempt, tapping
from devteam.llm.types import ChatMessage, ChatProvider, ChatRequest, ChatResponse, OutputMode, TokenCount
from devteam.llm.usage import CallStats, Ledger, Price, estimate_prompt_tokens

log = logging.getLogger("devteam.llm")

# An estimate (4 characters a token) undercounts code, which tokenizes nearer 3 characters a token: scaled so a
# prompt judged to fit really does. Chat templates add a few tokens per message.
ESTIMATE_SAFETY = 4 / 3
TOKENS_PER_MESSAGE = 8
# Below this much room for the answer a call is not worth making (and a server would cut or refuse it).
MIN_ANSWER_ROOM = 128
_COUNT_CACHE_SIZE = 256

StructuredOutputSetting = str  # "auto" or one of OUTPUT_LEVELS


@dataclass
class Exchange:
    """One request/answer pair as the run record keeps it (secrets are never part of it)."""

    role: str
    action: str
    subject: str
    provider: str
    model: str
    messages: list[dict[str, str]]
    output_mode: str
    answer: str
    reasoning: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    usage_estimated: bool
    cost: float
    latency_s: float
    retries: int
    repairs: list[str] = field(default_factory=list)
    outcome: str = "ok"
    started_at: float = 0.0
    # Where the seconds went (see `Timings`): None where neither the stream nor the server told.
    cached_tokens: int | None = None
    first_token_s: float | None = None
    prompt_s: float | None = None
    tokens_per_s: float | None = None
    # Given again from an earlier run's record by `--resume`: this run paid nothing for it.
    reused: bool = False

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ExchangeObserver(Protocol):
    def on_exchange(self, exchange: Exchange) -> None: ...


class LLM:
    def __init__(
        self,
        provider: ChatProvider,
        *,
        api_type: str,
        retry: RetryPolicy,
        price: Price,
        ledger: Ledger,
        structured_output: StructuredOutputSetting = "auto",
        max_tokens: int = 4096,
        observers: list[ExchangeObserver] | None = None,
        levels: OutputLevels | None = None,
        temperature: float | None = None,
        redactor: Redactor | None = None,
        max_files: int | None = None,
    ) -> None:
        self.provider = provider
        self.api_type = api_type
        self.retry = retry
        self.price = price
        self.ledger = ledger
        self.structured_output = structured_output
        self.max_tokens = max_tokens
        # The most files (tests aside) a plan for this model may hold (its preset's or config's max_files).
        self.max_files = max_files
        # The configured sampling temperature, which a varied re-ask steps up from.
        self.temperature = temperature
        self.observers = observers if observers is not None else []
        # Whether the server has answered yet: a refused first connection fails at once instead of retrying.
        self.reached = False
        self.levels = levels if levels is not None else OutputLevels(provider.capabilities, structured_output)
        self.gate = gate_for(provider.describe())
        self._slots_asked = False
        self._token_counts: dict[int, TokenCount] = {}
        # This server's own secrets (its key, its URL's password): a server that echoes them gets them scrubbed
        # from its answers and errors before anything — a file, a commit, a log line — can carry them on.
        self.redactor = redactor if redactor is not None else Redactor()
        # `--resume`: the answers the project's record already holds, given again instead of asked again.
        self.recorded: RecordedAnswers | None = None

    @property
    def model(self) -> str:
        return self.provider.model

    @property
    def schema_fallback_reason(self) -> str | None:
        """Why the server refused a more constrained output level this run (None: it refused nothing)."""
        return self.levels.rejection

    def describe(self) -> str:
        return self.redactor.text(self.provider.describe())

    def output_mode(self, *, wants_json: bool) -> OutputMode:
        """How to ask this server for JSON now (see `OutputLevels`)."""
        return self.levels.current if wants_json else "prompt"

    async def prompt_tokens(self, messages: list[ChatMessage]) -> TokenCount:
        """The prompt's size as the server counts it, or a deliberately generous estimate (remembered per text)."""
        text = "\n".join(message.content for message in messages)
        key = hash(text)
        if key not in self._token_counts:
            counted = await self.provider.count_tokens(text)
            overhead = TOKENS_PER_MESSAGE * len(messages)
            n = counted.n if counted.exact else math.ceil(counted.n * ESTIMATE_SAFETY)
            if len(self._token_counts) >= _COUNT_CACHE_SIZE:
                self._token_counts.clear()
            self._token_counts[key] = TokenCount(n + overhead, exact=counted.exact)
        return self._token_counts[key]

    async def fit_to_window(self, request: ChatRequest) -> ChatRequest:
        """Never send a prompt the server would cut: refuse one that leaves no room for the answer, and lower
        `max_tokens` to what the window has left (servers cut the prompt's start, or refuse, otherwise)."""
        window = await self.provider.context_window()
        if window is None:
            return request
        counted = await self.prompt_tokens(request.messages)
        room = window - counted.n
        if room < MIN_ANSWER_ROOM:
            how = "counted by the server" if counted.exact else "estimated"
            raise ContextWindowError(
                f"{request.role} {request.action} {request.subject}".strip() + f": the prompt is {counted.n} tokens "
                f"({how}) and the model's window {window}, leaving {max(room, 0)} for the answer; it was not sent. "
                "Give the model a larger window (llm.context_length in config2.yaml, and the server's own setting: "
                "llama.cpp --ctx-size, vLLM --max-model-len, an ollama model with a larger context)."
            )
        wanted = request.max_tokens if request.max_tokens is not None else self.max_tokens
        return replace(request, max_tokens=room) if wanted > room else request

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """One answer, with retries for transient faults and the level fallback; not yet in the ledger."""
        if self.recorded is not None:
            reused = self.recorded.take(request)
            if reused is not None:
                return reused
        # A re-ask or a larger-budget retry reuses its first request; the server's "no" still holds.
        request = request_at_level(request, self.levels.clamp(request.output_mode))
        request = await self.fit_to_window(request)
        hold = self.ledger.reserve(
            price=self.price,
            prompt_tokens=estimate_prompt_tokens(request.messages),
            max_tokens=request.max_tokens or self.max_tokens,
            describe=f"{request.role} {request.action}".strip(),
        )
        started_at = time.time()
        self.ledger.calls_in_flight += 1
        try:
            with tapping() as tap:
                response = await self._complete_at_some_level(request)
        except asyncio.CancelledError:
            self.ledger.release(hold)
            # A stop (Ctrl-C, SIGTERM) mid-answer: the record keeps what had streamed, so no run is lost.
            self._tell_interrupted(request, tap.text, started_at=started_at)
            raise
        except BaseException:
            self.ledger.release(hold)
            raise
        finally:
            self.ledger.calls_in_flight -= 1
        # Held until `settle` puts the real cost in the ledger, so calls in flight never overspend together.
        response.budget_hold = hold
        return response

    async def _complete_at_some_level(self, request: ChatRequest) -> ChatResponse:
        while True:
            try:
                response = await self._complete_with_retries(request)
            except SchemaRejectedError as rejected:
                lower = self.levels.step_down(request.output_mode, str(rejected))
                if lower is None:
                    raise
                log.warning(
                    "schema_fallback: %s rejected %s (%s); asking with %s for the rest of the run",
                    self.describe(),
                    request.output_mode,
                    _first_line(str(rejected)),
                    _level_words(lower),
                )
                # Not a retry: the rejected request cost nothing, and the next level gets the full retry budget.
                request = request_at_level(request, lower)
                continue
            self.levels.confirm(request.output_mode)
            return response

    async def _complete_with_retries(self, request: ChatRequest) -> ChatResponse:
        await self._learn_concurrency()
        started = time.monotonic()
        try:
            response, retries = await call_with_retries(
                lambda: self.gate.attempt(lambda: self._scrubbed_attempt(request)),
                policy=self.retry,
                describe=self.describe(),
                first_contact=not self.reached,
                on_retry=lambda *_: self.ledger.count_retry(),
            )
        except SchemaRejectedError:
            raise  # not a failed call: the same request goes out again at the next level
        except ProviderError as error:
            self.ledger.count_failed_call()
            explained = self.gate.explain(error)
            if explained is error:
                raise
            raise explained from error
        self.reached = True
        response.retries = retries
        response.output_mode = request.output_mode
        if not response.latency_s:
            response.latency_s = time.monotonic() - started
        return response

    async def _learn_concurrency(self) -> None:
        """Ask once whether the server serves one request at a time (llama.cpp's `/props`), where it can say."""
        if self._slots_asked:
            return
        self._slots_asked = True
        parallel_slots = getattr(self.provider, "parallel_slots", None)
        if parallel_slots is not None:
            self.gate.note_slots(await parallel_slots())

    async def _scrubbed_attempt(self, request: ChatRequest) -> ChatResponse:
        """One attempt, with this server's secrets scrubbed from what it sent — inside the retry loop, so the
        retry warnings are scrubbed too."""
        new_attempt()
        try:
            response = await self.provider.complete(request)
        except DevteamError as error:
            scrub_error(error, self.redactor)
            raise
        scrub = self.redactor.secrets_only
        response.text, response.reasoning, response.model = (
            scrub(response.text),
            scrub(response.reasoning),
            scrub(response.model),
        )
        if response.refusal is not None:
            response.refusal = scrub(response.refusal)
        return response

    def settle(
        self,
        request: ChatRequest,
        response: ChatResponse,
        *,
        repairs: list[str],
        outcome: str = "ok",
        started_at: float = 0.0,
    ) -> Exchange:
        """Put a finished exchange in the ledger and tell the observers (the run record)."""
        cost = self.price.cost(response.usage)
        hold, response.budget_hold = response.budget_hold, 0.0
        if response.reused:
            self.ledger.release(hold)  # paid for by the run that asked it: not a call of this run
        else:
            self.ledger.add(
                CallStats(
                    role=request.role,
                    action=request.action,
                    model=response.model or self.model,
                    usage=response.usage,
                    cost=cost,
                    latency_s=response.latency_s,
                    retries=response.retries,
                    repairs=list(repairs),
                    timings=response.timings,
                ),
                release=hold,
            )
        exchange = Exchange(
            role=request.role,
            action=request.action,
            subject=request.subject,
            provider=self.api_type,
            model=response.model or self.model,
            messages=[m.as_dict() for m in request.messages],
            output_mode=response.output_mode,
            answer=response.text,
            reasoning=response.reasoning,
            finish_reason=response.finish_reason,
            prompt_tokens=response.usage.prompt_tokens,
            completion_tokens=response.usage.completion_tokens,
            usage_estimated=response.usage.estimated,
            cost=cost,
            latency_s=round(response.latency_s, 4),
            retries=response.retries,
            repairs=list(repairs),
            outcome=outcome,
            started_at=started_at,
            cached_tokens=response.usage.cached_tokens,
            first_token_s=_rounded(response.timings.first_token_s),
            prompt_s=_rounded(response.timings.prompt_s),
            tokens_per_s=_rounded(response.timings.speed(response.usage.completion_tokens), 2),
            reused=response.reused,
        )
        for observer in self.observers:
            observer.on_exchange(exchange)
        return exchange

    def _tell_interrupted(self, request: ChatRequest, partial: str, *, started_at: float) -> None:
        """Tell the observers about a call that a stop cut short: no ledger entry (it has no answer), but the
        record keeps its prompt and the part of the answer that had streamed in (`outcome` "interrupted")."""
        exchange = Exchange(
            role=request.role,
            action=request.action,
            subject=request.subject,
            provider=self.api_type,
            model=self.model,
            messages=[m.as_dict() for m in request.messages],
            output_mode=request.output_mode,
            answer=self.redactor.secrets_only(partial),
            reasoning="",
            finish_reason=None,
            prompt_tokens=0,
            completion_tokens=0,
            usage_estimated=True,
            cost=0.0,
            latency_s=round(time.time() - started_at, 4),
            retries=0,
            outcome=INTERRUPTED,
            started_at=started_at,
        )
        for observer in self.observers:
            try:
                observer.on_exchange(exchange)
            except Exception:  # the stop must go on whatever an observer makes of it
                log.exception("an observer failed on the record of an interrupted call")

    async def list_models(self) -> list[str]:
        """The server's model names, scrubbed of its secrets (a hostile server may name a model after the key)."""
        try:
            models = await self.provider.list_models()
        except DevteamError as error:
            scrub_error(error, self.redactor)
            raise
        return [self.redactor.secrets_only(name) for name in models]

    async def aclose(self) -> None:
        await self.provider.aclose()


def scrub_error(error: DevteamError, redactor: Redactor) -> None:
    """Scrub an error's message (and a server error's body) in place, keeping its type for the callers."""
    if error.args and isinstance(error.args[0], str):
        error.args = (redactor.text(error.args[0]), *error.args[1:])
    if isinstance(error, ProviderError) and error.body is not None:
        error.body = redactor.text(error.body)


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return round(value, digits) if value is not None else None


def _level_words(level: OutputMode) -> str:
    return "prompt-only JSON" if level == "prompt" else f"response_format level {level}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
