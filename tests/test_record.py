"""The run record in `<project>/.devteam/`: one line per exchange, the summary, the log lines; secrets redacted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import git
from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer
from fakes.base import Error, RecordedRequest, Reply
from scripted_company import ScriptedCompany

from devteam.config.settings import Config
from devteam.console.progress import StageEvent
from devteam.core.redaction import REDACTED, Redactor
from devteam.run.summary import StageClock

IDEA = "write a tic-tac-toe game"
FAKE_KEY = "sk-devteamFAKEkey-0123456789abcdef"
ROLE_KEY = "role-secret-9876543210"


def _exchanges(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / ".devteam" / "exchanges.jsonl").read_text().splitlines()]


def _summary(root: Path) -> dict[str, Any]:
    return json.loads((root / ".devteam" / "summary.json").read_text())


def _think(text: str) -> str:
    return "<think>\nLet me answer.\n</think>\n" + text


def test_a_run_records_every_exchange_the_summary_and_the_log(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()
    company.mangle["WritePRD"] = _think
    openai_server.set_handler(company)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    result = run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path)  # no -v: run.log still gets INFO lines

    assert result.code == 0, result.output
    root = tmp_path / "workspace" / "tictactoe"
    exchanges = _exchanges(root)
    assert [e["seq"] for e in exchanges] == list(range(1, 8))
    assert [(e["role"], e["action"]) for e in exchanges[:2]] == [
        ("ProductManager", "WritePRD"),
        ("Architect", "WriteDesign"),
    ]
    assert {e["subject"] for e in exchanges[2:]} == set(company.files)
    first = exchanges[0]
    assert first["provider"] == "open_llm" and first["model"] == "m" and first["finish_reason"] == "stop"
    assert first["messages"][0]["role"] == "system" and "## Action: WritePRD" in first["messages"][1]["content"]
    assert first["answer"].startswith("<think>") and first["repairs"] == ["repair_strip_think"]
    assert first["prompt_tokens"] > 0 and first["completion_tokens"] > 0
    for field in ("latency_s", "retries", "cost", "outcome", "output_mode", "usage_estimated"):
        assert field in first, field
    assert len({e["run"] for e in exchanges}) == 1

    summary = _summary(root)
    assert (summary["run"], summary["idea"], summary["status"], summary["exit_code"]) == (first["run"], IDEA, "ok", 0)
    assert summary["calls"] == 7 and summary["repairs"] == {"repair_strip_think": 1}
    assert summary["prompt_tokens"] == sum(e["prompt_tokens"] for e in exchanges)
    assert (summary["retries"], summary["reasks"], summary["cost"]) == (0, 0, 0)
    assert summary["config"]["provider"] == "open_llm" and summary["config"]["model"] == "m"
    stages = [(s["role"], s["stage"], s["status"]) for s in summary["stages"]]
    assert stages[:2] == [
        ("ProductManager", "WritePRD", "done"),
        ("Architect", "WriteDesign", "done"),
    ]
    assert len(stages) == 7 and all(isinstance(s["seconds"], float) for s in summary["stages"])
    assert (root / ".devteam" / "runs" / f"{summary['run']}.json").read_text() == (
        root / ".devteam" / "summary.json"
    ).read_text()
    assert "repair_strip_think" in (root / ".devteam" / "run.log").read_text()
    assert "repair_strip_think" not in result.stderr  # the console stays at warnings without -v

    # Ignored by the generated repo: never committed, and the tree stays clean.
    with git.Repo(root) as repo:
        assert not repo.is_dirty(untracked_files=True)
        assert not [path for path in repo.git.ls_files().splitlines() if path.startswith(".devteam")]
    assert "metagpt logs" in result.stdout


def test_secrets_are_redacted_everywhere_in_the_record(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()
    echoed = []

    def first_call_echoes_the_header(request: RecordedRequest) -> Reply:
        if not echoed:  # a proxy error page that quotes the request's header
            echoed.append(request.headers.get("authorization"))
            return Error(500, message=f"upstream refused Authorization: Bearer {FAKE_KEY}")
        return company(request)

    openai_server.set_handler(first_call_echoes_the_header)
    write_config(
        tmp_path,
        {"api_type": "openai", "base_url": openai_server.base_url, "model": "m", "api_key": FAKE_KEY},
        roles=[{"role": "Architect", "llm": {"api_key": ROLE_KEY}}],
    )
    idea = f"{IDEA}; my key is {FAKE_KEY} and the other is {ROLE_KEY}"

    result = run_metagpt([idea, "--no-code-review"], cwd=tmp_path)

    assert result.code == 0, result.output
    assert echoed == [f"Bearer {FAKE_KEY}"]  # the key really was in use
    assert FAKE_KEY not in result.output
    record = tmp_path / "workspace" / "tictactoe" / ".devteam"
    files = [path for path in record.rglob("*") if path.is_file()]
    assert {path.name for path in files} >= {"exchanges.jsonl", "summary.json", "run.log"}
    for path in files:
        text = path.read_text()
        assert FAKE_KEY not in text and ROLE_KEY not in text, path
        assert "devteamFAKEkey" not in text, path
    assert REDACTED in (record / "exchanges.jsonl").read_text()  # the idea inside the prompt
    assert "retry 1/2" in (record / "run.log").read_text()  # the echoing error was logged, redacted
    assert f"Bearer {REDACTED}" in (record / "run.log").read_text()
    assert _summary(record.parent)["idea"] == f"{IDEA}; my key is {REDACTED} and the other is {REDACTED}"


def test_a_resumed_run_appends_to_the_same_record(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()

    def dies_at_main(request: RecordedRequest) -> Reply:
        if "Write the complete file `tictactoe/__main__.py`" in str(request.json):
            return Error(500, message="model worker crashed")
        return company(request)

    openai_server.set_handler(dies_at_main)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    args = [IDEA, "--no-code-review", "--project-name", "ttt"]
    assert run_metagpt(args, cwd=tmp_path).code == 1
    root = tmp_path / "workspace" / "ttt"
    failed = _summary(root)
    # The error's own type: the 500s ran out of retries.
    assert (failed["status"], failed["exit_code"], failed["error_type"]) == ("failed", 1, "RetriesExhaustedError")
    assert failed["stages"][-1]["status"] == "unfinished"

    openai_server.set_handler(company)
    assert run_metagpt([*args, "--resume"], cwd=tmp_path).code == 0

    exchanges = _exchanges(root)
    assert [e["seq"] for e in exchanges] == list(range(1, len(exchanges) + 1))
    runs = list(dict.fromkeys(e["run"] for e in exchanges))
    assert len(runs) == 2 and runs[0] == failed["run"]
    assert [e["subject"] for e in exchanges if e["run"] == runs[1]] == ["tictactoe/__main__.py"]
    assert _summary(root)["run"] == runs[1] and _summary(root)["status"] == "ok"
    assert sorted(p.stem for p in (root / ".devteam" / "runs").iterdir()) == sorted(runs)
    assert (root / ".devteam" / "run.log").read_text().count("=== run ") == 2


def test_a_run_that_fails_before_any_project_exists_writes_nothing(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(lambda request: Error(401, message="bad key"))
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    result = run_metagpt([IDEA], cwd=tmp_path)

    assert result.code == 1, result.output
    workspace = tmp_path / "workspace"
    assert not workspace.exists() or not list(workspace.rglob(".devteam"))


# -- the parts -------------------------------------------------------------------------------------------


def test_redactor_replaces_keys_and_credential_shapes_but_not_code() -> None:
    redactor = Redactor(["my-own-secret-value", "ollama", "abc"])
    assert redactor.text("key=my-own-secret-value!") == f"key={REDACTED}!"
    assert redactor.text("Authorization: Bearer abcdefgh12345") == f"Authorization: Bearer {REDACTED}"
    assert redactor.text('{"authorization": "Basic Zm9vOmJhcmJheg=="}') == f'{{"authorization": "Basic {REDACTED}"}}'
    assert redactor.text("use sk-proj_AbCdEf123456 here") == f"use {REDACTED} here"
    assert redactor.text("http://user:pa55@host:8000/v1") == f"http://{REDACTED}@host:8000/v1"
    # Placeholders and short values are not secrets; code that builds a header from a variable is kept.
    assert redactor.text("ollama abc") == "ollama abc"
    code = 'headers = {"Authorization": f"Bearer {token}"}'
    assert redactor.text(code) == code
    assert redactor.data({"a": ["x my-own-secret-value", 3, None]}) == {"a": [f"x {REDACTED}", 3, None]}


def test_redactor_for_config_knows_the_base_and_role_keys() -> None:
    config = Config.model_validate(
        {
            "llm": {"api_type": "openai", "model": "m", "api_key": FAKE_KEY},
            "roles": [{"role": "Engineer", "llm": {"api_key": ROLE_KEY}}],
        }
    )
    assert set(Redactor(config.secrets()).secrets) == {FAKE_KEY, ROLE_KEY}


def test_stage_clock_pairs_starts_with_their_done_lines() -> None:
    clock = StageClock()
    for kind, role, text, at, detail in [
        ("start", "Engineer", "WriteCode a.py", 1.0, ""),
        ("start", "Engineer", "WriteCode a.py.bak", 1.5, ""),
        ("done", "Engineer", "WriteCode a.py", 2.0, "3 lines, review: LGTM"),
        ("note", "Engineer", "b.py already committed; kept", 2.1, ""),
        ("start", "Engineer", "WriteCode c.py", 3.0, ""),
    ]:
        clock.on_event(StageEvent(kind, role, text, at, detail))  # type: ignore[arg-type]
    stages = clock.snapshot()
    assert [(s["stage"], s["status"], s["seconds"]) for s in stages] == [
        ("WriteCode a.py", "done", 1.0),
        ("WriteCode a.py.bak", "unfinished", None),
        ("WriteCode c.py", "unfinished", None),
    ]
    assert stages[0]["detail"] == "3 lines, review: LGTM"
    assert clock.notes == [{"role": "Engineer", "note": "b.py already committed; kept", "at_s": 2.1}]
