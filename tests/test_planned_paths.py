"""Planned paths under attack: a plan aiming at the run record, git's files, devteam's documents, ignored
files, folders — refused before their WriteCode call is paid for, in a fresh run, `--inc` and `--resume`;
and a file the user changed is never overwritten. The real `metagpt` against a local scripted server."""

from __future__ import annotations

import json
from pathlib import Path

import git
from cli_runner import run_metagpt, write_config
from fakes import Error, OpenAIServer, RecordedRequest, Reply
from scripted_company import TICTACTOE_FILES, ScriptedCompany, ScriptedFile

from devteam.artifacts.file_plan import folder_conflicts
from devteam.core.safe_paths import protected_reason
from devteam.workspace.project import GITIGNORE

IDEA = "write a tic-tac-toe game"
AIMED_AT_DEVTEAM = [
    ScriptedFile(".devteam/exchanges.jsonl", '{"role": "x"}\n'),
    ScriptedFile(".gitignore", "*.pyc\n"),
    ScriptedFile("tictactoe/.gitattributes", "*.py filter=evil\n"),
    ScriptedFile("docs/prd.json", "{}\n"),
    ScriptedFile("docs/System_Design.md", "# replaced\n"),
]
IGNORED = [ScriptedFile(".env", "TOKEN=secret\n"), ScriptedFile("build/setup_steps.py", "STEPS = []\n")]
CLASHING = [ScriptedFile("tictactoe", "not a folder\n")]  # tictactoe/board.py and others need the folder


def _config(tmp_path: Path, server: OpenAIServer) -> None:
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})


def _tracked(root: Path) -> list[str]:
    with git.Repo(root) as repo:
        return repo.git.ls_files().splitlines()


def test_a_fresh_plan_cannot_take_protected_ignored_or_clashing_paths(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    hostile = AIMED_AT_DEVTEAM + IGNORED + CLASHING
    company = ScriptedCompany(TICTACTOE_FILES + hostile)
    openai_server.set_handler(company)
    _config(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path)

    assert result.code == 0, result.output
    root = tmp_path / "workspace" / "tictactoe"
    # Refused before paying: no WriteCode call for any of them.
    assert not {f.path for f in hostile} & set(company.calls)
    # `tictactoe` (no extension, where a folder must be) is dropped from the plan by the design check; the
    # workspace refuses the rest.
    assert f"{len(hostile) - len(CLASHING)} refused" in result.stdout
    assert "tictactoe" not in company.calls
    assert (root / ".gitignore").read_text() == GITIGNORE
    assert not (root / ".env").exists() and not (root / "build").exists()
    assert not (root / "tictactoe" / ".gitattributes").exists()
    json.loads((root / "docs" / "prd.json").read_text())["project_name"]
    assert (root / "docs" / "system_design.md").read_text() != "# replaced\n"
    assert (root / "tictactoe").is_dir()
    logs = run_metagpt(["logs", str(root)], cwd=tmp_path)
    assert logs.code == 0, logs.output
    assert "WritePRD" in logs.stdout
    # What the summary says was written is exactly what is committed.
    with git.Repo(root) as repo:
        assert not repo.is_dirty(untracked_files=True)


def test_inc_cannot_replace_the_documents_or_the_gitignore(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    _config(tmp_path, openai_server)
    assert run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path).code == 0
    root = tmp_path / "workspace" / "ttt"
    hostile = AIMED_AT_DEVTEAM + [ScriptedFile("tests", "a file where the tests folder is\n")]
    company = ScriptedCompany(TICTACTOE_FILES + hostile)
    openai_server.set_handler(company)

    inc = run_metagpt(["add a score board", "--no-code-review", "--project-name", "ttt", "--inc"], cwd=tmp_path)

    assert inc.code == 0, inc.output
    assert not {f.path for f in hostile} & set(company.calls)
    assert (root / ".gitignore").read_text() == GITIGNORE
    assert (root / "tests").is_dir()
    # The next runs still read the documents, and the record stays out of history.
    again = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt", "--resume"], cwd=tmp_path)
    assert again.code == 0, again.output
    assert "Traceback" not in again.output
    assert not [path for path in _tracked(root) if path.startswith(".devteam")]


def test_resume_never_overwrites_a_file_the_user_changed(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()

    def dies_at_main(request: RecordedRequest) -> Reply:
        if "Write the complete file `tictactoe/__main__.py`" in str(request.json):
            return Error(500, message="model worker crashed")
        return company(request)

    openai_server.set_handler(dies_at_main)
    _config(tmp_path, openai_server)
    assert run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path).code == 1
    root = tmp_path / "workspace" / "ttt"
    mine = "print('my own entry point')\n"
    (root / "tictactoe" / "__main__.py").write_text(mine)
    (root / "README.md").write_text("# my notes\n")
    company.calls.clear()
    openai_server.set_handler(company)

    result = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt", "--resume"], cwd=tmp_path)

    assert result.code == 0, result.output
    assert "tictactoe/__main__.py" not in company.calls
    assert (root / "tictactoe" / "__main__.py").read_text() == mine
    assert (root / "README.md").read_text() == "# my notes\n"
    assert "kept with local changes" in result.stdout and "tictactoe/__main__.py" in result.stdout
    assert "tictactoe/__main__.py" not in _tracked(root)  # still the user's to commit


def test_protected_reason_sees_through_case_and_trailing_dots() -> None:
    for key in (
        ".devteam/summary.json",
        ".DEVTEAM/runs/x.json",
        ".gitignore",
        "src/.GitIgnore",
        ".gitmodules",
        ".git./config",
        "docs/prd.json",
        "DOCS/PRD.md",
        "docs/system_design.json",
    ):
        assert protected_reason(key) is not None, key
    for key in (".github/workflows/ci.yml", "docs/usage.md", "docs/prd_notes.md", "src/devteam.py", "README.md"):
        assert protected_reason(key) is None, key


def test_folder_conflicts_keep_the_file_inside() -> None:
    assert folder_conflicts(["app", "app/main.py", "app/ui/view.py", "lib.py"]) == {"app": "app/main.py"}
    assert folder_conflicts(["a/b", "a/b/c.py", "a/bc.py"]) == {"a/b": "a/b/c.py"}
