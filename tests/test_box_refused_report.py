"""A refused path in a QA round fails that round, not the run, and `--resume` goes on: a link planted where the
next QA report goes, pointing out of the project, is never written through. The real `metagpt --run-tests`
against a scripted server, real git."""

from __future__ import annotations

import json
from pathlib import Path

import git
from cli_runner import run_metagpt, write_config
from fakes import Error, OpenAIServer, RecordedRequest, Reply, asked
from scripted_qa import ScriptedQaCompany

IDEA = "write a snake game"
ARGS = [IDEA, "--no-code-review", "--run-tests", "--project-name", "snake"]


def _log(root: Path) -> list[tuple[str, str]]:
    with git.Repo(root) as repo:
        return [(str(c.author.name), str(c.summary)) for c in reversed(list(repo.iter_commits()))]


def _project_after_round_one(tmp_path: Path, server: OpenAIServer, company: ScriptedQaCompany) -> Path:
    """Round 1 found the bug and the fix call failed: the run stopped, round 1 committed."""

    def fix_fails(request: RecordedRequest) -> Reply:
        first_user = asked(request.json["messages"])
        if "## Action: FixCode" in first_user:
            return Error(400, {"error": {"message": "model crashed"}})
        return company(request)

    server.set_handler(fix_fails)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})
    first = run_metagpt(ARGS, cwd=tmp_path, timeout=240)
    assert first.code == 1, first.output
    server.set_handler(company)
    root = tmp_path / "workspace" / "snake"
    assert _log(root)[-1] == ("QaEngineer", "1 of 4 tests fail, python -m snake: clean exit (round 1)")
    return root


def test_a_link_where_the_next_report_goes_is_passed_by_and_never_written_through(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedQaCompany()
    root = _project_after_round_one(tmp_path, openai_server, company)
    outside = tmp_path / "outside.md"
    outside.write_text("the user's own file\n")
    planted = root / "docs" / "qa" / "round_2.md"
    planted.symlink_to(outside)

    resumed = run_metagpt([*ARGS, "--resume"], cwd=tmp_path, timeout=240)

    assert resumed.code == 0, resumed.output
    assert outside.read_text() == "the user's own file\n"
    assert planted.is_symlink()  # not ours: left where it is, never followed
    rounds = [m for a, m in _log(root) if "round" in m]
    assert rounds == [
        "1 of 4 tests fail, python -m snake: clean exit (round 1)",
        "1 of 4 tests fail, python -m snake: clean exit (round 3)",
        "Fix snake/board.py (QA round 3)",
        "4 of 4 tests pass, python -m snake: clean exit (round 4)",
    ], rounds
    assert "docs/qa/round_2.md" in resumed.stderr and "Traceback" not in resumed.output
    with git.Repo(root) as repo:
        assert "docs/qa/round_2.md" not in repo.git.ls_files().splitlines()


def test_a_linked_report_folder_fails_the_round_not_the_run_and_resume_goes_on(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedQaCompany()
    root = _project_after_round_one(tmp_path, openai_server, company)
    outside = tmp_path / "outside"
    outside.mkdir()
    reports = root / "docs" / "qa"
    reports.rename(tmp_path / "kept_reports")
    reports.symlink_to(outside, target_is_directory=True)

    refused = run_metagpt([*ARGS, "--resume"], cwd=tmp_path, timeout=240)

    assert refused.code == 0, refused.output  # the round failed, the run did not
    assert list(outside.iterdir()) == []
    assert "report refused" in refused.output and "Traceback" not in refused.output
    summary = json.loads((root / ".devteam" / "summary.json").read_text())
    assert summary["qa"]["rounds"][-1]["report"].startswith("refused"), summary["qa"]
    assert not any(call.startswith("fix:") for call in company.calls)  # no fix for a round that was not kept

    again = run_metagpt([*ARGS, "--resume"], cwd=tmp_path, timeout=240)  # resume is never stuck on it
    assert again.code == 0, again.output
    assert list(outside.iterdir()) == []

    reports.unlink()  # the user puts their folder back: QA goes on from where it was
    (tmp_path / "kept_reports").rename(reports)
    fixed = run_metagpt([*ARGS, "--resume"], cwd=tmp_path, timeout=240)
    assert fixed.code == 0, fixed.output
    assert _log(root)[-1] == ("QaEngineer", "4 of 4 tests pass, python -m snake: clean exit (round 3)")
