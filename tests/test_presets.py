"""Presets: the shipped model families, matching, config keys winning, users' own presets, `metagpt check`."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from cli_runner import run_metagpt, write_config
from fakes import CompletionsServer, OpenAIServer, Text

from devteam.config.presets import find_preset, model_key, shipped_presets
from devteam.config.settings import Config, describe_preset, load_config
from devteam.core.errors import ConfigError

GOOD = '{"greeting": "hello", "numbers": [1, 2, 3], "ok": true}'


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config" / "config2.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return load_config(None, cwd=tmp_path, home=home, env={})


@pytest.mark.parametrize(
    ("model", "preset"),
    [
        ("qwen2.5-coder:7b", "qwen2.5-coder"),
        ("Qwen/Qwen2.5-Coder-32B-Instruct", "qwen2.5-coder"),
        ("qwen2.5:14b", "qwen2.5"),
        ("qwen3:8b", "qwen3"),
        ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3-coder"),
        ("./models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "llama3.1"),
        ("llama3.2:3b", "llama3.1"),
        ("llama3:8b", "llama3"),
        ("llama2-13b", "llama2"),
        ("mistral:7b-instruct", "mistral"),
        ("mistral-nemo:12b", "mistral-nemo"),
        ("gemma2:9b", "gemma2"),
        ("google/gemma-3-4b-it", "gemma3"),
        ("phi3:mini", "phi3"),
        ("microsoft/Phi-3.5-mini-instruct", "phi3-128k"),
        ("deepseek-r1:14b", "deepseek-r1"),
        ("deepseek-chat", "deepseek-chat"),
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4.1-nano", "gpt-4.1-nano"),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2"),
    ],
)
def test_model_names_find_their_family(model: str, preset: str) -> None:
    found = find_preset(model, list(shipped_presets()))
    assert found is not None and found.name == preset


def test_unknown_models_match_nothing() -> None:
    assert find_preset("my-own-finetune", list(shipped_presets())) is None
    assert model_key("Qwen/Qwen2.5-7B-Instruct") == "qwen2.5-7b-instruct"


def test_every_shipped_prompt_format_exists() -> None:
    from devteam.llm.providers.prompt_formats import builtin_formats

    for preset in shipped_presets():
        if "prompt_format" in preset.values:
            assert preset.values["prompt_format"] in builtin_formats(), preset.name


def test_preset_fills_only_what_the_config_leaves_out(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """\
        llm:
          api_type: ollama
          model: qwen2.5-coder:7b
          temperature: 0.7
        """,
    )
    llm = config.llm
    assert llm.preset == "qwen2.5-coder"
    assert (llm.context_length, llm.prompt_format, llm.stop) == (32768, "chatml", ["<|im_end|>"])
    assert llm.temperature == 0.7  # the config's key wins
    assert config.summary()["preset"] == "qwen2.5-coder"


def test_named_preset_applies_to_an_alias_and_none_turns_matching_off(tmp_path: Path) -> None:
    named = load(
        tmp_path,
        """\
        llm:
          api_type: open_llm
          base_url: http://127.0.0.1:9/v1
          model: my-gateway-alias
          preset: gpt-4o-mini
        """,
    )
    assert named.llm.preset == "gpt-4o-mini" and named.llm.context_length == 128000
    assert named.llm.structured_output == "json_schema"
    off = load(
        tmp_path,
        """\
        llm:
          api_type: ollama
          model: qwen2.5-coder:7b
          preset: none
        """,
    )
    assert off.llm.context_length is None and off.llm.temperature == 0.0


def test_users_presets_come_first_and_roles_get_their_own(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """\
        llm:
          api_type: open_llm
          base_url: http://127.0.0.1:9/v1
          model: house-model-v2
        presets:
          house:
            match: house-model*
            context_length: 12000
            prompt_format: vicuna
          my-qwen:
            match: [qwen2.5-coder*]
            context_length: 65536
        roles:
          - role: Architect
            llm: {model: 'qwen2.5-coder:32b'}
          - role: Engineer
            llm: {temperature: 0.5}
        """,
    )
    assert (config.llm.preset, config.llm.context_length, config.llm.prompt_format) == ("house", 12000, "vicuna")
    architect = config.llm_for("Architect")
    # Another model, another family: the base's preset values are not inherited, the role's preset applies.
    assert (architect.preset, architect.context_length, architect.prompt_format) == ("my-qwen", 65536, None)
    engineer = config.llm_for("Engineer")
    assert (engineer.preset, engineer.context_length, engineer.temperature) == ("house", 12000, 0.5)


def test_unknown_preset_name_and_bad_entries_name_file_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as unknown:
        load(
            tmp_path,
            """\
            llm:
              api_type: ollama
              model: llama2
              preset: qwen-coder
            """,
        )
    message = str(unknown.value)
    assert "llm.preset in" in message and "config2.yaml:4" in message and "qwen2.5-coder" in message
    with pytest.raises(ConfigError) as bad:
        load(
            tmp_path,
            """\
            llm:
              api_type: ollama
              model: llama2
            presets:
              mine:
                temperature: hot
            """,
        )
    assert "presets.mine.temperature" in str(bad.value) and "config2.yaml:6" in str(bad.value)


def test_check_prints_the_preset_and_the_request_uses_it(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(GOOD, usage=(50, 10)))
    write_config(
        tmp_path,
        {
            "api_type": "open_llm",
            "base_url": openai_server.base_url,
            "model": "qwen2.5-coder:7b",
            "context_length": 16384,
        },
    )

    result = run_metagpt(["check"], cwd=tmp_path)

    assert result.code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("preset:"))
    assert (
        line == "preset:     qwen2.5-coder (prompt_format chatml, stop [<|im_end|>], structured_output auto, "
        "temperature 0.2)"
    )
    assert openai_server.chat_requests[0].json["temperature"] == 0.2


def test_a_presets_format_serves_llama_server_but_never_moves_a_chat_api(
    tmp_path: Path, completions_server: CompletionsServer
) -> None:
    completions_server.enqueue(Text(GOOD + "<|im_end|>"))
    write_config(
        tmp_path, {"api_type": "llama_server", "base_url": completions_server.url, "model": "qwen2.5-7b-instruct"}
    )

    result = run_metagpt(["check", "--no-speed"], cwd=tmp_path)  # the one structured call

    assert result.code == 0, result.output
    (request,) = completions_server.prompt_requests
    assert request.path == "/completion" and request.json["prompt"].startswith("<|im_start|>system\n")
    assert request.json["stop"] == ["<|im_end|>"] and "json_schema" in request.json


@pytest.mark.parametrize(
    ("model", "max_files"),
    [
        ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", 1),
        ("Qwen/Qwen2.5-Coder-0.5B-Instruct", 1),
        ("qwen2.5-coder:0.5b", 1),
        ("qwen2.5:0.5b-instruct", 1),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", 1),
        ("qwen2.5-coder:7b", None),
        ("gpt-4o", None),
    ],
)
def test_the_weakest_models_plan_one_file(tmp_path: Path, model: str, max_files: int | None) -> None:
    config = load(tmp_path, f"llm:\n  api_type: ollama\n  model: {model}\n")
    assert config.llm.max_files == max_files
    if max_files is not None:
        assert "max_files 1" in describe_preset(config.llm)
    # The config's own key wins over the preset's.
    own = load(tmp_path, f"llm:\n  api_type: ollama\n  model: {model}\n  max_files: 3\n")
    assert own.llm.max_files == 3


def test_the_architects_model_carries_its_plan_size(tmp_path: Path) -> None:
    from devteam.llm.factory import build_llm
    from devteam.llm.output_levels import LevelCache
    from devteam.llm.usage import Ledger

    config = load(tmp_path, "llm:\n  api_type: ollama\n  model: qwen2.5-coder:0.5b\n")
    llm = build_llm(config.llm, ledger=Ledger(), level_cache=LevelCache(tmp_path / "levels.json"))
    assert llm.max_files == 1
    with pytest.raises(ConfigError, match="max_files"):
        load(tmp_path, "llm:\n  api_type: ollama\n  model: m\n  max_files: 0\n")
