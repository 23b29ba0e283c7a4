"""Where a call's seconds went, as each server reports it: time to first token, tokens/s, prompt tokens served
from the server's cache — read off real HTTP answers from local servers, checked as hostile data, and carried
into the ledger, the record's exchange, the summary's shares and the price."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fakes import OllamaServer, OpenAIServer, Text

from devteam.llm.providers.ollama import OllamaProvider
from devteam.llm.providers.openai_compat import OpenAICompatProvider
from devteam.llm.types import ChatMessage, ChatRequest, ChatResponse, Timings, Usage
from devteam.llm.usage import CallStats, Price, time_shares
from devteam.llm.wire.server_timings import cached_from_usage, llamacpp_figures, ollama_timings

REQUEST = ChatRequest(messages=[ChatMessage("system", "shared"), ChatMessage("user", "write snake.py")])
# What llama.cpp's server sends with its last chunk: 300 prompt tokens, 260 of them from the slot's cache.
LLAMA_TIMINGS = {
    "cache_n": 260,
    "prompt_n": 40,
    "prompt_ms": 400.0,
    "predicted_n": 50,
    "predicted_ms": 2500.0,
    "predicted_per_second": 20.0,
}


def openai_answer(server: OpenAIServer, *, stream: bool) -> ChatResponse:
    async def go() -> ChatResponse:
        provider = OpenAICompatProvider(model="test-model", base_url=server.base_url, stream=stream, timeout=5)
        try:
            return await provider.complete(REQUEST)
        finally:
            await provider.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("stream", [True, False])
def test_llama_cpp_timings_and_cache_are_read_streamed_or_not(openai_server: OpenAIServer, stream: bool) -> None:
    openai_server.enqueue(Text("print('hi')", usage=(300, 50), timings=LLAMA_TIMINGS))

    response = openai_answer(openai_server, stream=stream)

    assert response.usage.prompt_tokens == 300 and response.usage.cached_tokens == 260
    assert response.timings.prompt_s == pytest.approx(0.4)
    assert response.timings.tokens_per_s == 20.0
    assert response.timings.first_token_s is not None  # the stream's, or the server's prompt time


def test_openai_cached_tokens_are_read_from_the_usage_details(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text("ok", usage=(2048, 10), cached_tokens=1920))

    response = openai_answer(openai_server, stream=True)

    assert response.usage.cached_tokens == 1920
    assert response.timings.prompt_s is None  # OpenAI says nothing of its prompt time


def test_a_server_that_reports_nothing_leaves_the_figures_unknown(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text("ok", usage=(20, 1)))

    response = openai_answer(openai_server, stream=False)

    assert response.usage.cached_tokens is None
    assert response.timings == Timings()


@pytest.mark.parametrize(
    "hostile",
    [
        {"cache_n": -5, "prompt_ms": "fast", "predicted_per_second": float("inf")},
        {"cache_n": 10_000, "prompt_ms": None, "predicted_per_second": True},
    ],
)
def test_hostile_figures_become_unknown_never_wrong(openai_server: OpenAIServer, hostile: dict[str, Any]) -> None:
    openai_server.enqueue(Text("ok", usage=(300, 5), timings=hostile))

    response = openai_answer(openai_server, stream=True)

    # A cache figure larger than the prompt, negative or of the wrong kind is no figure at all.
    assert response.usage.cached_tokens is None
    assert response.timings.prompt_s is None and response.timings.tokens_per_s is None


def test_ollama_durations_become_prompt_time_and_speed(ollama_server: OllamaServer) -> None:
    durations = {"prompt_eval_duration": 1_500_000_000, "eval_duration": 4_000_000_000}
    ollama_server.enqueue(Text("print('hi')", usage=(120, 80), timings=durations))

    async def go() -> ChatResponse:
        provider = OllamaProvider(model="test-model", base_url=ollama_server.url, timeout=5)
        try:
            return await provider.complete(REQUEST)
        finally:
            await provider.aclose()

    response = asyncio.run(go())

    assert response.timings.prompt_s == pytest.approx(1.5)
    assert response.timings.generation_s == pytest.approx(4.0)
    assert response.timings.tokens_per_s == pytest.approx(20.0)
    assert response.timings.first_token_s is not None


def test_the_wire_readers_take_dicts_and_sdk_objects() -> None:
    timings, cached = llamacpp_figures(None, tokens_cached=77)  # older llama.cpp: tokens_cached only
    assert cached == 77 and timings == Timings()
    assert cached_from_usage({"prompt_tokens_details": {"cached_tokens": 5}}) == 5
    assert cached_from_usage({"prompt_cache_hit_tokens": 9}) == 9  # DeepSeek's name
    assert cached_from_usage({"prompt_tokens": 3}) is None
    assert ollama_timings({"eval_duration": "soon"}).tokens_per_s is None


def stats(prompt: int, cached: int | None, latency: float, timings: Timings, completion: int = 100) -> CallStats:
    usage = Usage(prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached)
    return CallStats(
        role="Engineer",
        action="WriteCode",
        model="m",
        usage=usage,
        cost=0,
        latency_s=latency,
        retries=0,
        timings=timings,
    )


def test_the_run_shares_count_only_the_calls_that_say() -> None:
    calls = [
        stats(1000, 800, 10.0, Timings(prompt_s=2.0, generation_s=8.0, tokens_per_s=12.5)),
        stats(1000, 200, 10.0, Timings(first_token_s=5.0, generation_s=5.0)),
        stats(500, None, 30.0, Timings()),  # a server that said nothing: left out of both shares
    ]

    shares = time_shares(calls)

    assert shares.model_s == 50.0
    assert shares.prompt_read_s == 7.0 and shares.prompt_read_share == pytest.approx(7.0 / 20.0)
    assert shares.cached_tokens == 1000 and shares.cache_hit_share == pytest.approx(0.5)
    assert shares.tokens_per_s == pytest.approx(200 / 13.0)


def test_no_figure_at_all_is_none_not_zero() -> None:
    shares = time_shares([stats(100, None, 1.0, Timings())])
    assert shares.prompt_read_share is None and shares.cache_hit_share is None and shares.tokens_per_s is None


def test_cached_prompt_tokens_cost_the_discounted_rate() -> None:
    price = Price(prompt=2.0, completion=8.0, cached_prompt=0.5)
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=0, cached_tokens=600_000)
    assert price.cost(usage) == pytest.approx(0.4 * 2.0 + 0.6 * 0.5)
    # Without a discount in the table, a cached token costs what any prompt token does.
    assert Price(prompt=2.0, completion=8.0).cost(usage) == pytest.approx(2.0)


def test_a_too_quick_stream_reports_no_speed() -> None:
    assert Timings(generation_s=0.001).speed(100) is None
    assert Timings(generation_s=2.0).speed(100) == 50.0


def test_llama_server_native_completion_reports_its_cache_and_time() -> None:
    from fakes import CompletionsServer

    from devteam.llm.providers.completions import CompletionsProvider
    from devteam.llm.providers.prompt_formats import resolve_prompt_format

    async def go(server: CompletionsServer) -> tuple[ChatResponse, Any]:
        provider = CompletionsProvider(
            dialect="llama_server",
            prompt_format=resolve_prompt_format("chatml"),
            model="m",
            base_url=server.url,
            timeout=5,
        )
        try:
            return await provider.complete(REQUEST), server.chat_requests[-1].json
        finally:
            await provider.aclose()

    with CompletionsServer() as server:
        server.enqueue(Text("print('hi')", usage=(300, 50), timings=LLAMA_TIMINGS))
        response, body = asyncio.run(go(server))

    assert body["cache_prompt"] is True  # the slot keeps the prompt for the next call
    assert response.usage.cached_tokens == 260
    assert response.timings.prompt_s == pytest.approx(0.4) == response.timings.first_token_s
    assert response.timings.tokens_per_s == 20.0
