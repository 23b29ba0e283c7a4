"""Live progress: on a terminal a spinner per call in flight with streamed tokens and tokens/s, and a footer;
on a pipe or with --plain, one plain line per event. A header says what runs and where each setting came from."""

from __future__ import annotations

import re
from pathlib import Path

from cli_runner import clean_env, run_metagpt, write_config
from fakes import OpenAIServer
from fakes.base import RecordedRequest, Reply, Trickle
from pty_runner import run_metagpt_on_pty
from scripted_company import ScriptedCompany

IDEA = "write a tic-tac-toe game"
ESCAPE = re.compile(r"\x1b\[")


def _slow_streaming_company(server: OpenAIServer) -> None:
    company = ScriptedCompany()
    company.mangle["WritePRD"] = lambda text: "<think>plan it</think>\n" + text

    def handler(request: RecordedRequest) -> Reply:
        reply = company(request)
        return Trickle(reply, interval=0.0015) if "WritePRD" in str(request.json) else reply

    server.set_handler(handler)


def test_a_terminal_gets_spinners_streamed_tokens_and_a_footer(tmp_path: Path, openai_server: OpenAIServer) -> None:
    _slow_streaming_company(openai_server)
    write_config(
        tmp_path,
        {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "stream": True, "timeout": 60},
    )

    result = run_metagpt_on_pty([IDEA, "--no-code-review", "-v"], cwd=tmp_path, columns=120)

    assert result.code == 0, result.stdout
    out = result.stdout
    assert ESCAPE.search(out)  # drawn by the live view
    assert re.search(r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] ProductManager\s+WritePRD", out)  # a spinner for the call in flight
    assert re.search(r"\d[\d,]* tokens\s+\d+\.\d tok/s", out)  # streamed tokens and their rate
    assert re.search(r"files \d/5", out)  # the footer counts files done of those planned
    assert "ProductManager  WritePRD done" in out  # finished events scroll above, as plain lines
    # -v lines print through the view: whole lines above it, not torn into a spinner row.
    screen_lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert any(re.match(r"INFO\s+repair_strip_think: 1 <think> block", line) for line in screen_lines.splitlines())
    assert "Project:" in out and "Traceback" not in out


def test_a_pipe_and_plain_get_one_line_per_event(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    piped = run_metagpt([IDEA, "--no-code-review", "--project-name", "piped"], cwd=tmp_path)
    plain = run_metagpt_on_pty([IDEA, "--no-code-review", "--plain", "--project-name", "plain"], cwd=tmp_path)

    assert piped.code == 0 and plain.code == 0, piped.output + plain.stdout
    for out in (piped.stderr, plain.stdout):
        assert not ESCAPE.search(out) and "tok/s" not in out
        assert re.search(r"\d+\.\ds  ProductManager  WritePRD \.\.\.", out)
        assert re.search(r"Engineer\s+WriteCode tictactoe/board.py done \(\d+ lines\)\s+\[\d+ calls", out)


def test_the_header_names_each_setting_and_where_it_came_from(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    secret_url = openai_server.base_url.replace("http://", "http://user:hunter2secret@")
    config = write_config(
        tmp_path, {"api_type": "open_llm", "base_url": secret_url, "model": "m"}, repair_llm_output=True
    )
    env = clean_env(tmp_path / "home", LLM_NUM_RETRIES="1")

    result = run_metagpt(
        [IDEA, "--no-code-review", "--model", "header-model", "--workspace", "ws"], cwd=tmp_path, env=env
    )

    assert result.code == 0, result.output
    header = result.stderr.split("ProductManager")[0]
    assert re.search(rf"provider\s+open_llm\s+\(in {re.escape(str(config))}:\d+\)", header)
    assert re.search(r"model\s+header-model\s+\(from --model\)", header)
    assert re.search(r"base_url\s+http://127\.0\.0\.1:\d+/v1\s+\(in ", header)
    assert "hunter2secret" not in result.output
    assert re.search(r"output\s+auto .*\(default\)", header)
    assert re.search(rf"repair\s+on\s+\(in {re.escape(str(config))}:\d+\)", header)
    assert re.search(r"workspace\s+ws\s+\(from --workspace\)", header)
