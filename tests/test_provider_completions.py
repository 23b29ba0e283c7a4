"""Completion endpoints with a prompt format: `/v1/completions` and llama.cpp's `/completion`, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import git
import pytest
from cli_runner import run_metagpt, write_config
from fakes import CompletionsServer, Error, Text
from fakes.base import RecordedRequest, Reply
from provider_builder import make_provider
from scripted_company import ScriptedCompany

from devteam.core.errors import ConfigError, ProviderError, SchemaRejectedError
from devteam.llm.providers.completions import CompletionsProvider
from devteam.llm.types import ChatMessage, ChatRequest, ChatResponse

MESSAGES = [ChatMessage("system", "You write PRDs."), ChatMessage("user", "a snake game")]
SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}},
    "required": ["title"],
    "additionalProperties": False,
}
BASE = {
    "model": "test-model",
    "timeout": 5.0,
    "api_key": None,
    "stream": True,
    "context_length": None,
    "temperature": 0.2,
    "max_tokens": 64,
    "seed": None,
    "replay_file": None,
    "stop": None,
}


def build(api_type: str, server: CompletionsServer, **options: Any) -> Any:
    url = server.base_url if api_type == "open_llm" else server.url
    return make_provider(api_type, **{**BASE, "api_type": api_type, "base_url": url, **options})


def complete(provider: Any, request: ChatRequest) -> ChatResponse:
    async def go() -> ChatResponse:
        try:
            return await provider.complete(request)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def test_open_llm_with_a_prompt_format_uses_v1_completions(completions_server: CompletionsServer) -> None:
    completions_server.enqueue(Text('{"title": "Snake"}<|im_end|>\n<|im_start|>user\nmore', usage=(30, 6)))
    provider = build("open_llm", completions_server, prompt_format="chatml")
    assert isinstance(provider, CompletionsProvider)

    response = complete(provider, ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="prompt"))

    (request,) = completions_server.prompt_requests
    assert request.path == "/v1/completions"
    body = request.json
    assert body["prompt"] == (
        "<|im_start|>system\nYou write PRDs.<|im_end|>\n<|im_start|>user\na snake game<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert body["stop"] == ["<|im_end|>", "<|im_start|>", "<|endoftext|>"]
    assert body["model"] == "test-model" and body["max_tokens"] == 64 and body["temperature"] == 0.2
    assert "json_schema" not in body and "messages" not in body
    assert response.text == '{"title": "Snake"}'
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (30, 6)
    assert response.finish_reason == "stop" and not response.native_schema


def test_llama_server_sends_the_schema_and_reads_its_stop_type(completions_server: CompletionsServer) -> None:
    completions_server.enqueue(Text('{"title": "Sna', finish_reason="length"))
    provider = build("llama_server", completions_server, prompt_format="llama3")
    assert provider.capabilities.json_schema

    response = complete(provider, ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="json_schema"))

    (request,) = completions_server.prompt_requests
    assert request.path == "/completion"
    body = request.json
    assert body["json_schema"] == SCHEMA and body["n_predict"] == 64 and body["cache_prompt"] is True
    assert body["prompt"].startswith("<|start_header_id|>system<|end_header_id|>\n\nYou write PRDs.<|eot_id|>")
    assert body["stop"][0] == "<|eot_id|>"
    assert response.finish_reason == "length"  # truncation is seen by the ladder, not repaired
    assert response.native_schema
    assert response.usage.completion_tokens == 2 and not response.usage.estimated


def test_llama_server_accepts_a_v1_base_url(completions_server: CompletionsServer) -> None:
    completions_server.enqueue(Text("ok"))
    provider = build("llama_server", completions_server, prompt_format="chatml", base_url=completions_server.base_url)
    assert complete(provider, ChatRequest(messages=MESSAGES)).text == "ok"
    assert completions_server.prompt_requests[0].path == "/completion"


def test_config_stop_list_replaces_the_formats(completions_server: CompletionsServer) -> None:
    completions_server.enqueue(Text("answer END trailing"))
    provider = build("open_llm", completions_server, prompt_format="alpaca", stop=["END"])
    assert complete(provider, ChatRequest(messages=MESSAGES)).text == "answer"
    assert completions_server.prompt_requests[0].json["stop"] == ["END"]


def test_schema_rejection_and_http_errors(completions_server: CompletionsServer) -> None:
    completions_server.enqueue(Error(400, message="json_schema: unsupported keyword"), Error(503), Error(404))
    provider = build("llama_server", completions_server, prompt_format="chatml")
    with pytest.raises(SchemaRejectedError):
        complete(provider, ChatRequest(messages=MESSAGES, json_schema=SCHEMA, output_mode="json_schema"))
    with pytest.raises(ProviderError) as busy:
        complete(build("llama_server", completions_server, prompt_format="chatml"), ChatRequest(messages=MESSAGES))
    assert busy.value.transient and busy.value.status == 503
    with pytest.raises(ProviderError) as missing:
        complete(build("open_llm", completions_server, prompt_format="chatml"), ChatRequest(messages=MESSAGES))
    assert "/v1/completions" in str(missing.value) and not missing.value.transient


def test_llama_server_without_a_prompt_format_says_how_to_fix_it(completions_server: CompletionsServer) -> None:
    with pytest.raises(ConfigError, match="prompt_format: chatml"):
        build("llama_server", completions_server, prompt_format=None)


def test_connection_refused_is_transient() -> None:
    with CompletionsServer() as server:
        url = server.url
    provider = make_provider("llama_server", **{**BASE, "base_url": url, "prompt_format": "chatml"})
    with pytest.raises(ProviderError, match="could not connect") as error:
        complete(provider, ChatRequest(messages=MESSAGES))
    assert error.value.transient


def test_lists_models(completions_server: CompletionsServer) -> None:
    async def go(provider: Any) -> list[str]:
        try:
            return await provider.list_models()
        finally:
            await provider.aclose()

    assert asyncio.run(go(build("open_llm", completions_server, prompt_format="chatml"))) == ["test-model"]
    assert asyncio.run(go(build("llama_server", completions_server, prompt_format="chatml"))) == ["test-model"]


# -- end to end: the real `metagpt` command against a completion endpoint -----------------------------------


def chatml_company(company: ScriptedCompany, prompts: list[str]) -> Any:
    """Answer completion prompts with the scripted company, as a ChatML model would (end token included)."""

    def handle(request: RecordedRequest) -> Reply:
        prompt = str(request.json["prompt"])
        prompts.append(prompt)
        # The ChatML turns back as messages: a request may continue a conversation (the design after the PRD).
        turns = re.findall(r"<\|im_start\|>(\w+)\n(.*?)(?:<\|im_end\|>|$)", prompt, re.S)
        messages = [{"role": role, "content": content} for role, content in turns if content.strip()]
        as_chat = RecordedRequest(request.method, request.path, request.headers, {"messages": messages})
        reply = company(as_chat)
        assert isinstance(reply, Text)
        return Text(reply.content + "<|im_end|>\n<|im_start|>user\n", usage=reply.usage)

    return handle


@pytest.mark.parametrize("api_type", ["open_llm", "llama_server"])
def test_metagpt_run_through_a_completion_endpoint(
    tmp_path: Path, completions_server: CompletionsServer, api_type: str
) -> None:
    company, prompts = ScriptedCompany(), []
    completions_server.set_handler(chatml_company(company, prompts))
    url = completions_server.base_url if api_type == "open_llm" else completions_server.url
    write_config(tmp_path, {"api_type": api_type, "base_url": url, "model": "m", "prompt_format": "chatml"})

    result = run_metagpt(["write a tic-tac-toe game", "--no-code-review"], cwd=tmp_path)

    assert result.code == 0, result.output
    root = tmp_path / "workspace" / "tictactoe"
    assert (root / "tictactoe" / "board.py").read_text() == company.files["tictactoe/board.py"].code
    assert json.loads((root / "docs" / "prd.json").read_text())["project_name"] == "tictactoe"
    with git.Repo(root) as repo:
        assert not repo.is_dirty(untracked_files=True)
    assert all(p.startswith("<|im_start|>system\n") and p.endswith("<|im_start|>assistant\n") for p in prompts)
    bodies = [r.json for r in completions_server.prompt_requests]
    if api_type == "llama_server":
        assert "json_schema" in bodies[0]  # the PRD is constrained on the server
    else:
        assert all("json_schema" not in body for body in bodies)


def test_unknown_prompt_format_stops_the_run_with_the_fix(
    tmp_path: Path, completions_server: CompletionsServer
) -> None:
    write_config(
        tmp_path,
        {"api_type": "open_llm", "base_url": completions_server.base_url, "model": "m", "prompt_format": "chat-ml"},
    )
    result = run_metagpt(["write a tic-tac-toe game"], cwd=tmp_path)
    assert result.code == 2, result.output
    assert "prompt_format 'chat-ml' is not known" in result.stderr and "chatml" in result.stderr
    assert "Traceback" not in result.output and not completions_server.prompt_requests


def test_window_and_token_count_come_from_the_server(completions_server: CompletionsServer) -> None:
    async def go(provider: Any) -> tuple[int | None, Any]:
        try:
            return await provider.context_window(), await provider.count_tokens("three words here")
        finally:
            await provider.aclose()

    window, count = asyncio.run(go(build("llama_server", completions_server, prompt_format="chatml")))
    assert window == 4096 and (count.n, count.exact) == (3, True)  # /props and /tokenize, not 4 chars a token
    window, _ = asyncio.run(go(build("open_llm", completions_server, prompt_format="chatml", context_length=1000)))
    assert window == 1000  # the config wins


def test_without_tokenize_the_count_is_an_estimate_said_to_be_one() -> None:
    from fakes import OpenAIServer

    with OpenAIServer() as server:  # no /tokenize, no /props
        provider = make_provider("open_llm", **{**BASE, "base_url": server.base_url, "prompt_format": "chatml"})

        async def go() -> Any:
            try:
                return await provider.count_tokens("three words here"), await provider.context_window()
            finally:
                await provider.aclose()

        count, window = asyncio.run(go())
    assert not count.exact and count.n == 4  # 16 characters / 4
    assert window is None
