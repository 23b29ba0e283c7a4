"""Rebuild the shipped demo record (`devteam/demos/snake_game.jsonl`) from the hand-written answers in `answers/`.

The answers were written by hand for the offline demo; they are not the output of any model. This script
serves them from the scripted OpenAI-compatible server the tests use (`tests/fakes`), runs the real pipeline
against it with recording on, and keeps the run's `.devteam/exchanges.jsonl` as `devteam/demos/snake_game.jsonl` — so the
record holds exactly the prompts the current code sends and is replayable by `--replay`.

    .venv/bin/python examples/snake_game/build_record.py [--check]

`--check` rebuilds into a temporary folder and says whether the shipped record is up to date (exit 1 if not).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ANSWERS = HERE / "answers"
# Shipped inside the package, so `metagpt demo` works after a plain pip install.
RECORD = REPO / "devteam" / "demos" / "snake_game.jsonl"
IDEA = "write a snake game"
# Says what the answers are; deliberately not the name of a real model.
MODEL = "handwritten-demo"
RUN_ID = "handwritten-demo"

sys.path.insert(0, str(REPO / "tests"))  # the scripted servers live with the tests

from fakes import OpenAIServer, RecordedRequest, Reply, Text  # noqa: E402

from devteam.config.settings import Config  # noqa: E402
from devteam.llm.record_file import EXCHANGES, RECORD_DIR  # noqa: E402
from devteam.run.company import run_company  # noqa: E402
from devteam.run.options import RunOptions  # noqa: E402

_FILE = re.compile(r"## Action: (?:WriteCode|ReviewCode)\n(?:Write|Review) the (?:complete )?file `([^`]+)`")


def answer_file(path: str) -> Path:
    """`snake_game/logic.py` → answers/code__snake_game__logic.py.txt"""
    return ANSWERS / f"code__{path.replace('/', '__')}.txt"


def answer(request: RecordedRequest) -> Reply:
    """The hand-written answer for a request, found by the action and file named in its prompt."""
    messages = (request.json or {}).get("messages", [])
    prompt = next((m["content"] for m in messages if m["role"] == "user"), "")
    if "## Action: WritePRD" in prompt:
        text = (ANSWERS / "prd.txt").read_text(encoding="utf-8")
    elif "## Action: WriteDesign" in prompt:
        text = (ANSWERS / "design.txt").read_text(encoding="utf-8")
    elif "## Action: ReviewCode" in prompt:
        text = "LGTM"
    elif "## Action: WriteCode" in prompt and (match := _FILE.search(prompt)):
        text = answer_file(match.group(1)).read_text(encoding="utf-8")
    else:
        raise SystemExit(f"build_record: no hand-written answer for this prompt:\n{prompt[:300]}")
    # Token counts in the record: the usual four-characters-a-token estimate, so they stay stable.
    prompt_chars = sum(len(m["content"]) for m in messages)
    return Text(text, usage=(prompt_chars // 4, len(text) // 4))


def steady(exchange: dict[str, Any]) -> dict[str, Any]:
    """Drop what changes on every rebuild (ids, clock times) so the committed record only changes with content."""
    return {**exchange, "run": RUN_ID, "started_at": 0.0, "latency_s": 0.0}


async def record_run(workspace: Path) -> list[dict[str, Any]]:
    with OpenAIServer(models=[MODEL]) as server:
        server.set_handler(answer)
        config = Config.model_validate(
            {"llm": {"api_type": "open_llm", "base_url": server.base_url, "model": MODEL, "num_retries": 0,
                     # like the servers that ignore response_format: the answers are prompt-mode text
                     "structured_output": "prompt"}}
        )
        # One file at a time, so the record's line order is the same on every rebuild.
        options = RunOptions(idea=IDEA, workspace=workspace, max_concurrency=1)
        outcome = await run_company(config, options, progress_stream=io.StringIO())
    if outcome.error is not None or outcome.repo_root is None:
        raise SystemExit(f"build_record: the run failed: {outcome.error}")
    lines = (outcome.repo_root / RECORD_DIR / EXCHANGES).read_text(encoding="utf-8").splitlines()
    return [steady(json.loads(line)) for line in lines if line.strip()]


def render(exchanges: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(exchange, ensure_ascii=False) + "\n" for exchange in exchanges)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the shipped record is up to date")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        text = render(asyncio.run(record_run(Path(folder))))
    if args.check:
        current = RECORD.read_text(encoding="utf-8") if RECORD.exists() else ""
        print("the shipped record is up to date" if current == text else "the shipped record is out of date: rebuild it")
        return 0 if current == text else 1
    RECORD.write_text(text, encoding="utf-8")
    print(f"wrote {RECORD.relative_to(REPO)} ({text.count(chr(10))} exchanges)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
