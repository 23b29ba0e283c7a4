"""A fix answered with another file (the 0.5B, asked to fix main.py after it wrote its tests, answered with the
tests: `from main import ...` as main.py) leaves the file as it was; it never becomes the program."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fakes import OpenAIServer, Text

from devteam.actions.fix_code import FixedFile, fix_code
from devteam.actions.persona import Persona
from devteam.artifacts.checks import code_problem
from devteam.artifacts.documents import PlannedFile, SystemDesign
from devteam.config.settings import Config
from devteam.llm.factory import build_llm
from devteam.llm.types import ChatMessage
from devteam.llm.usage import Ledger

MAIN = "def check_winner(board):\n    return None\n\n\nif __name__ == '__main__':\n    print(check_winner([]))\n"
TESTS_AS_MAIN = "from main import check_winner\n\n\ndef test_board():\n    assert check_winner([]) is None\n"


def test_a_file_that_imports_itself_is_not_that_file() -> None:
    assert code_problem("main.py", TESTS_AS_MAIN) == (
        "the file imports itself (`main`): it is another file's code, not `main.py`"
    )
    assert code_problem("game/board.py", "import game.board\n\nX = 1\n") is not None
    assert code_problem("main.py", MAIN) is None
    # A package's __main__ imports its own package's modules as a matter of course.
    assert code_problem("snake/__main__.py", "from snake.board import Board\n\nBoard()\n") is None


def _fix(server: OpenAIServer, thread: tuple[list[ChatMessage], set[str]] | None = None) -> FixedFile | None:
    design = SystemDesign(
        implementation_approach="Standard library only.",
        file_list=[PlannedFile(path="main.py", purpose="the game")],
        data_structures_and_interfaces="classDiagram",
        program_call_flow="sequenceDiagram",
    )
    config = Config.model_validate({"llm": {"api_type": "open_llm", "base_url": server.base_url, "model": "m"}})

    async def go() -> FixedFile | None:
        llm = build_llm(config.llm, ledger=Ledger())
        try:
            return await fix_code(
                llm,
                Persona("Engineer", "an engineer", "working code"),
                design=design,
                path="main.py",
                code=MAIN,
                failure="FAILED tests/test_main.py::test_board - assert None == 'X'",
                context={},
                repair=True,
                thread=thread,
            )
        finally:
            await llm.aclose()

    return asyncio.run(go())


def test_a_fix_answered_with_the_tests_leaves_the_file_as_it_was(caplog: pytest.LogCaptureFixture) -> None:
    with OpenAIServer() as server, caplog.at_level(logging.WARNING, logger="devteam"):
        server.enqueue(Text(f"```python\n{TESTS_AS_MAIN}```"))
        assert _fix(server) is None
    assert any("the answer is not a fix (the file imports itself" in r.getMessage() for r in caplog.records)


def test_a_real_fix_is_kept() -> None:
    fixed = MAIN.replace("return None", "return 'X' if board else None")
    with OpenAIServer() as server:
        server.enqueue(Text(f"```python\n{fixed}```"))
        result = _fix(server)
    assert result is not None and result.code == fixed


def test_a_continued_fix_that_repeats_the_file_is_asked_again_with_a_prompt_of_its_own() -> None:
    # The 0.5B, continuing the conversation that wrote main.py, wrote main.py again, byte for byte.
    fixed = MAIN.replace("return None", "return 'X' if board else None")
    thread = (
        [
            ChatMessage("system", "You write code."),
            ChatMessage("user", "## Action: WriteCode\nWrite the complete file `main.py`."),
            ChatMessage("assistant", f"```python\n{MAIN.rstrip()}\n```"),
        ],
        {"main.py"},
    )
    with OpenAIServer() as server:
        server.enqueue(Text(f"```python\n{MAIN}```"), Text(f"```python\n{fixed}```"))
        result = _fix(server, thread)
        first, second = (request.json["messages"] for request in server.chat_requests)
    assert result is not None and result.code == fixed
    assert len(first) == 4 and "Fix the file `main.py` you wrote above" in first[-1]["content"]
    assert [m["role"] for m in second] == ["system", "user"] and "## The file to fix: `main.py`" in second[1]["content"]
