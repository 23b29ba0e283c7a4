"""OpenAICompatProvider against a real local HTTP server, through the real openai SDK: one attempt per call."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from fakes import CutStream, Error, ErrorLine, Hang, OpenAIServer, Text
from provider_builder import make_provider

from devteam.core.errors import ConfigError, ProviderError, SchemaRejectedError
from devteam.llm.providers.openai_compat import PLACEHOLDER_KEY, OpenAICompatProvider, reasoning_of
from devteam.llm.types import ChatMessage, ChatRequest, ChatResponse
from devteam.llm.wire.server_errors import error_reason, is_schema_rejection

MESSAGES = [ChatMessage("system", "You write PRDs."), ChatMessage("user", "a snake game")]
REQUEST = ChatRequest(messages=MESSAGES)
SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}},
    "required": ["title"],
    "additionalProperties": False,
}


def provider_for(server: OpenAIServer, **options: Any) -> OpenAICompatProvider:
    settings: dict[str, Any] = {"model": "test-model", "base_url": server.base_url, "timeout": 5.0, **options}
    return OpenAICompatProvider(**settings)


def complete(server: OpenAIServer, request: ChatRequest = REQUEST, **options: Any) -> ChatResponse:
    async def go() -> ChatResponse:
        provider = provider_for(server, **options)
        try:
            return await provider.complete(request)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def sent(server: OpenAIServer) -> dict[str, Any]:
    """The body of the one chat request the server received."""
    (request,) = server.chat_requests
    return request.json


# -- answers ------------------------------------------------------------------------------------------------


def test_plain_and_streamed_answers_are_the_same_response(openai_server: OpenAIServer) -> None:
    reply = Text('{"title": "Snake"}', reasoning="The user wants a game.", usage=(12, 7))
    openai_server.enqueue(reply, reply)

    plain = complete(openai_server, stream=False)
    streamed = complete(openai_server, stream=True)

    for response in (plain, streamed):
        assert response.text == '{"title": "Snake"}'
        assert response.reasoning == "The user wants a game."
        assert response.finish_reason == "stop"
        assert response.model == "test-model"
        assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (12, 7)
        assert response.usage.estimated is False
        assert response.latency_s > 0
    first, second = openai_server.chat_requests
    assert "stream" not in first.json
    assert second.json["stream"] is True
    assert second.json["stream_options"] == {"include_usage": True}


def test_stream_assembles_many_deltas(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text("abcdefghij", chunks=list("abcdefghij"), usage=(1, 10)))

    response = complete(openai_server, stream=True)

    assert response.text == "abcdefghij"
    assert response.usage.completion_tokens == 10


@pytest.mark.parametrize("stream", [False, True])
def test_usage_is_estimated_when_the_server_sends_none(openai_server: OpenAIServer, stream: bool) -> None:
    openai_server.enqueue(Text("x" * 40))

    response = complete(openai_server, stream=stream)

    assert response.usage.estimated is True
    assert response.usage.completion_tokens == 10
    assert response.usage.prompt_tokens > 0


def test_length_finish_reason_is_reported(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text('{"title": "Sn', finish_reason="length", usage=(5, 5)))

    assert complete(openai_server, stream=True).finish_reason == "length"


def test_reasoning_is_read_from_either_field_name() -> None:
    assert reasoning_of(SimpleNamespace(reasoning_content="llama.cpp style")) == "llama.cpp style"
    assert reasoning_of(SimpleNamespace(reasoning="vLLM style")) == "vLLM style"
    assert reasoning_of(SimpleNamespace(content="no reasoning")) == ""


# -- request shapes -----------------------------------------------------------------------------------------


def test_json_schema_mode_sends_a_strict_response_format(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text('{"title": "Snake"}'))
    request = ChatRequest(messages=MESSAGES, json_schema=SCHEMA, schema_name="prd", output_mode="json_schema")

    response = complete(openai_server, request)

    assert sent(openai_server)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "prd", "schema": SCHEMA, "strict": True},
    }
    assert response.native_schema is True


def test_json_object_mode_sends_json_object(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text("{}"))
    request = ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="json_object")

    response = complete(openai_server, request)

    assert sent(openai_server)["response_format"] == {"type": "json_object"}
    assert response.native_schema is False


def test_json_object_schema_mode_sends_the_schema_inside_json_object(llama_cpp_server: OpenAIServer) -> None:
    """llama.cpp's servers take `{"type": "json_object", "schema": ...}` and build their grammar from it."""
    llama_cpp_server.enqueue(Text('{"title": "Snake"}'))
    request = ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="json_object_schema")

    response = complete(llama_cpp_server, request, stream=True)

    assert sent(llama_cpp_server)["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert response.native_schema is True
    assert response.text == '{"title": "Snake"}'


def test_llama_cpp_python_refusing_json_schema_is_a_schema_rejection(llama_cpp_server: OpenAIServer) -> None:
    request = ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="json_schema")

    with pytest.raises(SchemaRejectedError) as caught:
        complete(llama_cpp_server, request)

    assert caught.value.status == 500
    assert caught.value.transient is False
    assert "Input should be 'text' or 'json_object'" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "rejection"),
    [
        (400, "'response_format.type' must be 'json_object' or 'text'", True),
        (422, '{"detail": [{"loc": ["body", "response_format", "type"]}]}', True),
        (500, "Input should be 'text' or 'json_object'", True),
        (500, "failed to parse grammar", True),
        (None, "json_schema not supported in stream", True),
        (400, "context length exceeded", False),
        (500, "CUDA out of memory", False),
        (503, "response_format queue full", False),
    ],
)
def test_which_errors_mean_the_format_was_rejected(status: int | None, body: str, rejection: bool) -> None:
    assert is_schema_rejection(status, body) is rejection


