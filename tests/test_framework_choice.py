"""The Architect proposes frameworks, then chooses one among them with choose_from_options; the design follows."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from fakes import OpenAIServer
from scripted_company import ScriptedCompany

from devteam.actions.choose_framework import FrameworkOption, distinct_options
from devteam.config.settings import Config
from devteam.run.company import run_company
from devteam.run.options import RunOptions, RunOutcome

CANDIDATES = [
    {"name": "curses", "why": "Standard library, made for terminals."},
    {"name": "pygame", "why": "Graphics and sound, one dependency."},
    {"name": "Curses ", "why": "the same one again"},
]


def run(server: OpenAIServer, company: ScriptedCompany, tmp_path: Path) -> tuple[RunOutcome, str]:
    server.set_handler(company)
    config = Config.model_validate(
        {"llm": {"api_type": "open_llm", "base_url": server.base_url, "model": "m", "num_retries": 0}}
    )
    progress = io.StringIO()
    options = RunOptions(idea="write a tic-tac-toe game", workspace=tmp_path / "workspace", code_review=False)
    outcome = asyncio.run(run_company(config, options, progress_stream=progress))
    if outcome.run.repo is not None:
        outcome.run.repo.close()
    return outcome, progress.getvalue()


def user_prompt(server: OpenAIServer, action: str) -> dict:
    return next(
        r.json for r in server.chat_requests if r.json["messages"][1]["content"].startswith(f"## Action: {action}")
    )


def test_the_architect_chooses_among_its_proposals_and_designs_for_the_choice(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedCompany()
    company.frameworks, company.framework_choice = CANDIDATES, "pygame"

    outcome, progress = run(openai_server, company, tmp_path)

    assert outcome.error is None, outcome.error
    assert company.calls[:4] == ["WritePRD", "ProposeFrameworks", "ChooseFramework", "WriteDesign"]
    choose = user_prompt(openai_server, "ChooseFramework")
    # The choice is constrained to the proposals (the duplicate dropped), as an enum the server enforces.
    enum = choose["response_format"]["json_schema"]["schema"]["properties"]["choice"]["enum"]
    assert enum == ["curses", "pygame"]
    assert "- pygame: Graphics and sound, one dependency." in choose["messages"][1]["content"]
    design = user_prompt(openai_server, "WriteDesign")["messages"][1]["content"]
    assert "Build it with pygame: Graphics and sound, one dependency." in design
    assert "Considered and not chosen: curses." in design
    assert "pygame (over curses)" in progress


def test_one_proposal_needs_no_choice(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()  # proposes the standard library only

    outcome, _ = run(openai_server, company, tmp_path)

    assert outcome.error is None, outcome.error
    assert "ChooseFramework" not in company.calls
    design = user_prompt(openai_server, "WriteDesign")["messages"][1]["content"]
    assert "Build it with the standard library" in design and "Considered and not chosen" not in design


def test_proposals_are_named_once_and_few() -> None:
    options = [FrameworkOption(name=name, why="") for name in ["a", " A", "", "b", "c", "d", "e"]]
    assert [option.name for option in distinct_options(options)] == ["a", "b", "c", "d"]
