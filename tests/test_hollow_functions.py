"""No hollow code: a function whose body is a comment, a docstring, `pass`, `...` or `raise NotImplementedError`
is found (in a file that need not compile), asked for on its own (FillFunction), spliced in and checked; a
compile error that remains is sent back with every error the file has, not the first."""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path

from fakes import OpenAIServer, Text
from fakes.base import RecordedRequest, Reply
from scripted_company import ScriptedCompany, ScriptedFile

from devteam.actions.fix_code import fix_code
from devteam.actions.persona import Persona
from devteam.artifacts.documents import PlannedFile, SystemDesign
from devteam.artifacts.hollow_code import hollow_functions, splice_body, syntax_errors
from devteam.config.settings import Config
from devteam.llm.factory import build_llm
from devteam.llm.usage import Ledger
from devteam.run.company import run_company
from devteam.run.options import RunOptions

# What a real Qwen2.5-Coder-1.5B wrote for a snake game: every method a comment, so nothing compiles.
HOLLOW_SNAKE = '''import random


class Snake:
    """The snake on the board."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.create_snake()

    def create_snake(self):
        # Create the initial snake body

    def move(self, direction: str) -> None:
        # Move the head one cell and drop the tail

    def grow(self): pass

    def head(self):
        """The first cell."""

    def collides(self) -> bool:
        raise NotImplementedError


def new_food(width, height):
    ...
'''
HOLLOW = ["Snake.create_snake", "Snake.move", "Snake.grow", "Snake.head", "Snake.collides", "new_food"]


def test_hollow_functions_are_found_in_a_file_that_does_not_compile() -> None:
    assert syntax_errors("snake.py", HOLLOW_SNAKE)
    assert [hollow.qualname for hollow in hollow_functions(HOLLOW_SNAKE)] == HOLLOW
    move = hollow_functions(HOLLOW_SNAKE)[1]
    assert move.signature == "def move(self, direction: str) -> None:"
    assert hollow_functions(HOLLOW_SNAKE)[3].docstring == "The first cell."


def test_bodies_meant_to_be_empty_and_defs_in_strings_are_not_hollow() -> None:
    source = (
        "import abc\nfrom typing import Protocol\n\n\nclass Shape(abc.ABC):\n    @abc.abstractmethod\n"
        "    def area(self) -> float:\n        ...\n\n\nclass Drawable(Protocol):\n    def draw(self) -> None: ...\n\n\n"
        'HELP = """\ndef example():\n    pass\n"""\n\n\ndef real() -> int:\n    return 1\n'
    )
    assert hollow_functions(source) == []


def test_every_syntax_error_is_reported_not_the_first() -> None:
    errors = syntax_errors("snake.py", HOLLOW_SNAKE)
    assert len(errors) == 2  # create_snake and move do not compile; the others are hollow but valid
    assert "line 12" in errors[0] and "line 15" in errors[1]
    assert syntax_errors("snake.py", "x = 1\n") == [] and syntax_errors("notes.md", "def (") == []


def test_a_whole_function_or_a_bare_body_is_spliced_in_with_its_imports() -> None:
    create = hollow_functions(HOLLOW_SNAKE)[0]
    spliced = splice_body(
        HOLLOW_SNAKE, create, "import math\n\ndef create_snake(self):\n    self.body = [(self.width // 2, 0)]\n"
    )
    assert spliced is not None
    assert "import random\nimport math\n" in spliced
    assert "    def create_snake(self):\n        self.body = [(self.width // 2, 0)]\n\n    def move" in spliced
    again = splice_body(spliced, hollow_functions(spliced)[0], "self.body.insert(0, direction)\nself.body.pop()")
    assert again is not None and "        self.body.insert(0, direction)\n        self.body.pop()\n" in again
    head = next(h for h in hollow_functions(again) if h.name == "head")
    kept = splice_body(again, head, "def head(self):\n    return self.body[0]")
    assert (
        kept is not None and '    def head(self):\n        """The first cell."""\n        return self.body[0]' in kept
    )
    assert splice_body(again, head, "def head(self):\n    pass") is None  # a placeholder is no body


# -- the pipeline ---------------------------------------------------------------------------------------------

