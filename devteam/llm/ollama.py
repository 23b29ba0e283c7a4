"""ollama's native chat API (`POST /api/chat`, NDJSON stream), spoken with httpx.

The native API rather than ollama's OpenAI shim: it takes a JSON schema as `format`, `num_ctx` as an
option and reports token counts. Unlike MetaGPT's client, the system prompt is kept and temperature is ours.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from devteam.errors import ProviderError, SchemaRejectedError
from devteam.llm.openai_compat import error_reason
from devteam.llm.retry import is_transient_status
from devteam.llm.server_limits import window_from_ollama_show
from devteam.llm.server_probe import ServerProbe
from devteam.llm.types import SCHEMA_LEVELS, Capabilities, ChatMessage, ChatRequest, ChatResponse, TokenCount, Usage
from devteam.llm.usage import estimate_prompt_tokens, estimate_usage, estimated_count

DEFAULT_ROOT = "http://127.0.0.1:11434"
DEFAULT_TIMEOUT = 600.0

# Error lines that mean "the server is struggling, ask again" rather than "your request is wrong".
_TRANSIENT_HINTS = ("busy", "overload", "try again", "timed out", "timeout", "unavailable", "unexpectedly stopped")
_SCHEMA_WORDS = ("format", "schema")


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


def format_for(request: ChatRequest) -> dict[str, Any] | str | None:
    if request.output_mode in SCHEMA_LEVELS and request.json_schema is not None:
        return request.json_schema  # ollama's `format` takes the schema itself
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
    output_format = format_for(request)
    if output_format is not None:
        body["format"] = output_format
    num_predict = request.max_tokens if request.max_tokens is not None else max_tokens
    options = {
        "temperature": request.temperature if request.temperature is not None else temperature,
        "num_ctx": context_length or context_window_for(request, num_predict),
        "seed": seed,
        "num_predict": num_predict,
    }
    options = {name: value for name, value in options.items() if value is not None}
    if options:
        body["options"] = options
    return body


# -- response -----------------------------------------------------------------------------------------------


class ChatAssembly:
    """Folds `/api/chat` objects (every NDJSON line, or the single non-streamed object) into a response."""

    def __init__(self, *, model: str) -> None:
        self.model = model
        self.done = False
        self.done_reason: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self._text: list[str] = []
        self._thinking: list[str] = []

    def add(self, line: dict[str, Any]) -> None:
        message = line.get("message") or {}
        self._text.append(message.get("content") or "")
        self._thinking.append(message.get("thinking") or "")
        self.model = line.get("model") or self.model
        if line.get("done"):
            self.done = True
            self.done_reason = line.get("done_reason")
            self.prompt_tokens = line.get("prompt_eval_count")
            self.completion_tokens = line.get("eval_count")

    @property
    def text(self) -> str:
        return "".join(self._text)

    def response(self, *, messages: list[ChatMessage]) -> ChatResponse:
        text = self.text
        return ChatResponse(
            text=text,
            finish_reason=self.done_reason,
            usage=self._usage(messages, text),
            model=self.model,
            reasoning="".join(self._thinking),
        )

    def _usage(self, messages: list[ChatMessage], text: str) -> Usage:
        # ollama leaves out prompt_eval_count when the whole prompt came from its cache: estimate that part.
        estimate = estimate_usage(messages, text)
        if self.prompt_tokens is None and self.completion_tokens is None:
            return estimate
        prompt, completion = self.prompt_tokens, self.completion_tokens
        return Usage(
            prompt_tokens=estimate.prompt_tokens if prompt is None else prompt,
            completion_tokens=estimate.completion_tokens if completion is None else completion,
            estimated=prompt is None or completion is None,
        )


# -- errors -------------------------------------------------------------------------------------------------


def mentions_format(body: str) -> bool:
    lowered = body.lower()
    return any(word in lowered for word in _SCHEMA_WORDS)


def http_error(status: int, body: str, *, where: str, root: str, model: str, structured: bool) -> ProviderError:
    """A non-200 answer from `/api/chat` as a `ProviderError`."""
    reason = error_reason(body)
    if status == 404 and "not found" in reason.lower() and model in reason:
        return ProviderError(
            f'model "{model}" is not available on the ollama server at {root}; run: ollama pull {model}',
            status=status,
            body=body,
        )
    if status == 404:
        message = f"HTTP 404 from {where}: {reason} (is {root} an ollama server?)"
        return ProviderError(message, status=status, body=body)
    message = f"HTTP {status} from {where}: {reason}"
    if structured and status in (400, 500) and mentions_format(body):
        return SchemaRejectedError(message, status=status, body=body)
    return ProviderError(message, status=status, body=body, transient=is_transient_status(status))


def stream_error(message: str, *, where: str, structured: bool) -> ProviderError:
    """An `{"error": ...}` line inside a 200 stream: transient when it reads like an overloaded server."""
    text = f"error inside the stream from {where}: {message}"
    if structured and mentions_format(message):
        return SchemaRejectedError(text, body=message)
    transient = any(hint in message.lower() for hint in _TRANSIENT_HINTS)
    return ProviderError(text, body=message, transient=transient)


def transport_error(exc: httpx.HTTPError, *, where: str, root: str) -> ProviderError:
    if isinstance(exc, httpx.ConnectError):
        message = f"could not connect to ollama at {root} ({exc}); is `ollama serve` running?"
        return ProviderError(message, transient=True)
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(f"timed out waiting for {where}", transient=True)
    return ProviderError(f"connection to {where} broke before the answer was complete ({exc!r})", transient=True)


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
        self._options = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "seed": seed,
            "context_length": context_length,
        }
        # ollama itself needs no key; one is sent when given, for ollama behind an authenticating proxy.
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(base_url=self.root, timeout=httpx.Timeout(timeout), headers=headers)
        self._probe = ServerProbe(client=self._client)

    def describe(self) -> str:
        return f"ollama {self.root} (model {self.model})"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        body = build_chat_body(request, model=self.model, stream=self._stream, **self._options)
        structured = "format" in body
        started = time.perf_counter()
        try:
            assembly = await self._chat(body, structured=structured)
        except httpx.HTTPError as exc:
            raise transport_error(exc, where=self.describe(), root=self.root) from exc
        if not assembly.done:
            raise ProviderError(
                f"stream from {self.describe()} ended before done=true after {len(assembly.text)} characters"
                " (cut mid-answer)",
                transient=True,
            )
        response = assembly.response(messages=request.messages)
        response.native_schema = isinstance(body.get("format"), dict)
        response.latency_s = time.perf_counter() - started
        return response

    async def _chat(self, body: dict[str, Any], *, structured: bool) -> ChatAssembly:
        assembly = ChatAssembly(model=self.model)
        async with self._client.stream("POST", "/api/chat", json=body) as response:
            if response.status_code != 200:
                text = (await response.aread()).decode(errors="replace")
                raise self._http_error(response.status_code, text, structured=structured)
            if body["stream"]:
                async for line in response.aiter_lines():
                    self._fold(assembly, line, structured=structured)
            else:
                self._fold(assembly, (await response.aread()).decode(errors="replace"), structured=structured)
        return assembly

    def _fold(self, assembly: ChatAssembly, raw: str, *, structured: bool) -> None:
        if not raw.strip():
            return
        try:
            line = json.loads(raw)
        except ValueError as exc:
            raise ProviderError(f"{self.describe()} sent something that is not JSON: {raw[:200]!r}") from exc
        if not isinstance(line, dict):
            raise ProviderError(f"{self.describe()} sent something that is not a chat object: {raw[:200]!r}")
        if "error" in line:
            raise stream_error(str(line["error"]), where=self.describe(), structured=structured)
        assembly.add(line)

    def _http_error(self, status: int, body: str, *, structured: bool) -> ProviderError:
        where, root, model = self.describe(), self.root, self.model
        return http_error(status, body, where=where, root=root, model=model, structured=structured)

    async def list_models(self) -> list[str]:
        try:
            response = await self._client.get("/api/tags")
        except httpx.HTTPError as exc:
            raise transport_error(exc, where=self.describe(), root=self.root) from exc
        if response.status_code != 200:
            raise self._http_error(response.status_code, response.text, structured=False)
        try:
            return [entry["name"] for entry in response.json().get("models", [])]
        except (ValueError, AttributeError, KeyError, TypeError) as exc:
            raise ProviderError(f"{self.root}/api/tags did not answer like ollama: {response.text[:200]!r}") from exc

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
