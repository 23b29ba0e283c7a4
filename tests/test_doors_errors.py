"""Typed provider failures: the type says what failed and the retry policy reads only the type; one httpx
mapping for every HTTP provider, the probes and the openai SDK's wrapped errors; one schema-rejection rule.

Real loopback servers (tests/fakes), the real openai SDK, httpx and httpx2; the mapping functions called as
the providers call them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import httpx2
import pytest
from fakes import CompletionsServer, Error, OllamaServer, OpenAIServer
from provider_builder import make_provider

from devteam.core.errors import (
    AnswerCutError,
    HTTPStatusError,
    MalformedAnswerError,
    ProviderError,
    ProviderTimeoutError,
    RetriesExhaustedError,
    SchemaRejectedError,
    ServerFaultError,
    ServerUnreachableError,
)
from devteam.llm.providers.ollama import OllamaProvider
from devteam.llm.providers.openai_compat import OpenAICompatProvider
from devteam.llm.retry import RetryPolicy, call_with_retries, is_transient
from devteam.llm.types import ChatMessage, ChatRequest
from devteam.llm.wire.answer_shape import MalformedAnswer
from devteam.llm.wire.http_errors import mapped_http_errors, transport_error
from devteam.llm.wire.server_probe import ServerProbe

FAST = RetryPolicy(num_retries=3, min_wait=0.01, max_wait=0.01, multiplier=0.01)
SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
STRUCTURED = ChatRequest(messages=[ChatMessage("user", "a snake game")], json_schema=SCHEMA, output_mode="json_schema")


# -- the type is the decision -------------------------------------------------------------------------------


def test_a_provider_cannot_set_a_flag() -> None:
    with pytest.raises(TypeError):
        ProviderError("busy", transient=True)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("error", "tries"),
    [
        (ServerUnreachableError("refused"), 4),
        (ProviderTimeoutError("slow"), 4),
        (AnswerCutError("cut"), 4),
        (ServerFaultError("overloaded"), 4),
        (HTTPStatusError("HTTP 503", status=503), 4),
        (HTTPStatusError("HTTP 429", status=429, retry_after=0.01), 4),
        (HTTPStatusError("HTTP 400", status=400), 1),
        (HTTPStatusError("HTTP 404", status=404), 1),
        (MalformedAnswerError("html"), 1),
        (SchemaRejectedError("response_format", status=400), 1),
        (ProviderError("stdin closed"), 1),
    ],
)
def test_the_retry_policy_reads_the_type(error: ProviderError, tries: int) -> None:
    attempts: list[int] = []

    async def attempt() -> str:
        attempts.append(1)
        raise error

    with pytest.raises(ProviderError) as caught:
        asyncio.run(call_with_retries(attempt, policy=FAST, describe="open_llm http://x/v1 (model m)"))

    assert len(attempts) == tries and is_transient(error) == (tries > 1)
    if tries > 1:
        assert isinstance(caught.value, RetriesExhaustedError) and caught.value.last is error


def test_given_up_keeps_the_kind_of_the_last_failure() -> None:
    last = HTTPStatusError("HTTP 503 busy", status=503, body="busy", retry_after=0.01)

    async def attempt() -> str:
        raise last

    with pytest.raises(RetriesExhaustedError) as caught:
        asyncio.run(call_with_retries(attempt, policy=FAST, describe="x"))

    assert (caught.value.status, caught.value.body, caught.value.attempts) == (503, "busy", 4)
    assert not is_transient(caught.value)  # the retries are spent


# -- one httpx mapping --------------------------------------------------------------------------------------


class ConnectError(Exception):
    """Not httpx's: a class that only shares the name."""


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (httpx.ConnectError("refused"), ServerUnreachableError),
        (httpx2.ConnectError("refused"), ServerUnreachableError),
        (httpx.ReadTimeout("slow"), ProviderTimeoutError),
        (httpx2.ReadTimeout("slow"), ProviderTimeoutError),
        (httpx.RemoteProtocolError("peer closed"), AnswerCutError),
        (httpx.ReadError("reset"), AnswerCutError),
        (httpx.DecodingError("bad gzip"), MalformedAnswerError),
        (httpx.UnsupportedProtocol("ftp"), ProviderError),
        (httpx.LocalProtocolError("newline in a header"), ProviderError),
        (ConnectError("refused"), ProviderError),
    ],
)
def test_transport_errors_are_recognised_by_type(raised: BaseException, kind: type[ProviderError]) -> None:
    mapped = transport_error(raised, where="open_llm http://h/v1 (model m)", root="http://u:pw@h/v1")

    assert type(mapped) is kind
    assert "pw" not in str(mapped)


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (json.JSONDecodeError("Expecting value", "<html>", 0), MalformedAnswerError),
        (MalformedAnswer("choices is the text 'x'"), MalformedAnswerError),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), MalformedAnswerError),
        (RecursionError("too deep"), MalformedAnswerError),
        (TimeoutError(), ProviderTimeoutError),
        (httpx.ConnectError("refused"), ServerUnreachableError),
    ],
)
def test_the_mapping_around_a_call(raised: BaseException, kind: type[ProviderError]) -> None:
    with pytest.raises(ProviderError) as caught:
        with mapped_http_errors(where="ollama http://h (model m)", root="http://h", timeout=5, what="an answer"):
            raise raised

    assert type(caught.value) is kind


