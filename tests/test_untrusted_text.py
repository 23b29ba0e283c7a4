"""A model that answers with terminal escapes, bidi overrides and NULs: none of them reaches the console,
a commit message or a file name unescaped, and the documents are titled with the sanitised project name."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest
from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer
from scripted_company import TICTACTOE_FILES, ScriptedCompany, ScriptedFile

from devteam.core.safe_paths import normalise_relative_path

CLEAR_SCREEN = "\x1b[2J\x1b[H"
RETITLE = "\x1b]0;owned\x07"
RLO = "\u202e"  # right-to-left override: "evil\u202eyp.txt" shows as "eviltxt.py"
UNSAFE = ("\x1b", "\x07", "\x00", RLO, "\u2066", "\x9b")

HOSTILE_NAME = f"{RETITLE}tic{CLEAR_SCREEN}tac{RLO}toe\x00"
HOSTILE_FILES = [
    *TICTACTOE_FILES,
    ScriptedFile(f"notes/{RLO}gpj.py", "x = 1\n", [], "a file whose name reads backwards"),
    ScriptedFile(f"notes/{CLEAR_SCREEN}wipe.py", "x = 2\n", [], "a file whose name clears the screen"),
    ScriptedFile("notes/readme_bits.py", "x = 3\n", [f"{RETITLE}requests"], f"purpose {CLEAR_SCREEN} text"),
]


def _assert_clean(text: str, where: str) -> None:
    found = [repr(char) for char in UNSAFE if char in text]
    assert not found, f"{where} holds {', '.join(found)}"


def test_hostile_names_never_reach_console_commits_or_file_names(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany(HOSTILE_FILES, project_name=HOSTILE_NAME)
    company.mangle["WritePRD"] = lambda text: f"{CLEAR_SCREEN}Here is the PRD{RLO}:\n" + text
    openai_server.set_handler(company)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    result = run_metagpt(["write a tic-tac-toe game", "--no-code-review", "-v"], cwd=tmp_path)

    _assert_clean(result.stdout, "stdout")
    _assert_clean(result.stderr, "stderr")
    assert "\\x1b" in result.output  # the escapes are shown, escaped, not dropped silently
    (root,) = [path for path in (tmp_path / "workspace").iterdir() if path.is_dir()]
    assert root.name == "tictactoe"
    with git.Repo(root) as repo:
        for commit in repo.iter_commits():
            _assert_clean(str(commit.message), f"commit {commit.hexsha[:7]}")
        tracked = repo.git.ls_files("-z").split("\0")
    for name in tracked:
        _assert_clean(name, "a tracked file name")
    for path in root.rglob("*"):
        _assert_clean(path.name, f"file {path}")
    assert (root / "docs" / "prd.md").read_text().splitlines()[0] == "# PRD: tictactoe"
    assert (root / "docs" / "system_design.md").read_text().splitlines()[0] == "# System design: tictactoe"
    assert (root / "README.md").read_text().splitlines()[0] == "# tictactoe"
    # The PRD itself keeps what the model said: it is data, shown escaped wherever it is displayed.
    assert json.loads((root / "docs" / "prd.json").read_text())["project_name"] == HOSTILE_NAME

    logs = run_metagpt(["logs", str(root), "--call", "1"], cwd=tmp_path)
    assert logs.code == 0, logs.output
    _assert_clean(logs.output, "metagpt logs --call 1")
    assert "\\x1b[2J" in logs.stdout


@pytest.mark.parametrize("name", [f"{RLO}gpj.py", "a\x9bb.py", "x\u2067y.py", "bell\x07.py", "nul\x00.py"])
def test_a_path_with_control_or_direction_characters_is_refused(name: str) -> None:
    from devteam.core.safe_paths import UnsafePathError

    with pytest.raises(UnsafePathError) as refused:
        normalise_relative_path(name)
    _assert_clean(str(refused.value), "the refusal message")
