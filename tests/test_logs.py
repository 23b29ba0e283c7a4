"""`metagpt logs`: the table of calls and the summary, `--json`, `--call N`, and what it says without a record."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from pathlib import Path

import pytest
from cli_runner import clean_env, run_metagpt, write_config
from fakes import OpenAIServer
from scripted_company import ScriptedCompany

from devteam.config.settings import Config
from devteam.run.company import run_company
from devteam.run.options import RunOptions

IDEA = "write a tic-tac-toe game"


def _run(workspace: Path, server: OpenAIServer, *, project_name: str, company: ScriptedCompany) -> Path:
    """A real run in this process (quicker than the CLI); its record is what `metagpt logs` reads."""
    server.set_handler(company)
    config = Config.model_validate(
        {"llm": {"api_type": "open_llm", "base_url": server.base_url, "model": "logs-model", "num_retries": 0}}
    )
    options = RunOptions(idea=IDEA, workspace=workspace, project_name=project_name, code_review=False)
    outcome = asyncio.run(run_company(config, options, progress_stream=io.StringIO()))
    assert outcome.error is None and outcome.repo_root is not None
    return outcome.repo_root


@pytest.fixture
def project(tmp_path: Path, openai_server: OpenAIServer) -> Path:
    company = ScriptedCompany()
    company.mangle["WritePRD"] = lambda text: "<think>hmm</think>\n" + text
    return _run(tmp_path / "workspace", openai_server, project_name="first", company=company)


def test_table_and_summary_of_the_most_recent_project(
    tmp_path: Path, project: Path, openai_server: OpenAIServer
) -> None:
    newer = _run(tmp_path / "workspace", openai_server, project_name="second", company=ScriptedCompany())
    old = time.time() - 60
    os.utime(project / ".devteam" / "exchanges.jsonl", (old, old))

    result = run_metagpt(["logs"], cwd=tmp_path)

    assert result.code == 0, result.output
    assert str(Path("workspace") / newer.name / ".devteam" / "exchanges.jsonl") in result.stdout
    header = result.stdout.splitlines()[1]
    for column in (
        "#",
        "role",
        "action",
        "subject",
        "model",
        "tokens in/out",
        "latency s",
        "retries",
        "repairs",
        "outcome",
    ):
        assert column in header, column
    rows = [line for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert len(rows) == 7  # PRD, design, 5 files
    assert rows[0].split()[:3] == ["1", "ProductManager", "WritePRD"]
    assert "tictactoe/board.py" in result.stdout and "logs-model" in result.stdout
    for line in (
        "Idea:     write a tic-tac-toe game",
        "LLM:      7 calls,",
        "Retries:  0, re-asks: 0",
        "Repairs:  none",
        "Stages:",
    ):
        assert line in result.stdout, line
    assert "ProductManager  WritePRD" in result.stdout


def test_a_named_project_shows_its_repairs(tmp_path: Path, project: Path) -> None:
    result = run_metagpt(["logs", str(project)], cwd=tmp_path)

    assert result.code == 0, result.output
    first_row = next(line for line in result.stdout.splitlines() if line.startswith("1 "))
    assert "repair_strip_think" in first_row and first_row.rstrip().endswith("ok")
    assert "Repairs:  repair_strip_think x1" in result.stdout
    # The folder of the record and the file itself work as well as the project folder.
    assert run_metagpt(["logs", str(project / ".devteam")], cwd=tmp_path).stdout == result.stdout


def test_json_prints_the_raw_records(tmp_path: Path, project: Path) -> None:
    result = run_metagpt(["logs", str(project), "--json"], cwd=tmp_path)

    assert result.code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    on_disk = [json.loads(line) for line in (project / ".devteam" / "exchanges.jsonl").read_text().splitlines()]
    assert records == on_disk
    assert "## Action: WritePRD" in records[0]["messages"][1]["content"]


def test_call_shows_one_exchange_in_full(tmp_path: Path, project: Path) -> None:
    result = run_metagpt(["logs", str(project), "--call", "1"], cwd=tmp_path)

    assert result.code == 0, result.output
    out = result.stdout
    assert out.startswith("Call 1 of run ") and "ProductManager WritePRD" in out.splitlines()[0]
    for part in (
        "--- system ---",
        "--- user ---",
        "## Action: WritePRD",
        "--- answer (raw) ---",
        "<think>hmm</think>",
        "Finish:   stop",
        "Repairs:  repair_strip_think",
        "completion tokens",
    ):
        assert part in out, part
    as_json = run_metagpt(["logs", str(project), "--call", "3", "--json"], cwd=tmp_path)
    assert json.loads(as_json.stdout)["seq"] == 3


def test_call_out_of_range_is_a_usage_error(tmp_path: Path, project: Path) -> None:
    result = run_metagpt(["logs", str(project), "--call", "99"], cwd=tmp_path)
    assert result.code == 2
    assert "calls 1 to 7" in result.stderr and "Traceback" not in result.output


def test_no_record_is_a_clear_message_exit_1(tmp_path: Path) -> None:
    empty = run_metagpt(["logs"], cwd=tmp_path)
    assert empty.code == 1, empty.output
    assert "no project with a run record" in empty.stderr and "Traceback" not in empty.output

    (tmp_path / "plain").mkdir()
    plain = run_metagpt(["logs", "plain"], cwd=tmp_path)
    assert plain.code == 1 and "holds no run record" in plain.stderr

    (tmp_path / "junk.jsonl").write_text("not json\n")
    junk = run_metagpt(["logs", "junk.jsonl"], cwd=tmp_path)
    assert junk.code == 1 and "junk.jsonl" in junk.stderr and "Traceback" not in junk.output


def test_the_workspace_comes_from_the_config_or_the_flag(tmp_path: Path, project: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write_config(
        elsewhere,
        {"api_type": "open_llm", "base_url": "http://127.0.0.1:9/v1", "model": "m"},
        workspace=str(project.parent),
    )
    from_config = run_metagpt(["logs"], cwd=elsewhere)
    assert from_config.code == 0, from_config.output
    assert str(project / ".devteam") in from_config.stdout

    other = tmp_path / "other"
    other.mkdir()
    flagged = run_metagpt(["logs", "--workspace", str(project.parent)], cwd=other)
    assert flagged.code == 0, flagged.output


def test_last_n_calls_query_and_just_the_answer(tmp_path: Path, project: Path) -> None:
    last_two = run_metagpt(["logs", str(project), "-n", "2"], cwd=tmp_path)
    assert last_two.code == 0, last_two.output
    rows = [line.split()[0] for line in last_two.stdout.splitlines() if line[:1].isdigit()]
    assert rows == ["6", "7"]

    design = run_metagpt(["logs", str(project), "-q", "## Action: WriteDesign"], cwd=tmp_path)
    assert design.code == 0, design.output
    rows = [line.split()[:3] for line in design.stdout.splitlines() if line[:1].isdigit()]
    assert rows == [["2", "Architect", "WriteDesign"]]
    narrowed = run_metagpt(["logs", str(project), "-q", "WritePRD", "-q", "no such words anywhere"], cwd=tmp_path)
    assert narrowed.code == 1 and "no call in" in narrowed.stderr and "Traceback" not in narrowed.output

    answer = run_metagpt(["logs", str(project), "-r", "--call", "1"], cwd=tmp_path)
    raw = json.loads((project / ".devteam" / "exchanges.jsonl").read_text().splitlines()[0])["answer"]
    assert answer.code == 0 and answer.stdout == raw + "\n"
    clipped = run_metagpt(["logs", str(project), "-r", "--call", "1", "--truncate"], cwd=tmp_path)
    assert len(raw) > 400 and len(clipped.stdout) < 500 and "more characters" in clipped.stdout


def test_logs_path_prints_where_the_record_is(tmp_path: Path, project: Path) -> None:
    result = run_metagpt(["logs", "path", "--workspace", str(project.parent)], cwd=tmp_path)
    assert result.code == 0, result.output
    assert result.stdout.strip() == str(project / ".devteam" / "exchanges.jsonl")


def test_on_a_terminal_the_table_fits_and_a_call_is_paged(tmp_path: Path, project: Path) -> None:
    from pty_runner import run_metagpt_on_pty

    wide = run_metagpt(["logs", str(project)], cwd=tmp_path)
    assert max(len(line) for line in wide.stdout.splitlines()) > 100  # a pipe gets whole cells

    narrow = run_metagpt_on_pty(["logs", str(project)], cwd=tmp_path, columns=100)
    assert narrow.code == 0, narrow.stdout
    table = [line for line in narrow.stdout.splitlines() if line[:1].isdigit() or line.startswith("#")]
    assert len(table) == 8 and max(len(line) for line in table) <= 100, table

    paged_to = tmp_path / "paged.txt"
    env = clean_env(tmp_path / "home", PAGER=f"cat > {paged_to}")
    paged = run_metagpt_on_pty(["logs", str(project), "--call", "1"], cwd=tmp_path, env=env)
    assert paged.code == 0, paged.stdout
    assert paged_to.read_text().startswith("Call 1 of run ") and "## Action: WritePRD" not in paged.stdout
