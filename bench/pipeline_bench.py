"""Benchmark: the whole pipeline against a local scripted server with a fixed latency per answer.

Prints wall time against the critical-path bound ((stages + DAG levels × calls per file) × latency), LLM
calls, and prompt size per stage and per file — next to what a MetaGPT-style prompt (every file written so
far) would have carried. Run from the repo root:  python bench/pipeline_bench.py [--latency 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from devteam.company import RunOptions, run_company  # noqa: E402
from devteam.config import Config  # noqa: E402
from devteam.file_plan import build_levels  # noqa: E402
from devteam.artifacts import PlannedFile  # noqa: E402
from fakes import OpenAIServer  # noqa: E402
from scripted_company import ScriptedCompany, ScriptedFile  # noqa: E402


def eight_file_plan() -> list[ScriptedFile]:
    """8 files in 4 levels; each file depends on one or two files of earlier levels."""
    deps = {
        "core/config.py": [], "core/model.py": [],
        "core/rules.py": ["core/model.py"], "core/storage.py": ["core/config.py"],
        "app/engine.py": ["core/rules.py", "core/storage.py"], "app/render.py": ["core/model.py"],
        "app/main.py": ["app/engine.py", "app/render.py"], "tests/test_rules.py": ["core/rules.py"],
    }
    body = "".join(f"def helper_{i}(value: int) -> int:\n    return value + {i}\n\n\n" for i in range(40))
    return [ScriptedFile(path, f'"""{path}"""\n\n\n{body}', depends, f"module {path}") for path, depends in deps.items()]


async def one_run(latency: float, *, concurrency: int, review: bool) -> dict[str, object]:
    files = eight_file_plan()
    company = ScriptedCompany(files, project_name="bench_project")
    with OpenAIServer() as server, tempfile.TemporaryDirectory() as workspace:
        server.latency = latency
        server.set_handler(company)
        config = Config.model_validate({"llm": {"api_type": "open_llm", "base_url": server.base_url, "model": "m",
                                                "stream": True}})
        options = RunOptions(idea="bench", workspace=Path(workspace), code_review=review,
                             max_concurrency=concurrency)
        started = time.perf_counter()
        outcome = await run_company(config, options, progress_stream=open("/dev/null", "w"))
        wall = time.perf_counter() - started
    if outcome.error:
        raise SystemExit(f"run failed: {outcome.error}")
    levels = build_levels([PlannedFile(path=f.path, purpose="", depends_on=f.depends_on) for f in files])
    calls_per_file = 2 if review else 1
    # The calls before the Engineer are one after another: the PRD, the framework proposal (and choice), the design.
    stages = sum(1 for call in outcome.ledger.calls if call.role != "Engineer")
    bound = (stages + len(levels.levels) * calls_per_file) * latency
    per_action: dict[str, list[int]] = defaultdict(list)
    for call in outcome.ledger.calls:
        per_action[call.action].append(call.usage.prompt_tokens)
    return {"wall": wall, "bound": bound, "stages": stages, "levels": len(levels.levels), "calls": len(outcome.ledger.calls),
            "per_action": per_action, "company": company, "files": files, "dependencies": levels.dependencies,
            "order": [f.path for f in levels.files]}


def report(latency: float) -> None:
    print(f"pipeline benchmark: 8-file plan, scripted server latency {latency:.2f}s per answer\n")
    print(f"{'run':<34} {'wall s':>7} {'bound s':>8} {'ratio':>6} {'calls':>6}")
    first = None
    for label, concurrency, review in (("parallel, no review", 4, False), ("parallel, with review", 4, True),
                                       ("sequential (concurrency 1)", 1, False)):
        result = asyncio.run(one_run(latency, concurrency=concurrency, review=review))
        first = first or result
        ratio = result["wall"] / result["bound"]
        print(f"{label:<34} {result['wall']:7.2f} {result['bound']:8.2f} {ratio:6.2f} {result['calls']:>6}")
    assert first is not None
    print(f"\nDAG levels: {first['levels']}; bound = ({first['stages']} stages + levels x calls per file) x latency")
    print("\nprompt tokens per stage (parallel, no review):")
    for action, tokens in first["per_action"].items():
        print(f"  {action:<12} calls {len(tokens):>2}  total {sum(tokens):>6}  max {max(tokens):>6}")
    company: ScriptedCompany = first["company"]
    sizes = {f.path: len(f.code) for f in first["files"]}
    print(f"\n{'file (write order)':<24} {'deps':>4} {'prompt chars':>13} {'MetaGPT-style chars':>20}")
    written = 0
    for path in first["order"]:
        metagpt_style = company.prompt_chars[path] - sum(sizes[d] for d in first["dependencies"][path]) + written
        print(f"{path:<24} {len(first['dependencies'][path]):>4} {company.prompt_chars[path]:>13} {metagpt_style:>20}")
        written += sizes[path]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per answer (default 0.5)")
    report(parser.parse_args().latency)


if __name__ == "__main__":
    main()
