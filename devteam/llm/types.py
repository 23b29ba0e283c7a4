"""Plain data that crosses the provider seam: requests, responses, usage, capabilities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]
# How JSON is asked for, from the most constrained level to the least: a strict `json_schema` response_format
# (OpenAI, vLLM, LM Studio; ollama's `format: <schema>`), `json_object` carrying the schema (llama.cpp,
# llama-cpp-python: their grammar), plain `json_object` (JSON mode), and the prompt alone.
OutputMode = Literal["json_schema", "json_object_schema", "json_object", "prompt"]
OUTPUT_LEVELS: tuple[OutputMode, ...] = ("json_schema", "json_object_schema", "json_object", "prompt")
# The levels at which the server itself is given the schema.
SCHEMA_LEVELS: tuple[OutputMode, ...] = ("json_schema", "json_object_schema")


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to make.

    `json_schema` is a strict-form JSON schema; `output_mode` says how to ask the server to honour it
    ("prompt" means: only the prompt describes the schema).
    """

    messages: list[ChatMessage]
    json_schema: dict[str, Any] | None = None
    schema_name: str = "answer"
    output_mode: OutputMode = "prompt"
    max_tokens: int | None = None
    temperature: float | None = None
    # Who is asking: recorded with the exchange and used by replay to match calls.
    role: str = ""
    action: str = ""
    # What the call is about within the action (the file path for WriteCode): replay matches on it too.
    subject: str = ""
    # Asked again after a cut-off answer: a server that turns the schema into a grammar gets every string and
    # list bounded to fit `max_tokens` (see grammar_bounds.py), so a model that loops must close its values.
    bound_grammar: bool = False
    # Asked again after a cut-off answer that repeated itself, where no grammar can bound it (code, prompt-only
    # JSON): the OpenAI-style `frequency_penalty` (llama.cpp, vLLM, ollama take it too); None: the server's own.
    frequency_penalty: float | None = None


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    # How many of the prompt tokens the server served from its prefix cache instead of reading them, where it
    # says (llama.cpp's `cache_n`, OpenAI's and vLLM's `cached_tokens`); None: it did not say.
    cached_tokens: int | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.estimated = self.estimated or other.estimated
        if other.cached_tokens is not None:
            self.cached_tokens = (self.cached_tokens or 0) + other.cached_tokens


# A stream that took less than this from its first piece to its last is too quick to measure a speed on
# (a local test server, a cached answer): its tokens/s is left unknown rather than reported as millions.
MIN_MEASURED_S = 0.05


@dataclass
class Timings:
    """Where one call's seconds went, as far as the stream or the server shows it (None: not known).

    On a laptop CPU reading the prompt can take as long as writing the answer; these figures show which.
    """

    # From sending the request to the first streamed piece of the answer: mostly the server reading the prompt.
    first_token_s: float | None = None
    # The server's own prompt-reading time (llama.cpp's `prompt_ms`, ollama's `prompt_eval_duration`).
    prompt_s: float | None = None
    # Seconds spent generating: the server's own figure, else from the first streamed piece to the last.
    generation_s: float | None = None
    # Generation speed as the server measured it (llama.cpp's `predicted_per_second`); else derived.
    tokens_per_s: float | None = None

    @property
    def prompt_read_s(self) -> float | None:
        """The server's prompt time where it reports one, else the time to the first token."""
        return self.prompt_s if self.prompt_s is not None else self.first_token_s

    def speed(self, completion_tokens: int) -> float | None:
        """Tokens generated per second: the server's figure, else the completion over the generating time."""
        if self.tokens_per_s is not None:
            return self.tokens_per_s
        if self.generation_s and self.generation_s >= MIN_MEASURED_S and completion_tokens > 1:
            return completion_tokens / self.generation_s
        return None


@dataclass
class ChatResponse:
    text: str
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    reasoning: str = ""
    refusal: str | None = None
    # Whether the server was asked for (and accepted) schema-constrained output.
    native_schema: bool = False
    # How JSON was asked for in the request that produced this answer (after any schema fallback).
    output_mode: OutputMode = "prompt"
    latency_s: float = 0.0
    timings: Timings = field(default_factory=Timings)
    retries: int = 0
    # USD the ledger holds for this answer (its prompt estimate plus max_tokens) until the exchange is settled.
    budget_hold: float = 0.0
    # Given again from the project's record by `--resume` (see recorded_answers.py): no call was made for it.
    reused: bool = False


@dataclass(frozen=True)
class TokenCount:
    """How many tokens a text is: `exact` when the server's own tokenizer counted, else an estimate."""

    n: int
    exact: bool


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, as data: the structured-output ladder reads this instead of branching on names."""

    json_schema: bool = False
    # `{"type": "json_object", "schema": ...}`: how llama.cpp's servers take a schema for their grammar.
    json_object_schema: bool = False
    json_object: bool = False
    streams_usage: bool = False
    lists_models: bool = False

    def output_levels(self) -> tuple[OutputMode, ...]:
        """The structured-output levels this provider can ask for, most constrained first; always ends in prompt."""
        offered = {
            "json_schema": self.json_schema,
            "json_object_schema": self.json_object_schema,
            "json_object": self.json_object,
            "prompt": True,
        }
        return tuple(level for level in OUTPUT_LEVELS if offered[level])


class ChatProvider(Protocol):
    """The one narrow interface every provider implements (seeds: LanguageBackend)."""

    capabilities: Capabilities

    @property
    def name(self) -> str:
        """The provider's `api_type` (a provider may narrow it to a Literal)."""
        ...

    @property
    def model(self) -> str: ...

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Make one attempt; raise `ProviderError` (transient or not). Retries live in `llm.retry`."""
        ...

    async def list_models(self) -> list[str]: ...

    async def context_window(self) -> int | None:
        """The model's context window in tokens: the configured `context_length`, else what the server
        reports; None when neither says. Asked once, then remembered; never raises."""
        ...

    async def count_tokens(self, text: str) -> TokenCount:
        """The size of `text` in the model's tokens: the server's tokenizer where it has one (exact), else an
        estimate (`exact=False`). Never raises."""
        ...

    async def aclose(self) -> None: ...

    def describe(self) -> str:
        """Where this provider talks to, for messages (never the key)."""
        ...