def test_prompt_mode_sends_no_response_format(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text("{}"))

    complete(openai_server, ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="prompt"))

    body = sent(openai_server)
    assert "response_format" not in body
    assert body["messages"] == [
        {"role": "system", "content": "You write PRDs."},
        {"role": "user", "content": "a snake game"},
    ]
    assert body["model"] == "test-model"


def test_sampling_options_and_request_overrides(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text("a"), Text("b"))

    complete(openai_server, temperature=0.2, max_tokens=100, seed=7)
    request = ChatRequest(messages=MESSAGES, temperature=0.9, max_tokens=50)
    complete(openai_server, request, temperature=0.2, max_tokens=100)

    first, second = (r.json for r in openai_server.chat_requests)
    assert (first["temperature"], first["max_tokens"], first["seed"]) == (0.2, 100, 7)
    assert (second["temperature"], second["max_tokens"]) == (0.9, 50)
    assert "seed" not in second


def test_openai_api_type_uses_max_completion_tokens_and_the_key(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text("a"))

    complete(openai_server, api_type="openai", api_key="sk-real-key", max_tokens=64)

    (request,) = openai_server.chat_requests
    assert request.json["max_completion_tokens"] == 64
    assert "max_tokens" not in request.json
    assert request.headers["authorization"] == "Bearer sk-real-key"


def test_open_llm_needs_no_key(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    openai_server.enqueue(Text("a"))

    complete(openai_server, api_type="open_llm", api_key=None)

    assert openai_server.chat_requests[0].headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"


def test_openai_without_any_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    with pytest.raises(ConfigError, match="api_key"):
        OpenAICompatProvider(api_type="openai", model="gpt-4o-mini", api_key=None)


def test_describe_names_server_and_model_never_the_key(openai_server: OpenAIServer) -> None:
    provider = provider_for(openai_server, api_key="sk-secret")
    try:
        assert provider.describe() == f"open_llm {openai_server.base_url} (model test-model)"
        assert "sk-secret" not in provider.describe()
    finally:
        asyncio.run(provider.aclose())


# -- errors (one attempt each; the retry loop is tested in test_retry.py) ------------------------------------


@pytest.mark.parametrize("mode", ["json_schema", "json_object"])
def test_a_400_to_a_structured_request_is_a_schema_rejection(openai_server: OpenAIServer, mode: str) -> None:
    openai_server.enqueue(Error(400, message="'response_format.type' must be 'json_schema' or 'text'"))
    request = ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode=mode)  # type: ignore[arg-type]

    with pytest.raises(SchemaRejectedError) as caught:
        complete(openai_server, request)

    assert caught.value.status == 400
    assert caught.value.transient is False
    assert "response_format" in str(caught.value)


def test_a_500_naming_response_format_is_a_schema_rejection(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(500, message="Unsupported json_schema in response_format"))
    request = ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="json_schema")

    with pytest.raises(SchemaRejectedError) as caught:
        complete(openai_server, request, stream=True)

    assert caught.value.status == 500
    assert caught.value.transient is False


def test_a_400_to_a_prompt_only_request_is_a_plain_error(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(400, message="context length exceeded"))

    with pytest.raises(ProviderError) as caught:
        complete(openai_server)

    assert not isinstance(caught.value, SchemaRejectedError)
    assert caught.value.transient is False
    assert str(caught.value) == (
        f"HTTP 400 from open_llm {openai_server.base_url} (model test-model): context length exceeded"
    )


