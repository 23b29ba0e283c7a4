"""Benchmark: a WriteTests prompt's rules, tried on the requests a real run recorded.

Each project of a bench workspace (`real_server_bench.py --workspace DIR`) holds the first WriteTests request its
run sent (`.devteam/exchanges.jsonl`). This replays it against a real model server as recorded and with the
`Rules:` block swapped for each `--rules FILE`, at each `--temperature`, and runs each answer's tests against
the project's code, in QA's box (a throwaway copy of the project holding the file). It prints, per
project, variant and temperature, the tests written, those that check the module (`checking_tests`, as QA
counts them) and pytest's summary, and the totals per variant — whether a rule or an example in the prompt
makes a small model write tests its program passes, measured before a suite run of an hour is spent on it.

    python bench/write_tests_ab.py --model-path qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \\
        --workspace DIR --rules more_rules.txt --temperature 0.2 --temperature 0.6

A rules file holds the block from `Rules:` up to the line before `Answer with`; `{import_name}` in it becomes
the module's import name.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from real_server_bench import serve_gguf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devteam.llm.record_file import EXCHANGES, RECORD_DIR  # noqa: E402
from devteam.qa.box import Box, choose_box  # noqa: E402
from devteam.qa.program_checks import run_tests  # noqa: E402
from devteam.roles.qa_test_candidates import checking_tests  # noqa: E402
from devteam.structured.extract import ParseFailure  # noqa: E402
from devteam.structured.parse import extract_code  # noqa: E402

RECORDED = "recorded"
_RULES = re.compile(r"Rules:\n.*?(?=\nAnswer with)", re.DOTALL)
_TARGET = re.compile(r"Write the pytest file `([^`]+)` for the module `([^`]+)`")
_IMPORT = re.compile(r"`from (\w+) import \.\.\.`|Import it as `(\w+)`")


def recorded_request(project: Path) -> dict[str, Any] | None:
    """The project's first WriteTests exchange, or None."""
    record = project / RECORD_DIR / EXCHANGES
    if not record.is_file():
        return None
    for line in record.read_text().splitlines():
        exchange = json.loads(line)
        if exchange.get("action") == "WriteTests":
            return dict(exchange)
    return None


def variant_messages(messages: list[dict[str, str]], rules: str | None) -> list[dict[str, str]]:
    """The recorded messages, the last one's rules swapped for `rules` (None: as recorded)."""
    copied = [dict(message) for message in messages]
    if rules is not None:
        named = _IMPORT.search(copied[-1]["content"])
        name = (named.group(1) or named.group(2)) if named else "main"
        text = rules.replace("{import_name}", name).rstrip("\n")
        copied[-1]["content"] = _RULES.sub(lambda _: text, copied[-1]["content"])
    return copied


def run_written(project: Path, test_path: str, tests: str, box: Box) -> Counter[str]:
    """pytest's counts with `tests` at `test_path` over the project's code, in QA's box (the project as it is,
    the file in a throwaway copy: model-written tests run nowhere else)."""
    result = run_tests(project, box, overrides={test_path: tests})
    if result.box_error:
        raise SystemExit(f"the box could not run the tests: {result.box_error}")
    return Counter({"passed": result.passed, "failed": result.failed, "error": result.errors})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    server = parser.add_mutually_exclusive_group(required=True)
    server.add_argument("--model-path", type=Path, help="a GGUF file: llama-cpp-python's server is started on it")
    server.add_argument("--base-url", help="a running OpenAI-compatible server")
    parser.add_argument("--model", default="model", help="the model name for --base-url")
    parser.add_argument("--workspace", type=Path, required=True, help="a bench workspace of recorded runs")
    parser.add_argument("--rules", type=Path, action="append", default=[], help="a rules block to try")
    parser.add_argument("--temperature", type=float, action="append", help="default: 0.2 and 0.6")
    parser.add_argument("--max-tokens", type=int, default=1024)
    args = parser.parse_args()
    variants: dict[str, str | None] = {RECORDED: None}
    variants.update({path.stem: path.read_text() for path in args.rules})
    temperatures = args.temperature or [0.2, 0.6]
    totals: dict[str, Counter[str]] = {name: Counter() for name in variants}
    box = choose_box()
    if not box.runs_code:
        raise SystemExit(f"no box to run model-written tests in: {box.describe()}")
    with ExitStack() as stack:
        if args.model_path is not None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="devteam-ab-")))
            base_url, model = stack.enter_context(serve_gguf(args.model_path.expanduser(), scratch, n_ctx=16384))
        else:
            base_url, model = args.base_url.rstrip("/"), args.model
        for project in sorted(path for path in args.workspace.iterdir() if path.is_dir()):
            exchange = recorded_request(project)
            if exchange is None:
                continue
            target = _TARGET.search(exchange["messages"][-1]["content"])
            if target is None:
                continue
            test_path, module_path = target.groups()
            module_code = (project / module_path).read_text() if (project / module_path).is_file() else ""
            for name, rules in variants.items():
                for temperature in temperatures:
                    body = {
                        "model": model,
                        "messages": variant_messages(exchange["messages"], rules),
                        "temperature": temperature,
                        "max_tokens": args.max_tokens,
                        "seed": 1,
                    }
                    reply = httpx.post(f"{base_url}/chat/completions", json=body, timeout=900).json()
                    text = reply["choices"][0]["message"]["content"] or ""
                    try:
                        tests = extract_code(text, language="python").code
                    except ParseFailure:
                        tests = ""
                    written = len(re.findall(r"^\s*def test", tests, re.MULTILINE))
                    checking = checking_tests(tests, module_code, module_path)
                    counts = run_written(project, test_path, tests, box) if tests else Counter()
                    totals[name].update({"answers": 1, "written": written, "checking": checking, **counts})
                    if counts.get("passed") and not counts.get("failed") and not counts.get("error") and checking:
                        totals[name]["all pass"] += 1
                    shown = sorted((kind, count) for kind, count in counts.items() if count)
                    summary = ", ".join(f"{count} {kind}" for kind, count in shown) or "no test ran"
                    print(
                        f"{project.name[:32]:32}  {name:12}  t={temperature:<4}  tests {written}, "
                        f"checking {checking}: {summary}",
                        flush=True,
                    )
    print()
    print("variant       answers  tests  checking  passed  failed  errors  files all passing (checking)")
    for name, total in totals.items():
        print(
            f"{name:12}  {total['answers']:7}  {total['written']:5}  {total['checking']:8}  {total['passed']:6}  "
            f"{total['failed']:6}  {total['error']:6}  {total['all pass']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
