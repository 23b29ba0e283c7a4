"""Plans a small model can carry: the nonsense that passed before is sent back once, then settled with a logged
`repair_…` — a file with no extension, a package named after the schema's own types, a framework the program
cannot import where it runs, more files than the model writes well, a PRD without requirements.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fakes import OpenAIServer
from scripted_company import ScriptedCompany, ScriptedFile, prd_answer
from test_team import config_for, options_for, run

from devteam.artifacts.checks import check_prd, settle_prd
from devteam.artifacts.design_checks import DesignRules, check_design, settle_design, wants_runnable_program
from devteam.artifacts.documents import PRD, PlannedFile, SystemDesign
from devteam.artifacts.package_checks import importable_here, named_in
from devteam.commands.bench.suite import load_ideas

SNAKE = "write a snake game"


def design_of(
    paths: list[str], packages: list[str] | None = None, depends: dict[str, list[str]] | None = None
) -> SystemDesign:
    return SystemDesign(
        implementation_approach="standard library",
        file_list=[
            PlannedFile(path=path, purpose=f"the {path} part", depends_on=(depends or {}).get(path, []))
            for path in paths
        ],
        data_structures_and_interfaces="classDiagram",
        program_call_flow="sequenceDiagram",
        required_packages=packages or [],
    )


def never_installed(requirement: str) -> bool:
    return False


# -- files without an extension ------------------------------------------------------------------------------


def test_a_planned_file_without_an_extension_is_sent_back_then_dropped(caplog: pytest.LogCaptureFixture) -> None:
    # SmolLM2's plan: the project's name as a file, then 690 s of WriteCode for it.
    design = design_of(["a-small-product-game"])
    rules = DesignRules(idea=SNAKE)

    checked = check_design(design, rules)
    assert checked.problems[0].startswith("`a-small-product-game` has no file extension")
    assert "`a_small_product_game.py`" in checked.problems[0]
    with caplog.at_level(logging.INFO, logger="devteam"):
        settled = settle_design(checked.value, rules)

    assert [f.path for f in settled.value.file_list] == ["main.py"]  # the program, planned where it can be
    assert settled.repairs == ["repair_file_without_extension", "repair_program_planned"]
    assert any(
        r.getMessage().startswith("repair_file_without_extension: 'a-small-product-game'") for r in caplog.records
    )


def test_files_without_an_extension_by_convention_are_kept() -> None:
    checked = check_design(
        design_of(["main.py", "Makefile", "LICENSE", ".gitignore", "Dockerfile"]), DesignRules(SNAKE)
    )
    assert checked.problems == []


# -- packages ------------------------------------------------------------------------------------------------


def test_a_package_named_after_the_schemas_own_type_is_sent_back_then_dropped() -> None:
    design = design_of(["main.py"], packages=["PlannedFile", "SystemDesign==1.0"])
    rules = DesignRules(idea=SNAKE, install_allowed=True)  # even where packages may be installed

    checked = check_design(design, rules)
    assert len(checked.problems) == 2
    assert all("a type name of the answer's schema, not a package" in p for p in checked.problems)
    settled = settle_design(checked.value, rules)
    assert settled.value.required_packages == []
    assert settled.repairs == ["repair_schema_name_package"]


def test_a_package_this_interpreter_lacks_is_sent_back_unless_the_idea_names_it_or_qa_installs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    design = design_of(["main.py"], packages=["flask==3.0.0"])

    checked = check_design(design, DesignRules(idea=SNAKE, importable=never_installed))
    assert checked.problems == [
        "required_packages lists `flask==3.0.0`, which is not installed where the program will run, and the idea "
        "does not ask for it: build the program with the Python standard library instead (remove `flask==3.0.0` "
        "from required_packages and from the files and the approach that use it)."
    ]
    named = DesignRules(idea="write a snake game with Flask", importable=never_installed)
    assert check_design(design, named).problems == []
    installing = DesignRules(idea=SNAKE, importable=never_installed, install_allowed=True)
    assert check_design(design, installing).problems == []

    # A model that insists loses the package (the program is written with the standard library), and the log
    # says how to keep it; a package the idea names, or --qa-install, keeps it.
    with caplog.at_level(logging.INFO, logger="devteam"):
        settled = settle_design(checked.value, DesignRules(idea=SNAKE, importable=never_installed))
    assert settled.value.required_packages == [] and settled.repairs == ["repair_package_dropped"]
    assert any(
        r.getMessage().startswith("repair_package_dropped: 'flask==3.0.0'") and "--qa-install" in r.getMessage()
        for r in caplog.records
    )
    assert settle_design(checked.value, named).value.required_packages == ["flask==3.0.0"]
    assert settle_design(checked.value, installing).value.required_packages == ["flask==3.0.0"]


def test_what_is_installed_here_is_known_by_module_or_distribution_name() -> None:
    assert importable_here("packaging>=20")  # devteam's own dependency
    assert importable_here("PyYAML==6.0.1")  # installs the module `yaml`
    assert not importable_here("devteam-no-such-package==1.0")
    assert named_in("a snake game in pygame", "pygame==2.5.2")
    assert named_in("a to-do app with python-dateutil", "python_dateutil")
    assert not named_in("a pygame-free snake", "pygame")
    assert not named_in("write a snake game", "pygame")
    # A format the idea converts is not the package of its name; the package named as a tool still is.
    assert not named_in("write a markdown to HTML converter", "markdown")
    assert not named_in("a tool that converts YAML into JSON", "yaml")
    assert not named_in("convert HTML to markdown", "markdown")
    assert named_in("a markdown to HTML converter using the markdown package", "markdown")
    assert named_in("port the blog to flask", "flask")  # no conversion of formats: the package
    assert named_in("a flask to-do app", "flask")


def test_the_standard_library_named_as_a_package_is_dropped() -> None:
    design = design_of(["main.py"], packages=["the standard library", "curses (standard library)", "random"])
    checked = check_design(design, DesignRules(idea=SNAKE, importable=never_installed))
    assert checked.value.required_packages == [] and checked.problems == []
    assert checked.repairs == ["repair_stdlib_requirement"]


# -- plan size -----------------------------------------------------------------------------------------------


def test_a_plan_larger_than_the_model_carries_is_sent_back_then_merged_into_one_file() -> None:
    design = design_of(["snake/board.py", "snake/game.py", "main.py", "tests/test_board.py"])
    rules = DesignRules(idea=SNAKE, max_files=2)

    checked = check_design(design, rules)
    assert checked.problems == [
        "file_list plans 3 files besides tests, but this model writes at most 2 well: merge files until at most "
        "2 are left, one of them the entry point."
    ]
    settled = settle_design(checked.value, rules)
    (only,) = settled.value.file_list
    assert only.path == "main.py" and only.depends_on == []
    assert "the snake/board.py part" in only.purpose and SNAKE in only.purpose
    # The old files are described, never offered as names to import: "no other files".
    assert "snake/board.py:" not in only.purpose and "There are no other files" in only.purpose
    assert settled.repairs == ["repair_plan_one_file"]


def test_a_one_file_model_gets_its_plan_merged_without_being_asked_again() -> None:
    # Every file problem of the 0.5B's snake plan (a package as a planned dependency, two files, no entry point)
    # is settled by the merge into main.py, so no call is spent re-planning.
    design = design_of(["game_logic.py", "graphics.py"], depends={"game_logic.py": ["pygame"]})
    checked = check_design(design, DesignRules(idea=SNAKE, max_files=1, importable=never_installed))
    assert checked.problems == []
    (only,) = checked.value.file_list
    assert only.path == "main.py" and only.depends_on == []
    assert "repair_plan_one_file" in checked.repairs


def test_a_one_file_model_still_hears_of_a_package_it_cannot_have() -> None:
    design = design_of(["snake.py", "main.py"], packages=["pygame==2.5.2"])
    checked = check_design(design, DesignRules(idea=SNAKE, max_files=1, importable=never_installed))
    assert any("pygame" in problem for problem in checked.problems)
    assert any("one file well" in problem for problem in checked.problems)


def test_tests_do_not_count_against_the_plan_size_and_no_limit_is_no_limit() -> None:
    design = design_of(["logic.py", "main.py", "tests/test_logic.py", "conftest.py"])
    assert check_design(design, DesignRules(idea=SNAKE, max_files=2)).problems == []
    assert "at most 1 well" not in " ".join(check_design(design, DesignRules(idea=SNAKE, max_files=1)).problems)
    big = design_of([f"part{index}.py" for index in range(30)] + ["main.py"])
    assert check_design(big, DesignRules(idea=SNAKE)).problems == []
    problems = check_design(big, DesignRules(idea=SNAKE, max_files=4)).problems
    assert problems == [
        "file_list plans 31 files besides tests, but this model writes at most 4 well: merge files until at most 4 "
        "are left, one of them the entry point."
    ]


# -- the PRD -------------------------------------------------------------------------------------------------


def test_a_prd_without_requirements_is_sent_back_then_gets_them_from_its_goals() -> None:
    prd = PRD.model_validate({**prd_answer(), "requirement_pool": [{"requirement": " ", "priority": "P0"}]})
    idea = "write a tic-tac-toe game"

    checked = check_prd(prd, idea=idea)
    assert checked.problems == [
        "requirement_pool is empty: list three to six requirements of the idea, each an object with `requirement` "
        "(one sentence) and `priority` (P0, P1 or P2)."
    ]
    settled = settle_prd(checked.value, idea=idea)
    pool = [(item.requirement, item.priority.value) for item in settled.value.requirement_pool]
    assert pool[:2] == [("Play tic-tac-toe in the terminal", "P0"), ("Have a simple computer opponent", "P1")]
    assert settled.repairs == ["repair_requirement_pool"]

    bare = prd.model_copy(update={"product_goals": [], "user_stories": []})
    settled = settle_prd(bare, idea=idea)
    assert [item.requirement for item in settled.value.requirement_pool] == [idea]


# -- through the pipeline ------------------------------------------------------------------------------------


def test_a_prd_with_no_requirements_is_not_committed_as_zero_requirements(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedCompany()
    empty = json.dumps({**prd_answer(), "requirement_pool": []})
    company.mangle["WritePRD"] = lambda text: empty
    openai_server.set_handler(company)

    outcome = run(config_for(openai_server), options_for(tmp_path))

    assert outcome.error is None, outcome.error
    assert company.calls.count("WritePRD") == 2  # sent back once; the second answer lists them
    last = [r.json["messages"][-1]["content"] for r in openai_server.chat_requests]
    assert any(text.startswith("Your answer is valid JSON") and "requirement_pool is empty" in text for text in last)
    prd = json.loads((outcome.repo_root / "docs" / "prd.json").read_text())
    assert prd["requirement_pool"] == [{"requirement": "Detect a win", "priority": "P0"}]
    assert outcome.ledger.reasks == 1


def test_a_model_with_max_files_1_is_asked_for_one_file_and_gets_it(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    # The scripted Architect plans six files whatever it is asked: merged into main.py, without a second call.
    main = ScriptedFile("main.py", "def main() -> None:\n    print('tic-tac-toe')\n\n\nmain()\n", [], "the game")
    company = ScriptedCompany()
    company.files["main.py"] = main
    openai_server.set_handler(company)
    config = config_for(openai_server)
    config.llm.max_files = 1

    outcome = run(config, options_for(tmp_path))

    assert outcome.error is None, outcome.error
    design_prompts = [r for r in openai_server.chat_requests if "## Action: WriteDesign" in str(r.json["messages"])]
    assert "Plan the whole program as ONE file, `main.py`" in design_prompts[0].json["messages"][-1]["content"]
    assert len(design_prompts) == 1
    design = json.loads((outcome.repo_root / "docs" / "system_design.json").read_text())
    assert [f["path"] for f in design["file_list"]] == ["main.py"]
    assert [call for call in company.calls if call not in ("WritePRD", "WriteDesign")] == ["main.py"]


@pytest.mark.parametrize(
    ("idea", "runnable"),
    [
        ("write a snake game for the terminal: the game logic in its own module, separate from the drawing", True),
        ("write a Python library that parses ISO dates", False),
        ("write a package of string helpers", False),
        ("write a command-line tool, packaged as a library too", True),
        *((idea.text, True) for idea in load_ideas(None)),
    ],
)
def test_an_idea_is_a_program_to_run_unless_it_asks_only_for_a_library(idea: str, runnable: bool) -> None:
    assert wants_runnable_program(idea) is runnable


def test_a_planned_requirements_file_or_readme_is_left_to_the_engineer() -> None:
    # The 0.5B planned requirements.txt for a todo list and wrote numpy, pandas and requests into it, past the
    # package checks; the Engineer writes both files from the design (and the README names QA's entry point).
    design = design_of(["requirements.txt", "main.py", "README.md"], depends={"main.py": ["requirements.txt"]})
    checked = check_design(design, DesignRules(idea=SNAKE))
    assert [planned.path for planned in checked.value.file_list] == ["main.py"]
    assert checked.value.file_list[0].depends_on == [] and checked.problems == []
    assert checked.repairs == ["repair_plan_project_file"]
