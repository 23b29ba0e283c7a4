"""bench/write_tests_ab.py against a real HTTP server: a recorded WriteTests request replayed as recorded and
with another rules block, each answer's tests run in the box over the project's code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fakes.base import RecordedRequest, Reply, Text
from fakes.openai_server import OpenAIServer

REPO = Path(__file__).resolve().parents[1]
CALC = "def add(a, b):\n    return a + b\n"
RECORDED_RULES = "Rules:\n- Import what you test from it: `from calc import ...`.\n- Between 3 and 8 tests.\n"
PROMPT = (
    "## Action: WriteTests\nWrite the pytest file `tests/test_calc.py` for the module `calc.py` you wrote above.\n\n"
    f"{RECORDED_RULES}\nAnswer with exactly one fenced code block:\n"
)
# The recorded rules get tests that expect a wrong sum; the tried rules get right ones.
WRONG = "from calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 5\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n"
RIGHT = "from calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n"


def _answer(request: RecordedRequest) -> Reply:
    prompt = request.json["messages"][-1]["content"]
    return Text(f"```python\n{RIGHT if 'Check sums' in prompt else WRONG}```\n")


def test_recorded_and_tried_rules_are_replayed_and_their_tests_run_over_the_code(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    project = tmp_path / "workspace" / "idea01_calc"
    (project / ".devteam").mkdir(parents=True)
    (project / "calc.py").write_text(CALC)
    exchange = {"action": "WriteTests", "messages": [{"role": "user", "content": PROMPT}]}
    (project / ".devteam" / "exchanges.jsonl").write_text(
        json.dumps({"action": "WriteCode"}) + "\n" + json.dumps(exchange) + "\n"
    )
    rules = tmp_path / "sums.txt"
    rules.write_text("Rules:\n- Import it as `{import_name}`. Check sums.\n")
    openai_server.set_handler(_answer)

    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "write_tests_ab.py"),
            "--base-url",
            openai_server.base_url,
            "--workspace",
            str(tmp_path / "workspace"),
            "--rules",
            str(rules),
            "--temperature",
            "0.2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("recorded" in line and "tests 2, checking 2: 1 failed, 1 passed" in line for line in lines)
    assert any("sums" in line and "tests 1, checking 1: 1 passed" in line for line in lines)
    sent = [request.json["messages"][-1]["content"] for request in openai_server.requests if request.json]
    assert sent[0] == PROMPT  # as recorded
    assert "Import it as `calc`. Check sums." in sent[1] and "Between 3 and 8" not in sent[1]
    totals = {line.split()[0]: line.split() for line in lines if line.startswith(("recorded ", "sums "))}
    assert totals["recorded"][-1] == "0" and totals["sums"][-1] == "1"  # files whose tests all pass
