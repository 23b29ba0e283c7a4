"""ollama's native chat API (`POST /api/chat`, NDJSON stream), spoken with httpx.

The native API rather than ollama's OpenAI shim: it takes a JSON schema as `format`, `num_ctx` as an
option and reports token counts. Unlike MetaGPT's client, the system prompt is kept and temperature is ours.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from typing import Any

import httpx

from devteam.core.errors import (
    AnswerCutError,
    HTTPStatusError,
    ProviderError,
    SchemaRejectedError,
    ServerFaultError,
)
from devteam.core.redaction import url_without_password
from devteam.llm.grammar_bounds import schema_for_grammar
from devteam.llm.loop_watch import LOOP_FINISH, LoopWatch
from devteam.llm.stream_meter import count_streamed
from devteam.llm.types import SCHEMA_LEVELS, Capabilities, ChatMessage, ChatRequest, ChatResponse, Timings, TokenCount
from devteam.llm.usage import estimate_prompt_tokens, estimated_count, plausible_usage
from devteam.llm.wire.answer_shape import optional_text, require, token_count
from devteam.llm.wire.http_errors import mapped_http_errors
from devteam.llm.wire.http_options import tls_options
from devteam.llm.wire.server_errors import error_reason, is_schema_rejection, status_error
from devteam.llm.wire.server_limits import window_from_ollama_show
from devteam.llm.wire.server_probe import ServerProbe
from devteam.llm.wire.server_timings import StreamClock, ollama_timings

# The finish reason of a streamed answer cut at the whole-call timeout (see openai_compat.TIMEOUT_FINISH).
TIMEOUT_FINISH = "timeout"

DEFAULT_ROOT = "http://127.0.0.1:11434"
DEFAULT_TIMEOUT = 600.0

# Error lines that mean "the server is struggling, ask again" rather than "your request is wrong".
_TRANSIENT_HINTS = ("busy", "overload", "try again", "timed out", "timeout", "unavailable", "unexpectedly stopped")
# The request field that carries the schema: an error naming it is about the schema (see `is_schema_rejection`).
FORMAT_FIELD = "format"


def ollama_root(base_url: str | None) -> str:
    """The server root from any form users write: `.../api` (the seed), bare host, `OLLAMA_HOST` style."""
    url = (base_url or DEFAULT_ROOT).strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    for suffix in ("/api", "/v1"):  # /v1 is ollama's OpenAI shim, a common mix-up
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url.rstrip("/")


# -- request ------------------------------------------------------------------------------------------------


def format_for(request: ChatRequest, num_predict: int | None = None) -> dict[str, Any] | str | None:
    if request.output_mode in SCHEMA_LEVELS and request.json_schema is not None:
        # ollama's `format` takes the schema itself, and makes llama.cpp's grammar of it.
        return schema_for_grammar(request, num_predict)
    if request.output_mode in ("json_object", "json_object_schema"):
        return "json"
    return None


CONTEXT_BUCKETS = (8192, 16384, 32768, 65536, 131072)


def context_window_for(request: ChatRequest, num_predict: int | None) -> int:
    """A `num_ctx` that holds the prompt and the answer, when the user configured none.

    ollama's default window (2048 or 4096 tokens, by version) silently drops the start of a longer prompt —
    the system prompt and the design — so the model answers a question it never fully saw. Sizes come in a
    few buckets because each change of `num_ctx` makes ollama reload the model.
    """
    needed = estimate_prompt_tokens(request.messages) + (num_predict or 0)
    return next((size for size in CONTEXT_BUCKETS if size >= needed), CONTEXT_BUCKETS[-1])


def build_chat_body(
    request: ChatRequest,
    *,
    model: str,
    stream: bool,
    temperature: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    context_length: int | None = None,
) -> dict[str, Any]:
    """The `/api/chat` body; the request's own settings win over the provider's."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [m.as_dict() for m in request.messages],
        "stream": stream,
    }
    num_predict = request.max_tokens if request.max_tokens is not None else max_tokens
    output_format = format_for(request, num_predict)
    if output_format is not None:
        body["format"] = output_format
    options = {
        "temperature": request.temperature if request.temperature is not None else temperature,
        "num_ctx": context_length or context_window_for(request, num_predict),
        "seed": seed,
        "num_predict": num_predict,
        "frequency_penalty": request.frequency_penalty,
    }
    options = {name: value for name, value in options.items() if value is not None}
    if options:
        body["options"] = options
    return body


# -- response -----------------------------------------------------------------------------------------------


