"""The model picker and the environment as a config, attacked: a server's model names are data until checked
(`${...}`, newlines and escape sequences are never saved, sent or shown raw), the config is written by a YAML
emitter, a password in OPENAI_BASE_URL / OLLAMA_HOST is never printed, and a malformed OLLAMA_HOST or a
`~/.metagpt` that is a file ends in one clear line (exit 2), not a traceback.

Real `metagpt` subprocesses (a pty where a person would pick), real loopback servers (tests/fakes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_runner import clean_env, run_metagpt, write_config
from fakes import OllamaServer, Text
from pty_runner import run_metagpt_on_pty
from scripted_company import ScriptedCompany

IDEA = "write a tic-tac-toe game"
KEY = "sk-the-users-real-key-1234567890"
AS_VARIABLE = "${OPENAI_API_KEY}"
TOP_LEVEL_KEYS = "evil\nqa: true\nworkspace: /tmp/elsewhere"
TERMINAL_TITLE = "\x1b]0;pwned\x07tiny"
CHECK_ANSWER = json.dumps({"greeting": "hello", "numbers": [1, 2, 3], "ok": True})


def _env(tmp_path: Path, **variables: str) -> dict[str, str]:
    return clean_env(tmp_path / "home", LLM_RETRY_MIN_WAIT="0.01", LLM_RETRY_MAX_WAIT="0.05", **variables)


def _saved(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".metagpt" / "config2.yaml"


# -- model names from a server ------------------------------------------------------------------------------


def test_a_model_named_after_a_variable_is_left_out_and_never_sent(tmp_path: Path) -> None:
    with OllamaServer(models=[AS_VARIABLE, "qwen2.5-coder:7b"]) as server:
        server.set_handler(ScriptedCompany())
        result = run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path, env=_env(tmp_path, OLLAMA_HOST=server.url))
        sent = {r.json["model"] for r in server.requests if r.path == "/api/chat"}

    assert result.code == 0, result.output
    assert sent == {"qwen2.5-coder:7b"}  # the only usable model; the other one is never asked for
    assert "left out" in result.stderr and "'${OPENAI_API_KEY}'" in result.stderr


def test_a_picked_model_is_saved_by_a_yaml_emitter_and_hostile_names_are_not_offered(tmp_path: Path) -> None:
    models = ["llama3.1:8b", TOP_LEVEL_KEYS, TERMINAL_TITLE, AS_VARIABLE, "qwen2.5-coder:7b"]
    with OllamaServer(models=models) as server:
        server.set_handler(ScriptedCompany())
        result = run_metagpt_on_pty(
            [IDEA, "--no-code-review"], cwd=tmp_path, typed="2\ny\n", env=_env(tmp_path, OLLAMA_HOST=server.url)
        )
        sent = {r.json["model"] for r in server.requests if r.path == "/api/chat"}

    assert result.code == 0, result.stdout
    assert "1. llama3.1:8b" in result.stdout and "2. qwen2.5-coder:7b" in result.stdout
    assert "  3. " not in result.stdout.split("Which one?")[0]  # only the two usable names are offered
    assert "\x1b]0;pwned" not in result.stdout and "\\x1b]0;pwned" in result.stdout  # shown escaped, never raw
    assert sent == {"qwen2.5-coder:7b"}
    saved = yaml.safe_load(_saved(tmp_path).read_text())
    assert saved == {"llm": {"api_type": "ollama", "base_url": f"{server.url}/api", "model": "qwen2.5-coder:7b"}}


def test_init_config_refuses_a_model_name_that_a_config_would_expand(tmp_path: Path) -> None:
    with OllamaServer(models=[AS_VARIABLE]) as server:
        result = run_metagpt(
            ["--init-config", "--model", AS_VARIABLE], cwd=tmp_path, env=_env(tmp_path, OLLAMA_HOST=server.url)
        )

    assert result.code == 2, result.output
    assert "cannot be saved to a config" in result.stderr and "Traceback" not in result.output
    assert not _saved(tmp_path).exists()


def test_a_saved_config_never_carries_the_key_into_the_model(tmp_path: Path) -> None:
    """The door end to end: were `${OPENAI_API_KEY}` saved as the model, the next run would expand it and send
    the user's key to that server as the model name."""
    with OllamaServer(models=[AS_VARIABLE]) as server:
        server.set_handler(lambda request: Text(CHECK_ANSWER))
        run_metagpt(["--init-config", "--model", AS_VARIABLE], cwd=tmp_path, env=_env(tmp_path, OLLAMA_HOST=server.url))
        # The next command, in a shell where the key is set (pointed at this server, so nothing leaves the machine).
        env = _env(tmp_path, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{server.url}/v1")
        run_metagpt(["check"], cwd=tmp_path, env=env)
        bodies = [json.dumps(r.json) for r in server.requests if r.json is not None]

    assert not any(KEY in body for body in bodies)


# -- what the environment names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OPENAI_BASE_URL", "http://alice:hunter2-secret@127.0.0.1:9/v1"),
        ("OLLAMA_HOST", "http://alice:hunter2-secret@127.0.0.1:9"),
    ],
)
def test_a_password_in_the_server_variable_is_never_printed(tmp_path: Path, variable: str, value: str) -> None:
    result = run_metagpt([IDEA], cwd=tmp_path, env=_env(tmp_path, **{variable: value}))

    assert result.code == 2, result.output
    assert "nothing there answered" in result.stderr
    assert "hunter2-secret" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("host", ["::::", "127.0.0.1:99999", "localhost:eleven"])
def test_a_malformed_ollama_host_is_one_line_naming_the_variable(tmp_path: Path, host: str) -> None:
    result = run_metagpt([IDEA], cwd=tmp_path, env=_env(tmp_path, OLLAMA_HOST=host))

    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert "OLLAMA_HOST" in line and "is not a server address" in line


def test_a_malformed_ollama_host_over_a_config_file_names_the_variable(tmp_path: Path) -> None:
    write_config(tmp_path, {"api_type": "ollama", "model": "m"})
    result = run_metagpt(
        ["check"], cwd=tmp_path, env=_env(tmp_path, OLLAMA_HOST="http://bob:hunter2-secret@127.0.0.1:99999")
    )

    assert result.code == 2, result.output
    assert "OLLAMA_HOST" in result.stderr and "Traceback" not in result.output
    assert "hunter2-secret" not in result.output


# -- ~/.metagpt is a file -----------------------------------------------------------------------------------


def test_init_config_where_dot_metagpt_is_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".metagpt").write_text("not a folder")

    result = run_metagpt(["--init-config"], cwd=tmp_path, env=_env(tmp_path))

    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert ".metagpt is a file, not a folder" in line


def test_init_config_model_where_dot_metagpt_is_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".metagpt").write_text("not a folder")
    with OllamaServer(models=["qwen2.5-coder:7b"]) as server:
        result = run_metagpt(
            ["--init-config", "--model", "qwen2.5-coder:7b"], cwd=tmp_path, env=_env(tmp_path, OLLAMA_HOST=server.url)
        )

    assert result.code == 2, result.output
    assert ".metagpt is a file, not a folder" in result.stderr and "Traceback" not in result.output
