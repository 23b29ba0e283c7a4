"""A MetaGPT user's command lines and habits work: its flags, `metagpt help`, `--help` that teaches."""

from __future__ import annotations

from pathlib import Path

import git
from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer
from scripted_company import ScriptedCompany

IDEA = "write a tic-tac-toe game"


def test_help_is_help_not_an_idea(tmp_path: Path) -> None:
    result = run_metagpt(["help"], cwd=tmp_path)
    assert result.code == 0, result.output
    assert result.stdout.startswith("usage: metagpt")
    assert not (tmp_path / "workspace").exists()
    logs_help = run_metagpt(["help", "logs"], cwd=tmp_path)
    assert logs_help.code == 0 and "--query" in logs_help.stdout and "logs path" in logs_help.stdout


def test_help_teaches_examples_subcommands_config_environment_and_exit_codes(tmp_path: Path) -> None:
    out = run_metagpt(["--help"], cwd=tmp_path).stdout
    for part in (
        'metagpt "write a snake game"',
        "check",
        "logs",
        "demo",
        "-v, --verbose",
        "~/.metagpt/config2.yaml",
        "./config/config2.yaml",
        "OPENAI_API_KEY",
        "OLLAMA_HOST",
        "LLM_NUM_RETRIES",
        "exit codes",
        "130",
        "--recover-path",
        "--n-round",
    ):
        assert part in out, part


def test_metagpt_flags_without_meaning_warn_and_the_run_goes_on(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    result = run_metagpt(
        [
            IDEA,
            "--n-round",
            "5",
            "--max-auto-summarize-code",
            "0",
            "--code_review",
            "--no-implement",
            "--project-name",
            "plan_only",
        ],
        cwd=tmp_path,
    )

    assert result.code == 0, result.output
    assert result.stderr.count("--n-round is ignored") == 1
    assert "--max-auto-summarize-code is ignored" in result.stderr
    root = tmp_path / "workspace" / "plan_only"
    # --no-implement: the PRD and the design, no code and no Engineer call.
    assert (root / "docs" / "system_design.json").is_file()
    assert not (root / "tictactoe").exists()
    assert [r.path for r in openai_server.requests].count("/v1/chat/completions") == 2
    with git.Repo(root) as repo:
        assert "Engineer" not in {commit.author.name for commit in repo.iter_commits()}


def test_recover_path_resumes_the_project(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    first = run_metagpt([IDEA, "--no-implement", "--project-name", "ttt"], cwd=tmp_path)
    assert first.code == 0, first.output
    calls_before = len(openai_server.requests)

    resumed = run_metagpt(
        [IDEA, "--no-code-review", "--recover-path", str(tmp_path / "workspace" / "ttt")], cwd=tmp_path
    )

    assert resumed.code == 0, resumed.output
    chat_calls = [r for r in openai_server.requests[calls_before:] if r.path == "/v1/chat/completions"]
    assert len(chat_calls) == 5  # only the code: the PRD and the design were read from the project
    assert (tmp_path / "workspace" / "ttt" / "tictactoe" / "board.py").is_file()
