"""Completion endpoints: one prompt string in, raw text out, with a prompt format doing the chat part.

Two wire dialects, both spoken with httpx:
- `openai`: `POST {base_url}/completions` — vLLM, text-generation-webui, koboldcpp, LM Studio, llama.cpp
  all serve it (`api_type: open_llm` with `prompt_format:`). The schema travels in the prompt only.
- `llama_server`: llama.cpp's native `POST /completion` (`api_type: llama_server`), which takes a
  `json_schema` and turns it into a grammar, so JSON is constrained on the server.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import httpx

from devteam.core.errors import ProviderError, SchemaRejectedError
from devteam.llm.grammar_bounds import schema_for_grammar
from devteam.llm.providers.prompt_formats import PromptFormat, stop_strings
from devteam.llm.retry import is_transient_status, retry_after_seconds
from devteam.llm.types import Capabilities, ChatRequest, ChatResponse, TokenCount, Usage
from devteam.llm.usage import estimate_tokens, estimated_count
from devteam.llm.wire.http_options import tls_options
from devteam.llm.wire.server_errors import error_reason, mentions_schema
from devteam.llm.wire.server_limits import (
    count_from_tokenize,
    tokenize_body,
    window_from_llamacpp_props,
    window_from_model_list,
)
from devteam.llm.wire.server_probe import ServerProbe

Dialect = Literal["openai", "llama_server"]

DEFAULT_LLAMA_SERVER = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 600.0


def llama_server_root(base_url: str | None) -> str:
    """llama-server's root from the forms users write (with or without the OpenAI `/v1`)."""
    url = (base_url or DEFAULT_LLAMA_SERVER).rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


# -- request ------------------------------------------------------------------------------------------------


