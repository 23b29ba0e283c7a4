"""OpenAI and every server that speaks its chat API (vLLM, llama.cpp, LM Studio, FastChat...), via the SDK.

Request shaping and response parsing are pure functions; `OpenAICompatProvider` is the thin async shell
that sends, assembles a stream, and translates the SDK's exceptions (in `translate_error`, nowhere else).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any, Literal

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta
from openai.types.completion_usage import CompletionUsage

from devteam.core.errors import (
    AnswerCutError,
    ConfigError,
    ProviderError,
    ProviderTimeoutError,
    SchemaRejectedError,
    ServerFaultError,
)
from devteam.core.redaction import url_without_password
from devteam.llm.grammar_bounds import schema_for_grammar
from devteam.llm.loop_watch import LOOP_FINISH, LoopWatch
from devteam.llm.stream_meter import count_streamed
from devteam.llm.types import (
    SCHEMA_LEVELS,
    Capabilities,
    ChatMessage,
    ChatRequest,
    ChatResponse,
    Timings,
    TokenCount,
    Usage,
)
from devteam.llm.usage import estimated_count, plausible_usage
from devteam.llm.wire.answer_shape import MalformedAnswer, describe_value, optional_text, require, token_count
from devteam.llm.wire.http_errors import is_http_error, transport_error
from devteam.llm.wire.http_options import tls_options
from devteam.llm.wire.server_errors import (
    ANSWER_ERRORS,
    deadline_error,
    is_schema_rejection,
    malformed_error,
    status_error,
)
from devteam.llm.wire.server_limits import (
    count_from_tokenize,
    slots_from_llamacpp_props,
    tokenize_body,
    window_from_llamacpp_props,
    window_from_model_list,
)
from devteam.llm.wire.server_probe import ServerProbe
from devteam.llm.wire.server_timings import StreamClock, cached_from_usage, llamacpp_figures, plausible_cached

ApiType = Literal["openai", "open_llm"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Open servers ignore the key, but the SDK refuses to start without one.
PLACEHOLDER_KEY = "sk-no-key-required"
DEFAULT_TIMEOUT = 600.0


# The finish reason of a streamed answer cut at the whole-call timeout: kept, like a cut-off one, so the question
# is asked again differently (never the same request again: it would only run into the same timeout).
TIMEOUT_FINISH = "timeout"


# -- request ------------------------------------------------------------------------------------------------


def response_format_for(request: ChatRequest, max_tokens: int | None = None) -> dict[str, Any] | None:
    """The `response_format` that asks the server to honour the schema (see DESIGN.md section 3);
    `max_tokens` is the request's budget, which a bounded grammar is sized to."""
    if request.output_mode == "json_schema" and request.json_schema is not None:
        schema = {"name": request.schema_name, "schema": request.json_schema, "strict": True}
        return {"type": "json_schema", "json_schema": schema}
    if request.output_mode == "json_object_schema" and request.json_schema is not None:
        # llama.cpp's servers turn this schema into the grammar that constrains decoding.
        return {"type": "json_object", "schema": schema_for_grammar(request, max_tokens)}
    if request.output_mode in ("json_object", "json_object_schema"):
        return {"type": "json_object"}
    return None


