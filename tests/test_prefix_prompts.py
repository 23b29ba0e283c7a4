"""Prompts ordered for the server's prefix cache: what a run's calls share comes first, byte for byte, and what
concerns one call comes last — so llama.cpp, vLLM, SGLang and OpenAI read the shared start once per run."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from fakes import OpenAIServer, RecordedRequest
from scripted_company import ScriptedCompany

from devteam.config.settings import Config
from devteam.run.company import run_company
from devteam.run.options import RunOptions


def _run(server: OpenAIServer, tmp_path: Path, *, review: bool = False) -> list[RecordedRequest]:
    company = ScriptedCompany()
    server.set_handler(company)
    llm = {"api_type": "open_llm", "base_url": server.base_url, "model": "m", "timeout": 10, "num_retries": 0}
    config = Config.model_validate({"llm": llm})
    options = RunOptions(idea="write a tic-tac-toe game", workspace=tmp_path / "ws", code_review=review)
    outcome = asyncio.run(run_company(config, options, progress_stream=io.StringIO()))
    if outcome.run.repo is not None:
        outcome.run.repo.close()
    assert outcome.error is None, outcome.error
    return server.chat_requests


def _messages(request: RecordedRequest) -> list[dict[str, str]]:
    return request.json["messages"]


def _of(requests: list[RecordedRequest], action: str) -> list[RecordedRequest]:
    return [r for r in requests if f"## Action: {action}\n" in _messages(r)[1]["content"]]


def _flat(request: RecordedRequest) -> str:
    return "".join(f"<{m['role']}>{m['content']}" for m in _messages(request))


def test_every_role_sends_the_same_system_prompt(openai_server: OpenAIServer, tmp_path: Path) -> None:
    requests = _run(openai_server, tmp_path)
    systems = {_messages(r)[0]["content"] for r in requests}
    assert len(systems) == 1, systems
    assert "Engineer" not in systems.pop()  # the role's voice comes later, after the shared context


def test_consecutive_write_code_prompts_share_their_start_byte_for_byte(
    openai_server: OpenAIServer, tmp_path: Path
) -> None:
    writes = _of(_run(openai_server, tmp_path), "WriteCode")
    assert len(writes) >= 3
    first = _flat(writes[0])
    shared = first.split("You are Engineer", 1)[0]
    for request in writes[1:]:
        # Everything before the role's voice is the run's: the idea, the design, the plan, the product.
        assert _flat(request).startswith(shared)
    assert "## The user's idea\nwrite a tic-tac-toe game" in shared and "## The file plan" in shared
    assert "## Action" not in shared
    # The shared start is most of a small file's prompt: what the server's cache serves from the second call on.
    assert len(shared) > 0.4 * min(len(_flat(r)) for r in writes)


def test_the_file_a_call_is_about_comes_after_the_shared_start(openai_server: OpenAIServer, tmp_path: Path) -> None:
    writes = _of(_run(openai_server, tmp_path), "WriteCode")
    for request in writes:
        user = _messages(request)[1]["content"]
        action = user.index("## Action: WriteCode\nWrite the complete file `")
        path = user[action:].split("`", 2)[1]
        # Before the action, the path appears only in the plan's list of paths (the same in every prompt).
        before = user[:action].replace(f"`{path}`", "")
        assert f"## Your task: `{path}`" not in before and path not in before.split("## The file plan", 1)[0]


def test_a_review_shares_the_writers_start(openai_server: OpenAIServer, tmp_path: Path) -> None:
    requests = _run(openai_server, tmp_path, review=True)
    write, review = _of(requests, "WriteCode")[0], _of(requests, "ReviewCode")[0]
    write_user, review_user = _messages(write)[1]["content"], _messages(review)[1]["content"]
    common = write_user[: next((i for i, (a, b) in enumerate(zip(write_user, review_user)) if a != b), 0)]
    # The idea, the design and the plan: the review reads them from the server's cache too.
    assert "## The file plan" in common and "## The user's idea" in common


def test_the_design_is_asked_as_the_turn_after_the_prd_answer_as_it_was_written(
    openai_server: OpenAIServer, tmp_path: Path
) -> None:
    requests = _run(openai_server, tmp_path)
    prd_request = next(r for r in requests if "## Action: WritePRD" in _messages(r)[-1]["content"])
    design_request = next(r for r in requests if "## Action: WriteDesign" in _messages(r)[-1]["content"])
    system, asked_prd, prd_answer, asked_design = _messages(design_request)
    # The PRD's request, then its answer byte for byte as the server sent it: what the server's cache holds.
    assert [system, asked_prd] == _messages(prd_request)
    assert prd_answer["role"] == "assistant" and prd_answer["content"] == ScriptedCompany().prd_text()
    # The PRD is not quoted again.
    assert (
        "## PRD" not in asked_design["content"] and "the product requirement document above" in asked_design["content"]
    )
