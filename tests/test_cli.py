"""The command line itself: set-up commands, usage errors, and Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import git
from cli_runner import clean_env, metagpt_command, run_metagpt, write_config
from fakes import OpenAIServer
from scripted_company import ScriptedCompany


def test_init_config_writes_once_and_never_overwrites(tmp_path: Path) -> None:
    first = run_metagpt(["--init-config"], cwd=tmp_path)
    written = tmp_path / "home" / ".metagpt" / "config2.yaml"
    assert first.code == 0, first.output
    assert written.is_file() and "api_type" in written.read_text()

    written.write_text("llm: {api_type: ollama, model: mine}\n")
    second = run_metagpt(["--init-config"], cwd=tmp_path)
    assert second.code == 2
    assert "exists" in second.stderr
    assert written.read_text() == "llm: {api_type: ollama, model: mine}\n"


def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    for args in ([], ["idea", "--no-such-flag"], ["idea", "--investment", "lots"]):
        result = run_metagpt(args, cwd=tmp_path)
        assert result.code == 2, (args, result.output)
        assert "Traceback" not in result.output
        assert result.stderr.startswith("metagpt: ")


def test_version(tmp_path: Path) -> None:
    result = run_metagpt(["--version"], cwd=tmp_path)
    assert result.code == 0 and "devteam" in result.stdout


def test_ctrl_c_stops_cleanly_and_keeps_commits(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    openai_server.latency = 0.4
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    (tmp_path / "home").mkdir()
    process = subprocess.Popen(
        [*metagpt_command(), "write a tic-tac-toe game", "--project-name", "ttt", "--no-code-review"],
        cwd=tmp_path,
        env=clean_env(tmp_path / "home"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    root = tmp_path / "workspace" / "ttt"
    deadline = time.monotonic() + 30
    while not (root / "docs" / "system_design.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert "--resume" in stderr
    with git.Repo(root) as repo:
        messages = [commit.summary for commit in repo.iter_commits()]
    assert any(message.startswith("Add system design") for message in messages)
