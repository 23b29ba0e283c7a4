"""A scripted model for `metagpt bench`: any idea becomes a small `app` package with one logic module, its
entry point and (asked for by QA) its tests. Ideas that mention "broken" get an entry point that crashes, so
the report has a program that does not start; ideas that mention "untested" get a test file without a test;
while `refuse` holds a word, the PRD of an idea with that word is refused (HTTP 403), so its run fails."""

from __future__ import annotations

import json
import re

from fakes.base import Error, RecordedRequest, Reply, Text, asked
from scripted_company import ScriptedFile, design_answer, prd_answer

_IDEA = re.compile(r"## The user's idea\n(.+)")
_ACTION_LINE = re.compile(r"^## Action: .*$", re.MULTILINE)


def _action_line(prompt: str) -> str:
    """The prompt's `## Action: ...` line (prompts open with what the run's calls share, not the action)."""
    match = _ACTION_LINE.search(prompt)
    return match.group(0) if match else ""


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
NO_TESTS = "from app.core import count\n\n\ndef helper() -> int:\n    return count('a')\n"
REFUSAL = "this key may not use the model today"


class ScriptedBenchModel:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.refuse: str | None = None

    def __call__(self, request: RecordedRequest) -> Reply:
        messages = (request.json or {}).get("messages", [])
        first_user = asked(messages)
        self.calls.append(_action_line(first_user))
        if "## Action: WritePRD" in first_user:
            if self.refuse is not None and self.refuse in first_user:
                return Error(403, message=REFUSAL)
            idea = _IDEA.search(first_user)
            prd = prd_answer("app")
            prd["original_requirements"] = idea.group(1) if idea else "?"
            text = json.dumps(prd)
        elif "## Action: WriteDesign" in first_user:
            text = json.dumps(design_answer(FILES))
        elif "## Action: ReviewCode" in first_user:
            text = "LGTM"
        elif "## Action: WriteCode" in first_user:
            match = _FILE.search(first_user)
            path = match.group(1) if match else "?"
            code = next(f.code for f in FILES if f.path == path)
            if path == "app/__main__.py" and "broken" in first_user:
                code = BROKEN_MAIN
            text = f"```python\n{code}```\n"
        elif "## Action: WriteTests" in first_user:
            # The idea is in the conversation the tests continue (the file's writing prompt), not in their turn.
            untested = any("untested" in str(m.get("content")) for m in messages)
            text = f"```python\n{NO_TESTS if untested else TESTS}```\n"
        elif "## Action: FixCode" in first_user:
            # A model that cannot find the bug: it answers with the file as it was.
            path = re.search(r"Fix the file `([^`]+)`", first_user)
            name = path.group(1) if path else "?"
            code = BROKEN_MAIN if name == "app/__main__.py" else next(f.code for f in FILES if f.path == name)
            text = f"```python\n{code}```\n"
        elif "## Action: FixFunction" in first_user:
            # The same model, asked for the one function: the function as it was.
            function = first_user.split("## The function to correct\n", 1)[1].split("```", 2)[1]
            text = f"```{function}```\n"
        elif "## Action: FillFunction" in first_user:
            # Asked to write a function anew: an answer with no body, which is never spliced in.
            text = "```python\n# no idea\n```\n"
        else:
            raise AssertionError(f"unscripted prompt: {first_user[:200]}")
        return Text(text, usage=(len(first_user) // 4, len(text) // 4))
