"""Servers that break the protocol on purpose: every non-conforming answer is a `ProviderError`, never a
traceback; `timeout` bounds a whole call; a 400 turns schema output off only when it is about the schema;
a crashed run is recorded as a crash.

Real loopback servers (tests/fakes `Raw`, `RawStream`, `Trickle`), the real openai SDK and httpx.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_metagpt, write_config
from fakes import Error, OllamaServer, OpenAIServer, Raw, RawStream, Reply, Text, Trickle
from scripted_company import ScriptedCompany

from devteam.config.settings import Config
from devteam.core.errors import ProviderError, SchemaRejectedError
from devteam.llm.factory import build_llm
from devteam.llm.providers.ollama import OllamaProvider
from devteam.llm.providers.openai_compat import OpenAICompatProvider
from devteam.llm.types import ChatMessage, ChatRequest, ChatResponse
from devteam.llm.usage import Ledger
from devteam.roles.base import Message, Role, RunContext
from devteam.run.company import run_company
from devteam.run.options import RunOptions

MESSAGES = [ChatMessage("system", "You write tickets."), ChatMessage("user", "a snake game")]
REQUEST = ChatRequest(messages=MESSAGES)
SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}},
    "required": ["title"],
    "additionalProperties": False,
}
DEEP = b"[" * 10_000 + b"]" * 10_000
# A test that would hang on old code still ends: the whole attempt is capped here, far above any timeout used.
TEST_CAP_S = 25.0


def _completion(**override: Any) -> bytes:
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    }
    return json.dumps({**body, **override}).encode()


def _chunk(**override: Any) -> bytes:
    body = {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}],
    }
    return b"data: " + json.dumps({**body, **override}).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"

OPENAI_HOSTILE: dict[str, tuple[bool, Reply]] = {
    "html_200": (False, Raw(b"<html><body><h1>Welcome to the proxy</h1></body></html>", content_type="text/html")),
    "json_list": (False, Raw(b"[1, 2, 3]")),
    "json_string": (False, Raw(b'"hello"')),
    "choices_of_strings": (False, Raw(_completion(choices=["x"]))),
    "message_is_a_string": (False, Raw(_completion(choices=[{"index": 0, "message": "hi", "finish_reason": "stop"}]))),
    "usage_of_wrong_type": (False, Raw(_completion(usage={"prompt_tokens": "lots", "completion_tokens": [1]}))),
    "invalid_utf8": (False, Raw(_completion()[:-2] + b', "x": "\xff\xfe"}')),
    "nesting_10000_deep": (False, Raw(DEEP)),
    "sse_line_not_json": (True, RawStream((b"data: {not json at all\n\n", DONE))),
    "sse_json_list": (True, RawStream((b"data: [1, 2]\n\n", DONE))),
    "sse_choices_of_strings": (True, RawStream((_chunk(choices=["x"]), DONE))),
    "sse_invalid_utf8": (True, RawStream((_chunk()[:-3] + b', "x": "\xff"}\n\n', DONE))),
    "sse_nesting_10000_deep": (True, RawStream((b"data: " + DEEP + b"\n\n", DONE))),
    "sse_usage_of_wrong_type": (True, RawStream((_chunk(usage={"prompt_tokens": "x", "completion_tokens": 1}), DONE))),
}


def _ollama_line(**override: Any) -> bytes:
    body = {
        "model": "test-model",
        "message": {"role": "assistant", "content": "hi"},
        "done": True,
        "done_reason": "stop",
    }
    return json.dumps({**body, **override}).encode()


OLLAMA_HOSTILE: dict[str, tuple[bool, Reply]] = {
    "html_200": (False, Raw(b"<html><body>Welcome</body></html>", content_type="text/html")),
    "json_list": (False, Raw(b"[1]")),
    "json_string": (False, Raw(b'"hello"')),
    "message_is_a_string": (False, Raw(_ollama_line(message="hello"))),
    "counts_of_wrong_type": (False, Raw(_ollama_line(prompt_eval_count="many", eval_count=[1]))),
    "invalid_utf8": (False, Raw(_ollama_line()[:-1] + b', "x": "\xff"}')),
    "nesting_10000_deep": (False, Raw(DEEP)),
    "ndjson_line_not_json": (True, RawStream((b"{oops\n",))),
    "ndjson_message_is_a_string": (True, RawStream((_ollama_line(message="hello") + b"\n",))),
    "ndjson_content_is_a_number": (True, RawStream((_ollama_line(message={"content": 5}) + b"\n",))),
    "ndjson_counts_of_wrong_type": (True, RawStream((_ollama_line(prompt_eval_count="x") + b"\n",))),
    "ndjson_invalid_utf8": (True, RawStream((_ollama_line()[:-1] + b', "x": "\xff"}\n',))),
    "ndjson_nesting_10000_deep": (True, RawStream((DEEP + b"\n",))),
}


def _complete(provider: OpenAICompatProvider | OllamaProvider, request: ChatRequest = REQUEST) -> ChatResponse:
    async def go() -> ChatResponse:
        try:
            return await asyncio.wait_for(provider.complete(request), TEST_CAP_S)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def _openai(server: OpenAIServer, **options: Any) -> OpenAICompatProvider:
    return OpenAICompatProvider(**{"model": "test-model", "base_url": server.base_url, "timeout": 5.0, **options})


def _ollama(server: OllamaServer, **options: Any) -> OllamaProvider:
    return OllamaProvider(**{"model": "test-model", "base_url": server.url, "timeout": 5.0, **options})


# -- non-conforming answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(OPENAI_HOSTILE))
def test_a_non_conforming_openai_answer_is_a_provider_error(openai_server: OpenAIServer, case: str) -> None:
    stream, reply = OPENAI_HOSTILE[case]
    openai_server.enqueue(reply)

    with pytest.raises(ProviderError) as caught:
        _complete(_openai(openai_server, stream=stream))

    assert "is not an OpenAI-style chat completion" in str(caught.value)
    assert openai_server.base_url in str(caught.value)
    assert caught.value.transient is False  # the same server answers the same way again


@pytest.mark.parametrize("case", list(OLLAMA_HOSTILE))
def test_a_non_conforming_ollama_answer_is_a_provider_error(ollama_server: OllamaServer, case: str) -> None:
    stream, reply = OLLAMA_HOSTILE[case]
    ollama_server.enqueue(reply)

    with pytest.raises(ProviderError) as caught:
        _complete(_ollama(ollama_server, stream=stream))

    assert "is not an ollama chat answer" in str(caught.value)
    assert caught.value.transient is False


def test_a_non_conforming_model_list_is_a_provider_error(ollama_server: OllamaServer) -> None:
    class Listing(OllamaServer):
        def route(self, request: Any, wire: Any) -> None:
            wire.send_bytes(200, b'{"models": "all of them"}', content_type="application/json")

    with Listing() as server:
        provider = _ollama(server)

        async def go() -> list[str]:
            try:
                return await provider.list_models()
            finally:
                await provider.aclose()

        with pytest.raises(ProviderError, match="is not an ollama chat answer"):
            asyncio.run(go())


def test_a_hostile_answer_is_reported_once_and_a_transient_fault_is_still_retried(
    openai_server: OpenAIServer,
) -> None:
    openai_server.enqueue(Error(503), Raw(b"<html>login</html>", content_type="text/html"))
    config = Config.model_validate(
        {
            "llm": {
                "api_type": "open_llm",
                "base_url": openai_server.base_url,
                "model": "test-model",
                "stream": False,
                "num_retries": 3,
                "retry_min_wait": 0.01,
                "retry_max_wait": 0.02,
            }
        }
    )

    async def go() -> None:
        llm = build_llm(config.llm, ledger=Ledger())
        try:
            await llm.complete(REQUEST)
        finally:
            await llm.aclose()

    with pytest.raises(ProviderError, match="not an OpenAI-style chat completion"):
        asyncio.run(go())
    assert len(openai_server.chat_requests) == 2  # the 503 retried, the HTML page not


@pytest.mark.parametrize(
    ("api_type", "reply"),
    [
        ("open_llm", Raw(b"<html><body>Gateway login</body></html>", content_type="text/html")),
        ("open_llm", RawStream((b"data: {broken\n\n", DONE))),
        ("ollama", RawStream((_ollama_line(message="hello") + b"\n",))),
    ],
)
def test_the_cli_reports_a_hostile_server_without_a_traceback(tmp_path: Path, api_type: str, reply: Reply) -> None:
    server = OpenAIServer() if api_type == "open_llm" else OllamaServer()
    with server:
        server.set_handler(lambda _request: reply)
        base_url = server.base_url if isinstance(server, OpenAIServer) else server.url
        write_config(tmp_path, {"api_type": api_type, "base_url": base_url, "model": "test-model"})

        run = run_metagpt(["write a snake game", "--project-name", "snake"], cwd=tmp_path, timeout=60)
        check = run_metagpt(["check"], cwd=tmp_path, timeout=60)

    for result in (run, check):
        assert result.code == 1, result.output
        assert "Traceback" not in result.output
        assert "is not an" in result.output


# -- timeout bounds the whole call ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_trickled_byte_by_byte_stops_at_the_timeout_openai(openai_server: OpenAIServer, stream: bool) -> None:
    openai_server.enqueue(Trickle(Text('{"title": "a snake game that never finishes"}'), interval=0.25))
    started = time.monotonic()

    with pytest.raises(ProviderError, match="timed out") as caught:
        _complete(_openai(openai_server, stream=stream, timeout=2.0))

    assert time.monotonic() - started < 10  # every read got a byte within 0.25 s; only the whole-call bound stops it
    assert caught.value.transient is True


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_trickled_byte_by_byte_stops_at_the_timeout_ollama(ollama_server: OllamaServer, stream: bool) -> None:
    ollama_server.enqueue(Trickle(Text('{"title": "a snake game that never finishes"}'), interval=0.25))
    started = time.monotonic()

    with pytest.raises(ProviderError, match="timed out") as caught:
        _complete(_ollama(ollama_server, stream=stream, timeout=2.0))

    assert time.monotonic() - started < 10
    assert caught.value.transient is True


# -- a 400 is a schema rejection only when it is about the schema --------------------------------------------

CONTEXT_400 = (
    "This model's maximum context length is 8192 tokens. However, you requested 9500 tokens "
    "(5404 in the messages, 4096 in the completion). Please reduce the length of the messages."
)


@pytest.mark.parametrize("message", [CONTEXT_400, "Bad Request", "'temperature' must be at most 2"])
def test_a_400_not_about_the_schema_is_reported_as_what_it_is(openai_server: OpenAIServer, message: str) -> None:
    openai_server.enqueue(Error(400, message=message), Text('{"title": "Snake"}'))
    config = Config.model_validate(
        {
            "llm": {
                "api_type": "open_llm",
                "base_url": openai_server.base_url,
                "model": "test-model",
                "stream": False,
                "num_retries": 2,
                "retry_min_wait": 0.01,
                "retry_max_wait": 0.02,
            }
        }
    )
    request = ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="json_schema")

    async def go() -> str | None:
        llm = build_llm(config.llm, ledger=Ledger())
        try:
            with pytest.raises(ProviderError) as caught:
                await llm.complete(request)
            assert not isinstance(caught.value, SchemaRejectedError)
            assert message in str(caught.value)
            return llm.schema_fallback_reason
        finally:
            await llm.aclose()

    assert asyncio.run(go()) is None  # schema output stays on for the rest of the run
    assert len(openai_server.chat_requests) == 1  # not re-sent prompt-only


def test_a_400_naming_the_schema_still_turns_schema_output_off(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(400, message="JSON schema conversion failed: unsupported keyword"))
    request = ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="json_schema")

    with pytest.raises(SchemaRejectedError):
        _complete(_openai(openai_server), request)


def test_an_ollama_context_error_naming_the_format_is_not_a_schema_rejection(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Error(400, message="input is too long for the context window (format: json)"))
    request = ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="json_schema")

    with pytest.raises(ProviderError) as caught:
        _complete(_ollama(ollama_server), request)

    assert not isinstance(caught.value, SchemaRejectedError)


# -- a crash is recorded as a crash ------------------------------------------------------------------------


class CrashingRole(Role):
    """A user's role with a bug: it raises something that is not a DevteamError once the design is out."""

    name = "Crasher"
    watches = frozenset({"design"})

    async def react(self, message: Message, run: RunContext) -> list[Message]:
        raise RuntimeError("a bug in a user's role")


def test_a_crashed_run_is_recorded_as_crashed_with_exit_code_1(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    config = Config.model_validate(
        {
            "llm": {
                "api_type": "open_llm",
                "base_url": openai_server.base_url,
                "model": "test-model",
                "num_retries": 0,
                "timeout": 10,
            }
        }
    )
    options = RunOptions(
        idea="write a tic-tac-toe game", workspace=tmp_path / "workspace", code_review=False, project_name="crashed"
    )

    with pytest.raises(RuntimeError, match="a bug in a user's role"):
        asyncio.run(run_company(config, options, progress_stream=io.StringIO(), extra_roles=[CrashingRole]))

    summary = json.loads((tmp_path / "workspace" / "crashed" / ".devteam" / "summary.json").read_text())
    assert (summary["status"], summary["exit_code"]) == ("crashed", 1)
    assert summary["error_type"] == "RuntimeError"
    assert summary["error"] == "a bug in a user's role"