@pytest.mark.parametrize(
    ("status", "transient"),
    [(400, False), (401, False), (403, False), (404, False), (422, False)]
    + [(408, True), (409, True), (429, True), (500, True), (503, True)],
)
def test_status_codes_are_classified(openai_server: OpenAIServer, status: int, transient: bool) -> None:
    openai_server.enqueue(Error(status))

    with pytest.raises(ProviderError) as caught:
        complete(openai_server)

    assert caught.value.status == status
    assert caught.value.transient is transient


def test_retry_after_is_read_from_the_headers(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(429, headers={"Retry-After": "7"}), Error(429, headers={"retry-after-ms": "250"}))

    with pytest.raises(ProviderError) as seconds:
        complete(openai_server)
    with pytest.raises(ProviderError) as millis:
        complete(openai_server)

    assert seconds.value.retry_after == 7.0
    assert millis.value.retry_after == 0.25


def test_non_json_error_bodies_are_quoted(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(502, body="<html>Bad Gateway</html>"))

    with pytest.raises(ProviderError, match=r"HTTP 502 .*Bad Gateway") as caught:
        complete(openai_server)

    assert caught.value.body == "<html>Bad Gateway</html>"


def test_error_envelopes_of_other_servers() -> None:
    assert error_reason('{"error": {"message": "openai style"}}') == "openai style"
    assert error_reason('{"error": "lm studio style"}') == "lm studio style"
    assert error_reason('{"detail": "fastapi style"}') == "fastapi style"
    assert error_reason('{"object": "error", "message": "fastchat style"}') == "fastchat style"
    assert error_reason("") == "(empty body)"


@pytest.mark.parametrize("stream", [False, True])
def test_a_cut_answer_is_transient(openai_server: OpenAIServer, stream: bool) -> None:
    openai_server.enqueue(CutStream('{"title": '))

    with pytest.raises(ProviderError, match="broke before the answer was complete") as caught:
        complete(openai_server, stream=stream)

    assert caught.value.transient is True


def test_a_stream_without_finish_reason_is_a_cut_stream(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text('{"title": ', finish_reason=None))

    with pytest.raises(ProviderError, match="without a finish_reason") as caught:
        complete(openai_server, stream=True)

    assert caught.value.transient is True


def test_an_error_event_inside_the_stream_is_transient(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(ErrorLine("engine overloaded"))

    with pytest.raises(ProviderError, match="engine overloaded") as caught:
        complete(openai_server, stream=True)

    assert caught.value.transient is True


@pytest.mark.parametrize("stream", [False, True])
def test_a_hanging_server_times_out_as_transient(openai_server: OpenAIServer, stream: bool) -> None:
    openai_server.enqueue(Hang(5))

    with pytest.raises(ProviderError, match="timed out waiting for open_llm") as caught:
        complete(openai_server, stream=stream, timeout=0.2)

    assert caught.value.transient is True


def test_connection_refused_is_transient_and_says_where() -> None:
    with OpenAIServer() as server:
        pass  # closed: nobody listens on that port any more

    with pytest.raises(ProviderError, match=r"could not connect to open_llm http://127\.0\.0\.1:") as caught:
        complete(server)

    assert caught.value.transient is True
    assert "is the server running?" in str(caught.value)


# -- models and the registry --------------------------------------------------------------------------------


def test_list_models(openai_server: OpenAIServer) -> None:
    openai_server.models = ["llama2-13b", "qwen2.5-coder"]

    async def go() -> list[str]:
        provider = provider_for(openai_server)
        try:
            return await provider.list_models()
        finally:
            await provider.aclose()

    assert asyncio.run(go()) == ["llama2-13b", "qwen2.5-coder"]
    assert openai_server.requests[-1].path == "/v1/models"


@pytest.mark.parametrize("api_type", ["openai", "open_llm"])
def test_registry_builds_openai_compatible_providers(openai_server: OpenAIServer, api_type: str) -> None:
    provider = make_provider(
        api_type,
        api_type=api_type,
        model="m",
        base_url=openai_server.base_url,
        api_key="k",
        timeout=5.0,
        stream=True,
        context_length=32768,
        temperature=0.0,
        max_tokens=256,
        seed=1,
    )
    try:
        assert isinstance(provider, OpenAICompatProvider)
        assert provider.name == api_type
        assert asyncio.run(provider.context_window()) == 32768
        assert provider.capabilities.json_schema and provider.capabilities.lists_models
    finally:
        asyncio.run(provider.aclose())
