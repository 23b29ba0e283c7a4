"""The completions provider (`llama_server`, `open_llm` with `prompt_format`) against servers that attack it:
shapes it parses are checked, a 400 is a schema rejection only when it is about the schema (and only then is a
lower level cached for later runs), a refused server is unreachable at once, and the whole call has a deadline.

Real loopback servers (tests/fakes), real httpx, the real `metagpt` command.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_metagpt, write_config
from fakes import CompletionsServer, Error, Raw, Text, Trickle
from provider_builder import make_provider

from devteam.core.errors import (
    HTTPStatusError,
    MalformedAnswerError,
    ProviderError,
    ProviderTimeoutError,
    SchemaRejectedError,
    ServerUnreachableError,
)
from devteam.llm.retry import RetryPolicy, call_with_retries, is_transient
from devteam.llm.types import ChatMessage, ChatRequest, ChatResponse

MESSAGES = [ChatMessage("system", "You write tickets."), ChatMessage("user", "a snake game")]
SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
PLAIN = ChatRequest(messages=MESSAGES)
STRUCTURED = ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="json_schema")
# A test that would hang on old code still ends: the whole attempt is capped here, far above any timeout used.
TEST_CAP_S = 25.0
BASE = {
    "model": "test-model",
    "timeout": 5.0,
    "api_key": None,
    "stream": False,
    "context_length": 4096,
    "temperature": None,
    "max_tokens": 64,
    "seed": None,
    "replay_file": None,
    "stop": None,
    "prompt_format": "chatml",
}
CHECK_ANSWER = json.dumps({"greeting": "hello", "numbers": [1, 2, 3], "ok": True})


def _provider(api_type: str, url: str, **options: Any) -> Any:
    return make_provider(api_type, **{**BASE, "api_type": api_type, "base_url": url, **options})


def _complete(provider: Any, request: ChatRequest = PLAIN) -> ChatResponse:
    async def go() -> ChatResponse:
        try:
            return await asyncio.wait_for(provider.complete(request), TEST_CAP_S)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def _url(server: CompletionsServer, api_type: str) -> str:
    return server.base_url if api_type == "open_llm" else server.url


def _openai_body(**override: Any) -> bytes:
    body = {"model": "m", "choices": [{"index": 0, "text": "hi", "finish_reason": "stop"}]}
    return json.dumps({**body, **override}).encode()


def _llama_body(**override: Any) -> bytes:
    body = {"content": "hi", "model": "m", "stop": True, "stop_type": "eos"}
    return json.dumps({**body, **override}).encode()


HOSTILE: dict[str, tuple[str, bytes]] = {
    "choices_is_a_string": ("open_llm", _openai_body(choices="x")),
    "choice_is_a_string": ("open_llm", _openai_body(choices=["x"])),
    "text_is_a_list": ("open_llm", _openai_body(choices=[{"text": ["a"], "finish_reason": "stop"}])),
    "usage_count_is_a_string": ("open_llm", _openai_body(usage={"prompt_tokens": "lots", "completion_tokens": 1})),
    "usage_is_a_list": ("open_llm", _openai_body(usage=[1, 2])),
    "answer_is_a_list": ("open_llm", b"[1, 2]"),
    "llama_content_is_a_dict": ("llama_server", _llama_body(content={"x": 1})),
    "llama_count_is_a_string": ("llama_server", _llama_body(tokens_evaluated="many", tokens_predicted=2)),
    "llama_invalid_utf8": ("llama_server", _llama_body()[:-1] + b', "x": "\xff"}'),
    "llama_nesting_10000_deep": ("llama_server", b"[" * 10_000 + b"]" * 10_000),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_completion_of_the_wrong_shape_is_a_malformed_answer(
    completions_server: CompletionsServer, case: str
) -> None:
    api_type, body = HOSTILE[case]
    completions_server.enqueue(Raw(body))

    with pytest.raises(MalformedAnswerError, match="is not a completion answer") as caught:
        _complete(_provider(api_type, _url(completions_server, api_type)))

    assert not is_transient(caught.value)  # the same server answers the same way again


def test_a_reported_count_that_is_not_a_number_never_enters_usage(completions_server: CompletionsServer) -> None:
    completions_server.enqueue(Raw(_llama_body(tokens_evaluated="12", tokens_predicted=3)))

    with pytest.raises(MalformedAnswerError, match="tokens_evaluated is the text '12', not a token count"):
        _complete(_provider("llama_server", completions_server.url))


def test_a_model_list_of_the_wrong_shape_is_a_malformed_answer(completions_server: CompletionsServer) -> None:
    class Listing(CompletionsServer):
        def route(self, request: Any, wire: Any) -> None:
            wire.send_json(200, {"data": "x"})

    with Listing() as server:
        provider = _provider("llama_server", server.url)

        async def go() -> list[str]:
            try:
                return await provider.list_models()
            finally:
                await provider.aclose()

        with pytest.raises(MalformedAnswerError, match="the /v1/models data is the text 'x'"):
            asyncio.run(go())


# -- a 400 is a schema rejection only when it is about the schema --------------------------------------------


def test_a_400_about_something_else_is_reported_as_what_it_is(completions_server: CompletionsServer) -> None:
    completions_server.enqueue(Error(400, message="'n_probs' must be a non-negative integer"))

    with pytest.raises(ProviderError) as caught:
        _complete(_provider("llama_server", completions_server.url), STRUCTURED)

    assert type(caught.value) is HTTPStatusError and caught.value.status == 400
    assert "n_probs" in str(caught.value) and not is_transient(caught.value)


def test_a_400_about_the_schema_is_a_schema_rejection(completions_server: CompletionsServer) -> None:
    completions_server.enqueue(Error(400, message="json_schema: unsupported keyword 'oneOf'"))

    with pytest.raises(SchemaRejectedError):
        _complete(_provider("llama_server", completions_server.url), STRUCTURED)


def test_check_caches_no_lower_level_after_a_400_that_was_not_about_the_schema(
    tmp_path: Path, completions_server: CompletionsServer
) -> None:
    def answer(request: Any) -> Any:
        if "json_schema" in request.json:
            return Error(400, message="'n_probs' must be a non-negative integer")
        return Text(CHECK_ANSWER + "<|im_end|>")

    completions_server.set_handler(answer)
    write_config(
        tmp_path,
        {"api_type": "llama_server", "base_url": completions_server.url, "model": "m", "prompt_format": "chatml"},
    )

    result = run_metagpt(["check"], cwd=tmp_path)

    assert result.code == 1, result.output
    assert "HTTP 400" in result.stderr and "n_probs" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "home" / ".cache" / "devteam" / "structured_output.json").exists()


def test_check_caches_the_lower_level_after_a_real_schema_rejection(
    tmp_path: Path, completions_server: CompletionsServer
) -> None:
    def answer(request: Any) -> Any:
        if "json_schema" in request.json:
            return Error(400, message="JSON schema conversion failed: unsupported keyword")
        return Text(CHECK_ANSWER + "<|im_end|>")

    completions_server.set_handler(answer)
    write_config(
        tmp_path,
        {"api_type": "llama_server", "base_url": completions_server.url, "model": "m", "prompt_format": "chatml"},
    )

    result = run_metagpt(["check"], cwd=tmp_path)

    assert result.code == 0, result.output
    cache = json.loads((tmp_path / "home" / ".cache" / "devteam" / "structured_output.json").read_text())
    assert list(cache.values()) == ["prompt"]


# -- a refused server, a server that never finishes ----------------------------------------------------------


@pytest.mark.parametrize("api_type", ["open_llm", "llama_server"])
def test_a_refused_connection_is_unreachable_and_not_retried_on_first_contact(api_type: str) -> None:
    with CompletionsServer() as server:
        url = _url(server, api_type)  # closed below: nobody listens on that port any more
    provider = _provider(api_type, url)
    attempts: list[int] = []

    async def attempt() -> ChatResponse:
        attempts.append(1)
        return await provider.complete(ChatRequest(messages=MESSAGES))

    async def go() -> Any:
        try:
            policy = RetryPolicy(num_retries=3, min_wait=0.01, max_wait=0.01)
            return await call_with_retries(attempt, policy=policy, describe=provider.describe(), first_contact=True)
        finally:
            await provider.aclose()

    with pytest.raises(ServerUnreachableError, match=r"could not connect to .*is the server running"):
        asyncio.run(go())
    assert len(attempts) == 1


@pytest.mark.parametrize("api_type", ["open_llm", "llama_server"])
def test_a_trickling_server_hits_the_whole_call_deadline(completions_server: CompletionsServer, api_type: str) -> None:
    completions_server.enqueue(Trickle(Text('{"title": "a snake game that never finishes"}'), interval=0.25))

    with pytest.raises(ProviderTimeoutError, match="no complete answer within the 1 s timeout") as caught:
        _complete(_provider(api_type, _url(completions_server, api_type), timeout=1.0))

    assert is_transient(caught.value)
