"""One step to a model: the environment alone is a config, a local server's models are offered, and
`--init-config --model NAME` writes a config only for a model a server really has."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from cli_runner import clean_env, run_metagpt, write_config
from fakes import OllamaServer, OpenAIServer, Text
from pty_runner import run_metagpt_on_pty
from scripted_company import ScriptedCompany

IDEA = "write a tic-tac-toe game"


def _env(tmp_path: Path, **variables: str) -> dict[str, str]:
    return clean_env(tmp_path / "home", LLM_RETRY_MIN_WAIT="0.01", LLM_RETRY_MAX_WAIT="0.05", **variables)


def test_openai_key_and_base_url_alone_are_a_config(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    env = _env(tmp_path, OPENAI_API_KEY="sk-env-only-1234567890", OPENAI_BASE_URL=openai_server.base_url)

    result = run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path, env=env)

    assert result.code == 0, result.output
    chat = [r for r in openai_server.requests if r.path == "/v1/chat/completions"]
    assert chat and {r.json["model"] for r in chat} == {"gpt-4o-mini"}
    assert chat[0].headers.get("authorization") == "Bearer sk-env-only-1234567890"
    assert not (tmp_path / "home" / ".metagpt").exists()  # nothing written, the environment is the config


def test_ollama_host_alone_uses_the_servers_only_model(tmp_path: Path) -> None:
    with OllamaServer(models=["qwen2.5-coder:7b"]) as server:
        server.set_handler(ScriptedCompany())
        result = run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path, env=_env(tmp_path, OLLAMA_HOST=server.url))
        models = {r.json["model"] for r in server.requests if r.path == "/api/chat"}
    assert result.code == 0, result.output
    assert models == {"qwen2.5-coder:7b"}


def test_several_models_without_a_terminal_ask_for_model(tmp_path: Path) -> None:
    with OllamaServer(models=["llama3.1:8b", "qwen2.5-coder:7b"]) as server:
        result = run_metagpt([IDEA], cwd=tmp_path, env=_env(tmp_path, OLLAMA_HOST=server.url))
        named = run_metagpt(
            ["check", "--model", "qwen2.5-coder:7b"], cwd=tmp_path, env=_env(tmp_path, OLLAMA_HOST=server.url)
        )
    assert result.code == 2, result.output
    assert "llama3.1:8b" in result.stderr and "qwen2.5-coder:7b" in result.stderr
    assert "--model NAME" in result.stderr and "Traceback" not in result.output
    assert "model:      qwen2.5-coder:7b" in named.stdout


def test_at_a_terminal_the_user_picks_a_model_and_may_save_it(tmp_path: Path) -> None:
    with OllamaServer(models=["llama3.1:8b", "qwen2.5-coder:7b"]) as server:
        server.set_handler(ScriptedCompany())
        result = run_metagpt_on_pty(
            [IDEA, "--no-code-review"], cwd=tmp_path, typed="2\ny\n", env=_env(tmp_path, OLLAMA_HOST=server.url)
        )
        models = {r.json["model"] for r in server.requests if r.path == "/api/chat"}
    assert result.code == 0, result.stdout
    assert "1. llama3.1:8b" in result.stdout and "2. qwen2.5-coder:7b" in result.stdout
    assert models == {"qwen2.5-coder:7b"}
    saved = yaml.safe_load((tmp_path / "home" / ".metagpt" / "config2.yaml").read_text())
    assert saved["llm"] == {"api_type": "ollama", "base_url": f"{server.url}/api", "model": "qwen2.5-coder:7b"}


def test_init_config_model_writes_only_a_model_the_server_has(tmp_path: Path) -> None:
    target = tmp_path / "home" / ".metagpt" / "config2.yaml"
    with OllamaServer(models=["qwen2.5-coder:7b"]) as server:
        env = _env(tmp_path, OLLAMA_HOST=server.url)
        missing = run_metagpt(["--init-config", "--model", "llama9:70b"], cwd=tmp_path, env=env)
        assert missing.code == 2 and "no server here serves model 'llama9:70b'" in missing.stderr
        assert "qwen2.5-coder:7b" in missing.stderr and not target.exists()

        written = run_metagpt(["--init-config", "--model", "qwen2.5-coder:7b"], cwd=tmp_path, env=env)
        assert written.code == 0, written.output
        assert yaml.safe_load(target.read_text())["llm"]["model"] == "qwen2.5-coder:7b"
        # The file now works without the variable.
        server.set_handler(lambda request: Text(json.dumps({"greeting": "hello", "numbers": [1, 2, 3], "ok": True})))
        checked = run_metagpt(["check"], cwd=tmp_path, env=_env(tmp_path))
    assert checked.code == 0, checked.output


def test_model_flag_wins_over_the_config_file(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "from-file"})
    result = run_metagpt([IDEA, "--no-code-review", "-m", "from-flag"], cwd=tmp_path)
    assert result.code == 0, result.output
    assert {r.json["model"] for r in openai_server.requests if r.path == "/v1/chat/completions"} == {"from-flag"}
