"""OllamaProvider against a real local server speaking ollama's native API, through real httpx."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fakes import CutStream, Error, ErrorLine, Hang, OllamaServer, Text
from provider_builder import make_provider

from devteam.core.errors import ProviderError, SchemaRejectedError
from devteam.llm.providers.ollama import OllamaProvider, ollama_root
from devteam.llm.types import ChatMessage, ChatRequest, ChatResponse

MESSAGES = [ChatMessage("system", "You are an architect."), ChatMessage("user", "design a snake game")]
REQUEST = ChatRequest(messages=MESSAGES)
SCHEMA = {"type": "object", "properties": {"files": {"type": "array"}}, "required": ["files"]}


def provider_for(server: OllamaServer, **options: Any) -> OllamaProvider:
    settings: dict[str, Any] = {"model": "test-model", "base_url": server.url, "timeout": 5.0, **options}
    return OllamaProvider(**settings)


def complete(server: OllamaServer, request: ChatRequest = REQUEST, **options: Any) -> ChatResponse:
    async def go() -> ChatResponse:
        provider = provider_for(server, **options)
        try:
            return await provider.complete(request)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def structured(mode: str) -> ChatRequest:
    return ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode=mode)  # type: ignore[arg-type]


def sent(server: OllamaServer) -> dict[str, Any]:
    (request,) = server.chat_requests
    return request.json


# -- answers ------------------------------------------------------------------------------------------------


def test_streamed_and_plain_answers_are_the_same_response(ollama_server: OllamaServer) -> None:
    reply = Text('{"files": []}', reasoning="Small game, one file.", usage=(30, 9))
    ollama_server.enqueue(reply, reply)

    streamed = complete(ollama_server, stream=True)
    plain = complete(ollama_server, stream=False)

    for response in (streamed, plain):
        assert response.text == '{"files": []}'
        assert response.reasoning == "Small game, one file."
        assert response.finish_reason == "stop"
        assert response.model == "test-model"
        assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (30, 9)
        assert response.usage.estimated is False
    assert [r.json["stream"] for r in ollama_server.chat_requests] == [True, False]


def test_ndjson_lines_are_assembled_in_order(ollama_server: OllamaServer) -> None:
    pieces = ["def ", "main():\n", "    pass\n"]
    ollama_server.enqueue(Text("".join(pieces), chunks=pieces, usage=(1, 3)))

    assert complete(ollama_server).text == "def main():\n    pass\n"


def test_done_reason_length_is_the_finish_reason(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Text('{"files": [', finish_reason="length", usage=(10, 4)))

    assert complete(ollama_server).finish_reason == "length"


def test_usage_is_estimated_when_counts_are_missing(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Text("y" * 20))

    usage = complete(ollama_server).usage

    assert usage.estimated is True
    assert usage.completion_tokens == 5


# -- request shapes -----------------------------------------------------------------------------------------


def test_system_prompt_and_options_are_sent(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Text("ok"))

    complete(ollama_server, temperature=0.3, context_length=16384, seed=42, max_tokens=512)

    body = sent(ollama_server)
    assert body["model"] == "test-model"
    assert body["messages"] == [
        {"role": "system", "content": "You are an architect."},
        {"role": "user", "content": "design a snake game"},
    ]
    assert body["options"] == {"temperature": 0.3, "num_ctx": 16384, "seed": 42, "num_predict": 512}
    assert "format" not in body


def test_unset_options_are_left_to_the_server_but_the_window_fits_the_prompt(
    ollama_server: OllamaServer,
) -> None:
    ollama_server.enqueue(Text("ok"))

    complete(ollama_server)

    # ollama's own 2048/4096 window would silently cut a long prompt: a window that fits is always sent.
    assert sent(ollama_server)["options"] == {"num_ctx": 8192}


def test_the_window_grows_in_buckets_with_the_prompt(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Text("ok"))
    long_prompt = [ChatMessage("user", "word " * 40_000)]  # about 50,000 tokens by the estimate

    complete(ollama_server, ChatRequest(messages=long_prompt, max_tokens=4096))

    assert sent(ollama_server)["options"]["num_ctx"] == 65536


def test_request_settings_win_over_provider_defaults(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Text("ok"))

    request = ChatRequest(messages=MESSAGES, temperature=0.0, max_tokens=64)

    complete(ollama_server, request, temperature=0.7, max_tokens=512)

    assert sent(ollama_server)["options"] == {"temperature": 0.0, "num_predict": 64, "num_ctx": 8192}


def test_json_schema_mode_sends_the_schema_as_format(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Text('{"files": []}'))

    response = complete(ollama_server, structured("json_schema"))

    assert sent(ollama_server)["format"] == SCHEMA
    assert response.native_schema is True


def test_json_object_mode_sends_format_json(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Text("{}"))

    response = complete(ollama_server, structured("json_object"))

    assert sent(ollama_server)["format"] == "json"
    assert response.native_schema is False


@pytest.mark.parametrize("suffix", ["/api", "/api/", "", "/"])
def test_base_url_forms_all_reach_api_chat(ollama_server: OllamaServer, suffix: str) -> None:
    ollama_server.enqueue(Text("ok"))

    complete(ollama_server, base_url=ollama_server.url + suffix)

    assert [r.path for r in ollama_server.requests] == ["/api/chat"]


def test_base_url_without_scheme_like_ollama_host(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Text("ok"))

    complete(ollama_server, base_url=ollama_server.url.removeprefix("http://"))

    assert len(ollama_server.chat_requests) == 1


def test_root_normalisation() -> None:
    assert ollama_root("http://127.0.0.1:11434/api") == "http://127.0.0.1:11434"
    assert ollama_root("http://127.0.0.1:11434/") == "http://127.0.0.1:11434"
    assert ollama_root("127.0.0.1:11434") == "http://127.0.0.1:11434"
    assert ollama_root("http://gpu-box:11434/v1") == "http://gpu-box:11434"
    assert ollama_root(None) == "http://127.0.0.1:11434"


def test_describe_names_root_and_model(ollama_server: OllamaServer) -> None:
    provider = provider_for(ollama_server, base_url=ollama_server.url + "/api")
    try:
        assert provider.describe() == f"ollama {ollama_server.url} (model test-model)"
    finally:
        asyncio.run(provider.aclose())


# -- errors -------------------------------------------------------------------------------------------------


def test_unknown_model_says_how_to_pull_it(ollama_server: OllamaServer) -> None:
    with pytest.raises(ProviderError) as caught:
        complete(ollama_server, model="llama3.3:70b")

    assert str(caught.value) == (
        f'model "llama3.3:70b" is not available on the ollama server at {ollama_server.url}; '
        "run: ollama pull llama3.3:70b"
    )
    assert caught.value.status == 404
    assert caught.value.transient is False


def test_a_404_from_something_else_says_so(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Error(404, body="404 page not found"))

    with pytest.raises(ProviderError, match=r"is http://127\.0\.0\.1:[0-9]+ an ollama server") as caught:
        complete(ollama_server)

    assert caught.value.transient is False


@pytest.mark.parametrize(
    ("message", "transient"),
    [
        ("server busy, please try again. maximum pending requests exceeded", True),
        ("model runner has unexpectedly stopped, this may be due to resource limitations", True),
        ('template: :1:12: executing "" at <.Messages>: nil pointer', False),
    ],
)
def test_an_error_line_inside_a_200_stream(ollama_server: OllamaServer, message: str, transient: bool) -> None:
    ollama_server.enqueue(ErrorLine(message))

    with pytest.raises(ProviderError, match="error inside the stream from ollama") as caught:
        complete(ollama_server)

    assert caught.value.transient is transient
    assert message in str(caught.value)


def test_an_error_line_about_the_format_is_a_schema_rejection(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(ErrorLine("invalid JSON schema in format"))

    with pytest.raises(SchemaRejectedError):
        complete(ollama_server, structured("json_schema"))


@pytest.mark.parametrize("status", [400, 500])
def test_a_rejected_format_schema_is_a_schema_rejection(ollama_server: OllamaServer, status: int) -> None:
    ollama_server.enqueue(Error(status, message='invalid format: expected "json" or a valid JSON schema'))

    with pytest.raises(SchemaRejectedError) as caught:
        complete(ollama_server, structured("json_schema"))

    assert caught.value.status == status
    assert caught.value.transient is False


def test_a_500_without_a_format_is_a_transient_error(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Error(500, message="invalid format: something"))

    with pytest.raises(ProviderError) as caught:
        complete(ollama_server)

    assert not isinstance(caught.value, SchemaRejectedError)
    assert caught.value.transient is True


@pytest.mark.parametrize("stream", [True, False])
def test_a_cut_answer_is_transient(ollama_server: OllamaServer, stream: bool) -> None:
    ollama_server.enqueue(CutStream('{"files": ['))

    with pytest.raises(ProviderError, match="broke before the answer was complete") as caught:
        complete(ollama_server, stream=stream)

    assert caught.value.transient is True


def test_a_stream_that_ends_before_done_is_a_cut_stream(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Text('{"files": [', finish_reason=None))

    with pytest.raises(ProviderError, match="ended before done=true") as caught:
        complete(ollama_server)

    assert caught.value.transient is True


def test_a_hanging_server_times_out_as_transient(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Hang(5))

    with pytest.raises(ProviderError, match="timed out waiting for ollama") as caught:
        complete(ollama_server, timeout=0.2)

    assert caught.value.transient is True


def test_connection_refused_is_transient_and_says_where() -> None:
    with OllamaServer() as server:
        pass

    expected = r"could not connect to ollama at http://127.0.0.1:[0-9]+ .*ollama serve"
    with pytest.raises(ProviderError, match=expected) as caught:
        complete(server)

    assert caught.value.transient is True


# -- models and the registry --------------------------------------------------------------------------------


def test_list_models(ollama_server: OllamaServer) -> None:
    ollama_server.models = ["llama3.2:latest", "qwen2.5-coder:7b"]

    async def go() -> list[str]:
        provider = provider_for(ollama_server, base_url=ollama_server.url + "/api")
        try:
            return await provider.list_models()
        finally:
            await provider.aclose()

    assert asyncio.run(go()) == ["llama3.2:latest", "qwen2.5-coder:7b"]
    assert ollama_server.requests[-1].path == "/api/tags"


def test_registry_builds_an_ollama_provider(ollama_server: OllamaServer) -> None:
    provider = make_provider(
        "ollama",
        api_type="ollama",
        model="test-model",
        base_url=ollama_server.url + "/api",
        api_key=None,
        timeout=5.0,
        stream=True,
        context_length=8192,
        temperature=0.0,
        max_tokens=256,
        seed=None,
    )
    try:
        assert isinstance(provider, OllamaProvider)
        assert asyncio.run(provider.context_window()) == 8192
        assert provider.capabilities.json_schema and provider.capabilities.streams_usage
    finally:
        asyncio.run(provider.aclose())
