"""What a WriteCode/ReviewCode prompt carries, and fitting it to the model's window: interfaces from the AST,
the design slice that names a file, the choice among candidates against servers with small windows."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fakes import OllamaServer, OpenAIServer, Text
from fakes.openai_server import fake_tokens
from scripted_company import ScriptedCompany, ScriptedFile

from devteam.actions.code_context import code_contexts, fit_prompt
from devteam.artifacts.code_interface import python_interface
from devteam.artifacts.design_slice import call_flow_slice, class_diagram_slice, design_slice
from devteam.artifacts.documents import PlannedFile, SystemDesign
from devteam.artifacts.file_plan import build_levels
from devteam.config.settings import Config
from devteam.core.errors import ContextWindowError
from devteam.llm.client import LLM
from devteam.llm.factory import build_llm
from devteam.llm.types import ChatMessage, ChatRequest
from devteam.llm.usage import Ledger
from devteam.run.company import run_company
from devteam.run.options import RunOptions

T = TypeVar("T")

ENGINE = '''"""The game engine."""
from dataclasses import dataclass

SPEED = 3


@dataclass
class Point:
    """A cell of the board."""
    x: int
    y: int = 0


class Engine:
    """Moves the snake."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.snake: list[Point] = [Point(1, 1)]
        self._ticks = 0

    def step(self, direction: str) -> bool:
        """Advance one tick; False when the snake hits itself."""
        head = self.snake[0]
        moved = Point((head.x + 1) % self.width, head.y)
        if moved in self.snake:
            return False
        self.snake.insert(0, moved)
        self.snake.pop()
        self._ticks += 1
        return True

    def _grow(self) -> None:
        self.snake.append(self.snake[-1])


def new_game(width: int = 10) -> Engine:
    return Engine(width)