class ChatAssembly:
    """Folds `/api/chat` objects (every NDJSON line, or the single non-streamed object) into a response."""

    def __init__(self, *, model: str, max_tokens: int | None = None, where: str = "the server") -> None:
        self.model = model
        self.done = False
        self.done_reason: str | None = None
        self.prompt_tokens: float | None = None
        self.completion_tokens: float | None = None
        self._max_tokens = max_tokens
        self._where = where
        self._text: list[str] = []
        self._thinking: list[str] = []
        self.clock = StreamClock()
        self.watch = LoopWatch()
        self._server_timings = Timings()

    @property
    def looping(self) -> bool:
        return self.watch.looping

    def add(self, line: dict[str, Any]) -> None:
        """Raises `MalformedAnswer` when a field we read is of the wrong kind (a `message` that is a string)."""
        message = line.get("message")
        if message is not None:
            require(message, dict, "message")
            piece = optional_text(message.get("content"), "message.content")
            self._text.append(piece)
            count_streamed(piece)
            thinking = optional_text(message.get("thinking"), "message.thinking")
            self._thinking.append(thinking)
            self.clock.mark(piece or thinking)
            self.watch.feed(piece)
        model = line.get("model")
        self.model = model if isinstance(model, str) and model else self.model
        if line.get("done"):
            self.done = True
            self.done_reason = optional_text(line.get("done_reason"), "done_reason") or None
            self.prompt_tokens = token_count(line.get("prompt_eval_count"), "prompt_eval_count")
            self.completion_tokens = token_count(line.get("eval_count"), "eval_count")
            self._server_timings = ollama_timings(line)

    @property
    def text(self) -> str:
        return "".join(self._text)

    def response(self, *, messages: list[ChatMessage], cut: str | None = None) -> ChatResponse:
        # ollama leaves out prompt_eval_count when the whole prompt came from its cache: that part is estimated.
        text = self.text
        usage = plausible_usage(
            self.prompt_tokens,
            self.completion_tokens,
            messages=messages,
            text=text,
            max_tokens=self._max_tokens,
            where=self._where,
        )
        return ChatResponse(
            text=text,
            finish_reason=cut or self.done_reason,
            usage=usage,
            model=self.model,
            reasoning="".join(self._thinking),
            timings=self.clock.timings(self._server_timings),
        )


async def ndjson_lines(response: httpx.Response) -> AsyncIterator[bytes]:
    """The lines of an NDJSON body as bytes: decoding is left to the caller, strictly (httpx's text
    iterators would turn bytes that are not UTF-8 into U+FFFD and pass a mangled answer on)."""
    pending = b""
    async for chunk in response.aiter_bytes():
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line
    if pending:
        yield pending


# -- errors -------------------------------------------------------------------------------------------------


def http_error(
    status: int, body: str, *, where: str, root: str, model: str, structured: bool, headers: httpx.Headers | None = None
) -> ProviderError:
    """A non-200 answer from ollama as a `ProviderError`: a missing model says how to pull it."""
    reason = error_reason(body)
    if status == 404 and "not found" in reason.lower() and model in reason:
        return HTTPStatusError(
            f'model "{model}" is not available on the ollama server at {root}; run: ollama pull {model}',
            status=status,
            body=body,
        )
    note = f" (is {root} an ollama server?)" if status == 404 else ""
    return status_error(
        status, body, where=where, headers=headers, structured=structured, field=FORMAT_FIELD, note=note
    )


def stream_error(message: str, *, where: str, structured: bool) -> ProviderError:
    """An `{"error": ...}` line inside a 200 stream: a server fault worth retrying when it reads like an
    overloaded server, a schema rejection by the one rule, else what it says."""
    text = f"error inside the stream from {where}: {message}"
    if structured and is_schema_rejection(None, message, field=FORMAT_FIELD):
        return SchemaRejectedError(text, body=message)
    if any(hint in message.lower() for hint in _TRANSIENT_HINTS):
        return ServerFaultError(text, body=message)
    return ProviderError(text, body=message)


# -- the provider -------------------------------------------------------------------------------------------