FILL = re.compile(r"## Action: FillFunction\nWrite the body of `([^`]+)` in `([^`]+)`")
BODIES = {
    "Snake.create_snake": "```python\ndef create_snake(self):\n    self.body = [(self.width // 2, self.height // 2)]\n```",
    "Snake.move": (
        "```python\ndef move(self, direction: str) -> None:\n    dx, dy = DIRECTIONS[direction]\n"
        "    x, y = self.body[0]\n    self.body.insert(0, ((x + dx) % self.width, (y + dy) % self.height))\n"
        "    self.body.pop()\n```"
    ),
    "Snake.grow": "```python\ndef grow(self):\n    self.body.append(self.body[-1])\n```",
    "Snake.head": "```python\ndef head(self):\n    return self.body[0]\n```",
    "Snake.collides": "```python\ndef collides(self) -> bool:\n    return self.head() in self.body[1:]\n```",
    # This one comes back broken: it stays as it was (hollow), and the file still gets the rest.
    "new_food": "```python\ndef new_food(width, height):\n    return (random.randrange(width), random.randrange(height)\n```",
}


class HollowCompany(ScriptedCompany):
    """WriteCode answers a hollow snake.py; each FillFunction request gets the body of the function it names."""

    def __init__(self, files: list[ScriptedFile]) -> None:
        super().__init__(files, project_name="snake")
        self.fills: dict[str, str] = {}  # qualname -> the prompt that asked for it
        self.fill_requests: dict[str, list[dict[str, str]]] = {}  # qualname -> the whole conversation sent

    def design_text(self) -> str:
        design = json.loads(super().design_text())
        design["data_structures_and_interfaces"] = (
            "classDiagram\n    class Snake {\n        +list body\n        +move(direction) None\n        +grow()\n    }\n"
            "    class Game\n    Game --> Snake"
        )
        design["program_call_flow"] = "sequenceDiagram\n    Game->>Snake: move(direction)\n    Game->>Snake: grow()"
        return json.dumps(design)

    def __call__(self, request: RecordedRequest) -> Reply:
        # A fill continues the conversation that wrote the file: its own question is the last user message.
        last_user = next(m["content"] for m in reversed(request.json["messages"]) if m["role"] == "user")
        match = FILL.search(last_user)
        if match is None:
            return super().__call__(request)
        self.fills[match.group(1)] = last_user
        self.fill_requests[match.group(1)] = request.json["messages"]
        self.calls.append(f"fill:{match.group(1)}")
        return Text(BODIES[match.group(1)])


SNAKE_FILES = [
    ScriptedFile("config.py", "DIRECTIONS = {'up': (0, -1), 'down': (0, 1)}\nWIDTH = 20\n", [], "settings"),
    ScriptedFile(
        "snake.py",
        HOLLOW_SNAKE.replace("import random\n", "import random\n\nfrom config import DIRECTIONS\n"),
        ["config.py"],
        "the Snake: body, move(), grow()",
    ),
    ScriptedFile("main.py", "from snake import Snake\n\nSnake(20, 20)\n", ["snake.py"], "starts the program"),
]


def run_in_process(tmp_path: Path, company: ScriptedCompany) -> tuple[object, OpenAIServer]:
    server = OpenAIServer()
    server.start()
    server.set_handler(company)
    config = Config.model_validate(
        {"llm": {"api_type": "open_llm", "base_url": server.base_url, "model": "m", "timeout": 10, "num_retries": 0}}
    )
    options = RunOptions(idea="write a snake game", workspace=tmp_path, code_review=False)
    try:
        outcome = asyncio.run(run_company(config, options, progress_stream=io.StringIO()))
    finally:
        server.close()
    if outcome.run.repo is not None:
        outcome.run.repo.close()
    return outcome, server


