"""`metagpt logs` on records made to hurt it: fields of the wrong kind, 100,000-deep nesting, a hostile
`summary.json`. Each ends in a clear sentence naming the file (and the field), never a traceback; a summary
that cannot be shown leaves the calls shown. Real `metagpt` subprocesses on records written to tmp folders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_metagpt

GOOD: dict[str, Any] = {
    "seq": 1,
    "run": "r1",
    "role": "ProductManager",
    "action": "WritePRD",
    "subject": "",
    "provider": "open_llm",
    "model": "m",
    "messages": [{"role": "user", "content": "write a game"}],
    "output_mode": "prompt",
    "answer": "{}",
    "reasoning": "",
    "finish_reason": "stop",
    "prompt_tokens": 3,
    "completion_tokens": 4,
    "usage_estimated": False,
    "cost": 0.0,
    "latency_s": 0.1,
    "retries": 0,
    "repairs": [],
    "outcome": "ok",
}
SUMMARY: dict[str, Any] = {
    "run": "r1",
    "status": "ok",
    "exit_code": 0,
    "seconds": 1.5,
    "idea": "write a game",
    "calls": 1,
    "prompt_tokens": 3,
    "completion_tokens": 4,
    "retries": 0,
    "reasks": 0,
    "field_followups": 0,
    "repairs": {},
    "stages": [{"role": "ProductManager", "stage": "PRD", "seconds": 0.1, "status": "done"}],
}
DEEP = "[" * 100_000 + "]" * 100_000


def _project(tmp_path: Path, exchanges: list[str], summary: str | None = None) -> Path:
    record = tmp_path / "game" / ".devteam"
    record.mkdir(parents=True)
    (record / "exchanges.jsonl").write_text("".join(line + "\n" for line in exchanges), encoding="utf-8")
    if summary is not None:
        (record / "summary.json").write_text(summary, encoding="utf-8")
    return tmp_path / "game"


WRONG_FIELDS: dict[str, Any] = {
    "prompt_tokens": "lots",
    "completion_tokens": [1],
    "cost": {"usd": 1},
    "latency_s": "slow",
    "retries": None,
    "repairs": "repair_json",
    "messages": "not a list",
    "seq": True,
    "subject": ["a"],
}


@pytest.mark.parametrize("field", list(WRONG_FIELDS))
@pytest.mark.parametrize("view", [[], ["--call", "2"], ["--full"], ["-r"], ["--json"]])
def test_a_call_with_a_field_of_the_wrong_kind_is_named(tmp_path: Path, field: str, view: list[str]) -> None:
    bad = {**GOOD, "seq": 2, field: WRONG_FIELDS[field]}
    project = _project(tmp_path, [json.dumps(GOOD), json.dumps(bad)])

    result = run_metagpt(["logs", str(project), *view], cwd=tmp_path)

    assert result.code == 1, result.output
    assert "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert "is not a devteam record: in call 2" in line and field in line


def test_a_message_of_the_wrong_kind_is_named(tmp_path: Path) -> None:
    bad = {**GOOD, "messages": [{"role": "user", "content": {"nested": True}}]}
    project = _project(tmp_path, [json.dumps(bad)])

    result = run_metagpt(["logs", str(project), "--full"], cwd=tmp_path)

    assert result.code == 1 and "Traceback" not in result.output
    assert "messages[0].content is a JSON object" in result.stderr


def test_a_line_nested_100000_deep_is_named(tmp_path: Path) -> None:
    deep = json.dumps(GOOD)[:-1] + ', "extra": ' + DEEP + "}"
    project = _project(tmp_path, [json.dumps(GOOD), deep])

    result = run_metagpt(["logs", str(project)], cwd=tmp_path)

    assert result.code == 1, result.output
    assert "Traceback" not in result.output
    assert "line 2 is JSON nested too deeply to read" in result.stderr


@pytest.mark.parametrize(
    "summary",
    [
        json.dumps({**SUMMARY, "prompt_tokens": "many"}),
        json.dumps({**SUMMARY, "seconds": "fast", "calls": [1]}),
        json.dumps({**SUMMARY, "config": "open_llm"}),
        json.dumps({**SUMMARY, "repairs": ["repair_json"]}),
        json.dumps({**SUMMARY, "qa": {"rounds": "three"}}),
        json.dumps({**SUMMARY, "stages": [1, {"role": None, "seconds": "x"}]}),
        json.dumps({**SUMMARY, "timing": {"model_seconds": "long"}}),
        json.dumps([SUMMARY]),
        '{"run": ' + DEEP + "}",
        "{not json",
    ],
)
def test_a_hostile_summary_is_named_and_the_calls_are_still_shown(tmp_path: Path, summary: str) -> None:
    project = _project(tmp_path, [json.dumps(GOOD)], summary=summary)

    result = run_metagpt(["logs", str(project)], cwd=tmp_path)

    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    assert "WritePRD" in result.stdout  # the calls
    assert "summary.json is not a run summary" in result.stderr


def test_a_summary_with_escape_sequences_is_shown_escaped(tmp_path: Path) -> None:
    summary = {**SUMMARY, "error": "\x1b]0;pwned\x07 boom", "idea": "\x1b[2J\u202egame"}
    project = _project(tmp_path, [json.dumps(GOOD)], summary=json.dumps(summary))

    result = run_metagpt(["logs", str(project)], cwd=tmp_path)

    assert result.code == 0, result.output
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "\\x1b]0;pwned" in result.stdout
