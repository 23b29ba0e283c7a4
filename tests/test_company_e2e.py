"""The main job end to end: `metagpt "idea"` as a subprocess against local protocol servers, then the repo."""

from __future__ import annotations

import py_compile
from pathlib import Path

import git
import pytest
from cli_runner import run_metagpt, write_config
from fakes import OllamaServer, OpenAIServer
from fakes.base import Error, RecordedRequest, Reply
from scripted_company import TICTACTOE_FILES, ScriptedCompany, ScriptedFile

IDEA = "write a tic-tac-toe game"
PLANNED = [f.path for f in TICTACTOE_FILES]


def _repo(root: Path) -> git.Repo:
    return git.Repo(root)


def _authors_and_messages(root: Path) -> list[tuple[str, str]]:
    with _repo(root) as repo:
        return [(c.author.name, c.summary) for c in reversed(list(repo.iter_commits()))]


def _assert_complete_project(root: Path) -> None:
    for path in PLANNED + [
        "docs/prd.md",
        "docs/prd.json",
        "docs/system_design.md",
        "docs/system_design.json",
        "docs/diagrams/data_structures.mmd",
        "docs/diagrams/program_call_flow.mmd",
        "README.md",
        "requirements.txt",
    ]:
        assert (root / path).is_file(), path
    for path in PLANNED:
        py_compile.compile(str(root / path), doraise=True)
    with _repo(root) as repo:
        assert not repo.is_dirty(untracked_files=True)
        assert repo.active_branch.name == "main"
    authors = [author for author, _ in _authors_and_messages(root)]
    assert authors[1:3] == ["ProductManager", "Architect"]
    assert set(authors[3:]) == {"Engineer"}


def test_openai_protocol_run_builds_a_committed_repo(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()
    openai_server.set_handler(company)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    result = run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path)

    assert result.code == 0, result.output
    root = tmp_path / "workspace" / "tictactoe"
    _assert_complete_project(root)
    messages = [message for _, message in _authors_and_messages(root)]
    assert messages[1].startswith("Add PRD") and messages[2].startswith("Add system design")
    # 5 files in 3 levels: __init__/board, then ai/test, then __main__ — one commit per level, then README.
    assert len([m for m in messages if m.startswith("Write ")]) == 3
    assert "git -C" in result.stdout and "log --oneline" in result.stdout
    assert "LLM:      7 calls" in result.stdout  # PRD, design, 5 files
    # Each WriteCode prompt carries only the files it depends on (the test file their code, the others their
    # interfaces), not every file written before it.
    main_prompt = company.prompts["tictactoe/__main__.py"]
    test_prompt = company.prompts["tests/test_board.py"]
    assert "### `tictactoe/ai.py`" in main_prompt and "def choose(board: Board) -> int:" in main_prompt
    # (The plan's paths are in every prompt, in the start a run's calls share; the files' code is not.)
    assert "### `tests/test_board.py`" not in main_prompt
    assert "return self.cells[a]" in test_prompt and "### `tictactoe/ai.py`" not in test_prompt
    requests = [r.json for r in openai_server.requests if r.path.endswith("/chat/completions")]
    assert requests[0]["response_format"]["type"] == "json_schema"


def test_ollama_protocol_run_with_code_review(tmp_path: Path, ollama_server: OllamaServer) -> None:
    company = ScriptedCompany()
    ollama_server.set_handler(company)
    write_config(tmp_path, {"api_type": "ollama", "base_url": ollama_server.url + "/api", "model": "test-model"})

    result = run_metagpt([IDEA], cwd=tmp_path)

    assert result.code == 0, result.output
    _assert_complete_project(tmp_path / "workspace" / "tictactoe")
    assert sum(1 for call in company.calls if call.startswith("review:")) == len(PLANNED)
    chat = [r.json for r in ollama_server.requests if r.path == "/api/chat"]
    assert chat[0]["messages"][0]["role"] == "system"
    assert isinstance(chat[0]["format"], dict)


def _think(text: str) -> str:
    return "<think>\nThe user wants JSON. Let me {plan} it.\n</think>\n" + text


def _metagpt_keys(text: str) -> str:
    return (
        text.replace('"original_requirements"', '"Original Requirements"')
        .replace('"product_goals"', '"Product Goals"')
        .replace('"anything_unclear"', '"Anything UNCLEAR"')
    )