def test_each_hollow_function_is_asked_for_alone_and_spliced_in(tmp_path: Path) -> None:
    company = HollowCompany(SNAKE_FILES)
    outcome, _server = run_in_process(tmp_path, company)

    assert outcome.error is None, outcome.error  # type: ignore[attr-defined]
    assert [call for call in company.calls if call.startswith("fill:")] == [f"fill:{name}" for name in HOLLOW]
    written = (tmp_path / "snake" / "snake.py").read_text()
    compile(written, "snake.py", "exec")
    assert [hollow.qualname for hollow in hollow_functions(written)] == ["new_food"]  # its answer did not parse
    assert "        dx, dy = DIRECTIONS[direction]" in written
    # The prompt made for one function: its signature, its class's attributes, the design lines naming it,
    # the file's outline and the interface of what it may import; not the other bodies, not the whole design.
    prompt = company.fills["Snake.move"]
    assert "def move(self, direction: str) -> None:\n    <its body>" in prompt
    assert "self.width, self.height" in prompt
    assert "Game->>Snake: move(direction)" in prompt and "+move(direction) None" in prompt
    assert "Game->>Snake: grow()" not in prompt
    assert "### `config.py`" not in prompt and "## `config.py` (it may import and call this)" in prompt
    assert "DIRECTIONS = {" in prompt
    record = tmp_path / "snake" / ".devteam"
    log_lines = (record / "run.log").read_text().splitlines()
    filled = [line for line in log_lines if "repair_function_followup:" in line]
    assert len(filled) == 5 and "snake.py Snake.move filled" in "\n".join(filled)
    assert any("snake.py new_food: the answer does not parse in place" in line for line in log_lines)
    summary = json.loads((record / "summary.json").read_text())
    assert summary["repairs"]["repair_function_followup"] == 5
    # Each fill continues the conversation that wrote the file, so a server's prefix cache serves all of it.
    writing = company.prompts["snake.py"]
    for messages in company.fill_requests.values():
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
        assert messages[1]["content"] == writing and messages[2]["content"].startswith("```python\n")


def test_a_compile_error_that_remains_is_sent_back_with_every_error(tmp_path: Path) -> None:
    broken = "def a():\n    return (1,\n\n\ndef b():\n    return 2 +\n\n\nx = [1, 2\n"
    company = ScriptedCompany([ScriptedFile("calc.py", broken, [], "calc")], project_name="calc")
    outcome, server = run_in_process(tmp_path, company)

    assert outcome.error is None  # type: ignore[attr-defined]
    fixes = [
        r.json["messages"][-1]["content"]
        for r in server.chat_requests
        if "does not compile" in r.json["messages"][-1]["content"]
    ]
    assert len(fixes) == 1
    assert len(re.findall(r"^- .*\(line \d+\)", fixes[0], re.M)) == 3, fixes[0]


def test_a_qa_fix_that_leaves_a_hollow_method_gets_it_filled() -> None:
    design = SystemDesign(
        implementation_approach="Standard library only.",
        file_list=[PlannedFile(path="snake.py", purpose="the Snake")],
        data_structures_and_interfaces="classDiagram\n    class Snake",
        program_call_flow="sequenceDiagram\n    Main->>Snake: grow()",
    )
    fixed = "class Snake:\n    def __init__(self):\n        self.body = [(0, 0)]\n\n    def grow(self):\n        pass\n"

    with OpenAIServer() as server:
        server.enqueue(
            Text(f"```python\n{fixed}```"), Text("```python\ndef grow(self):\n    self.body.append(self.body[-1])\n```")
        )
        config = Config.model_validate({"llm": {"api_type": "open_llm", "base_url": server.base_url, "model": "m"}})

        async def go() -> str | None:
            llm = build_llm(config.llm, ledger=Ledger())
            try:
                return await fix_code(
                    llm,
                    Persona("Engineer", "an engineer", "working code"),
                    design=design,
                    path="snake.py",
                    code="class Snake:\n    pass\n",
                    failure="AttributeError: 'Snake' object has no attribute 'grow'",
                    context={},
                    repair=True,
                )
            finally:
                await llm.aclose()

        result = asyncio.run(go())
    assert result is not None and "        self.body.append(self.body[-1])" in result.code
    assert hollow_functions(result.code) == []
    fill_prompt = server.chat_requests[1].json["messages"][-1]["content"]
    assert "Write the body of `Snake.grow` in `snake.py`" in fill_prompt and "Main->>Snake: grow()" in fill_prompt