@pytest.mark.parametrize("bug", [ValueError("our own bug"), KeyError("ours too"), TypeError("and this")])
def test_our_own_bug_is_never_read_as_a_server_fault(bug: Exception) -> None:
    with pytest.raises(type(bug)):
        with mapped_http_errors(where="ollama http://h (model m)", root="http://h", timeout=5, what="an answer"):
            raise bug


def _closed_url() -> str:
    with OpenAIServer() as server:
        return server.url  # closed on exit: nobody listens there any more


@pytest.mark.parametrize("api_type", ["open_llm", "ollama", "llama_server"])
def test_a_refused_connection_is_unreachable_for_every_provider(api_type: str) -> None:
    url = _closed_url()
    base = {"model": "m", "timeout": 5.0, "api_key": None, "stream": False, "context_length": 4096}
    base.update({"temperature": None, "max_tokens": 16, "seed": None, "replay_file": None, "stop": None})
    extra = {"prompt_format": "chatml"} if api_type == "llama_server" else {}
    base_url = url + "/v1" if api_type == "open_llm" else url
    provider = make_provider(api_type, **base, **extra, api_type=api_type, base_url=base_url)

    async def go() -> Any:
        try:
            return await provider.complete(ChatRequest(messages=[ChatMessage("user", "hi")]))
        finally:
            await provider.aclose()

    with pytest.raises(ServerUnreachableError, match="could not connect"):
        asyncio.run(go())


def test_the_probe_reports_through_the_same_mapping(caplog: pytest.LogCaptureFixture) -> None:
    url = _closed_url()
    probe = ServerProbe(url=url)

    async def go() -> Any:
        try:
            return await probe.get_json(f"{url}/props")
        finally:
            await probe.aclose()

    with caplog.at_level(logging.DEBUG, logger="devteam.llm"):
        assert asyncio.run(go()) is None
    assert any("probe failed: could not connect to GET" in r.getMessage() for r in caplog.records)


# -- one schema-rejection rule ------------------------------------------------------------------------------


def _structured_call(kind: str, server: Any) -> None:
    if kind == "openai":
        provider: Any = OpenAICompatProvider(model="m", base_url=server.base_url, timeout=5.0)
    elif kind == "ollama":
        provider = OllamaProvider(model="test-model", base_url=server.url, timeout=5.0, stream=False)
    else:
        provider = make_provider(
            "llama_server", model="m", base_url=server.url, timeout=5.0, prompt_format="chatml", api_key=None
        )

    async def go() -> Any:
        try:
            return await provider.complete(STRUCTURED)
        finally:
            await provider.aclose()

    asyncio.run(go())


SERVERS = {"openai": OpenAIServer, "ollama": OllamaServer, "llama_server": CompletionsServer}


@pytest.mark.parametrize("kind", list(SERVERS))
def test_a_400_about_something_else_never_steps_down_on_any_provider(kind: str) -> None:
    with SERVERS[kind]() as server:
        server.enqueue(Error(400, message="'n_probs' must be a non-negative integer"))
        with pytest.raises(HTTPStatusError) as caught:
            _structured_call(kind, server)
    assert not isinstance(caught.value, SchemaRejectedError) and caught.value.status == 400


@pytest.mark.parametrize("kind", list(SERVERS))
@pytest.mark.parametrize("status", [400, 422, 500])
def test_a_rejected_schema_steps_down_on_every_provider(kind: str, status: int) -> None:
    with SERVERS[kind]() as server:
        server.enqueue(Error(status, message="JSON schema conversion failed: unsupported keyword 'oneOf'"))
        with pytest.raises(SchemaRejectedError):
            _structured_call(kind, server)


@pytest.mark.parametrize("kind", list(SERVERS))
def test_a_prompt_too_long_is_not_a_schema_rejection_on_any_provider(kind: str) -> None:
    body = "the request exceeds the available context length; response_format json_schema was given"
    with SERVERS[kind]() as server:
        server.enqueue(Error(400, message=body))
        with pytest.raises(HTTPStatusError) as caught:
            _structured_call(kind, server)
    assert not isinstance(caught.value, SchemaRejectedError)
