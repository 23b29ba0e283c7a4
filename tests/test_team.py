"""The team through `run_company`, against a real local OpenAI server answering a whole scripted run.

A role written by a user joins without touching the core; a role can have its own model; the Engineer
writes the files of one level at the same time (checked by counting requests in flight, not by timing).
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
from pathlib import Path
from typing import Any, Literal

import git
from fakes import OpenAIServer, RecordedRequest, Reply, Text, asked
from pydantic import BaseModel, ConfigDict
from scripted_company import TICTACTOE_FILES, ScriptedCompany, ScriptedFile

from devteam.config.settings import Config
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.roles.base import Message, Role, RunContext
from devteam.roles.messages import CodeWritten
from devteam.run.company import run_company
from devteam.run.options import RunOptions, RunOutcome
from devteam.structured.ask import ask_structured

IDEA = "write a tic-tac-toe game"


def config_for(server: OpenAIServer, *, model: str = "base-model", **top: Any) -> Config:
    llm = {
        "api_type": "open_llm",
        "base_url": server.base_url,
        "model": model,
        "timeout": 10,
        "num_retries": 1,
        "retry_min_wait": 0.01,
        "retry_max_wait": 0.05,
    }
    return Config.model_validate({"llm": llm, **top})


def options_for(tmp_path: Path, **overrides: Any) -> RunOptions:
    settings: dict[str, Any] = {"idea": IDEA, "workspace": tmp_path / "workspace", "code_review": False, **overrides}
    return RunOptions(**settings)


def run(config: Config, options: RunOptions) -> RunOutcome:
    outcome = asyncio.run(run_company(config, options, progress_stream=io.StringIO()))
    if outcome.run.repo is not None:
        outcome.run.repo.close()
    return outcome


def first_user(request: RecordedRequest) -> str:
    return asked(request.json["messages"])


def action_of(request: RecordedRequest) -> str:
    return first_user(request).split("## Action: ", 1)[-1].split("\n", 1)[0]


def commits(root: Path) -> list[git.Commit]:
    with git.Repo(root) as repo:
        return list(repo.iter_commits("HEAD", reverse=True))


# -- a role added from outside the core ----------------------------------------------------------------------


class QAReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["pass", "fail"]
    notes: list[str]


class QAEngineer(Role):
    """What a user would write: watches the code, asks its own LLM, commits a report into the project."""

    name = "QAEngineer"
    profile = "a QA engineer"
    goal = "Check that the code does what the PRD asks."
    watches = frozenset({"code"})

    def __init__(self, llm: LLM) -> None:
        super().__init__(llm)
        self.received: list[Message] = []

    async def react(self, message: Message, run: RunContext) -> list[Message]:
        self.received.append(message)
        files = sorted(message.expect(CodeWritten).sources)
        prompt = "## Action: WriteQAReport\nCheck these files:\n" + "\n".join(files)
        answer = await ask_structured(
            self.llm,
            [self.persona.system_message(), ChatMessage("user", prompt)],
            QAReport,
            role=self.name,
            action="WriteQAReport",
            repair=run.repair,
        )
        report = answer.value
        repo = run.project("")
        lines = [
            f"# QA report: {report.verdict}",
            "",
            *(f"- {note}" for note in report.notes),
            "",
            "## Files",
            *(f"- {path}" for path in files),
        ]
        repo.write_text("QA_REPORT.md", "\n".join(lines))
        repo.commit("Add QA report", author=self.name, paths=["QA_REPORT.md"])
        return [Message("qa_report", report, self.name)]


def answering_qa(company: ScriptedCompany) -> Any:
    def handler(request: RecordedRequest) -> Reply:
        if action_of(request) == "WriteQAReport":
            return Text(json.dumps({"verdict": "pass", "notes": ["the board detects a row win"]}))
        return company(request)

    return handler


def test_a_user_defined_role_joins_the_team(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()
    openai_server.set_handler(answering_qa(company))
    config = config_for(openai_server)
    outcome = asyncio.run(
        run_company(config, options_for(tmp_path), progress_stream=io.StringIO(), extra_roles=[QAEngineer])
    )
    if outcome.run.repo is not None:
        outcome.run.repo.close()

    assert outcome.error is None, outcome.error
    (qa,) = [role for role in outcome.roles if isinstance(role, QAEngineer)]
    (received,) = qa.received
    assert (received.kind, received.sent_by) == ("code", "Engineer")
    sources = received.expect(CodeWritten).sources
    assert set(sources) == {f.path for f in TICTACTOE_FILES}
    assert sources["tictactoe/ai.py"] == TICTACTOE_FILES[2].code

    root = outcome.repo_root
    assert root is not None
    history = commits(root)
    authors = [c.author.name for c in history]
    (qa_commit,) = [c for c in history if c.author.name == "QAEngineer"]
    assert qa_commit.summary == "Add QA report"
    assert list(qa_commit.stats.files) == ["QA_REPORT.md"]
    # It reacted to the code, so it comes after every commit of the Engineer.
    last_engineer = max(i for i, author in enumerate(authors) if author == "Engineer")
    assert authors.index("QAEngineer") > last_engineer
    report = (root / "QA_REPORT.md").read_text()
    assert report.startswith("# QA report: pass") and "- tictactoe/board.py" in report
    # The user's role spends from the run's own ledger (so the budget and the record cover it).
    assert [call.action for call in outcome.ledger.calls if call.role == "QAEngineer"] == ["WriteQAReport"]


# -- per-role models -------------------------------------------------------------------------------------


def test_a_role_can_have_its_own_model(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()
    openai_server.set_handler(company)
    config = config_for(openai_server, roles=[{"role": "Architect", "llm": {"model": "big-model"}}])

    outcome = run(config, options_for(tmp_path))

    assert outcome.error is None, outcome.error
    models = [(action_of(r), r.json["model"]) for r in openai_server.chat_requests]
    assert ("WriteDesign", "big-model") in models
    assert {model for action, model in models if action == "WriteDesign"} == {"big-model"}
    others = {model for action, model in models if action != "WriteDesign"}
    assert others == {"base-model"}
    assert {action for action, _ in models} == {"WritePRD", "WriteDesign", "WriteCode"}
    assert sorted(llm.model for llm in outcome.llms) == ["base-model", "big-model"]


# -- concurrency -------------------------------------------------------------------------------------------


class InFlight:
    """Holds each WriteCode request until `expected` of them are in flight together (or `patience` runs out).

    With concurrent writing the peak is reached at once and nothing waits; written one after the other, each
    request would wait out the patience and the peak would stay at 1.
    """

    def __init__(self, company: ScriptedCompany, *, expected: int, patience: float = 5.0) -> None:
        self.company = company
        self.expected = expected
        self.patience = patience
        self.now = 0
        self.peak = 0
        self._changed = threading.Condition()

    def __call__(self, request: RecordedRequest) -> Reply:
        if action_of(request) != "WriteCode":
            return self.company(request)
        with self._changed:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.peak >= self.expected, timeout=self.patience)
        try:
            return self.company(request)
        finally:
            with self._changed:
                self.now -= 1


# Four files of one level; one of them is the entry point, which a runnable program's plan must have.
INDEPENDENT = [
    ScriptedFile(f"snake/{name}.py", f"{name.upper().strip('_')} = {i}\n")
    for i, name in enumerate(("a", "b", "c", "__main__"))
]


def test_files_of_one_level_are_written_concurrently(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany(INDEPENDENT, project_name="snake")
    in_flight = InFlight(company, expected=4)
    openai_server.set_handler(in_flight)

    outcome = run(config_for(openai_server), options_for(tmp_path, max_concurrency=4))

    assert outcome.error is None, outcome.error
    assert in_flight.peak == 4
    assert sorted(call for call in company.calls if call.endswith(".py")) == sorted(f.path for f in INDEPENDENT)
    root = outcome.repo_root
    assert root is not None
    level_commits = [c for c in commits(root) if c.summary.startswith("Write ")]
    assert len(level_commits) == 1  # one level, one commit holding all four files
    assert sorted(level_commits[0].stats.files) == sorted(f.path for f in INDEPENDENT)


def test_max_concurrency_caps_the_requests_in_flight(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany(INDEPENDENT, project_name="snake")
    in_flight = InFlight(company, expected=2)
    openai_server.set_handler(in_flight)

    outcome = run(config_for(openai_server), options_for(tmp_path, max_concurrency=2))

    assert outcome.error is None, outcome.error
    assert in_flight.peak == 2
    assert sum(1 for call in company.calls if call.endswith(".py")) == 4


def test_dependent_files_wait_for_their_level(tmp_path: Path, openai_server: OpenAIServer) -> None:
    """The tic-tac-toe plan has three levels: a file is never requested before what it depends on is written."""
    company = ScriptedCompany()
    openai_server.set_handler(company)

    outcome = run(config_for(openai_server), options_for(tmp_path))

    assert outcome.error is None, outcome.error
    order = [call for call in company.calls if call.endswith(".py")]
    position = {path: index for index, path in enumerate(order)}
    for planned in TICTACTOE_FILES:
        assert all(position[dep] < position[planned.path] for dep in planned.depends_on), planned.path
    root = outcome.repo_root
    assert root is not None
    assert len([c for c in commits(root) if c.summary.startswith("Write ")]) == 3