def test_malformed_answers_at_every_stage_are_repaired(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()
    company.mangle["WritePRD"] = lambda text: _think(_metagpt_keys(text))
    company.mangle["WriteDesign"] = lambda text: "Here is the design:\n```json\n" + text.rstrip("}\n") + ",\n}\n```"
    company.mangle["tictactoe/ai.py"] = lambda text: _think(text)
    openai_server.set_handler(company)
    write_config(
        tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"}, repair_llm_output=True
    )

    result = run_metagpt([IDEA, "--no-code-review", "-v"], cwd=tmp_path)

    assert result.code == 0, result.output
    _assert_complete_project(tmp_path / "workspace" / "tictactoe")
    for marker in ("repair_strip_think", "repair_key_case", "repair_code_fence"):
        assert marker in result.stderr, marker
        assert marker in result.stdout  # counted in the summary


def test_syntax_error_is_sent_back_once(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()
    company.mangle["tictactoe/ai.py"] = lambda text: text.replace("def choose(", "def choose((")
    openai_server.set_handler(company)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    result = run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path)

    assert result.code == 0, result.output
    assert company.calls.count("tictactoe/ai.py") == 2
    assert "repair_syntax" in result.stdout
    fix_request = [
        r.json for r in openai_server.requests if r.json and "does not compile" in r.json["messages"][-1]["content"]
    ]
    assert len(fix_request) == 1
    _assert_complete_project(tmp_path / "workspace" / "tictactoe")


def test_hostile_file_plan_writes_nothing_outside(tmp_path: Path, openai_server: OpenAIServer) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    hostile = [
        ScriptedFile("../escape.py", "print('escaped')\n"),
        ScriptedFile(str(outside / "absolute.py"), "print('absolute')\n"),
        ScriptedFile(".git/hooks/post-commit", "#!/bin/sh\necho pwned\n"),
    ]
    company = ScriptedCompany(TICTACTOE_FILES + hostile)
    openai_server.set_handler(company)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    result = run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path)

    assert result.code == 0, result.output
    root = tmp_path / "workspace" / "tictactoe"
    _assert_complete_project(root)
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "workspace" / "escape.py").exists()
    assert not (root / ".git" / "hooks" / "post-commit").exists()
    assert "3 refused" in result.stdout


def test_server_dying_mid_run_keeps_commits_and_resume_finishes(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()

    def dies_at_main(request: RecordedRequest) -> Reply:
        if "Write the complete file `tictactoe/__main__.py`" in str(request.json):
            return Error(500, message="model worker crashed")
        return company(request)

    openai_server.set_handler(dies_at_main)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    first = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path)

    assert first.code == 1, first.output
    assert "--resume" in first.stderr and "500" in first.stderr
    root = tmp_path / "workspace" / "ttt"
    committed = [message for _, message in _authors_and_messages(root)]
    assert any(m.startswith("Add system design") for m in committed)
    assert not (root / "tictactoe" / "__main__.py").exists()

    company.calls.clear()
    openai_server.set_handler(company)
    second = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt", "--resume"], cwd=tmp_path)

    assert second.code == 0, second.output
    assert company.calls == ["tictactoe/__main__.py"]  # no PRD, no design, no file written twice
    _assert_complete_project(root)


def test_budget_stops_before_the_call_that_would_exceed_it(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()
    openai_server.set_handler(company)
    write_config(
        tmp_path,
        {
            "api_type": "openai",
            "base_url": openai_server.base_url,
            "model": "m",
            "api_key": "sk-test",
            "pricing": {"prompt": 1000.0, "completion": 1000.0},
        },
    )

    result = run_metagpt([IDEA, "--no-code-review", "--investment", "1.0"], cwd=tmp_path)

    assert result.code == 1
    assert "budget" in result.stderr.lower()
    assert "Traceback" not in result.output
    assert len(company.calls) < 7


def test_second_run_with_the_same_name_loses_nothing(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    assert run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path).code == 0
    root = tmp_path / "workspace" / "tictactoe"
    before = _authors_and_messages(root)

    named = run_metagpt([IDEA, "--no-code-review", "--project-name", "tictactoe"], cwd=tmp_path)
    assert named.code == 2
    assert "--resume" in named.stderr and "Traceback" not in named.output

    derived = run_metagpt([IDEA, "--no-code-review"], cwd=tmp_path)
    assert derived.code == 0, derived.output
    assert _authors_and_messages(root) == before
    _assert_complete_project(tmp_path / "workspace" / "tictactoe_2")


@pytest.mark.parametrize("args", [["--max-concurrency", "0"], ["--resume"]])
def test_usage_errors_exit_2(tmp_path: Path, openai_server: OpenAIServer, args: list[str]) -> None:
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    result = run_metagpt([IDEA, *args], cwd=tmp_path)
    assert result.code == 2, result.output
    assert "Traceback" not in result.output


def test_inc_builds_on_an_existing_project_with_new_commits(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    assert run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path).code == 0
    root = tmp_path / "workspace" / "ttt"
    before = _authors_and_messages(root)
    seen = len(openai_server.chat_requests)
    company = ScriptedCompany()
    company.mangle["WritePRD"] = lambda text: text.replace("write a tic-tac-toe game", "add a score board")
    openai_server.set_handler(company)

    result = run_metagpt(["add a score board", "--no-code-review", "--project-name", "ttt", "--inc"], cwd=tmp_path)

    assert result.code == 0, result.output
    after = _authors_and_messages(root)
    assert after[: len(before)] == before  # history kept, new commits on top
    assert len(after) > len(before)
    prd_prompt = openai_server.chat_requests[seen].json["messages"][-1]["content"]
    assert "add a score board" in prd_prompt and "The existing product" in prd_prompt
    design_prompt = openai_server.chat_requests[seen + 1].json["messages"][-1]["content"]
    assert "The existing design" in design_prompt
