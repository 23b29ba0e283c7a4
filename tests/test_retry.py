"""The retry policy: unit tests with scripted coroutines, then end to end through the real SDK and servers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fakes import CutStream, Error, Hang, OllamaServer, OpenAIServer, Text

from devteam.core.errors import HTTPStatusError, ProviderError, SchemaRejectedError
from devteam.llm.providers.ollama import OllamaProvider
from devteam.llm.providers.openai_compat import OpenAICompatProvider
from devteam.llm.retry import RetryPolicy, call_with_retries, retry_after_seconds
from devteam.llm.types import ChatMessage, ChatProvider, ChatRequest, ChatResponse

FAST = RetryPolicy(num_retries=4, min_wait=0.01, max_wait=0.05, multiplier=0.01)
REQUEST = ChatRequest(messages=[ChatMessage("user", "a snake game")])


def scripted(*outcomes: BaseException | str) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """A coroutine function that raises or returns the outcomes in order, and a call counter."""
    calls: list[int] = []

    async def fn() -> str:
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return fn, calls


def run_retries(fn: Callable[[], Awaitable[str]], policy: RetryPolicy = FAST, **options: Any) -> tuple[str, int]:
    return asyncio.run(call_with_retries(fn, policy=policy, describe="open_llm http://x/v1 (model m)", **options))


def transient(message: str = "HTTP 500 from open_llm http://x/v1 (model m): boom", **options: Any) -> ProviderError:
    return HTTPStatusError(message, status=503, **options)


# -- the policy on its own ----------------------------------------------------------------------------------


def test_defaults_follow_the_openhands_seed() -> None:
    assert RetryPolicy() == RetryPolicy(num_retries=4, min_wait=5.0, max_wait=30.0, multiplier=2.0)


def test_success_needs_no_retry() -> None:
    fn, calls = scripted("ok")

    assert run_retries(fn) == ("ok", 0)
    assert len(calls) == 1


def test_transient_errors_are_retried_and_counted() -> None:
    fn, calls = scripted(transient(), transient(), "ok")

    assert run_retries(fn) == ("ok", 2)
    assert len(calls) == 3


@pytest.mark.parametrize(
    "error",
    [
        HTTPStatusError("HTTP 400: bad request", status=400),
        SchemaRejectedError("HTTP 400: response_format", status=400),
        ValueError("a bug, not a transport fault"),
    ],
)
def test_other_errors_are_raised_at_once(error: Exception) -> None:
    fn, calls = scripted(error, "never")

    with pytest.raises(type(error)) as caught:
        run_retries(fn)

    assert caught.value is error
    assert len(calls) == 1


def test_exhausted_retries_raise_one_provider_error() -> None:
    fn, calls = scripted(*[transient(f"HTTP 503 from open_llm http://x/v1 (model m): busy {i}") for i in range(5)])

    with pytest.raises(ProviderError) as caught:
        run_retries(fn)

    assert len(calls) == 5
    assert str(caught.value) == "gave up after 5 attempts: HTTP 503 from open_llm http://x/v1 (model m): busy 4"
    assert isinstance(caught.value.__cause__, ProviderError)


def test_exhausted_message_names_the_server_when_the_error_does_not() -> None:
    fn, _ = scripted(transient("connection reset"), transient("connection reset"))

    expected = r"gave up after 2 attempts: open_llm http://x/v1 \(model m\): connection reset"
    with pytest.raises(ProviderError, match=expected):
        run_retries(fn, RetryPolicy(num_retries=1, min_wait=0.01, max_wait=0.01))


def test_zero_retries_means_one_attempt() -> None:
    fn, calls = scripted(transient(), "ok")

    with pytest.raises(ProviderError, match="gave up after 1 attempt:"):
        run_retries(fn, RetryPolicy(num_retries=0))
    assert len(calls) == 1


def test_waits_grow_exponentially_between_min_and_max() -> None:
    waits: list[float] = []
    fn, _ = scripted(*[transient()] * 4, "ok")
    policy = RetryPolicy(num_retries=4, min_wait=0.01, max_wait=0.05, multiplier=0.01)

    run_retries(fn, policy, on_retry=lambda number, error, wait: waits.append(wait))

    assert waits == pytest.approx([0.01, 0.02, 0.04, 0.05])


def test_retry_after_is_honoured_and_capped() -> None:
    waits: list[float] = []
    fn, _ = scripted(transient(retry_after=0.03), transient(retry_after=99.0), "ok")
    policy = RetryPolicy(num_retries=4, min_wait=0.01, max_wait=0.06, multiplier=0.01)

    run_retries(fn, policy, on_retry=lambda number, error, wait: waits.append(wait))

    assert waits == pytest.approx([0.03, 0.06])


def test_each_retry_logs_one_line(caplog: pytest.LogCaptureFixture) -> None:
    fn, _ = scripted(transient("HTTP 429 from open_llm http://x/v1 (model m): slow down", retry_after=0.02), "ok")

    with caplog.at_level(logging.WARNING, logger="devteam.llm"):
        run_retries(fn)

    assert [r.getMessage() for r in caplog.records] == [
        "retry 1/4 after 0.02s: HTTP 429 from open_llm http://x/v1 (model m): slow down"
    ]
    assert caplog.records[0].name == "devteam.llm"


def test_on_retry_gets_number_error_and_wait() -> None:
    seen: list[tuple[int, str, float]] = []
    fn, _ = scripted(transient("first"), transient("second"), "ok")

    run_retries(fn, on_retry=lambda number, error, wait: seen.append((number, str(error), wait)))

    assert [(number, text) for number, text, _ in seen] == [(1, "first"), (2, "second")]


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    assert retry_after_seconds({"retry-after-ms": "200", "retry-after": "3"}) == 0.2
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


# -- end to end: the real SDK / httpx against the local servers ---------------------------------------------


def complete_with_retries(provider: ChatProvider, policy: RetryPolicy = FAST) -> tuple[ChatResponse, int]:
    async def go() -> tuple[ChatResponse, int]:
        try:
            return await call_with_retries(
                lambda: provider.complete(REQUEST), policy=policy, describe=provider.describe()
            )
        finally:
            await provider.aclose()

    return asyncio.run(go())


def open_llm(server: OpenAIServer, **options: Any) -> OpenAICompatProvider:
    settings: dict[str, Any] = {"model": "test-model", "base_url": server.base_url, "timeout": 5.0, **options}
    return OpenAICompatProvider(**settings)


def test_429_with_retry_after_is_honoured_then_succeeds(
    openai_server: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.enqueue(Error(429, headers={"Retry-After": "0.3"}), Text("ok"))
    policy = RetryPolicy(num_retries=4, min_wait=0.01, max_wait=2.0, multiplier=0.01)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="devteam.llm"):
        response, retries = complete_with_retries(open_llm(openai_server), policy)

    assert time.monotonic() - started >= 0.3
    assert (response.text, retries) == ("ok", 1)
    assert len(openai_server.chat_requests) == 2
    assert [r.getMessage() for r in caplog.records] == [
        f"retry 1/4 after 0.3s: HTTP 429 from open_llm {openai_server.base_url} (model test-model): Too Many Requests"
    ]


def test_500_is_retried(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(500), Error(503), Text("ok"))

    response, retries = complete_with_retries(open_llm(openai_server))

    assert (response.text, retries) == ("ok", 2)
    assert len(openai_server.chat_requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(openai_server: OpenAIServer, status: int) -> None:
    openai_server.enqueue(Error(status), Text("never"))

    with pytest.raises(ProviderError) as caught:
        complete_with_retries(open_llm(openai_server))

    assert caught.value.status == status
    assert len(openai_server.chat_requests) == 1


def test_exhausted_retries_name_server_model_and_attempts(openai_server: OpenAIServer) -> None:
    openai_server.set_handler(lambda request: Error(500, message="model runner crashed"))

    with pytest.raises(ProviderError) as caught:
        complete_with_retries(open_llm(openai_server), RetryPolicy(num_retries=2, min_wait=0.01, max_wait=0.01))

    assert str(caught.value) == (
        f"gave up after 3 attempts: HTTP 500 from open_llm {openai_server.base_url} (model test-model): "
        "model runner crashed"
    )
    assert caught.value.status == 500
    assert len(openai_server.chat_requests) == 3


@pytest.mark.parametrize("stream", [True, False])
def test_a_cut_answer_is_retried(openai_server: OpenAIServer, stream: bool) -> None:
    openai_server.enqueue(CutStream('{"ti'), Text('{"title": "Snake"}'))

    response, retries = complete_with_retries(open_llm(openai_server, stream=stream))

    assert (response.text, retries) == ('{"title": "Snake"}', 1)


def test_a_timeout_is_retried(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Hang(5), Text("ok"))

    response, retries = complete_with_retries(open_llm(openai_server, timeout=0.2))

    assert (response.text, retries) == ("ok", 1)


def test_schema_rejection_is_not_retried(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(500, message="response_format is not supported"), Text("never"))
    request = ChatRequest(messages=REQUEST.messages, json_schema={"type": "object"}, output_mode="json_schema")
    provider = open_llm(openai_server)

    async def go() -> None:
        try:
            await call_with_retries(lambda: provider.complete(request), policy=FAST, describe=provider.describe())
        finally:
            await provider.aclose()

    with pytest.raises(SchemaRejectedError):
        asyncio.run(go())
    assert len(openai_server.chat_requests) == 1


def test_connection_refused_exhausts_with_a_clear_message() -> None:
    with OpenAIServer() as server:
        pass

    expected = r"gave up after 2 attempts: could not connect to open_llm .*is the server running\?"
    with pytest.raises(ProviderError, match=expected):
        complete_with_retries(open_llm(server), RetryPolicy(num_retries=1, min_wait=0.01, max_wait=0.01))


def test_ollama_cut_stream_and_overload_are_retried(ollama_server: OllamaServer) -> None:
    busy = Error(503, message="server busy, please try again")
    ollama_server.enqueue(CutStream("partial"), busy, Text("ok", usage=(3, 1)))
    provider = OllamaProvider(model="test-model", base_url=ollama_server.url, timeout=5.0)

    response, retries = complete_with_retries(provider)

    assert (response.text, retries) == ("ok", 2)
    assert len(ollama_server.chat_requests) == 3
