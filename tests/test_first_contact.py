"""A refused connection on first contact fails in about a second with the diagnosis; a server that answered and
then went away is still retried. And the 404 of a wrong base_url path says the path is wrong."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
import yaml
from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer, Text

from devteam.config.settings import Config
from devteam.core.errors import ProviderError
from devteam.llm.factory import build_llm
from devteam.llm.types import ChatMessage, ChatRequest
from devteam.llm.usage import Ledger


def _refusing_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there once the probe is closed


def _default_retry_config(folder: Path, llm: dict[str, object]) -> None:
    """The retry settings a user has by default (4 retries, 5-30 s apart): a slow failure if they applied."""
    path = folder / "config" / "config2.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"llm": llm}))


@pytest.mark.parametrize("command", [["write a snake game"], ["check"]])
def test_a_refused_first_connection_fails_in_about_a_second(tmp_path: Path, command: list[str]) -> None:
    _default_retry_config(tmp_path, {"api_type": "open_llm", "base_url": _refusing_url(), "model": "m"})
    started = time.monotonic()
    result = run_metagpt(command, cwd=tmp_path)
    elapsed = time.monotonic() - started

    assert result.code == 1, result.output
    assert elapsed < 8, elapsed  # was 36 s of retries; the rest is interpreter start-up on a loaded machine
    assert "retry" not in result.stderr
    assert "Nothing accepts connections" in result.stderr and "Traceback" not in result.output


def test_a_server_that_answered_and_then_went_away_is_retried(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text("first answer"))
    config = Config.model_validate(
        {
            "llm": {
                "api_type": "open_llm",
                "base_url": openai_server.base_url,
                "model": "m",
                "stream": False,
                "num_retries": 2,
                "retry_min_wait": 0.01,
                "retry_max_wait": 0.02,
            }
        }
    )
    request = ChatRequest(messages=[ChatMessage("user", "hi")], role="Tester", action="Ask")

    async def go() -> str:
        llm = build_llm(config.llm, ledger=Ledger())
        try:
            first = await llm.complete(request)
            openai_server.close()
            with pytest.raises(ProviderError) as refused:
                await llm.complete(request)
            return f"{first.text}|{refused.value}"
        finally:
            await llm.aclose()

    said = asyncio.run(go())
    assert said.startswith("first answer|") and "gave up after 3 attempts" in said


def test_a_base_url_without_v1_is_named_as_the_wrong_path(tmp_path: Path, openai_server: OpenAIServer) -> None:
    root_url = openai_server.base_url.removesuffix("/v1")
    write_config(tmp_path, {"api_type": "open_llm", "base_url": root_url, "model": "m"})
    result = run_metagpt(["check"], cwd=tmp_path)
    assert result.code == 1, result.output
    assert "The URL path is wrong" in result.stderr and f"{root_url}/v1" in result.stderr
    assert "ollama pull" not in result.stderr
