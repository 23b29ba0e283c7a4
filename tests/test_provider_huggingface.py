"""`api_type: huggingface` on a tiny model the test builds and saves: real `from_pretrained`, no download."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cli_runner import clean_env, run_metagpt, write_config
from provider_builder import make_provider

from devteam.core.errors import ConfigError
from devteam.llm.types import ChatMessage, ChatRequest, ChatResponse

CHECK_ANSWER = ['{"greeting":', '"hello",', '"numbers":', "[1,", "2],", '"ok":', "true}"]
MESSAGES = [ChatMessage("system", "You answer with JSON only."), ChatMessage("user", "write json")]
OPTIONS = {
    "api_type": "huggingface",
    "base_url": None,
    "api_key": None,
    "timeout": 5.0,
    "stream": True,
    "temperature": 0.0,
    "seed": 0,
    "replay_file": None,
    "stop": None,
    "prompt_format": None,
}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_hf_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("hf") / "tiny-chat", CHECK_ANSWER, context_length=512)


def complete(provider: object, request: ChatRequest) -> ChatResponse:
    return asyncio.run(provider.complete(request))  # type: ignore[attr-defined]


@pytest.mark.local_model
def test_answers_through_the_models_own_chat_template(tiny_model: Path) -> None:
    provider = make_provider("huggingface", **OPTIONS, model=str(tiny_model), context_length=None, max_tokens=32)
    response = complete(provider, ChatRequest(messages=MESSAGES))

    assert json.loads(response.text) == {"greeting": "hello", "numbers": [1, 2], "ok": True}
    assert response.finish_reason == "stop"
    # The prompt is the ChatML rendering, counted by the model's tokenizer: not an estimate.
    prompt = provider.prompt_for(ChatRequest(messages=MESSAGES))
    assert prompt.endswith("<|im_start|>assistant\n")
    counted = asyncio.run(provider.count_tokens(prompt))
    assert counted.exact and response.usage.prompt_tokens == counted.n and not response.usage.estimated
    assert response.usage.completion_tokens == len(CHECK_ANSWER) + 1  # the words and the end-of-turn token
    assert asyncio.run(provider.context_window()) == 512  # from the model's config when the user gives none


@pytest.mark.local_model
def test_a_small_budget_is_reported_as_truncation(tiny_model: Path) -> None:
    provider = make_provider("huggingface", **OPTIONS, model=str(tiny_model), context_length=2048, max_tokens=3)
    response = complete(provider, ChatRequest(messages=MESSAGES))
    assert response.text == '{"greeting": "hello", "numbers":'
    assert response.finish_reason == "length"
    assert asyncio.run(provider.context_window()) == 2048  # the config wins


@pytest.mark.local_model
def test_a_prompt_format_replaces_the_chat_template(tiny_model: Path) -> None:
    # Alpaca's prompt ends in "Response:", which the tiny model does not continue: it ends the answer at once.
    options = {**OPTIONS, "prompt_format": "alpaca"}
    provider = make_provider("huggingface", **options, model=str(tiny_model), context_length=None, max_tokens=8)
    assert provider.prompt_for(ChatRequest(messages=MESSAGES)).endswith("### Response:\n")
    assert complete(provider, ChatRequest(messages=MESSAGES)).text == ""


@pytest.mark.local_model
def test_a_model_without_a_chat_template_takes_its_presets_format(tmp_path: Path) -> None:
    from tiny_hf_model import build_tiny_model

    bare = build_tiny_model(tmp_path / "bare", CHECK_ANSWER, chat_template=False)
    without = make_provider("huggingface", **OPTIONS, model=str(bare), context_length=None, max_tokens=32)
    with pytest.raises(ConfigError, match=r"has no chat template; set llm\.prompt_format"):
        complete(without, ChatRequest(messages=MESSAGES))
    options = {**OPTIONS, "preset_prompt_format": "chatml"}
    with_preset = make_provider("huggingface", **options, model=str(bare), context_length=None, max_tokens=32)
    response = complete(with_preset, ChatRequest(messages=MESSAGES))
    assert json.loads(response.text)["greeting"] == "hello"  # the ChatML prompt ends in "assistant", as trained


@pytest.mark.local_model
def test_a_missing_model_folder_is_a_config_error(tmp_path: Path) -> None:
    provider = make_provider(
        "huggingface", **OPTIONS, model=str(tmp_path / "nowhere"), context_length=None, max_tokens=8
    )
    with pytest.raises(ConfigError, match="is not a folder"):
        complete(provider, ChatRequest(messages=MESSAGES))


@pytest.mark.local_model
def test_metagpt_check_runs_the_ladder_on_the_in_process_model(tmp_path: Path, tiny_model: Path) -> None:
    write_config(tmp_path, {"api_type": "huggingface", "model": str(tiny_model), "max_token": 32})
    result = run_metagpt(["check"], cwd=tmp_path, timeout=300)
    assert result.code == 0, result.output
    assert "provider:   huggingface" in result.stdout and "round trip: ok" in result.stdout
    assert "Traceback" not in result.output


def test_without_the_extra_it_says_what_to_install(tmp_path: Path) -> None:
    # A package folder named like transformers that cannot be imported stands for "not installed".
    blocked = tmp_path / "blocked" / "transformers"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('not installed here')\n")
    write_config(tmp_path, {"api_type": "huggingface", "model": "Qwen/Qwen2.5-0.5B-Instruct"})
    env = clean_env(tmp_path / "home", PYTHONPATH=str(tmp_path / "blocked"))
    result = run_metagpt(["check"], cwd=tmp_path, env=env)
    assert result.code == 2, result.output
    assert "pip install 'devteam[hf]'" in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
