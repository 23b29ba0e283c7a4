"""The providers' two limits capabilities, `context_window()` and `count_tokens()`, against real local servers
that expose llama.cpp's /props and /tokenize, vLLM's max_model_len and ollama's /api/show."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from fakes import OllamaServer, OpenAIServer

from devteam.llm.providers.ollama import OllamaProvider
from devteam.llm.providers.openai_compat import OpenAICompatProvider
from devteam.llm.types import TokenCount
from devteam.llm.wire.server_limits import (
    count_from_tokenize,
    window_from_llamacpp_props,
    window_from_model_list,
    window_from_ollama_show,
)

T = TypeVar("T")
TEXT = "def add(a, b):\n    return a + b\n"  # 32 characters: 11 fake tokens, an estimate of 8


def with_provider(provider: Any, use: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            return await use(provider)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def openai_provider(server: OpenAIServer, **options: Any) -> OpenAICompatProvider:
    return OpenAICompatProvider(model="test-model", base_url=server.base_url, timeout=5.0, **options)


def ollama_provider(server: OllamaServer, **options: Any) -> OllamaProvider:
    return OllamaProvider(model="test-model", base_url=server.url, timeout=5.0, **options)


async def window_and_count(provider: Any) -> tuple[int | None, TokenCount]:
    return await provider.context_window(), await provider.count_tokens(TEXT)


def paths(server: Any) -> list[str]:
    return [request.path for request in server.requests]


# -- OpenAI-protocol servers ----------------------------------------------------------------------------------


def test_llamacpp_server_reports_its_slot_window_and_counts_exactly() -> None:
    with OpenAIServer(n_ctx=2048, tokenize=True) as server:
        window, count = with_provider(openai_provider(server), window_and_count)
    assert window == 2048
    assert count == TokenCount(11, exact=True)
    assert "/props" in paths(server) and "/tokenize" in paths(server)


def test_vllm_max_model_len_is_the_window() -> None:
    with OpenAIServer(max_model_len=4096) as server:
        window, count = with_provider(openai_provider(server), window_and_count)
    assert window == 4096
    assert count == TokenCount(8, exact=False)  # no /tokenize here: an estimate, said to be one
    assert "/props" not in paths(server)  # the model list answered first


def test_configured_context_length_wins_without_asking_the_server() -> None:
    with OpenAIServer(n_ctx=2048) as server:
        window = with_provider(openai_provider(server, context_length=1000), lambda p: p.context_window())
    assert window == 1000
    assert server.requests == []


def test_a_server_without_limits_endpoints_gives_none_and_estimates_asking_tokenize_once() -> None:
    async def use(provider: OpenAICompatProvider) -> tuple[int | None, TokenCount, TokenCount, int | None]:
        return (
            await provider.context_window(),
            await provider.count_tokens(TEXT),
            await provider.count_tokens(TEXT * 2),
            await provider.context_window(),
        )

    with OpenAIServer() as server:
        first_window, first, second, again = with_provider(openai_provider(server), use)
    assert first_window is None and again is None
    assert (first, second) == (TokenCount(8, exact=False), TokenCount(16, exact=False))
    tokenize_asks = [path for path in paths(server) if "tokenize" in path]
    assert tokenize_asks == ["/tokenize", "/extras/tokenize/count"]  # each dialect tried once, then remembered
    assert paths(server).count("/v1/models") == 1


def test_a_server_that_is_down_never_fails_the_limits_questions() -> None:
    server = OpenAIServer().start()
    server.close()  # nobody listens on its port now
    window, count = with_provider(openai_provider(server), window_and_count)
    assert window is None
    assert count == TokenCount(8, exact=False)


# -- ollama -----------------------------------------------------------------------------------------------------


def test_ollama_window_comes_from_model_info() -> None:
    with OllamaServer(context_length=8192, num_ctx=2048) as server:
        window, count = with_provider(ollama_provider(server), window_and_count)
    assert window == 8192  # devteam sends its own num_ctx, up to the model's trained window
    assert count == TokenCount(8, exact=False)  # ollama cannot tokenize
    (show,) = [r for r in server.requests if r.path == "/api/show"]
    assert show.json == {"model": "test-model"}


def test_ollama_num_ctx_parameter_when_model_info_has_no_window() -> None:
    with OllamaServer(num_ctx=3072) as server:
        assert with_provider(ollama_provider(server), lambda p: p.context_window()) == 3072


def test_ollama_configured_context_length_wins_and_unknown_model_gives_none() -> None:
    with OllamaServer(context_length=8192) as server:
        assert with_provider(ollama_provider(server, context_length=4096), lambda p: p.context_window()) == 4096
        assert server.requests == []
        unknown = OllamaProvider(model="missing", base_url=server.url, timeout=5.0)
        assert with_provider(unknown, lambda p: p.context_window()) is None


# -- the answers' shapes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "window"),
    [
        ({"default_generation_settings": {"n_ctx": 4096}}, 4096),
        ({"n_ctx": 512}, 512),
        ({"default_generation_settings": {}, "n_ctx": "1024"}, 1024),
        ({"default_generation_settings": {"n_ctx": 0}}, None),
        ("not json object", None),
    ],
)
def test_llamacpp_props_shapes(props: Any, window: int | None) -> None:
    assert window_from_llamacpp_props(props) == window


def test_model_list_picks_the_named_model_or_the_only_one() -> None:
    listing = {"data": [{"id": "a", "max_model_len": 100}, {"id": "b", "max_model_len": 200}]}
    assert window_from_model_list(listing, "b") == 200
    assert window_from_model_list(listing, "c") is None  # two models, neither named: no guess
    assert window_from_model_list({"data": [{"id": "x", "max_model_len": 300}]}, "alias") == 300
    assert window_from_model_list({"data": [{"id": "x"}]}, "x") is None


def test_ollama_show_and_tokenize_shapes() -> None:
    assert window_from_ollama_show({"model_info": {"qwen2.context_length": 32768}}) == 32768
    assert window_from_ollama_show({"model_info": {}, "parameters": "stop <|im_end|>\nnum_ctx 2048"}) == 2048
    assert window_from_ollama_show({"model_info": {"general.architecture": "llama"}}) is None
    assert count_from_tokenize({"tokens": [1, 2, 3]}) == 3
    assert count_from_tokenize({"count": 7, "tokens": [1]}) == 7
    assert count_from_tokenize({"error": "no"}) is None