def build_chat_kwargs(
    request: ChatRequest,
    *,
    api_type: ApiType,
    model: str,
    stream: bool,
    temperature: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Keyword arguments for `chat.completions.create`; the request's own settings win over the provider's."""
    kwargs: dict[str, Any] = {"model": model, "messages": [m.as_dict() for m in request.messages]}
    max_tokens = request.max_tokens if request.max_tokens is not None else max_tokens
    response_format = response_format_for(request, max_tokens)
    if response_format is not None:
        kwargs["response_format"] = response_format
    temperature = request.temperature if request.temperature is not None else temperature
    if temperature is not None:
        kwargs["temperature"] = temperature
    if max_tokens is not None:
        # OpenAI's reasoning models reject `max_tokens`; open servers mostly know only `max_tokens`.
        kwargs["max_completion_tokens" if api_type == "openai" else "max_tokens"] = max_tokens
    if seed is not None:
        kwargs["seed"] = seed
    if request.frequency_penalty is not None and api_type != "openai":
        # Open servers take it; OpenAI's reasoning models reject it, and OpenAI's models do not loop like this.
        kwargs["frequency_penalty"] = request.frequency_penalty
    if stream:
        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
    return kwargs


# -- response -----------------------------------------------------------------------------------------------


def reasoning_of(message: Any) -> str:
    """Reasoning text: llama.cpp and LM Studio send `reasoning_content`, vLLM `reasoning`."""
    for name in ("reasoning_content", "reasoning"):
        value = getattr(message, name, None)
        if isinstance(value, str) and value:
            return value
    return ""


def _reported_counts(usage: Any) -> tuple[float | None, float | None]:
    """The (prompt, completion) counts of a `usage` object; (None, None) when there is none."""
    if usage is None:
        return None, None
    if not isinstance(usage, CompletionUsage):
        raise MalformedAnswer(f"usage is {describe_value(usage)}")
    return (
        token_count(getattr(usage, "prompt_tokens", None), "usage.prompt_tokens"),
        token_count(getattr(usage, "completion_tokens", None), "usage.completion_tokens"),
    )


def _server_figures(source: Any, usage: Any) -> tuple[Timings, int | None]:
    """llama.cpp's `timings` (a field the SDK keeps as an extra) and the cached prompt tokens, where reported."""
    extra = getattr(source, "model_extra", None) or {}
    timings, cached = llamacpp_figures(extra.get("timings"))
    reported = cached_from_usage(usage)
    return timings, reported if reported is not None else cached


def _with_cache(usage: Usage, cached: int | None) -> Usage:
    if not usage.estimated:
        usage.cached_tokens = plausible_cached(cached, usage.prompt_tokens)
    return usage


def _text_fields(message: Any, kind: type, what: str) -> tuple[str, str, str | None]:
    """(content, reasoning, refusal) of a message or a delta, each checked."""
    require(message, kind, what)
    content = optional_text(getattr(message, "content", None), f"{what}.content")
    refusal = optional_text(getattr(message, "refusal", None), f"{what}.refusal") or None
    return content, reasoning_of(message), refusal


def _model_name(value: Any, fallback: str) -> str:
    return value if isinstance(value, str) and value else fallback


def _finish_reason(choice: Any) -> str | None:
    return optional_text(getattr(choice, "finish_reason", None), "finish_reason") or None


def parse_completion(
    completion: Any,
    *,
    messages: list[ChatMessage],
    model: str,
    max_tokens: int | None = None,
    where: str = "the server",
) -> ChatResponse:
    """A non-streamed `ChatCompletion` as our `ChatResponse` (usage estimated when the server sent none).

    Raises `MalformedAnswer` for a body that is not a chat completion, whatever it is instead.
    """
    require(completion, ChatCompletion, "the answer")
    choices = require(getattr(completion, "choices", None), list, "choices")
    counts = _reported_counts(getattr(completion, "usage", None))
    text, reasoning, refusal, finish_reason = "", "", None, None
    if choices:
        choice = require(choices[0], Choice, "choices[0]")
        text, reasoning, refusal = _text_fields(
            getattr(choice, "message", None), ChatCompletionMessage, "choices[0].message"
        )
        finish_reason = _finish_reason(choice)
    timings, cached = _server_figures(completion, getattr(completion, "usage", None))
    usage = plausible_usage(*counts, messages=messages, text=text, max_tokens=max_tokens, where=where)
    return ChatResponse(
        text=text,
        finish_reason=finish_reason,
        usage=_with_cache(usage, cached),
        model=_model_name(getattr(completion, "model", None), model),
        reasoning=reasoning,
        refusal=refusal,
        timings=timings,
    )


class StreamAssembly:
    """Folds `ChatCompletionChunk`s into the same `ChatResponse` a non-streamed call gives."""

    def __init__(self, *, model: str, max_tokens: int | None = None, where: str = "the server") -> None:
        self.model = model
        self.finish_reason: str | None = None
        self.chunks = 0
        self._counts: tuple[float | None, float | None] = (None, None)
        self._max_tokens = max_tokens
        self._where = where
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self.clock = StreamClock()
        # Watches the answer as it comes: a model that starts repeating itself is cut there (`looping`).
        self.watch = LoopWatch()
        self._server_timings = Timings()
        self._cached: int | None = None

    @property
    def looping(self) -> bool:
        return self.watch.looping

    def add(self, chunk: Any) -> None:
        """Raises `MalformedAnswer` for a chunk that is not a `chat.completion.chunk`."""
        require(chunk, ChatCompletionChunk, "a stream chunk")
        self.chunks += 1
        self.model = _model_name(getattr(chunk, "model", None), self.model)
        if getattr(chunk, "usage", None) is not None:
            self._counts = _reported_counts(chunk.usage)
        timings, cached = _server_figures(chunk, getattr(chunk, "usage", None))
        if timings != Timings():
            self._server_timings = timings
        self._cached = cached if cached is not None else self._cached
        choices = require(getattr(chunk, "choices", None), list, "a stream chunk's choices")
        for choice in choices[:1]:
            require(choice, ChunkChoice, "a stream chunk's choices[0]")
            text, reasoning, refusal = _text_fields(
                getattr(choice, "delta", None), ChoiceDelta, "a stream chunk's delta"
            )
            self._text.append(text)
            count_streamed(text)
            self.clock.mark(text or reasoning)
            self.watch.feed(text)
            self._reasoning.append(reasoning)
            self._refusal.append(refusal or "")
            self.finish_reason = _finish_reason(choice) or self.finish_reason

    @property
    def text(self) -> str:
        return "".join(self._text)

    def response(self, *, messages: list[ChatMessage], cut: str | None = None) -> ChatResponse:
        """The answer; `cut` is the finish reason of an answer stopped short here (a loop, the timeout)."""
        text = self.text
        usage = plausible_usage(
            *self._counts, messages=messages, text=text, max_tokens=self._max_tokens, where=self._where
        )
        return ChatResponse(
            text=text,
            finish_reason=cut or self.finish_reason,
            usage=_with_cache(usage, self._cached),
            model=self.model,
            reasoning="".join(self._reasoning),
            refusal="".join(self._refusal) or None,
            timings=self.clock.timings(self._server_timings),
        )


# -- errors -------------------------------------------------------------------------------------------------


def _body_text(body: object) -> str:
    if body is None:
        return ""
    return body if isinstance(body, str) else json.dumps(body)


def _status_body(exc: openai.APIStatusError) -> str:
    try:
        return exc.response.text
    except RuntimeError:  # httpx(2)'s StreamError: the SDK may have closed an unread streamed body
        return _body_text(exc.body)


def translate_error(exc: openai.OpenAIError, *, where: str, root: str, structured: bool) -> ProviderError:
    """The one place SDK exceptions become `ProviderError`s. The SDK wraps the httpx error it met as the cause
    of its own: that cause is read by the mapping every HTTP provider shares (`wire.http_errors`)."""
    if isinstance(exc, openai.APIConnectionError):  # APITimeoutError included
        return _connection_error(exc, where=where, root=root)
    if isinstance(exc, openai.APIStatusError):
        body = _status_body(exc)
        return status_error(exc.status_code, body, where=where, headers=exc.response.headers, structured=structured)
    if isinstance(exc, openai.APIError):
        # An error event inside a 200 stream: the server accepted the request, then failed serving it.
        body = _body_text(exc.body)
        message = f"error inside the stream from {where}: {exc.message}"
        if structured and is_schema_rejection(None, body):
            return SchemaRejectedError(message, body=body)
        return ServerFaultError(message, body=body)
    return ProviderError(f"{where}: {exc}")


def _connection_error(exc: openai.APIConnectionError, *, where: str, root: str) -> ProviderError:
    cause = exc.__cause__
    if cause is not None and is_http_error(cause):
        return transport_error(cause, where=where, root=root)
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeoutError(f"timed out waiting for {where}")
    return AnswerCutError(f"connection to {where} broke before the answer was complete ({cause or exc})")


# -- the provider -------------------------------------------------------------------------------------------


class OpenAICompatProvider:
    """`api_type` openai or open_llm: the `openai` SDK pointed at `base_url`, one attempt per call."""

    capabilities = Capabilities(
        json_schema=True, json_object_schema=True, json_object=True, streams_usage=True, lists_models=True
    )

    def __init__(
        self,
        *,
        api_type: ApiType = "open_llm",
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        stream: bool = False,
        context_length: int | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> None:
        self.name = api_type
        self.model = model
        self.base_url = (base_url or OPENAI_BASE_URL).rstrip("/")
        self._window: int | None = context_length
        self._window_known = context_length is not None
        self._props_asked, self._props_answer = False, None
        # Which tokenize endpoint this server has: None = not asked yet, "" = none.
        self._tokenize_url: str | None = None if self._probes_server else ""
        self._api_type: ApiType = api_type
        self._stream = stream
        self._timeout = timeout
        self._defaults: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        if api_key is None and api_type == "open_llm":
            api_key = PLACEHOLDER_KEY
        self._probe = ServerProbe(
            headers={"Authorization": f"Bearer {api_key}"} if api_key else None, url=self.base_url
        )
        tls = tls_options(self.base_url)
        try:
            # max_retries=0: retries live in llm.retry only, so loops never nest.
            self._client = openai.AsyncOpenAI(
                api_key=api_key,
                base_url=self.base_url,
                max_retries=0,
                timeout=timeout,
                http_client=openai.DefaultAsyncHttpxClient(**tls) if tls else None,
            )
        except openai.OpenAIError as exc:
            hint = "set llm.api_key or OPENAI_API_KEY"
            raise ConfigError(f"{self.describe()} needs an api_key ({hint}): {exc}") from exc

    def describe(self) -> str:
        return f"{self.name} {url_without_password(self.base_url)} (model {self.model})"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        kwargs = build_chat_kwargs(
            request, api_type=self._api_type, model=self.model, stream=self._stream, **self._defaults
        )
        started = time.perf_counter()
        max_tokens = kwargs.get("max_tokens", kwargs.get("max_completion_tokens"))
        assembly = StreamAssembly(model=self.model, max_tokens=max_tokens, where=self.describe())
        with self._mapped_errors(structured=request.output_mode != "prompt"):
            try:
                # The SDK's timeout bounds each read; a server trickling bytes would never hit it. This bounds the call.
                response = await asyncio.wait_for(self._attempt(kwargs, request, assembly), self._timeout)
            except asyncio.TimeoutError:
                if not assembly.text.strip():
                    raise
                # What streamed before the deadline is an answer cut short: the caller asks again differently.
                response = assembly.response(messages=request.messages, cut=TIMEOUT_FINISH)
        response.native_schema = "response_format" in kwargs and request.output_mode in SCHEMA_LEVELS
        response.latency_s = time.perf_counter() - started
        return response

    @contextlib.contextmanager
    def _mapped_errors(self, *, structured: bool) -> Iterator[None]:
        """The one place where what the SDK, the JSON decoder or our shape checks raise — from the request or
        from any read of the stream — becomes a `ProviderError`."""
        where = self.describe()
        try:
            yield
        except openai.OpenAIError as exc:
            raise translate_error(exc, where=where, root=self.base_url, structured=structured) from exc
        except asyncio.TimeoutError as exc:
            raise deadline_error(where=where, timeout=self._timeout) from exc
        except ANSWER_ERRORS as exc:
            raise malformed_error(exc, where=where) from exc

    async def _attempt(self, kwargs: dict[str, Any], request: ChatRequest, assembly: StreamAssembly) -> ChatResponse:
        max_tokens = kwargs.get("max_tokens", kwargs.get("max_completion_tokens"))
        if self._stream:
            return await self._complete_streamed(kwargs, request.messages, assembly)
        completion = await self._client.chat.completions.create(**kwargs)
        response = parse_completion(
            completion, messages=request.messages, model=self.model, max_tokens=max_tokens, where=self.describe()
        )
        # Unstreamed, the first token's time is known only as the server's prompt time (llama.cpp reports it).
        response.timings.first_token_s = response.timings.prompt_s
        return response

    async def _complete_streamed(
        self, kwargs: dict[str, Any], messages: list[ChatMessage], assembly: StreamAssembly
    ) -> ChatResponse:
        stream = await self._client.chat.completions.create(**kwargs)
        async with stream:
            async for chunk in stream:
                assembly.add(chunk)
                if assembly.looping:
                    break  # leaving the block closes the stream, so the server stops generating
        if assembly.looping:
            return assembly.response(messages=messages, cut=LOOP_FINISH)
        content_type = stream.response.headers.get("content-type", "")
        if not assembly.chunks and "event-stream" not in content_type:
            # A login page or a JSON object where a stream was asked for: the SDK finds no events in it.
            raise MalformedAnswer(f"a stream was asked for, the answer is {content_type or 'untyped'} with no events")
        if assembly.finish_reason is None:
            raise AnswerCutError(
                f"stream from {self.describe()} ended without a finish_reason"
                f" after {len(assembly.text)} characters (cut mid-answer)"
            )
        return assembly.response(messages=messages)

    async def list_models(self) -> list[str]:
        with self._mapped_errors(structured=False):
            models = await asyncio.wait_for(self._client.models.list(), self._timeout)
            return [require(getattr(model, "id", None), str, "a model's id") async for model in models]

    # -- limits: the window and token counts (see server_limits) -------------------------------------------

    @property
    def _probes_server(self) -> bool:
        """OpenAI's own API has neither /props nor /tokenize; every other server may."""
        return self.base_url != OPENAI_BASE_URL

    @property
    def _server_root(self) -> str:
        """llama.cpp and vLLM serve /props and /tokenize beside /v1, not under it."""
        return self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url

    async def context_window(self) -> int | None:
        if not self._window_known:
            self._window = await self._server_window() if self._probes_server else None
            self._window_known = True
        return self._window

    async def _server_window(self) -> int | None:
        window = window_from_model_list(await self._probe.get_json(f"{self.base_url}/models"), self.model)
        if window is None:
            window = window_from_llamacpp_props(await self._props())
        return window

    async def _props(self) -> Any:
        """llama.cpp's `GET /props`, asked once (the window and the slots both come from it)."""
        if not self._props_asked:
            self._props_asked = True
            if self._probes_server:
                self._props_answer = await self._probe.get_json(f"{self._server_root}/props")
        return self._props_answer

    async def parallel_slots(self) -> int | None:
        """How many requests the server serves at once, where it says (llama.cpp: `total_slots`); None if unknown."""
        return slots_from_llamacpp_props(await self._props())

    async def count_tokens(self, text: str) -> TokenCount:
        if self._tokenize_url is None:
            for url in (f"{self._server_root}/tokenize", f"{self._server_root}/extras/tokenize/count"):
                count = await self._tokenize(url, text)
                if count is not None:
                    self._tokenize_url = url
                    return TokenCount(count, exact=True)
            self._tokenize_url = ""
        elif self._tokenize_url:
            count = await self._tokenize(self._tokenize_url, text)
            if count is not None:
                return TokenCount(count, exact=True)
        return estimated_count(text)

    async def _tokenize(self, url: str, text: str) -> int | None:
        # llama-cpp-python's /extras/tokenize/count reads `input`; the others ignore it.
        body = {**tokenize_body(text, self.model), "input": text}
        return count_from_tokenize(await self._probe.post_json(url, body))

    async def aclose(self) -> None:
        await self._probe.aclose()
        await self._client.close()
