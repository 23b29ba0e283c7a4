"""A run that fails before its project exists keeps its record, so `metagpt logs` shows what the model said.

The project folder is named by the PRD; when no usable PRD ever comes, the exchanges go to
`<workspace>/.devteam-failed/<run id>/` instead of being thrown away.
"""

from __future__ import annotations

import json
from pathlib import Path

from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer, Text

PROSE = "Sure! A to-do app is a great idea. First you should think about what tasks are."


def test_a_run_whose_prd_never_came_keeps_its_record_for_metagpt_logs(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set_handler(lambda request: Text(PROSE))
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "chatty"})

    result = run_metagpt(["write a todo list app"], cwd=tmp_path)

    assert result.code == 1, result.output
    assert "Traceback" not in result.output
    failed = list((tmp_path / "workspace" / ".devteam-failed").iterdir())
    assert len(failed) == 1
    record = failed[0]
    exchanges = [json.loads(line) for line in (record / "exchanges.jsonl").read_text().splitlines()]
    assert len(exchanges) == len(openai_server.chat_requests) >= 1
    assert {e["action"] for e in exchanges} == {"WritePRD"} and exchanges[0]["answer"] == PROSE
    summary = json.loads((record / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["project"] is None
    assert (
        f"Record:   workspace/.devteam-failed/{record.name} (metagpt logs workspace/.devteam-failed/" in result.stdout
    )

    logs = run_metagpt(["logs"], cwd=tmp_path)
    assert logs.code == 0, logs.output
    table = [line for line in logs.stdout.splitlines() if " ProductManager  WritePRD " in line and "chatty" in line]
    assert len(table) == len(exchanges)  # one row per call the model answered
    assert "Run:      " in logs.stdout and "(failed, exit 1" in logs.stdout
    call = run_metagpt(["logs", str(record), "--call", "1"], cwd=tmp_path)
    assert call.code == 0 and PROSE in call.stdout
