"""The run record under attack: a `.devteam` (or a file in it) that links out of the project, and a record
whose last line was torn by a crash. The real `metagpt` against a local scripted server."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_metagpt, write_config
from fakes import Error, OpenAIServer, RecordedRequest, Reply
from scripted_company import ScriptedCompany

IDEA = "write a tic-tac-toe game"
TORN = '{"run": "20260101T000000Z-dead", "seq": 99, "role": "Engineer", "action": "Wri'


def _interrupted_project(tmp_path: Path, server: OpenAIServer, company: ScriptedCompany) -> Path:
    """A project whose first run stopped before its last file (the server failed), ready for --resume."""

    def dies_at_main(request: RecordedRequest) -> Reply:
        if "Write the complete file `tictactoe/__main__.py`" in str(request.json):
            return Error(500, message="model worker crashed")
        return company(request)

    server.set_handler(dies_at_main)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})
    assert run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path).code == 1
    server.set_handler(company)
    return tmp_path / "workspace" / "ttt"


def _resume(tmp_path: Path):  # type: ignore[no-untyped-def]
    return run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt", "--resume"], cwd=tmp_path)


def test_a_record_folder_linking_out_of_the_project_is_not_followed(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    root = _interrupted_project(tmp_path, openai_server, ScriptedCompany())
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / ".devteam").rename(tmp_path / "old_record")
    (root / ".devteam").symlink_to(outside, target_is_directory=True)

    result = _resume(tmp_path)

    assert result.code == 0, result.output
    assert list(outside.iterdir()) == []
    assert "symbolic link" in result.stderr and "record" in result.stderr


@pytest.mark.parametrize("name", ["exchanges.jsonl", "run.log", "summary.json"])
def test_a_record_file_linking_out_of_the_project_is_not_followed(
    tmp_path: Path, openai_server: OpenAIServer, name: str
) -> None:
    root = _interrupted_project(tmp_path, openai_server, ScriptedCompany())
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (root / ".devteam" / name).unlink()
    (root / ".devteam" / name).symlink_to(victim)

    result = _resume(tmp_path)

    assert result.code == 0, result.output
    assert victim.read_text() == "precious\n"
    assert "symbolic link" in result.stderr


def test_a_torn_last_line_is_skipped_by_logs_and_replay(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    assert run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path).code == 0
    record = tmp_path / "workspace" / "ttt" / ".devteam" / "exchanges.jsonl"
    with record.open("a") as out:
        out.write(TORN)

    logs = run_metagpt(["logs", str(record.parent.parent)], cwd=tmp_path)
    assert logs.code == 0, logs.output
    assert "WritePRD" in logs.stdout and "incomplete" in logs.stderr and "skipped" in logs.stderr

    replay = run_metagpt([IDEA, "--no-code-review", "--replay", str(record), "--workspace", "replayed"], cwd=tmp_path)
    assert replay.code == 0, replay.output
    assert "incomplete" in replay.stderr
    assert (tmp_path / "replayed" / "tictactoe" / "tictactoe" / "board.py").is_file()


def test_a_resumed_run_continues_a_torn_record_on_a_line_of_its_own(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    root = _interrupted_project(tmp_path, openai_server, ScriptedCompany())
    record = root / ".devteam" / "exchanges.jsonl"
    with record.open("a") as out:
        out.write(TORN)

    assert _resume(tmp_path).code == 0

    logs = run_metagpt(["logs", str(root), "--json"], cwd=tmp_path)
    assert logs.code == 0, logs.output
    assert '"subject": "tictactoe/__main__.py"' in logs.stdout
    assert TORN not in record.read_text()
