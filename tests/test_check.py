"""`metagpt check` through the real CLI against local protocol servers."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from cli_runner import run_metagpt, write_config
from fakes import OllamaServer, OpenAIServer
from fakes.base import Error, Text

GOOD = json.dumps({"greeting": "hello", "numbers": [1, 2, 3], "ok": True})


def test_check_openai_server_native_schema(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(GOOD, usage=(50, 10)))
    write_config(
        tmp_path,
        {
            "api_type": "open_llm",
            "base_url": openai_server.base_url,
            "model": "test-model",
            "api_key": "sk-test-SECRET-1234",
        },
    )

    result = run_metagpt(["check"], cwd=tmp_path)

    assert result.code == 0, result.output
    assert "provider:   open_llm" in result.stdout
    assert openai_server.base_url in result.stdout
    assert "models:     test-model" in result.stdout
    assert "level:      json_schema" in result.stdout
    assert "honoured natively: yes" in result.stdout
    assert "repairs:    none needed" in result.stdout
    assert "SECRET" not in result.output
    chat = openai_server.chat_requests[0].json
    assert chat["response_format"]["type"] == "json_schema"


def test_check_reports_repairs_and_fallback_with_verbose_anywhere(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.enqueue(
        Error(400, message="response_format is not supported"),
        Text("<think>easy {one}</think>\nSure:\n```json\n{'Greeting': 'hello', 'numbers': [1,2,3], 'ok': True}\n```"),
    )
    config = write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    result = run_metagpt(["check", "--config", str(config), "-v"], cwd=tmp_path)

    assert result.code == 0, result.output
    assert "level:      json_object_schema" in result.stdout
    # The server was given the schema, but the answer needed repairs: not "honoured".
    assert "honoured natively: no (the server was given the schema, but the answer needed repairs" in result.stdout
    assert "rejected a higher level: HTTP 400" in result.stdout
    for marker in ("repair_strip_think", "repair_code_fence", "repair_key_case"):
        assert marker in result.stdout
        assert marker in result.stderr  # -v shows the log lines
    assert "schema_fallback" in result.stderr


def test_check_llama_cpp_python_reports_its_grammar_level_and_caches_it(
    tmp_path: Path, llama_cpp_server: OpenAIServer
) -> None:
    llama_cpp_server.set_handler(lambda request: Text(GOOD))
    write_config(tmp_path, {"api_type": "open_llm", "base_url": llama_cpp_server.base_url, "model": "qwen05"})

    first = run_metagpt(["check"], cwd=tmp_path)
    second = run_metagpt(["check"], cwd=tmp_path)

    for result in (first, second):
        assert result.code == 0, result.output
        assert "level:      json_object_schema: json_object with the schema" in result.stdout
        assert "honoured natively: yes" in result.stdout
        assert "rejected a higher level: HTTP 500" in result.stdout
    # check probes from the top every time (the server may have changed) ...
    levels = [
        (r.json.get("response_format") or {}).get("type")
        for r in llama_cpp_server.chat_requests
        if "## Action: Check" in json.dumps(r.json)  # not the speed measurement (tests/test_check_speed.py)
    ]
    assert levels == ["json_schema", "json_object"] * 2
    # ... and leaves what it found for the runs.
    cache = json.loads((tmp_path / "home" / ".cache" / "devteam" / "structured_output.json").read_text())
    assert cache == {f"open_llm {llama_cpp_server.base_url} qwen05": "json_object_schema"}


def test_check_json_mode_alone_is_not_honoured(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(GOOD))
    write_config(
        tmp_path,
        {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "structured_output": "json_object"},
    )

    result = run_metagpt(["check"], cwd=tmp_path)

    assert result.code == 0, result.output
    assert "level:      json_object: JSON mode" in result.stdout
    assert "honoured natively: no (the server was not given the schema)" in result.stdout
    assert openai_server.chat_requests[0].json["response_format"] == {"type": "json_object"}


def test_check_caps_the_answer_at_a_few_hundred_tokens(tmp_path: Path, openai_server: OpenAIServer) -> None:
    # A looping model: every answer runs to the token limit.
    openai_server.set_handler(lambda request: Text('{"greeting": "hello hello hello', finish_reason="length"))
    write_config(
        tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "max_token": 8192}
    )

    result = run_metagpt(["check"], cwd=tmp_path)

    assert result.code == 1
    budgets = [r.json["max_tokens"] for r in openai_server.chat_requests]
    assert budgets == [300, 600]  # once more with twice the budget, then a clear failure
    assert "max_tokens=600" in result.stderr
    assert "Traceback" not in result.output


def test_check_ollama(tmp_path: Path, ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Text(GOOD, usage=(40, 9)))
    write_config(tmp_path, {"api_type": "ollama", "base_url": ollama_server.url + "/api", "model": "test-model"})

    result = run_metagpt(["check"], cwd=tmp_path)

    assert result.code == 0, result.output
    assert "models:     test-model" in result.stdout
    assert isinstance(ollama_server.chat_requests[0].json["format"], dict)


def test_check_unknown_ollama_model_says_pull(tmp_path: Path, ollama_server: OllamaServer) -> None:
    write_config(tmp_path, {"api_type": "ollama", "base_url": ollama_server.url, "model": "nope:7b"})

    result = run_metagpt(["check"], cwd=tmp_path)

    assert result.code == 1
    assert "ollama pull nope:7b" in result.stderr
    assert "not in the server's model list" in result.stdout
    assert "Traceback" not in result.output


def test_check_dead_server_gives_a_diagnosis(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    write_config(tmp_path, {"api_type": "open_llm", "base_url": f"http://127.0.0.1:{port}/v1", "model": "m"})

    result = run_metagpt(["check"], cwd=tmp_path)

    assert result.code == 1
    assert "check failed" in result.stderr and "Nothing accepts connections" in result.stderr
    assert "Traceback" not in result.output


def test_check_garbage_answers_fail_after_reasks(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(lambda request: Text("I would love to help, but I do not know."))
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    result = run_metagpt(["check"], cwd=tmp_path)

    assert result.code == 1
    assert len(openai_server.chat_requests) == 3  # the answer and two re-asks with the error quoted
    assert "not with usable JSON" in result.stderr
