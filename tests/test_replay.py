"""Replay: every call answered from a record by (role, action, subject); a call the record lacks is a clean error."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer
from provider_builder import make_provider
from scripted_company import TICTACTOE_FILES, ScriptedCompany

from devteam.core.errors import ConfigError, ReplayMismatchError
from devteam.llm.providers.replay import ReplayProvider
from devteam.llm.types import ChatMessage, ChatRequest

IDEA = "write a tic-tac-toe game"
RECORD = Path(".devteam") / "exchanges.jsonl"


def _line(role: str, action: str, answer: str, subject: str = "", **extra: Any) -> str:
    return json.dumps({"role": role, "action": action, "subject": subject, "answer": answer, **extra})


def _request(role: str, action: str, subject: str = "") -> ChatRequest:
    return ChatRequest(messages=[ChatMessage("user", "hi")], role=role, action=action, subject=subject)


def _complete(provider: ReplayProvider, request: ChatRequest) -> str:
    return asyncio.run(provider.complete(request)).text


@pytest.fixture
def record(tmp_path: Path) -> Path:
    path = tmp_path / "exchanges.jsonl"
    path.write_text(
        "\n".join(
            [
                _line(
                    "Engineer",
                    "WriteCode",
                    "b first",
                    "b.py",
                    model="m1",
                    prompt_tokens=10,
                    completion_tokens=3,
                    finish_reason="stop",
                ),
                _line("Engineer", "WriteCode", "a", "a.py"),
                _line("Engineer", "WriteCode", "b second", "b.py"),
                "",
                _line("ProductManager", "WritePRD", "{}"),
            ]
        )
        + "\n"
    )
    return path


# -- the provider ------------------------------------------------------------------------------------------


def test_answers_come_by_key_in_recorded_order_whatever_order_they_are_asked_in(record: Path) -> None:
    provider = ReplayProvider(record=record)
    assert _complete(provider, _request("Engineer", "WriteCode", "a.py")) == "a"
    first = asyncio.run(provider.complete(_request("Engineer", "WriteCode", "b.py")))
    assert (first.text, first.model, first.finish_reason) == ("b first", "m1", "stop")
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (10, 3)
    assert _complete(provider, _request("Engineer", "WriteCode", "b.py")) == "b second"
    assert _complete(provider, _request("ProductManager", "WritePRD")) == "{}"
    assert provider.remaining() == {}


def test_capabilities_are_all_off_and_the_model_comes_from_the_record(record: Path) -> None:
    provider = ReplayProvider(record=record)
    assert not any(vars(provider.capabilities).values())
    assert provider.model == "m1"
    assert asyncio.run(provider.list_models()) == ["m1"]


def test_a_call_the_record_lacks_names_the_call_and_what_is_left(record: Path) -> None:
    provider = ReplayProvider(record=record)
    with pytest.raises(ReplayMismatchError) as missing:
        _complete(provider, _request("Engineer", "WriteCode", "c.py"))
    message = str(missing.value)
    assert "Engineer WriteCode c.py" in message and "holds no answer" in message
    assert "Engineer WriteCode b.py (x2)" in message and "ProductManager WritePRD" in message
    assert str(record) in message


def test_an_exhausted_key_says_its_answers_were_used(record: Path) -> None:
    provider = ReplayProvider(record=record)
    _complete(provider, _request("Engineer", "WriteCode", "a.py"))
    with pytest.raises(ReplayMismatchError, match=r"Engineer WriteCode a\.py .*held 1 answer\(s\)"):
        _complete(provider, _request("Engineer", "WriteCode", "a.py"))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("", "holds no exchanges"),
        ("{not json\n", "line 1"),
        ("[1, 2]\n", "not a JSON object"),
        ('{"role": "Engineer"}\n', "lacks action, answer"),
    ],
)
def test_an_unusable_record_is_a_config_error_naming_the_file(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "record.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=expected) as error:
        ReplayProvider(record=path)
    assert str(path) in str(error.value)


def test_registry_builds_replay_from_replay_file_and_needs_one(record: Path) -> None:
    options: dict[str, Any] = dict(
        api_type="replay",
        model="",
        base_url=None,
        api_key=None,
        timeout=5.0,
        stream=False,
        context_length=None,
        temperature=0.0,
        max_tokens=None,
        seed=None,
    )
    provider = make_provider("replay", **options, replay_file=str(record))
    assert isinstance(provider, ReplayProvider)
    with pytest.raises(ConfigError, match="replay_file"):
        make_provider("replay", **options, replay_file=None)


# -- through the CLI ---------------------------------------------------------------------------------------


def _code_files(root: Path) -> dict[str, str]:
    return {f.path: (root / f.path).read_text() for f in TICTACTOE_FILES}


def _record_a_run(tmp_path: Path, server: OpenAIServer) -> Path:
    server.set_handler(ScriptedCompany())
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})
    result = run_metagpt([IDEA], cwd=tmp_path)
    assert result.code == 0, result.output
    return tmp_path / "workspace" / "tictactoe"


def test_replaying_a_runs_own_record_rebuilds_the_same_files_without_the_network(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    original = _record_a_run(tmp_path, openai_server)
    requests_before = len(openai_server.requests)

    replay = run_metagpt([IDEA, "--replay", str(original / RECORD)], cwd=tmp_path)

    assert replay.code == 0, replay.output
    assert len(openai_server.requests) == requests_before  # not one HTTP request
    rebuilt = tmp_path / "workspace" / "tictactoe_2"
    assert _code_files(rebuilt) == _code_files(original)
    for doc in ("docs/prd.json", "docs/system_design.json", "README.md"):
        assert (rebuilt / doc).read_text() == (original / doc).read_text(), doc
    assert "LLM:      12 calls" in replay.stdout  # PRD, design, 5 WriteCode and 5 ReviewCode
    # The replayed run is recorded too, with the recorded answers and models.
    replayed = [json.loads(line) for line in (rebuilt / RECORD).read_text().splitlines()]
    recorded = [json.loads(line) for line in (original / RECORD).read_text().splitlines()]
    assert sorted(e["answer"] for e in replayed) == sorted(e["answer"] for e in recorded)
    assert {e["provider"] for e in replayed} == {"replay"} and {e["model"] for e in replayed} == {"m"}


def test_api_type_replay_in_the_config_works_like_the_flag(tmp_path: Path, openai_server: OpenAIServer) -> None:
    original = _record_a_run(tmp_path, openai_server)
    requests_before = len(openai_server.requests)
    write_config(tmp_path, {"api_type": "replay", "replay_file": str(original / RECORD)})

    replay = run_metagpt([IDEA, "--project-name", "again"], cwd=tmp_path)

    assert replay.code == 0, replay.output
    assert len(openai_server.requests) == requests_before
    assert _code_files(tmp_path / "workspace" / "again") == _code_files(original)


def test_a_record_missing_one_write_code_is_a_clean_one_paragraph_error(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    original = _record_a_run(tmp_path, openai_server)
    lines = (original / RECORD).read_text().splitlines()
    kept = [
        line
        for line in lines
        if not (json.loads(line)["action"] == "WriteCode" and json.loads(line)["subject"] == "tictactoe/ai.py")
    ]
    assert len(kept) == len(lines) - 1
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(kept) + "\n")

    replay = run_metagpt([IDEA, "--replay", str(broken)], cwd=tmp_path)

    assert replay.code == 1, replay.output
    assert "Traceback" not in replay.output
    paragraph = [line for line in replay.stderr.splitlines() if line.startswith("metagpt:")]
    assert len(paragraph) == 1
    assert "does not match the record" in paragraph[0]
    assert "Engineer WriteCode tictactoe/ai.py" in paragraph[0] and str(broken) in paragraph[0]


def test_a_missing_record_file_is_a_config_error_exit_2(tmp_path: Path) -> None:
    result = run_metagpt([IDEA, "--replay", "nowhere.jsonl"], cwd=tmp_path)
    assert result.code == 2, result.output
    assert "nowhere.jsonl" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "workspace").exists() or not any((tmp_path / "workspace").iterdir())
