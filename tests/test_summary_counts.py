"""The run summary's calls and retries are the log's: calls that gave up after their retries count too."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer
from fakes.base import Error, RecordedRequest, Reply
from scripted_company import ScriptedCompany

FAILING_FILE = "tictactoe/ai.py"


class FlakyCompany(ScriptedCompany):
    """The scripted company, except that the server never manages to answer for one file."""

    def __call__(self, request: RecordedRequest) -> Reply:
        first_user = next(m["content"] for m in request.json["messages"] if m["role"] == "user")
        if f"## Action: WriteCode\nWrite the complete file `{FAILING_FILE}`" in first_user:
            return Error(503, message="slot busy")
        return super().__call__(request)


def test_summary_counts_the_retries_and_calls_of_a_call_that_gave_up(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set_handler(FlakyCompany())
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "num_retries": 2})

    result = run_metagpt(["write a tic-tac-toe game", "--no-code-review"], cwd=tmp_path)

    record = tmp_path / "workspace" / "tictactoe" / ".devteam"
    summary = json.loads((record / "summary.json").read_text())
    log_lines = (record / "run.log").read_text().splitlines()
    exchanges = (record / "exchanges.jsonl").read_text().splitlines()
    retry_lines = [line for line in log_lines if re.search(r"\bretry \d+/\d+", line)]
    assert len(retry_lines) == 2, result.output  # the one file's call: 3 attempts, 2 retries, then gave up
    assert summary["retries"] == len(retry_lines)
    assert summary["failed_calls"] == 1
    assert summary["calls"] == len(exchanges) + 1
    assert f"{summary['calls']} calls (1 without an answer)" in result.stdout
    assert f"Retries:  {summary['retries']}," in result.stdout
