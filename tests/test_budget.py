"""`--investment` is a hard ceiling, also with many calls in flight; usage a server makes up cannot poison it.

Real loopback servers, the real openai SDK and httpx, the real `metagpt` command for the run-level checks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_metagpt, write_config
from fakes import Error, OllamaServer, OpenAIServer, Raw, RecordedRequest, Reply, Text
from scripted_company import TICTACTOE_FILES, ScriptedCompany, ScriptedFile

from devteam.config.settings import Config
from devteam.core.errors import BudgetExceededError, ProviderError
from devteam.llm.client import LLM
from devteam.llm.factory import build_llm
from devteam.llm.types import ChatMessage, ChatRequest
from devteam.llm.usage import Ledger

# $1000 per million tokens: a tenth of a cent per token. A 40-character prompt is ~10 tokens; with
# max_token 30 each call holds (10 + 30) tokens = $0.04 until it settles.
EXPENSIVE = {"prompt": 1000.0, "completion": 1000.0}
REQUEST = ChatRequest(messages=[ChatMessage("user", "x" * 40)], role="Engineer", action="WriteCode")
ANSWER = '{"title": "Snake"}'


def _llm(server: OpenAIServer | OllamaServer, ledger: Ledger, **overrides: Any) -> LLM:
    if isinstance(server, OpenAIServer):
        settings = {"api_type": "open_llm", "base_url": server.base_url, "model": "test-model"}
    else:
        settings = {"api_type": "ollama", "base_url": server.url, "model": "test-model"}
    settings.update(
        {"stream": False, "timeout": 10, "num_retries": 0, "max_token": 30, "pricing": EXPENSIVE, **overrides}
    )
    return build_llm(Config.model_validate({"llm": settings}).llm, ledger=ledger)


def test_calls_in_flight_hold_their_share_of_the_budget() -> None:
    with OpenAIServer(latency=0.3) as server:
        server.set_handler(lambda _request: Text(ANSWER, usage=(10, 5)))
        ledger = Ledger(investment=0.1)

        async def go() -> list[Any]:
            llm = _llm(server, ledger)
            try:
                results = await asyncio.gather(*(llm.complete(REQUEST) for _ in range(5)), return_exceptions=True)
                answered = [r for r in results if not isinstance(r, BaseException)]
                refused = [r for r in results if isinstance(r, BudgetExceededError)]
                assert (len(answered), len(refused)) == (2, 3)  # 2 x $0.04 held; a third would pass $0.10
                assert "held by calls in flight" in str(refused[0])
                for response in answered:
                    llm.settle(REQUEST, response, repairs=[])
                assert ledger.held == 0
                # Each settled at $0.015: the unused $0.025 of each hold came back, so the next call fits.
                llm.settle(REQUEST, await llm.complete(REQUEST), repairs=[])
                return results
            finally:
                await llm.aclose()

        asyncio.run(go())
        assert len(server.chat_requests) == 3
    assert ledger.cost == pytest.approx(0.045)
    assert ledger.cost <= 0.1


def test_a_failed_call_gives_its_hold_back(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(400, message="bad request"), Text(ANSWER, usage=(10, 5)))
    ledger = Ledger(investment=0.05)

    async def go() -> None:
        llm = _llm(openai_server, ledger)
        try:
            with pytest.raises(ProviderError):
                await llm.complete(REQUEST)
            assert ledger.held == 0
            llm.settle(REQUEST, await llm.complete(REQUEST), repairs=[])
        finally:
            await llm.aclose()

    asyncio.run(go())
    assert ledger.cost == pytest.approx(0.015)


# -- usage a server makes up -------------------------------------------------------------------------------


def _completion_with_usage(prompt: object, completion: object) -> bytes:
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
    }
    text = json.dumps(body)[:-1] + f', "usage": {{"prompt_tokens": {prompt}, "completion_tokens": {completion}}}}}'
    return text.encode()


@pytest.mark.parametrize(
    ("prompt", "completion"),
    [
        ("-5000", "5"),
        ("10", "-1"),
        ("NaN", "5"),
        ("10", "Infinity"),
        ("1e15", "5"),
        ("10", "10000000000"),
        ("10.5", "5"),
    ],
)
def test_implausible_openai_usage_is_replaced_by_the_estimate(
    openai_server: OpenAIServer, caplog: pytest.LogCaptureFixture, prompt: str, completion: str
) -> None:
    openai_server.enqueue(Raw(_completion_with_usage(prompt, completion)))
    ledger = Ledger(investment=10.0)

    async def go() -> None:
        llm = _llm(openai_server, ledger)
        try:
            llm.settle(REQUEST, await llm.complete(REQUEST), repairs=[])
        finally:
            await llm.aclose()

    with caplog.at_level(logging.WARNING, logger="devteam.llm"):
        asyncio.run(go())

    (call,) = ledger.calls
    assert call.usage.estimated is True
    assert 0 <= call.usage.prompt_tokens <= 20 and 0 <= call.usage.completion_tokens <= 20
    assert math.isfinite(ledger.cost) and 0 < ledger.cost < 0.05
    assert "usage_implausible" in caplog.text


@pytest.mark.parametrize(("prompt", "completion"), [(-3, 5), (10, -7), (10**15, 5)])
def test_implausible_ollama_counts_are_replaced_by_the_estimate(
    ollama_server: OllamaServer, caplog: pytest.LogCaptureFixture, prompt: int, completion: int
) -> None:
    body = {
        "model": "test-model",
        "message": {"role": "assistant", "content": ANSWER},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": prompt,
        "eval_count": completion,
    }
    ollama_server.enqueue(Raw(json.dumps(body).encode()))
    ledger = Ledger(investment=10.0)

    async def go() -> None:
        llm = _llm(ollama_server, ledger)
        try:
            llm.settle(REQUEST, await llm.complete(REQUEST), repairs=[])
        finally:
            await llm.aclose()

    with caplog.at_level(logging.WARNING, logger="devteam.llm"):
        asyncio.run(go())

    assert ledger.calls[0].usage.estimated is True
    assert 0 < ledger.cost < 0.05
    assert "usage_implausible" in caplog.text


# -- the whole run ------------------------------------------------------------------------------------------

EXTRA_FILES = [ScriptedFile(f"tictactoe/extra_{i}.py", f"VALUE = {i}\n", [], f"constant {i}") for i in range(14)]


def test_sixteen_calls_in_flight_never_spend_past_the_investment(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany([*TICTACTOE_FILES, *EXTRA_FILES])  # 16 files in the first level

    def priced(request: RecordedRequest) -> Reply:
        reply = company(request)
        assert isinstance(reply, Text)
        prompt = sum(len(m["content"]) for m in request.json["messages"]) // 4
        return replace(reply, usage=(prompt, 1500))  # every answer bills 1,500 tokens: $0.015 at $10/M

    openai_server.set_handler(priced)
    write_config(
        tmp_path,
        {
            "api_type": "open_llm",
            "base_url": openai_server.base_url,
            "model": "m",
            "max_token": 2000,
            "pricing": {"prompt": 1.0, "completion": 10.0},
        },
    )

    result = run_metagpt(
        [
            "write a tic-tac-toe game",
            "--no-code-review",
            "--max-concurrency",
            "16",
            "--investment",
            "0.12",
            "--project-name",
            "ttt",
        ],
        cwd=tmp_path,
    )

    assert result.code == 1, result.output
    assert "budget" in result.stderr.lower()
    summary = json.loads((tmp_path / "workspace" / "ttt" / ".devteam" / "summary.json").read_text())
    assert 0.05 < summary["cost"] <= 0.12, summary["cost"]
    spent = float(result.stdout.split("completion tokens, $", 1)[1].split()[0].rstrip(","))
    assert spent == pytest.approx(summary["cost"], abs=1e-4)


@pytest.mark.parametrize("investment", ["-1", "-0.01", "nan", "inf"])
def test_an_investment_below_zero_is_a_usage_error(
    tmp_path: Path, openai_server: OpenAIServer, investment: str
) -> None:
    openai_server.set_handler(ScriptedCompany())
    write_config(
        tmp_path,
        {
            "api_type": "open_llm",
            "base_url": openai_server.base_url,
            "model": "m",
            "pricing": {"prompt": 1.0, "completion": 1.0},
        },
    )

    result = run_metagpt(["write a tic-tac-toe game", f"--investment={investment}"], cwd=tmp_path)

    assert result.code == 2, result.output
    assert "--investment" in result.stderr
    assert "Traceback" not in result.output
    assert openai_server.chat_requests == []
