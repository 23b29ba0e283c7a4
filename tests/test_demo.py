"""The first-run experience: the shipped offline demo, and what `metagpt` says with no config and no server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import git
from cli_runner import clean_env, run_metagpt

from devteam.commands.first_run import DEMO_COMMAND

REPO = Path(__file__).resolve().parents[1]
DEMO_RECORD = REPO / "devteam" / "demos" / "snake_game.jsonl"
IDEA = "write a snake game"


def test_the_shipped_demo_replays_into_a_game_whose_own_tests_pass(tmp_path: Path) -> None:
    # `metagpt demo` from a folder that is not the checkout: the record ships inside the package.
    assert DEMO_COMMAND == "metagpt demo"
    result = run_metagpt(["demo", "-v"], cwd=tmp_path)

    assert result.code == 0, result.output
    for marker in ("repair_strip_think", "repair_key_case", "repair_code_fence"):
        assert marker in result.stderr, marker  # each repair line as it fires (-v)
        assert marker in result.stdout, marker  # and counted in the summary
    root = tmp_path / "workspace" / "snake_game"
    for path in (
        "snake_game/logic.py",
        "snake_game/ui.py",
        "snake_game/__main__.py",
        "tests/test_logic.py",
        "README.md",
        "docs/prd.md",
        "docs/system_design.md",
    ):
        assert (root / path).is_file(), path
    logic = (root / "snake_game" / "logic.py").read_text()
    assert "import curses" not in logic  # the rules are separate from the drawing
    with git.Repo(root) as repo:
        assert not repo.is_dirty(untracked_files=True)
        authors = [commit.author.name for commit in repo.iter_commits()]
    assert {"ProductManager", "Architect", "Engineer"} <= set(authors)
    summary = json.loads((root / ".devteam" / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["repairs"]["repair_strip_think"] == 2

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(tmp_path / "home"),
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout


def test_the_demo_record_says_what_it_is() -> None:
    lines = [json.loads(line) for line in DEMO_RECORD.read_text().splitlines()]
    assert {line["model"] for line in lines} == {"handwritten-demo"}
    assert {line["run"] for line in lines} == {"handwritten-demo"}
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))


def test_no_config_and_no_server_says_where_it_looked_and_what_to_do(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_metagpt([IDEA], cwd=tmp_path)
    elapsed = time.monotonic() - started

    assert result.code == 2, result.output
    assert elapsed < 15
    assert "Traceback" not in result.output
    out = result.output
    assert str(tmp_path / "home" / ".metagpt" / "config2.yaml") in out
    assert str(tmp_path / "config" / "config2.yaml") in out
    assert "127.0.0.1:11434" in out and "127.0.0.1:8000" in out and "127.0.0.1:8080" in out
    assert "metagpt --init-config" in out and DEMO_COMMAND in out
    assert not (tmp_path / "workspace").exists()


def test_replay_takes_a_shipped_record_by_name_from_any_folder(tmp_path: Path) -> None:
    result = run_metagpt([IDEA, "--replay", "snake", "--no-code-review", "--project-name", "by_name"], cwd=tmp_path)
    assert result.code == 0, result.output
    assert (tmp_path / "workspace" / "by_name" / "snake_game" / "logic.py").is_file()

    unknown = run_metagpt([IDEA, "--replay", "no_such_record"], cwd=tmp_path)
    assert unknown.code == 2 and "no_such_record" in unknown.stderr and "Traceback" not in unknown.output


def test_the_demo_with_qa_passes_on_what_the_plain_install_brings(tmp_path: Path) -> None:
    # pytest is a core dependency: QA's tests run in the box with the interpreter the plain install made, and the
    # recording needs no fix round (a missing pytest was once counted as a failing test and asked for a fix).
    result = run_metagpt(["demo", "--run-tests", "--plain"], cwd=tmp_path)

    assert result.code == 0, result.output
    qa = [line for line in result.stdout.splitlines() if line.startswith("QA:")]
    assert len(qa) == 1 and re.match(r"QA:\s+round 1: [1-9]\d* tests passed, 0 failed", qa[0]), result.stdout
    assert "needs pytest" not in result.output and "FixCode" not in result.output
