"""One answer each to "which file starts the program" and "is this a test file": the README's run command, the
design check, QA's smoke run and the benchmark all ask `devteam.artifacts.program_layout`.

Before, the README and QA had their own rules: a plan with only `server.py` got `python server.py` in its
README while QA found no entry point, and with `cli.py` and `game.py` the two named different files.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fakes import OpenAIServer
from scripted_company import ScriptedCompany, ScriptedFile
from test_team import config_for, options_for, run

from devteam.artifacts.design_checks import DesignRules, check_design
from devteam.artifacts.documents import PlannedFile, SystemDesign
from devteam.artifacts.program_layout import entry_point, is_test_path, plan_purposes, planned_entry_point
from devteam.qa.program_checks import entry_command

PLANS = [
    # (planned paths with their purposes, the command README and QA must both give)
    ({"server.py": "an HTTP server for the notes", "notes.py": "Note storage"}, "python server.py"),
    ({"cli.py": "the command line", "game.py": "the rules"}, "python cli.py"),
    ({"game/__main__.py": "starts the game", "game/logic.py": "rules", "main.py": "also main"}, "python -m game"),
    ({"main.py": "", "app.py": ""}, "python main.py"),
    ({"snake_game.py": "The main file of the snake game.", "game_state.py": "state"}, "python snake_game.py"),
    ({"snake.py": "the whole game", "tests/test_snake.py": "tests", "conftest.py": ""}, "python snake.py"),
    ({"__main__.py": "runs it", "lib.py": ""}, "python __main__.py"),
    ({"logic.py": "rules", "board.py": "board"}, None),
    ({"pkg/core.py": "everything"}, None),
    ({"README.md": "how to play"}, None),
]


@pytest.mark.parametrize(("purposes", "command"), PLANS)
def test_the_readme_and_qa_name_the_same_entry_point(purposes: dict[str, str], command: str | None) -> None:
    plan = [PlannedFile(path=path, purpose=purpose) for path, purpose in purposes.items()]
    readme = planned_entry_point(plan)
    qa = entry_command(list(purposes), plan_purposes(plan))

    assert (readme.command if readme else None) == command
    assert (" ".join(["python", *qa]) if qa else None) == command


def test_the_entry_point_does_not_depend_on_the_order_of_the_files() -> None:
    paths = ["server.py", "cli.py", "game.py", "tools/__main__.py", "a.py", "tests/test_a.py"]
    answers = set()
    for seed in range(10):
        shuffled = paths[:]
        random.Random(seed).shuffle(shuffled)
        found = entry_point(shuffled)
        answers.add(found.path if found else None)
    assert answers == {"tools/__main__.py"}


@pytest.mark.parametrize(
    ("path", "is_test"),
    [
        ("test_board.py", True),
        ("tests/test_board.py", True),
        ("tests/helpers.py", True),  # in the tests folder: a test's helper, never the program's code
        ("test/fixtures/data.json", True),
        ("board_test.py", True),
        ("conftest.py", True),
        ("game/tests_helper.py", False),
        ("testing.py", False),
        ("contest.py", False),
        ("test_data.json", False),
        ("tests.py", False),
        ("game/board.py", False),
    ],
)
def test_a_test_file_is_one_pytest_would_collect_or_one_in_the_tests_folder(path: str, is_test: bool) -> None:
    assert is_test_path(path) is is_test


def test_a_plan_with_only_a_server_is_accepted_and_its_readme_runs_it(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    files = [
        ScriptedFile("notes.py", "NOTES: list[str] = []\n", [], "Note storage"),
        ScriptedFile("server.py", "from notes import NOTES\n\nprint(len(NOTES))\n", ["notes.py"], "an HTTP server"),
    ]
    company = ScriptedCompany(files, project_name="notes")
    openai_server.set_handler(company)

    outcome = run(config_for(openai_server), options_for(tmp_path, idea="write a notes server"))

    assert outcome.error is None, outcome.error
    assert company.calls.count("WriteDesign") == 1  # its entry point was found: nothing sent back
    readme = (outcome.repo_root / "README.md").read_text()
    assert "python server.py" in readme
    assert entry_command(["notes.py", "server.py", "README.md"]) == ["server.py"]


def test_the_design_check_finds_the_entry_point_the_readme_names() -> None:
    # A plan whose only module is the program needs no main.py: the design check and the README agree on it.
    design = SystemDesign(
        implementation_approach="standard library",
        file_list=[
            PlannedFile(path="snake.py", purpose="the game"),
            PlannedFile(path="tests/test_snake.py", purpose=""),
        ],
        data_structures_and_interfaces="classDiagram",
        program_call_flow="sequenceDiagram",
    )
    checked = check_design(design, DesignRules(idea="write a snake game"))

    assert checked.problems == []
    entry = planned_entry_point(checked.value.file_list)
    assert entry is not None and entry.command == "python snake.py"
