"""Costs that mean something: known hosted models priced out of the box, local servers free, unknown is unknown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer
from scripted_company import ScriptedCompany

from devteam.config.settings import LLMConfig
from devteam.llm.pricing import is_local_url, price_for

IDEA = "write a tic-tac-toe game"


def test_a_known_hosted_model_is_priced_from_the_table() -> None:
    price = price_for(LLMConfig(api_type="openai", api_key="k", model="gpt-4o-mini"))
    assert price.known and price.prompt == pytest.approx(0.15) and price.completion == pytest.approx(0.60)
    assert "genai-prices" in price.source

    # The server's URL names the provider; a gateway the table does not know still prices by the model's name.
    deepseek = price_for(LLMConfig(api_type="open_llm", base_url="https://api.deepseek.com/v1", model="deepseek-chat"))
    assert deepseek.known and deepseek.prompt > 0 and "deepseek" in deepseek.source.lower()
    gateway = price_for(
        LLMConfig(api_type="openai", api_key="k", base_url="https://gateway.example.com/v1", model="gpt-4o-mini")
    )
    assert gateway.prompt == pytest.approx(0.15)


def test_config_pricing_wins_and_local_servers_are_free() -> None:
    configured = price_for(
        LLMConfig(api_type="openai", api_key="k", model="gpt-4o-mini", pricing={"prompt": 1.0, "completion": 2.0})
    )
    assert (configured.prompt, configured.completion, configured.source) == (1.0, 2.0, "config")
    for config in (
        LLMConfig(api_type="open_llm", base_url="http://127.0.0.1:8000/v1", model="gpt-4o"),
        LLMConfig(api_type="open_llm", base_url="http://192.168.1.20:8000/v1", model="llama3"),
        LLMConfig(api_type="ollama", model="qwen2.5-coder:7b"),
    ):
        price = price_for(config)
        assert price.known and price.is_free and price.source == "local", config
    assert is_local_url("http://gpu-box:8000/v1") and not is_local_url("https://api.together.xyz/v1")


def test_an_unlisted_hosted_model_is_unknown_not_free() -> None:
    price = price_for(LLMConfig(api_type="openai", api_key="k", model="my-private-finetune-7"))
    assert not price.known and price.source == "unknown"


def _hosted_config(tmp_path: Path, server: OpenAIServer, model: str) -> None:
    # api_type openai at the loopback server: priced as the hosted model it names.
    write_config(tmp_path, {"api_type": "openai", "api_key": "sk-test", "base_url": server.base_url, "model": model})


def test_a_run_on_a_known_model_reports_its_cost(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    _hosted_config(tmp_path, openai_server, "gpt-4o-mini")

    result = run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path)

    assert result.code == 0, result.output
    summary = json.loads((tmp_path / "workspace" / "tictactoe" / ".devteam" / "summary.json").read_text())
    assert summary["cost"] > 0 and summary["cost_known"] is True
    assert "$0.0000" not in result.stdout.split("LLM:")[1].splitlines()[0]


def test_an_unknown_price_says_so_and_warns_that_the_budget_cannot_hold(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set_handler(ScriptedCompany())
    _hosted_config(tmp_path, openai_server, "my-private-finetune-7")

    result = run_metagpt([IDEA, "--no-code-review", "--investment", "0.5"], cwd=tmp_path)

    assert result.code == 0, result.output
    llm_line = result.stdout.split("LLM:")[1].splitlines()[0]
    assert "cost unknown" in llm_line and "$0.0000" not in llm_line
    assert result.stderr.count("--investment cannot be enforced") == 1
    assert "cost unknown" in result.stderr  # the progress lines (stderr) say it too
    root = tmp_path / "workspace" / "tictactoe"
    assert json.loads((root / ".devteam" / "summary.json").read_text())["cost_known"] is False
    logs = run_metagpt(["logs", str(root)], cwd=tmp_path)
    assert "cost unknown" in logs.stdout


def test_check_names_the_price(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    _hosted_config(tmp_path, openai_server, "gpt-4o-mini")
    result = run_metagpt(["check"], cwd=tmp_path)
    assert "price:      $0.15 / $0.6 per 1M prompt / completion tokens, from genai-prices (OpenAI)" in result.stdout
