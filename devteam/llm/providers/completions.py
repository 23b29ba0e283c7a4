"""Completion endpoints: one prompt string in, raw text out, with a prompt format doing the chat part.

Two wire dialects, both spoken with httpx:
- `openai`: `POST {base_url}/completions` — vLLM, text-generation-webui, koboldcpp, LM Studio, llama.cpp
  all serve it (`api_type: open_llm` with `prompt_format:`). The schema travels in the prompt only.
- `llama_server`: llama.cpp's native `POST /completion` (`api_type: llama_server`), which takes a
  `json_schema` and turns it into a grammar, so JSON is constrained on the server.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx

from devteam.core.errors import ProviderError
from devteam.core.redaction import url_without_password
from devteam.llm.grammar_bounds import schema_for_grammar
from devteam.llm.providers.prompt_formats import PromptFormat, stop_strings
from devteam.llm.types import Capabilities, ChatMessage, ChatRequest, ChatResponse, Timings, TokenCount
from devteam.llm.usage import estimated_count, plausible_usage
from devteam.llm.wire.answer_shape import optional_text, require, token_count
from devteam.llm.wire.http_errors import mapped_http_errors
from devteam.llm.wire.http_options import tls_options
from devteam.llm.wire.server_errors import status_error
from devteam.llm.wire.server_limits import (
    count_from_tokenize,
    tokenize_body,
    window_from_llamacpp_props,
    window_from_model_list,
)
from devteam.llm.wire.server_probe import ServerProbe
from devteam.llm.wire.server_timings import cached_from_usage, llamacpp_figures, plausible_cached

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
        # cache_prompt: the slot keeps this prompt's tokens, so the next call (the next file, a re-ask) reads only
        # what follows the start they share (prompts are ordered for it: prompts/run_shared.j2). No `id_slot`:
        # llama-server already gives a request the slot whose cached prompt is most like it.
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


@dataclass(frozen=True)
class Completion:
    """What a completion answer says, each field checked: the raw text, why it stopped, the reported counts."""

    text: str
    finish_reason: str | None
    prompt_tokens: float | None
    completion_tokens: float | None
    model: str
    # Prompt tokens the server's cache served, and where its time went (llama.cpp's `timings`), where reported.
    cached_tokens: int | None = None
    timings: Timings = field(default_factory=Timings)


def parse_openai_completion(data: Any) -> Completion:
    """`/v1/completions`: raises `MalformedAnswer` for a field of the wrong kind (`{"choices": "x"}`)."""
    require(data, dict, "the answer")
    choices = require(data.get("choices") or [{}], list, "choices")
    choice = require(choices[0], dict, "choices[0]")
    usage = data.get("usage")
    prompt = completion = None
    if usage is not None:
        require(usage, dict, "usage")
        prompt = token_count(usage.get("prompt_tokens"), "usage.prompt_tokens")
        completion = token_count(usage.get("completion_tokens"), "usage.completion_tokens")
    timings, cached = llamacpp_figures(data.get("timings"))
    reported = cached_from_usage(usage) if isinstance(usage, dict) else None
    return Completion(
        text=optional_text(choice.get("text"), "choices[0].text"),
        finish_reason=optional_text(choice.get("finish_reason"), "choices[0].finish_reason") or None,
        prompt_tokens=prompt,
        completion_tokens=completion,
        model=_model_name(data.get("model")),
        cached_tokens=reported if reported is not None else cached,
        timings=timings,
    )


def parse_llama_completion(data: Any) -> Completion:
    """llama.cpp's `/completion` answer: `stop_type` on current servers, `stopped_limit` on older ones;
    `tokens_evaluated` is the whole prompt, `timings.cache_n` (older: `tokens_cached`) the part its cache served."""
    require(data, dict, "the answer")
    limited = data.get("stop_type") == "limit" or data.get("stopped_limit") is True
    timings, cached = llamacpp_figures(data.get("timings"), tokens_cached=data.get("tokens_cached"))
    return Completion(
        text=optional_text(data.get("content"), "content"),
        finish_reason="length" if limited else "stop",
        prompt_tokens=token_count(data.get("tokens_evaluated"), "tokens_evaluated"),
        completion_tokens=token_count(data.get("tokens_predicted"), "tokens_predicted"),
        model=_model_name(data.get("model")),
        cached_tokens=cached,
        timings=timings,
    )


def _model_name(value: Any) -> str:
    return value if isinstance(value, str) else ""


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
        self._defaults: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        self._timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.root, timeout=httpx.Timeout(timeout), headers=headers, **tls_options(self.root)
        )
        self._probe = ServerProbe(client=self._client)

    def describe(self) -> str:
        root = url_without_password(self.root)
        return f"{self.name} {root}{self._path} (model {self.model}, prompt format {self.format_name})"

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
        parse = parse_llama_completion if self.dialect == "llama_server" else parse_openai_completion
        with self._mapped_errors():
            # httpx's timeout bounds each read; a server trickling bytes would never hit it. This bounds the call.
            answer = parse(await asyncio.wait_for(self._post(body, structured=structured), self._timeout))
        limit = body.get("n_predict", body.get("max_tokens"))
        usage = plausible_usage(
            answer.prompt_tokens,
            answer.completion_tokens,
            messages=[ChatMessage("user", prompt)],
            text=answer.text,
            max_tokens=limit,
            where=self.describe(),
        )
        if not usage.estimated:
            usage.cached_tokens = plausible_cached(answer.cached_tokens, usage.prompt_tokens)
        # Not streamed: the first token's time is known only as the server's own prompt time.
        timings = replace(answer.timings, first_token_s=answer.timings.prompt_s)
        return ChatResponse(
            text=self.prompt_format.output_to_answer(answer.text),
            finish_reason=answer.finish_reason,
            usage=usage,
            model=answer.model or self.model,
            native_schema=structured,
            latency_s=time.perf_counter() - started,
            timings=timings,
        )

    def _mapped_errors(self) -> AbstractContextManager[None]:
        """The mapping every HTTP provider shares (a refused connection is unreachable, a dropped one cut)."""
        return mapped_http_errors(
            where=self.describe(), root=self.root, timeout=self._timeout, what="a completion answer"
        )

    async def _post(self, body: dict[str, Any], *, structured: bool) -> Any:
        response = await self._client.post(self._path, json=body)
        if response.status_code != 200:
            raise self._http_error(response, structured=structured)
        return json.loads(response.content.decode("utf-8"))

    def _http_error(self, response: httpx.Response, *, structured: bool) -> ProviderError:
        note = ""
        if response.status_code == 404 and self.dialect == "openai":
            note = " (does this server have /v1/completions? base_url should end in /v1)"
        return status_error(
            response.status_code,
            response.text,
            where=self.describe(),
            headers=response.headers,
            structured=structured,
            field="json_schema",
            note=note,
        )

    async def list_models(self) -> list[str]:
        path = "/v1/models" if self.dialect == "llama_server" else "/models"
        with self._mapped_errors():
            response = await asyncio.wait_for(self._client.get(path), self._timeout)
            if response.status_code != 200:
                raise self._http_error(response, structured=False)
            listing = require(json.loads(response.content.decode("utf-8")), dict, f"the {path} answer")
            entries = require(listing.get("data", []), list, f"the {path} data")
            return [
                str(require(require(entry, dict, "a model entry").get("id"), str, "a model id")) for entry in entries
            ]

    async def aclose(self) -> None:
        await self._client.aclose()
