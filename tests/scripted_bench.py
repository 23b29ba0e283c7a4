"""A scripted model for `metagpt bench`: any idea becomes a small `app` package with one logic module, its
entry point and (asked for by QA) its tests. Ideas that mention "broken" get an entry point that crashes, so
the report has a program that does not start."""

from __future__ import annotations

import json
import re

from fakes.base import RecordedRequest, Reply, Text
from scripted_company import ScriptedFile, design_answer, prd_answer

_IDEA = re.compile(r"## Idea\n(.+)")
_FILE = re.compile(r"## Action: (?:WriteCode|ReviewCode)\n(?:Write|Review) the (?:complete )?file `([^`]+)`")

FILES = [
    ScriptedFile("app/__init__.py", '"""The app."""\n', [], "package marker"),
    ScriptedFile(
        "app/core.py",
        "def words(text: str) -> list[str]:\n    return text.split()\n\n\n"
        "def count(text: str) -> int:\n    return len(words(text))\n",
        [],
        "words(), count()",
    ),
    ScriptedFile(
        "app/__main__.py",
        "from app.core import count\n\nprint('words:', count('one two three'))\n",
        ["app/core.py"],
        "entry point",
    ),
]
BROKEN_MAIN = "from app.core import count\n\nraise SystemExit(count(None))\n"
TESTS = (
    "from app.core import count, words\n\n\ndef test_count() -> None:\n    assert count('a b') == 2\n\n\n"
    "def test_words() -> None:\n    assert words('a b') == ['a', 'b']\n"
)


class ScriptedBenchModel:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, request: RecordedRequest) -> Reply:
        messages = (request.json or {}).get("messages", [])
        first_user = next((m["content"] for m in messages if m["role"] == "user"), "")
        self.calls.append(first_user.splitlines()[0] if first_user else "")
        if first_user.startswith("## Action: WritePRD"):
            idea = _IDEA.search(first_user)
            prd = prd_answer("app")
            prd["original_requirements"] = idea.group(1) if idea else "?"
            text = json.dumps(prd)
        elif first_user.startswith("## Action: WriteDesign"):
            text = json.dumps(design_answer(FILES))
        elif first_user.startswith("## Action: ProposeFrameworks"):
            text = json.dumps({"options": [{"name": "the standard library", "why": "Nothing to install."}]})
        elif first_user.startswith("## Action: ReviewCode"):
            text = "LGTM"
        elif first_user.startswith("## Action: WriteCode"):
            match = _FILE.search(first_user)
            path = match.group(1) if match else "?"
            code = next(f.code for f in FILES if f.path == path)
            if path == "app/__main__.py" and "broken" in first_user:
                code = BROKEN_MAIN
            text = f"```python\n{code}```\n"
        elif first_user.startswith("## Action: WriteTests"):
            text = f"```python\n{TESTS}```\n"
        elif first_user.startswith("## Action: FixCode"):
            # A model that cannot find the bug: it answers with the file as it was.
            path = re.search(r"Fix the file `([^`]+)`", first_user)
            name = path.group(1) if path else "?"
            code = BROKEN_MAIN if name == "app/__main__.py" else next(f.code for f in FILES if f.path == name)
            text = f"```python\n{code}```\n"
        else:
            raise AssertionError(f"unscripted prompt: {first_user[:200]}")
        return Text(text, usage=(len(first_user) // 4, len(text) // 4))