'''


def test_interface_keeps_the_contract_and_drops_the_bodies() -> None:
    interface = python_interface(ENGINE)
    assert interface is not None
    for kept in (
        '"""The game engine."""',
        "SPEED = 3",
        "@dataclass",
        "class Point:",
        "    x: int",
        "    y: int = 0",
        "class Engine:",
        '"""Moves the snake."""',
        "def __init__(self, width: int) -> None:",
        "self.snake: list[Point] = [Point(1, 1)]",
        "def step(self, direction: str) -> bool:",
        '"""Advance one tick; False when the snake hits itself."""',
        "def new_game(width: int=10) -> Engine:",
    ):
        assert kept in interface, kept
    for dropped in ("moved in self.snake", "_grow", "_ticks", "import"):
        assert dropped not in interface, dropped
    compile(interface, "interface.py", "exec")  # still Python: models read it like code
    assert len(interface) < len(ENGINE) * 0.7


def test_interface_of_code_that_does_not_parse_is_none() -> None:
    assert python_interface("def broken(:\n") is None
    assert python_interface("") == ""


DIAGRAM = """classDiagram
    class Game {
        +Engine engine
        +run() None
    }
    class Engine {
        +step(direction) bool
    }
    class Renderer {
        +draw(engine) None
    }
    Game --> Engine
    Renderer ..> Engine
    Game --> Renderer"""

FLOW = """sequenceDiagram
    participant Main
    participant Game
    participant Renderer
    Main->>Game: run()
    loop every tick
        Game->>Engine: step(direction)
        alt crashed
            Game->>Renderer: draw_game_over()
        end
    end
    Renderer->>Renderer: flush()"""


def design(*files: PlannedFile) -> SystemDesign:
    return SystemDesign(
        implementation_approach="Standard library only.",
        file_list=list(files),
        data_structures_and_interfaces=DIAGRAM,
        program_call_flow=FLOW,
    )


def test_class_diagram_slice_keeps_the_files_own_classes_and_their_relations() -> None:
    sliced = class_diagram_slice(DIAGRAM, {"Renderer"})
    assert sliced.splitlines()[0] == "classDiagram"
    assert "class Renderer {" in sliced and "+draw(engine) None" in sliced
    assert "Renderer ..> Engine" in sliced and "Game --> Renderer" in sliced
    assert "class Game {" not in sliced and "+step(direction) bool" not in sliced and "Game --> Engine" not in sliced
    assert class_diagram_slice(DIAGRAM, {"nothing"}) == ""


def test_call_flow_slice_keeps_messages_and_the_blocks_around_them() -> None:
    sliced = call_flow_slice(FLOW, {"Renderer"}).splitlines()
    assert sliced == [
        "sequenceDiagram",
        "    participant Renderer",
        "    loop every tick",
        "        alt crashed",
        "            Game->>Renderer: draw_game_over()",
        "        end",
        "    end",
        "    Renderer->>Renderer: flush()",
    ]
    assert "Main->>Game" not in "\n".join(call_flow_slice(FLOW, {"Engine"}))


def test_design_slice_names_neighbours_not_the_whole_plan() -> None:
    files = [
        PlannedFile(path="snake/engine.py", purpose="Engine: step()"),
        PlannedFile(path="snake/render.py", purpose="The Renderer", depends_on=["snake/engine.py"]),
        PlannedFile(path="snake/game.py", purpose="Game loop", depends_on=["snake/engine.py", "snake/render.py"]),
        PlannedFile(path="snake/config.py", purpose="settings"),
        PlannedFile(path="tests/test_engine.py", purpose="tests", depends_on=["snake/engine.py"]),
    ]
    plan = build_levels(files)
    sliced = design_slice(design(*files), files[1], dependencies=plan.dependencies)
    assert [f.path for f in sliced.used_by] == ["snake/game.py"]
    assert [f.path for f in sliced.siblings] == ["snake/config.py"]  # same folder; its dependency is shown as code
    assert "class Renderer {" in sliced.class_diagram and "class Game {" not in sliced.class_diagram


def test_candidates_start_at_interfaces_except_for_tests() -> None:
    files = [
        PlannedFile(path="snake/engine.py", purpose="Engine"),
        PlannedFile(path="snake/game.py", purpose="Game", depends_on=["snake/engine.py"]),
        PlannedFile(path="tests/test_engine.py", purpose="tests", depends_on=["snake/engine.py"]),
    ]
    plan, sources = build_levels(files), {"snake/engine.py": ENGINE}
    game = code_contexts(design(*files), files[1], sources, plan.dependencies)
    tests = code_contexts(design(*files), files[2], sources, plan.dependencies)
    assert [c.level for c in game] == ["interfaces", "trimmed", "minimal"]
    assert game[0].dependencies["snake/engine.py"] == python_interface(ENGINE)
    assert [c.level for c in tests] == ["code", "interfaces", "trimmed", "minimal"]
    assert tests[0].dependencies["snake/engine.py"] == ENGINE
    assert game[-1].design.call_flow == "" and game[-1].design.class_diagram == "" and not game[-1].overview


# -- fitting against servers that report small windows ------------------------------------------------------


def llm_for(server: OpenAIServer | OllamaServer, **overrides: Any) -> LLM:
    if isinstance(server, OllamaServer):
        block = {"api_type": "ollama", "base_url": server.url, "model": "test-model"}
    else:
        block = {"api_type": "open_llm", "base_url": server.base_url, "model": "test-model", "stream": False}
    config = Config.model_validate({"llm": {**block, "timeout": 5, "num_retries": 0, **overrides}})
    return build_llm(config.llm, ledger=Ledger())


def with_llm(llm: LLM, body: Callable[[LLM], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            return await body(llm)
        finally:
            await llm.aclose()

    return asyncio.run(go())


def padded(level: str, size: int) -> list[ChatMessage]:
    return [ChatMessage("user", f"{level}\n" + "x" * size)]


def contexts_of_sizes() -> tuple[list[Any], Callable[[Any], list[ChatMessage]]]:
    """Four candidates whose prompts are 3000, 1500, 900 and 600 characters (1000/500/300/200 fake tokens)."""
    files = [PlannedFile(path="a.py", purpose=""), PlannedFile(path="tests/test_a.py", purpose="", depends_on=["a.py"])]
    contexts = code_contexts(design(*files), files[1], {"a.py": ENGINE}, build_levels(files).dependencies)
    sizes = {"code": 3000, "interfaces": 1500, "trimmed": 900, "minimal": 600}
    return contexts, lambda context: padded(context.level, sizes[context.level] - len(context.level) - 1)


def test_the_richest_prompt_that_leaves_room_is_chosen_and_max_tokens_is_the_rest() -> None:
    contexts, render = contexts_of_sizes()
    with OpenAIServer(n_ctx=1000, tokenize=True) as server:
        fitted = with_llm(llm_for(server, max_token=2000), lambda llm: fit_prompt(llm, contexts, render, describe="x"))
    assert fitted.context.level == "trimmed"  # code (1008) and interfaces (508) leave < 512 tokens of 1000
    assert fitted.prompt_tokens is not None and fitted.prompt_tokens.exact
    assert fitted.prompt_tokens.n == 300 + 8  # the server's count, plus the message's template tokens
    assert fitted.max_tokens == 1000 - 308


def test_configured_max_token_caps_what_remains() -> None:
    contexts, render = contexts_of_sizes()
    with OpenAIServer(max_model_len=100_000) as server:  # vLLM-style window; no tokenizer: a safe estimate
        fitted = with_llm(llm_for(server, max_token=700), lambda llm: fit_prompt(llm, contexts, render, describe="x"))
    assert fitted.context.level == "code" and fitted.max_tokens == 700
    assert fitted.prompt_tokens is not None and not fitted.prompt_tokens.exact
    assert fitted.prompt_tokens.n == 1000 + 8  # 750 estimated x 4/3, plus template tokens


def test_a_window_too_small_for_the_leanest_prompt_stops_before_sending() -> None:
    contexts, render = contexts_of_sizes()
    with OpenAIServer(n_ctx=600, tokenize=True) as server:
        with pytest.raises(ContextWindowError, match=r"window of 600 tokens.*minimal 208.*--ctx-size"):
            with_llm(llm_for(server), lambda llm: fit_prompt(llm, contexts, render, describe="WriteCode a.py"))
    assert server.chat_requests == []


def test_unknown_window_sends_the_preferred_prompt_with_the_configured_budget() -> None:
    contexts, render = contexts_of_sizes()
    with OpenAIServer() as server:
        fitted = with_llm(llm_for(server), lambda llm: fit_prompt(llm, contexts, render, describe="x"))
    assert fitted.context.level == "code" and fitted.max_tokens is None and fitted.window is None


def test_every_request_gets_max_tokens_lowered_to_the_window_and_oversized_prompts_are_refused() -> None:
    async def body(llm: LLM) -> None:
        await llm.complete(ChatRequest(messages=padded("small", 1200)))  # 1206 characters: 402 tokens, + 8
        with pytest.raises(ContextWindowError, match="window 1000"):
            await llm.complete(ChatRequest(messages=padded("large", 2700), role="Architect", action="WriteDesign"))

    with OpenAIServer(n_ctx=1000, tokenize=True) as server:
        server.enqueue(Text("ok"))
        with_llm(llm_for(server, max_token=4096), body)
    (sent,) = server.chat_requests
    assert sent.json["max_tokens"] == 1000 - 410


def test_ollama_window_from_show_with_estimated_counts() -> None:
    contexts, render = contexts_of_sizes()
    with OllamaServer(context_length=1500) as server:
        fitted = with_llm(llm_for(server, max_token=4096), lambda llm: fit_prompt(llm, contexts, render, describe="x"))
    # Estimates: code 750 -> 1008, interfaces 375 -> 508 tokens; only the latter leaves 512 of 1500.
    assert fitted.context.level == "interfaces" and fitted.max_tokens == 1500 - 508


# -- a whole run against a server with a small window -----------------------------------------------------------


def big_module(count: int) -> str:
    functions = "".join(
        f"def rule_{i}(board: list[int], move: int) -> bool:\n"
        f'    """Whether rule {i} allows the move."""\n'
        f"    total = sum(board) + move * {i}\n"
        f"    return total % {i + 2} != 0 and move not in board[:{i}]\n\n\n"
        for i in range(count)
    )
    return f'"""Rules."""\n\n\n{functions}'


def test_a_run_against_a_small_window_fits_every_prompt(tmp_path: Path) -> None:
    rules = big_module(24)
    files = [
        ScriptedFile("game/rules.py", rules, [], "rule_0() ... rule_23(): the game's rules"),
        ScriptedFile(
            "game/__main__.py",
            "from game.rules import rule_0\n\nprint(rule_0([], 1))\n",
            ["game/rules.py"],
            "entry point",
        ),
        ScriptedFile(
            "tests/test_rules.py",
            "from game.rules import rule_1\n\n\ndef test_rule() -> None:\n    assert rule_1([], 1)\n",
            ["game/rules.py"],
            "tests of the rules",
        ),
    ]
    company = ScriptedCompany(files, project_name="game")
    window = 2200
    with OpenAIServer(n_ctx=window, tokenize=True) as server:
        server.set_handler(company)
        config = Config.model_validate(
            {
                "llm": {
                    "api_type": "open_llm",
                    "base_url": server.base_url,
                    "model": "m",
                    "max_token": 1024,
                    "timeout": 10,
                    "num_retries": 0,
                }
            }
        )
        options = RunOptions(idea="write a tic-tac-toe game", workspace=tmp_path, code_review=True)
        outcome = asyncio.run(run_company(config, options, progress_stream=io.StringIO()))
        if outcome.run.repo is not None:
            outcome.run.repo.close()
    assert outcome.error is None, outcome.error
    assert (tmp_path / "game" / "tests" / "test_rules.py").read_text() == files[2].code
    for request in server.chat_requests:
        prompt = len(fake_tokens("\n".join(m["content"] for m in request.json["messages"])))
        assert prompt + request.json["max_tokens"] <= window
    test_prompt = company.prompts["tests/test_rules.py"]
    assert "def rule_11(board: list[int], move: int) -> bool:" in test_prompt
    assert "return total %" not in test_prompt  # its code did not fit: the interface was sent instead
    assert "review:game/rules.py" not in company.calls  # the review of a file this big cannot fit: skipped
    assert "review:game/__main__.py" in company.calls
