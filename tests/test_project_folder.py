"""The project folder under attack: something else where it should be, documents edited by hand, a second
run at the same time. The real `metagpt` command against a local scripted server; the repos are inspected."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import git
import pytest
from cli_runner import CliResult, clean_env, metagpt_command, run_metagpt, write_config
from fakes import OpenAIServer, RecordedRequest, Reply, asked
from scripted_company import ScriptedCompany

IDEA = "write a tic-tac-toe game"


def _config(tmp_path: Path, server: OpenAIServer) -> None:
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})


@pytest.mark.parametrize("extra", [[], ["--resume"], ["--inc"]])
def test_a_file_where_the_named_project_should_be(
    tmp_path: Path, openai_server: OpenAIServer, extra: list[str]
) -> None:
    openai_server.set_handler(ScriptedCompany())
    _config(tmp_path, openai_server)
    squatter = tmp_path / "workspace" / "ttt"
    squatter.parent.mkdir()
    squatter.write_text("my notes\n")

    result = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt", *extra], cwd=tmp_path)

    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    assert "workspace/ttt" in result.stderr and "not a" in result.stderr
    assert squatter.read_text() == "my notes\n"
    assert openai_server.chat_requests == []  # refused before paying for anything


def test_a_file_where_the_derived_project_would_go(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    _config(tmp_path, openai_server)
    squatter = tmp_path / "workspace" / "tictactoe"
    squatter.parent.mkdir()
    squatter.write_text("my notes\n")

    result = run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path)

    assert result.code == 0, result.output
    assert squatter.read_text() == "my notes\n"
    assert (tmp_path / "workspace" / "tictactoe_2" / "tictactoe" / "board.py").is_file()


@pytest.mark.parametrize(
    ("doc", "mode"),
    [("docs/prd.json", "--resume"), ("docs/prd.json", "--inc"), ("docs/system_design.json", "--resume")],
)
def test_a_hand_edited_document_that_no_longer_validates(
    tmp_path: Path, openai_server: OpenAIServer, doc: str, mode: str
) -> None:
    openai_server.set_handler(ScriptedCompany())
    _config(tmp_path, openai_server)
    assert run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path).code == 0
    root = tmp_path / "workspace" / "ttt"
    edited = json.loads((root / doc).read_text())
    edited.pop(next(iter(edited)))  # a required field removed by hand
    (root / doc).write_text(json.dumps(edited, indent=2))
    with git.Repo(root) as repo:
        repo.index.add([doc])
        repo.index.commit("edit by hand")

    result = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt", mode], cwd=tmp_path)

    assert result.code in (1, 2), result.output
    assert "Traceback" not in result.output and "pydantic" not in result.output
    assert doc in result.stderr and "checkout" in result.stderr


# -- two runs at once ------------------------------------------------------------------------------------------


class PrdGate:
    """Holds each WritePRD answer until `parties` of them are asked for (or `patience` runs out), so that
    runs started together reach the moment of creating their project folder together."""

    def __init__(self, company: ScriptedCompany, *, parties: int, patience: float) -> None:
        self.company, self.parties, self.patience = company, parties, patience
        self.asked = 0
        self._changed = threading.Condition()

    def __call__(self, request: RecordedRequest) -> Reply:
        if "## Action: WritePRD" in asked(request.json["messages"]):
            with self._changed:
                self.asked += 1
                self._changed.notify_all()
                self._changed.wait_for(lambda: self.asked >= self.parties, timeout=self.patience)
        with self._changed:  # the company's bookkeeping is not thread-safe
            return self.company(request)


def _start_together(tmp_path: Path, args: list[str], count: int = 2) -> list[CliResult]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    processes = [
        subprocess.Popen(
            [*metagpt_command(), *args],
            cwd=tmp_path,
            env=clean_env(home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        results.append(CliResult(process.returncode, stdout, stderr))
    return results


def _history(root: Path) -> list[str]:
    with git.Repo(root) as repo:
        return [commit.summary for commit in repo.iter_commits("HEAD", reverse=True)]


def test_runs_of_one_idea_at_once_get_a_repository_each(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(PrdGate(ScriptedCompany(), parties=3, patience=10))
    _config(tmp_path, openai_server)

    results = _start_together(tmp_path, [IDEA, "--no-code-review"], count=3)

    assert [result.code for result in results] == [0, 0, 0], [result.output for result in results]
    workspace = tmp_path / "workspace"
    assert sorted(path.name for path in workspace.iterdir()) == ["tictactoe", "tictactoe_2", "tictactoe_3"]
    for root in workspace.iterdir():
        history = _history(root)
        # One run's story each: nothing of another run's stages in it.
        assert [m.split(" ")[0] for m in history[:3]] == ["Start", "Add", "Add"], history
        assert sum(m.startswith("Add PRD") for m in history) == 1, history
        assert sum(m.startswith("Add system design") for m in history) == 1, history
        assert sum(m.startswith("Write ") for m in history) == 3, history
        with git.Repo(root) as repo:
            assert not repo.is_dirty(untracked_files=True)
    assert sorted(result.stdout.split("Project:")[1].split()[0] for result in results) == sorted(
        str(root.resolve()) for root in workspace.iterdir()
    )


def test_two_runs_naming_one_project_at_once(tmp_path: Path, openai_server: OpenAIServer) -> None:
    gate = PrdGate(ScriptedCompany(), parties=2, patience=3)
    openai_server.set_handler(gate)
    _config(tmp_path, openai_server)

    results = _start_together(tmp_path, [IDEA, "--no-code-review", "--project-name", "ttt"])

    codes = sorted(result.code for result in results)
    assert codes == [0, 2], [result.output for result in results]
    loser = next(result for result in results if result.code == 2)
    assert "another" in loser.stderr or "already exists" in loser.stderr, loser.output
    assert "Traceback" not in loser.output
    assert gate.asked == 1  # the second run stopped before paying for anything
    history = _history(tmp_path / "workspace" / "ttt")
    assert sum(m.startswith("Add PRD") for m in history) == 1, history
