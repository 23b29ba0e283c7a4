"""The project folder under attack: something else where it should be, documents edited by hand, a second
run at the same time. The real `metagpt` command against a local scripted server; the repos are inspected."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer
from scripted_company import ScriptedCompany

IDEA = "write a tic-tac-toe game"


def _config(tmp_path: Path, server: OpenAIServer) -> None:
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})



@pytest.mark.parametrize("extra", [[], ["--resume"], ["--inc"]])
def test_a_file_where_the_named_project_should_be(tmp_path: Path, openai_server: OpenAIServer,
                                                   extra: list[str]) -> None:
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


@pytest.mark.parametrize(("doc", "mode"), [("docs/prd.json", "--resume"), ("docs/prd.json", "--inc"),
                                           ("docs/system_design.json", "--resume")])
def test_a_hand_edited_document_that_no_longer_validates(tmp_path: Path, openai_server: OpenAIServer,
                                                        doc: str, mode: str) -> None:
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
