"""The run survives its own code: record files that were turned into FIFOs (a generated test run without a box
can do that to `.devteam/*`) are refused at once instead of hanging the run. The real `metagpt`, resumed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_runner import run_metagpt, write_config
from fakes import Error, OpenAIServer, RecordedRequest, Reply
from scripted_company import ScriptedCompany

IDEA = "write a tic-tac-toe game"


def _interrupted_project(tmp_path: Path, server: OpenAIServer, company: ScriptedCompany) -> Path:
    def dies_at_main(request: RecordedRequest) -> Reply:
        if "Write the complete file `tictactoe/__main__.py`" in str(request.json):
            return Error(500, message="model worker crashed")
        return company(request)

    server.set_handler(dies_at_main)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})
    assert run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path).code == 1
    server.set_handler(company)
    return tmp_path / "workspace" / "ttt"


@pytest.mark.parametrize("name", ["exchanges.jsonl", "run.log", "summary.json"])
def test_a_record_file_turned_into_a_fifo_is_refused_without_hanging(
    tmp_path: Path, openai_server: OpenAIServer, name: str
) -> None:
    root = _interrupted_project(tmp_path, openai_server, ScriptedCompany())
    record = root / ".devteam" / name
    record.unlink()
    os.mkfifo(record)

    # A hang would end in the runner's timeout (the process is killed), never in a pass.
    result = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt", "--resume"], cwd=tmp_path, timeout=120)

    assert result.code == 0, result.output
    assert "not a regular file" in result.stderr
    assert (root / "tictactoe" / "__main__.py").is_file()