class OllamaProvider:
    """`api_type` ollama: one `/api/chat` call per attempt over a shared `httpx.AsyncClient`."""

    name = "ollama"
    capabilities = Capabilities(json_schema=True, json_object=True, streams_usage=True, lists_models=True)

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        stream: bool = True,
        context_length: int | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> None:
        self.model = model
        self.root = ollama_root(base_url)
        self._window: int | None = context_length
        self._window_known = context_length is not None
        self._stream = stream
        self._timeout = timeout
        self._options: dict[str, Any] = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "seed": seed,
            "context_length": context_length,
        }
        # ollama itself needs no key; one is sent when given, for ollama behind an authenticating proxy.
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.root, timeout=httpx.Timeout(timeout), headers=headers, **tls_options(self.root)
        )
        self._probe = ServerProbe(client=self._client)

    def describe(self) -> str:
        return f"ollama {url_without_password(self.root)} (model {self.model})"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        body = build_chat_body(request, model=self.model, stream=self._stream, **self._options)
        structured = "format" in body
        started = time.perf_counter()
        num_predict = (body.get("options") or {}).get("num_predict")
        assembly = ChatAssembly(model=self.model, max_tokens=num_predict, where=self.describe())
        cut: str | None = None
        with self._mapped_errors():
            try:
                # httpx's timeout bounds each read; a server trickling bytes would never hit it. This bounds the call.
                await asyncio.wait_for(self._chat(body, assembly, structured=structured), self._timeout)
            except asyncio.TimeoutError:
                if not assembly.text.strip():
                    raise
                cut = TIMEOUT_FINISH  # what streamed before the deadline: asked again differently, never the same
        if assembly.looping:
            cut = LOOP_FINISH
        if cut is None and not assembly.done:
            raise AnswerCutError(
                f"stream from {self.describe()} ended before done=true after {len(assembly.text)} characters"
                " (cut mid-answer)"
            )
        response = assembly.response(messages=request.messages, cut=cut)
        response.native_schema = isinstance(body.get("format"), dict)
        response.latency_s = time.perf_counter() - started
        return response

    def _mapped_errors(self) -> AbstractContextManager[None]:
        """What httpx, the deadline or our shape checks raise — from the request or any read of the stream —
        becomes a `ProviderError`, by the mapping every HTTP provider shares."""
        return mapped_http_errors(
            where=self.describe(),
            root=self.root,
            timeout=self._timeout,
            what="an ollama chat answer",
            hint="is `ollama serve` running?",
            target=f"ollama at {url_without_password(self.root)}",
        )

    async def _chat(self, body: dict[str, Any], assembly: ChatAssembly, *, structured: bool) -> None:
        async with self._client.stream("POST", "/api/chat", json=body) as response:
            if response.status_code != 200:
                text = (await response.aread()).decode(errors="replace")
                raise self._http_error(response.status_code, text, structured=structured, headers=response.headers)
            if body["stream"]:
                async for line in ndjson_lines(response):
                    self._fold(assembly, line, structured=structured)
                    if assembly.looping:
                        return  # leaving the block closes the connection, so ollama stops generating
            else:
                self._fold(assembly, await response.aread(), structured=structured)

    def _fold(self, assembly: ChatAssembly, raw: bytes, *, structured: bool) -> None:
        """One NDJSON line (or the whole non-streamed body); decoding errors propagate to `_mapped_errors`."""
        if not raw.strip():
            return
        line = require(json.loads(raw.decode("utf-8")), dict, "a line of the answer")
        if "error" in line:
            raise stream_error(str(line["error"]), where=self.describe(), structured=structured)
        assembly.add(line)

    def _http_error(
        self, status: int, body: str, *, structured: bool, headers: httpx.Headers | None = None
    ) -> ProviderError:
        where, root, model = self.describe(), url_without_password(self.root), self.model
        return http_error(status, body, where=where, root=root, model=model, structured=structured, headers=headers)

    async def list_models(self) -> list[str]:
        with self._mapped_errors():
            response = await asyncio.wait_for(self._client.get("/api/tags"), self._timeout)
            if response.status_code != 200:
                raise self._http_error(response.status_code, response.text, structured=False)
            tags = require(json.loads(response.content.decode("utf-8")), dict, "the /api/tags answer")
            models = require(tags.get("models", []), list, "the /api/tags models")
            return [require(require(entry, dict, "a model entry").get("name"), str, "a model name") for entry in models]

    async def context_window(self) -> int | None:
        """The configured `context_length` (sent as `num_ctx`), else the model's own window from `/api/show`
        (a `num_ctx` up to it is sent per request, see `context_window_for`)."""
        if not self._window_known:
            show = await self._probe.post_json(f"{self.root}/api/show", {"model": self.model})
            self._window = window_from_ollama_show(show)
            self._window_known = True
        return self._window

    async def count_tokens(self, text: str) -> TokenCount:
        # ollama has no tokenize endpoint: an estimate, said to be one.
        return estimated_count(text)

    async def aclose(self) -> None:
        await self._client.aclose()
