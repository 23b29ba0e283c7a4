"""A standard-library module a file uses but never imports is imported (the 0.5B's word counter called
`collections.Counter` under `from collections import Counter`; its JSON API subclassed
`http.server.SimpleHTTPRequestHandler` with no import): nothing else in the file changes."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from fakes import OpenAIServer
from scripted_company import ScriptedCompany, ScriptedFile

from devteam.artifacts.missing_imports import missing_module_imports, missing_name_imports, with_module_imports
from devteam.config.settings import Config
from devteam.run.company import run_company
from devteam.run.options import RunOptions

WORD_COUNTER = '''"""Counts words."""
from collections import Counter


def count(text):
    return collections.Counter(text.split())


class Handler(http.server.SimpleHTTPRequestHandler):
    pass
'''


def test_the_modules_a_file_reads_but_never_binds_are_imported_after_its_docstring() -> None:
    fixed, added = with_module_imports(WORD_COUNTER)
    assert added == ["collections", "http.server"]
    assert fixed.startswith(
        '"""Counts words."""\nimport collections\nimport http.server\nfrom collections import Counter\n'
    )
    assert fixed.endswith(WORD_COUNTER.split('"""Counts words."""\n', 1)[1])
    namespace: dict[str, object] = {}
    exec(compile(fixed, "counter.py", "exec"), namespace)
    assert namespace["count"]("a b a") == {"a": 2, "b": 1}  # type: ignore[operator]


def test_a_name_the_file_binds_is_never_taken_for_a_module() -> None:
    code = "def f(json, time=1):\n    random = 3\n    for string in []:\n        pass\n    return json, time, random, string\n"
    assert missing_module_imports(code) == []
    assert missing_module_imports("import os.path\nos.getcwd()\n") == []
    assert missing_module_imports("def broken(:\n    json.dumps(1)\n") == []  # a file that does not parse: as it is


def test_pytest_only_in_test_files_and_never_a_module_that_runs_on_import() -> None:
    uses_pytest = "def test_x():\n    with pytest.raises(ValueError):\n        int('x')\n"
    assert missing_module_imports(uses_pytest) == []
    assert with_module_imports(uses_pytest, test_file=True)[1] == ["pytest"]
    assert missing_module_imports("print(this.s, antigravity, test.support)\n") == []
    assert missing_module_imports("print(collections.Counter.most_common)\n") == ["collections"]


# The 0.5B's notes API (bench suite, idea 8): `StringIO` read bare, a NameError in 2 of its 3 tests.
NOTES = """from http.server import HTTPServer


class NotesManager:
    def __init__(self):
        self.notes = defaultdict(list)

    def list_notes(self):
        return StringIO("\\n".join(self.notes))

    def pick(self):
        return randint(1, 6), Counter("aab")
"""


def test_a_bare_name_of_an_everyday_module_is_imported_from_it() -> None:
    fixed, added = with_module_imports(NOTES)

    assert added == [
        "defaultdict (from collections)",
        "StringIO (from io)",
        "randint (from random)",
        "Counter (from collections)",
    ]
    assert fixed.startswith(
        "from collections import Counter, defaultdict\nfrom io import StringIO\nfrom random import randint\n"
    )
    namespace: dict[str, object] = {}
    exec(compile(fixed, "main.py", "exec"), namespace)
    manager = namespace["NotesManager"]()  # type: ignore[operator]
    assert manager.list_notes().read() == ""
    assert manager.pick()[1] == {"a": 2, "b": 1}  # collections' Counter, not typing's alias


def test_a_bare_name_that_is_bound_ambiguous_or_star_imported_is_left_alone() -> None:
    assert missing_name_imports("def f(StringIO):\n    return StringIO()\n") == []
    assert missing_name_imports("from io import *\nStringIO()\n") == []
    assert missing_name_imports("split('a b')\ncompile('x')\nlen([])\n") == []  # re's names; a builtin
    assert missing_name_imports("def broken(:\n    StringIO()\n") == []
    assert missing_name_imports("def test_x():\n    with patch('os.getcwd'):\n        pass\n") == [
        ("unittest.mock", "patch")
    ]


def test_a_written_file_is_committed_with_the_import_it_lacked(openai_server: OpenAIServer, tmp_path: Path) -> None:
    main = ScriptedFile("main.py", "def main():\n    print(json.dumps({'ok': True}))\n\n\nmain()\n", [], "the program")
    openai_server.set_handler(ScriptedCompany([main]))
    llm = {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "timeout": 10, "num_retries": 0}
    options = RunOptions(idea="print a JSON greeting", workspace=tmp_path / "ws", code_review=False)
    outcome = asyncio.run(run_company(Config.model_validate({"llm": llm}), options, progress_stream=io.StringIO()))
    assert outcome.error is None, outcome.error
    assert outcome.repo_root is not None
    assert (outcome.repo_root / "main.py").read_text().startswith("import json\ndef main():")
    assert "repair_stdlib_import" in outcome.ledger.repairs
    if outcome.run.repo is not None:
        outcome.run.repo.close()