def build_completion_body(
    request: ChatRequest,
    *,
    dialect: Dialect,
    prompt: str,
    stop: list[str],
    model: str,
    temperature: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """The body for one completion; the request's own settings win over the provider's."""
    body: dict[str, Any] = {"prompt": prompt}
    temperature = request.temperature if request.temperature is not None else temperature
    limit = request.max_tokens if request.max_tokens is not None else max_tokens
    if dialect == "openai":
        body.update(model=model, stream=False)
        if limit is not None:
            body["max_tokens"] = limit
    else:
        # cache_prompt: the next call (a re-ask, the next file) shares the system prompt and design.
        body.update(stream=False, cache_prompt=True)
        if limit is not None:
            body["n_predict"] = limit
        if request.output_mode == "json_schema" and request.json_schema is not None:
            body["json_schema"] = schema_for_grammar(request, limit)
    if stop:
        body["stop"] = stop
    if temperature is not None:
        body["temperature"] = temperature
    if seed is not None:
        body["seed"] = seed
    if request.frequency_penalty is not None:
        body["frequency_penalty"] = request.frequency_penalty  # both dialects (llama-server and OpenAI's) take it
    return body


# -- response -----------------------------------------------------------------------------------------------


def parse_openai_completion(data: dict[str, Any]) -> tuple[str, str | None, Usage | None, str]:
    choices = data.get("choices") or [{}]
    choice = choices[0]
    usage = data.get("usage")
    parsed = None
    if isinstance(usage, dict):
        parsed = Usage(
            prompt_tokens=usage.get("prompt_tokens") or 0, completion_tokens=usage.get("completion_tokens") or 0
        )
    return str(choice.get("text") or ""), choice.get("finish_reason"), parsed, str(data.get("model") or "")


def parse_llama_completion(data: dict[str, Any]) -> tuple[str, str | None, Usage | None, str]:
    """llama.cpp's `/completion` answer: `stop_type` on current servers, `stopped_limit` on older ones."""
    limited = data.get("stop_type") == "limit" or bool(data.get("stopped_limit"))
    finish = "length" if limited else "stop"
    usage = None
    if "tokens_predicted" in data or "tokens_evaluated" in data:
        usage = Usage(
            prompt_tokens=data.get("tokens_evaluated") or 0, completion_tokens=data.get("tokens_predicted") or 0
        )
    return str(data.get("content") or ""), finish, usage, str(data.get("model") or "")


# -- the provider -------------------------------------------------------------------------------------------


class CompletionsProvider:
    """A completion endpoint with a prompt format in front: chat in, chat out."""

    def __init__(
        self,
        *,
        dialect: Dialect,
        prompt_format: PromptFormat,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        context_length: int | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        format_name: str = "",
    ) -> None:
        self.dialect = dialect
        self.name = "llama_server" if dialect == "llama_server" else "open_llm"
        self.model = model
        self.prompt_format = prompt_format
        self.format_name = format_name or type(prompt_format).__name__
        self._window: int | None = context_length
        self._window_known = context_length is not None
        self._tokenize_ok: bool | None = None  # None: not asked yet
        self.root = llama_server_root(base_url) if dialect == "llama_server" else (base_url or "").rstrip("/")
        self._path = "/completion" if dialect == "llama_server" else "/completions"
        self.capabilities = Capabilities(json_schema=dialect == "llama_server", lists_models=True)
        self._defaults = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.root, timeout=httpx.Timeout(timeout), headers=headers, **tls_options(self.root)
        )
        self._probe = ServerProbe(client=self._client)

    def describe(self) -> str:
        return f"{self.name} {self.root}{self._path} (model {self.model}, prompt format {self.format_name})"

    @property
    def _server_root(self) -> str:
        """llama.cpp and vLLM serve /props and /tokenize beside /v1, not under it."""
        return self.root[: -len("/v1")] if self.root.endswith("/v1") else self.root

    async def context_window(self) -> int | None:
        """The configured `context_length`, else the server's (vLLM's `max_model_len`, llama.cpp's `/props`)."""
        if not self._window_known:
            models_url = f"{self._server_root}/v1/models"
            window = window_from_model_list(await self._probe.get_json(models_url), self.model)
            if window is None:
                window = window_from_llamacpp_props(await self._probe.get_json(f"{self._server_root}/props"))
            self._window, self._window_known = window, True
        return self._window

    async def count_tokens(self, text: str) -> TokenCount:
        """The server's own tokenizer (`/tokenize` of llama.cpp and vLLM) where it has one, else an estimate."""
        if self._tokenize_ok is not False:
            answer = await self._probe.post_json(f"{self._server_root}/tokenize", tokenize_body(text, self.model))
            count = count_from_tokenize(answer)
            self._tokenize_ok = count is not None
            if count is not None:
                return TokenCount(count, exact=True)
        return estimated_count(text)

    async def complete(self, request: ChatRequest) -> ChatResponse:
        prompt = self.prompt_format.messages_to_prompt(request.messages)
        body = build_completion_body(
            request,
            dialect=self.dialect,
            prompt=prompt,
            stop=stop_strings(self.prompt_format),
            model=self.model,
            **self._defaults,
        )
        structured = "json_schema" in body
        started = time.perf_counter()
        data = await self._post(body, structured=structured)
        parse = parse_llama_completion if self.dialect == "llama_server" else parse_openai_completion
        raw, finish, usage, model = parse(data)
        answer = self.prompt_format.output_to_answer(raw)
        return ChatResponse(
            text=answer,
            finish_reason=finish,
            usage=usage
            or Usage(prompt_tokens=estimate_tokens(prompt), completion_tokens=estimate_tokens(raw), estimated=True),
            model=model or self.model,
            native_schema=structured,
            latency_s=time.perf_counter() - started,
        )

    async def _post(self, body: dict[str, Any], *, structured: bool) -> dict[str, Any]:
        try:
            response = await self._client.post(self._path, json=body)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if response.status_code != 200:
            raise self._http_error(response, structured=structured)
        try:
            data = response.json()
        except ValueError:
            raise ProviderError(
                f"{self.describe()} answered with something that is not JSON: {response.text[:200]!r}"
            ) from None
        if not isinstance(data, dict):
            raise ProviderError(
                f"{self.describe()} answered with something that is not a completion: {response.text[:200]!r}"
            )
        return data

    def _http_error(self, response: httpx.Response, *, structured: bool) -> ProviderError:
        status, body = response.status_code, response.text
        message = f"HTTP {status} from {self.describe()}: {error_reason(body)}"
        if status == 404 and self.dialect == "openai":
            message += " (does this server have /v1/completions? base_url should end in /v1)"
        if structured and (status == 400 or mentions_schema(body)):
            return SchemaRejectedError(message, status=status, body=body)
        return ProviderError(
            message,
            status=status,
            body=body,
            transient=is_transient_status(status),
            retry_after=retry_after_seconds(response.headers),
        )

    def _transport_error(self, exc: httpx.HTTPError) -> ProviderError:
        if isinstance(exc, httpx.ConnectError):
            return ProviderError(f"could not connect to {self.root} ({exc}); is the server running?", transient=True)
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError(f"timed out waiting for {self.describe()}", transient=True)
        return ProviderError(
            f"connection to {self.describe()} broke before the answer was complete ({exc!r})", transient=True
        )

    async def list_models(self) -> list[str]:
        path = "/v1/models" if self.dialect == "llama_server" else "/models"
        try:
            response = await self._client.get(path)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if response.status_code != 200:
            raise self._http_error(response, structured=False)
        try:
            return [str(entry["id"]) for entry in response.json().get("data", [])]
        except (ValueError, AttributeError, KeyError, TypeError) as exc:
            raise ProviderError(f"{self.root}{path} did not list models: {response.text[:200]!r}") from exc

    async def aclose(self) -> None:
        await self._client.aclose()
