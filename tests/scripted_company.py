"""Scripted answers for a whole run: a handler for the fake servers that answers each action by its prompt.

Used by the end-to-end tests and by `bench/pipeline_bench.py`. The answers are written by hand; `mangle`
hooks let a test make any stage's answer malformed the way open models do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from fakes.base import RecordedRequest, Reply, Text, asked

_FILE = re.compile(r"## Action: (?:WriteCode|ReviewCode)\n(?:Write|Review) the (?:complete )?file `([^`]+)`")


@dataclass
class ScriptedFile:
    path: str
    code: str
    depends_on: list[str] = field(default_factory=list)
    purpose: str = "see the design"


TICTACTOE_FILES = [
    ScriptedFile("tictactoe/__init__.py", '"""Tic-tac-toe."""\n__version__ = "0.1.0"\n', [], "package marker"),
    ScriptedFile(
        "tictactoe/board.py",
        "class Board:\n"
        "    LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]\n\n"
        "    def __init__(self) -> None:\n        self.cells = [' '] * 9\n\n"
        "    def play(self, index: int, mark: str) -> None:\n"
        "        if self.cells[index] != ' ':\n            raise ValueError('taken')\n"
        "        self.cells[index] = mark\n\n"
        "    def winner(self) -> str | None:\n"
        "        for a, b, c in self.LINES:\n"
        "            if self.cells[a] != ' ' and self.cells[a] == self.cells[b] == self.cells[c]:\n"
        "                return self.cells[a]\n        return None\n\n"
        "    def free(self) -> list[int]:\n        return [i for i, cell in enumerate(self.cells) if cell == ' ']\n",
        [],
        "Board: cells, play(), winner(), free()",
    ),
    ScriptedFile(
        "tictactoe/ai.py",
        "from tictactoe.board import Board\n\n\ndef choose(board: Board) -> int:\n    return board.free()[0]\n",
        ["tictactoe/board.py"],
        "choose(board) picks a move",
    ),
    ScriptedFile(
        "tests/test_board.py",
        "from tictactoe.board import Board\n\n\ndef test_row_wins() -> None:\n    board = Board()\n"
        "    for index in (0, 1, 2):\n        board.play(index, 'X')\n    assert board.winner() == 'X'\n",
        ["tictactoe/board.py"],
        "tests of Board",
    ),
    ScriptedFile(
        "tictactoe/__main__.py",
        "from tictactoe.ai import choose\nfrom tictactoe.board import Board\n\n\ndef main() -> None:\n"
        "    board = Board()\n    board.play(choose(board), 'O')\n    print(board.cells)\n\n\n"
        "if __name__ == '__main__':\n    main()\n",
        ["tictactoe/board.py", "tictactoe/ai.py"],
        "entry point",
    ),
]


def prd_answer(project_name: str = "tictactoe") -> dict[str, object]:
    return {
        "language": "en_us",
        "programming_language": "Python",
        "original_requirements": "write a tic-tac-toe game",
        "project_name": project_name,
        "product_goals": ["Play tic-tac-toe in the terminal", "Have a simple computer opponent"],
        "user_stories": ["As a player, I want to place marks so that I can win"],
        "competitive_analysis": ["Paper and pencil: always at hand"],
        "competitive_quadrant_chart": "quadrantChart\n    title Reach and engagement\n    Ours: [0.4, 0.6]",
        "requirement_analysis": "A board, a win check and an opponent.",
        "requirement_pool": [{"requirement": "Detect a win", "priority": "P0"}],
        "ui_design_draft": "A 3x3 grid printed in the terminal.",
        "anything_unclear": "",
    }


def design_answer(files: list[ScriptedFile]) -> dict[str, object]:
    return {
        "implementation_approach": "Standard library only; the board is separate from the interface.",
        "file_list": [{"path": f.path, "purpose": f.purpose, "depends_on": f.depends_on} for f in files],
        "data_structures_and_interfaces": "classDiagram\n    class Board",
        "program_call_flow": "sequenceDiagram\n    Main->>Board: play",
        "required_packages": [],
        "anything_unclear": "",
    }


Mangle = Callable[[str], str]
_FIT_FILE = re.compile(r"## Action: FitImports\n`([^`]+)` cannot run as written")


class ScriptedCompany:
    """Answers WritePRD, WriteDesign, WriteCode (per file) and ReviewCode (LGTM) requests."""

    def __init__(self, files: list[ScriptedFile] | None = None, *, project_name: str = "tictactoe") -> None:
        self.files = {f.path: f for f in (files or TICTACTOE_FILES)}
        self.project_name = project_name
        self.mangle: dict[str, Mangle] = {}  # key: "WritePRD", "WriteDesign" or a file path
        self.calls: list[str] = []
        self.prompt_chars: dict[str, int] = {}
        self.prompts: dict[str, str] = {}  # key as in `calls` -> the first user message of its last request

    def prd_text(self) -> str:
        return json.dumps(prd_answer(self.project_name), indent=2)

    def design_text(self) -> str:
        return json.dumps(design_answer(list(self.files.values())), indent=2)

    def code_text(self, path: str) -> str:
        return f"```python\n{self.files[path].code}```\n"

    def __call__(self, request: RecordedRequest) -> Reply:
        messages = (request.json or {}).get("messages", [])
        prompt = messages[-1]["content"] if messages else ""
        first_user = asked(messages)
        if "## Action: WritePRD" in first_user:
            key, text = "WritePRD", self.prd_text()
        elif "## Action: WriteDesign" in first_user:
            key, text = "WriteDesign", self.design_text()
        elif "## Action: ReviewCode" in first_user:
            match = _FILE.search(first_user)
            key, text = f"review:{match.group(1) if match else '?'}", "LGTM"
        elif "## Action: WriteCode" in first_user:
            match = _FILE.search(first_user)
            path = match.group(1) if match else "?"
            key, text = path, self.code_text(path)
            self.prompt_chars[path] = sum(len(m["content"]) for m in messages)
        elif "## Action: FitImports" in prompt:
            # The import check's follow-up: this company keeps the file as it wrote it (a model that insists).
            match = _FIT_FILE.search(prompt)
            path = match.group(1) if match else "?"
            key, text = f"fit:{path}", self.code_text(path)
        else:
            raise AssertionError(f"unscripted prompt: {prompt[:200]}")
        self.calls.append(key)
        self.prompts[key] = first_user
        mangle = self.mangle.pop(key, None)
        if mangle is not None:
            text = mangle(text)
        return Text(text, usage=(sum(len(m["content"]) for m in messages) // 4, len(text) // 4))
