"""What a run says besides its work: one consistent voice, no contradicting "Next:" after a stop, no empty
summary before a usage error, and a notice whenever it did something other than what was literally asked."""

from __future__ import annotations

import re
from pathlib import Path

from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer
from fakes.base import Error, RecordedRequest, Reply
from scripted_company import ScriptedCompany

IDEA = "write a tic-tac-toe game"


def test_a_failed_run_says_resume_not_next_and_counts_one_call(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()

    def handler(request: RecordedRequest) -> Reply:
        if "## Action: WriteDesign" in str(request.json):
            return Error(400, message="this server cannot design")
        return company(request)

    openai_server.set_handler(handler)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    result = run_metagpt([IDEA, "--project-name", "ttt"], cwd=tmp_path)

    assert result.code == 1, result.output
    assert re.search(r"LLM:      \d+ calls \(1 without an answer\)", result.stdout)  # the refused design call counts
    assert "WritePRD done   [1 call, " in result.stderr  # one call is "1 call", not "1 calls"

    failure = [line for line in result.stderr.splitlines() if line.startswith("metagpt: ")]
    assert failure == [failure[0]] and failure[0].startswith("metagpt: the run could not finish: ")


def test_a_usage_error_prints_no_summary(tmp_path: Path, openai_server: OpenAIServer) -> None:
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    (tmp_path / "workspace" / "taken").mkdir(parents=True)
    (tmp_path / "workspace" / "taken" / "notes.txt").write_text("mine")

    result = run_metagpt([IDEA, "--project-name", "taken"], cwd=tmp_path)

    assert result.code == 2, result.output
    assert result.stdout == "" and "Files:" not in result.output
    assert result.stderr.splitlines()[-1].startswith("metagpt: the project folder could not be used: ")


def test_every_metagpt_line_speaks_in_one_voice(tmp_path: Path) -> None:
    for args in (["--no-such-flag"], ["   "], ["check", "--config", "nowhere.yaml"]):
        result = run_metagpt(args, cwd=tmp_path)
        for line in result.stderr.splitlines():
            if line.startswith("metagpt: "):
                assert line[len("metagpt: ")].islower(), line


def test_notices_for_a_changed_project_name_and_base_url(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    pasted = openai_server.base_url + "/chat/completions"  # the endpoint, pasted from a server's docs
    write_config(tmp_path, {"api_type": "open_llm", "base_url": pasted, "model": "m"})

    result = run_metagpt([IDEA, "--no-code-review", "--project-name", "My Game!"], cwd=tmp_path)

    assert result.code == 0, result.output
    assert f"base_url {pasted} is used as {openai_server.base_url}" in result.stderr
    assert "--project-name 'My Game!' is not a plain folder name; the project folder is my_game" in result.stderr
    assert (tmp_path / "workspace" / "my_game" / "tictactoe" / "board.py").is_file()


def test_replay_says_when_the_record_was_made_for_another_idea(tmp_path: Path) -> None:
    other = run_metagpt(["write a todo app", "--replay", "snake", "--no-code-review"], cwd=tmp_path)
    same = run_metagpt(["write a snake game", "--replay", "snake", "--no-code-review"], cwd=tmp_path)
    assert same.code == 0, same.output
    # The answers are about a snake game, so the PRD check sends them back and the replay runs out: said plainly.
    assert other.code == 1 and "Traceback" not in other.output
    assert "was made for another idea" in other.stderr and "'write a todo app'" in other.stderr
    assert "was made for another idea" not in same.stderr


def test_inc_says_when_nothing_changed(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    first = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path)
    assert first.code == 0, first.output

    again = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt", "--inc"], cwd=tmp_path)

    assert again.code == 0, again.output
    assert "Nothing changed" in again.stdout
