"""Benchmark: the whole pipeline on an 8-file plan against a local scripted server; prints, in one run:

1. wall time against the critical-path bound ((stages + DAG levels × calls per file) × latency); the calls made
   one after another before the first file is written, and the calls in all, next to MetaGPT's (WritePRD,
   WriteDesign and WriteTasks before the first file, then one WriteCode and, with review, at least one
   WriteCodeReview per file);
2. prompt tokens per run and per file next to a MetaGPT-style figure. The MetaGPT-style prompt models what
   MetaGPT 0.8's WriteCode and WriteCodeReview send for the same files, in the same order: the whole system
   design (its JSON: approach, full file plan, class diagram, call flow), the code of EVERY file written before
   (and, for the review, the file itself), and the same instructions as ours; its PRD and design prompts carry
   the full JSON schema and shape. Both sides are counted with the same estimate (4 characters a token);
3. whether the files still fit together: every name a file imports from the project is in its WriteCode
   prompt, and the generated project's own tests pass and its entry point runs;
4. start-up: the CPU time a real `metagpt` process spends from launch until the fake server sees its first
   request (ollama and OpenAI protocol), next to the CPU time of a Python process that only imports the openai
   SDK (with the chat module a chat call loads), and the CPU time of `metagpt --help`, `logs` and `check`.
   Measured warm (after one launch has written the bytecode, as for every launch but a new install's first).

Run from the repo root:  python bench/pipeline_bench.py [--latency 0.5]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from cli_runner import clean_env, metagpt_command, write_config  # noqa: E402
from fakes import Error, OllamaServer, OpenAIServer, RecordedRequest, Reply, Text  # noqa: E402
from shop_plan import IDEA, ShopCompany  # noqa: E402

from devteam.artifacts.documents import PRD, PlannedFile, SystemDesign  # noqa: E402
from devteam.artifacts.file_plan import build_levels  # noqa: E402
from devteam.config.settings import Config  # noqa: E402
from devteam.llm.usage import estimate_tokens  # noqa: E402
from devteam.run.company import run_company  # noqa: E402
from devteam.run.options import RunOptions  # noqa: E402
from devteam.structured.schema import describe_fields, schema_for_prompt  # noqa: E402
from devteam.structured.skeleton import skeleton  # noqa: E402

TARGET_RATIO = 0.4
# MetaGPT 0.8 before its first file: WritePRD, WriteDesign, WriteTasks, one after another.
METAGPT_CALLS_BEFORE_CODE = 3
OLLAMA_FIRST_REQUEST_CPU = 0.3
OPENAI_MARGIN_CPU = 0.1


# -- 1 and 2: runs, calls, prompt tokens ------------------------------------------------------------------------


async def one_run(latency: float, *, concurrency: int, review: bool) -> dict[str, Any]:
    company = ShopCompany()
    with OpenAIServer() as server, tempfile.TemporaryDirectory() as workspace:
        server.latency = latency
        server.set_handler(company)
        config = Config.model_validate(
            {"llm": {"api_type": "open_llm", "base_url": server.base_url, "model": "m", "stream": True}}
        )
        options = RunOptions(idea=IDEA, workspace=Path(workspace), code_review=review, max_concurrency=concurrency)
        started = time.perf_counter()
        outcome = await run_company(config, options, progress_stream=io.StringIO())
        wall = time.perf_counter() - started
        if outcome.error:
            raise SystemExit(f"run failed: {outcome.error}")
        fit = fit_together(company, Path(workspace) / "shop")
        if outcome.run.repo is not None:
            outcome.run.repo.close()
        requests = server.chat_requests
    files = list(company.files.values())
    levels = build_levels([PlannedFile(path=f.path, purpose="", depends_on=f.depends_on) for f in files])
    # The calls before the Engineer are one after another: the PRD and the design.
    stages = sum(1 for call in outcome.ledger.calls if call.role != "Engineer")
    actions = [request_action(request) for request in requests]
    before_first_file = next((index for index, action in enumerate(actions) if action == "WriteCode"), len(actions))
    bound = (stages + len(levels.levels) * (2 if review else 1)) * latency
    return {
        "wall": wall,
        "bound": bound,
        "stages": stages,
        "levels": len(levels.levels),
        "calls": len(requests),
        "before_first_file": before_first_file,
        "metagpt_calls": METAGPT_CALLS_BEFORE_CODE + len(files) * (2 if review else 1),
        "requests": requests,
        "company": company,
        "order": [f.path for f in levels.files],
        "dependencies": levels.dependencies,
        "fit": fit,
    }


def request_action(request: RecordedRequest) -> str:
    """The action a request was made for, wherever its prompt names it."""
    user = next((m["content"] for m in request.json["messages"] if m["role"] == "user"), "")
    marker = user.find("## Action: ")
    return user[marker:].split("\n", 1)[0].removeprefix("## Action: ") if marker >= 0 else ""


def tokens_of(messages: list[dict[str, str]]) -> int:
    return sum(estimate_tokens(message["content"]) for message in messages)


def metagpt_style(request: RecordedRequest, company: ShopCompany, order: list[str]) -> tuple[str, str, int]:
    """(action, file, MetaGPT-style tokens) for one of our requests; see the module docstring for the model."""
    messages = request.json["messages"]
    system = estimate_tokens(messages[0]["content"]) if messages[0]["role"] == "system" else 0
    user = next(m["content"] for m in messages if m["role"] == "user")
    action = request_action(request)
    if action in ("WritePRD", "WriteDesign"):
        model = PRD if action == "WritePRD" else SystemDesign
        full_schema = estimate_tokens(schema_for_prompt(model)) + estimate_tokens(skeleton(model))
        compact = estimate_tokens(describe_fields(model)) if "the server checks the schema" in user else 0
        return action, "", tokens_of(messages) - compact + full_schema
    if action not in ("WriteCode", "ReviewCode"):
        return action, "", 0  # a stage MetaGPT does not have
    path = user[user.find("## Action: ") :].split("`", 2)[1]  # the file the action names
    earlier = order[: order.index(path)]
    code = sum(estimate_tokens(company.files[p].code) for p in earlier)
    design = estimate_tokens(company.design_text())
    tail_marker = "## Your task" if action == "WriteCode" else "## The file to review"
    instructions = estimate_tokens(user[user.index(tail_marker) :])
    return action, path, system + design + code + instructions


def prompt_figures(result: dict[str, Any]) -> dict[str, Any]:
    per_call: list[tuple[str, str, int, int]] = []
    for request in result["requests"]:
        action, path, theirs = metagpt_style(request, result["company"], result["order"])
        per_call.append((action, path, tokens_of(request.json["messages"]), theirs))
    ours = sum(call[2] for call in per_call)
    theirs = sum(call[3] for call in per_call)
    return {"per_call": per_call, "ours": ours, "theirs": theirs}


# -- 3: the files fit together ----------------------------------------------------------------------------------


def fit_together(company: ShopCompany, project: Path) -> dict[str, Any]:
    """Names each file imports from the project that its WriteCode prompt did not show; tests; entry point."""
    missing: dict[str, list[str]] = {}
    modules = {path.removesuffix(".py").replace("/", "."): path for path in company.files}
    for path, scripted in company.files.items():
        prompt = company.prompts[path]
        for node in ast.walk(ast.parse(scripted.code)):
            if isinstance(node, ast.ImportFrom) and node.module in modules:
                for alias in node.names:
                    shown = (
                        any(f"{kind} {alias.name}" in prompt for kind in ("def", "class"))
                        or f"\n{alias.name} = " in prompt
                    )
                    if not shown:
                        missing.setdefault(path, []).append(f"{node.module}.{alias.name}")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        check=False,
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    with tempfile.TemporaryDirectory() as scratch:
        store = Path(scratch) / "inventory.json"
        entry = subprocess.run(
            [sys.executable, "-m", "app", "--store", str(store), "add", "TEA-0001", "Tea", "450", "10"],
            check=False,
            cwd=project,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    return {
        "missing": missing,
        "tests_pass": tests.returncode == 0,
        "tests_tail": tests.stdout.strip()[-200:],
        "entry_runs": entry.returncode == 0 and "TEA-0001" in entry.stdout,
    }


# -- 4: start-up ------------------------------------------------------------------------------------------------


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a running process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class FirstRequestClock:
    """A fake-server handler that reads the client's CPU time when the first request arrives, then refuses."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.cpu: float | None = None
        self.seen = threading.Event()

    def __call__(self, request: RecordedRequest) -> Reply:
        return Error(400, message="benchmark: enough")

    def on_request(self) -> None:
        if not self.seen.is_set() and self.pid is not None:
            self.cpu = process_cpu(self.pid)
            self.seen.set()


def startup_env(home: Path) -> dict[str, str]:
    env = clean_env(home)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what users run: with bytecode cached after a first launch
    return env


def launch_to_first_request(api_type: str) -> float | None:
    server_class = OllamaServer if api_type == "ollama" else OpenAIServer
    clock = FirstRequestClock()

    class Clocked(server_class):  # type: ignore[misc, valid-type]
        def record(self, request: RecordedRequest) -> None:
            clock.on_request()
            super().record(request)

    with Clocked() as server, tempfile.TemporaryDirectory() as folder:
        server.set_handler(clock)
        base_url = server.url if api_type == "ollama" else server.base_url
        write_config(
            Path(folder), {"api_type": api_type, "base_url": base_url, "model": "test-model", "num_retries": 0}
        )
        home = Path(folder) / "home"
        home.mkdir()
        process = subprocess.Popen(
            [*metagpt_command(), IDEA, "--workspace", str(Path(folder) / "ws")],
            cwd=folder,
            env=startup_env(home),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        clock.pid = process.pid
        clock.seen.wait(60)
        process.kill()
        process.wait()
    return clock.cpu


def command_cpu(args: list[str], *, cwd: Path, env: dict[str, str]) -> float:
    """Total CPU seconds (user + system) of one command run to its end."""
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    return usage.ru_utime + usage.ru_stime


def openai_import_cpu(env: dict[str, str], cwd: Path) -> float:
    """A process that imports the SDK and the chat module a chat call loads, and nothing else."""
    return command_cpu([sys.executable, "-c", "import openai, openai.resources.chat"], cwd=cwd, env=env)


def startup_figures(repeats: int) -> dict[str, float | None]:
    def best(measure: Any) -> float | None:
        values = [value for value in (measure() for _ in range(repeats)) if value is not None]
        return min(values) if values else None

    launch_to_first_request("ollama")  # the warm-up launch: bytecode written, as after any first run
    figures: dict[str, float | None] = {
        "ollama": best(lambda: launch_to_first_request("ollama")),
        "openai": best(lambda: launch_to_first_request("open_llm")),
    }
    with tempfile.TemporaryDirectory() as folder, OpenAIServer() as server:
        server.set_handler(lambda request: Text('{"greeting": "hello", "numbers": [1, 2, 3], "ok": true}'))
        home = Path(folder) / "home"
        home.mkdir()
        env = startup_env(home)
        figures["sdk_import"] = best(lambda: openai_import_cpu(env, Path(folder)))
        write_config(Path(folder), {"api_type": "open_llm", "base_url": server.base_url, "model": "test-model"})
        figures["--help"] = best(lambda: command_cpu([*metagpt_command(), "--help"], cwd=Path(folder), env=env))
        figures["logs"] = best(lambda: command_cpu([*metagpt_command(), "logs", folder], cwd=Path(folder), env=env))
        figures["check"] = best(lambda: command_cpu([*metagpt_command(), "check"], cwd=Path(folder), env=env))
    return figures


# -- report -----------------------------------------------------------------------------------------------------


def report(latency: float, repeats: int) -> None:
    print(f"pipeline benchmark: 8-file plan (a shop inventory), scripted server latency {latency:.2f}s per answer\n")
    print(f"{'run':<34} {'wall s':>7} {'bound s':>8} {'ratio':>6} {'calls':>6} {'MetaGPT':>8} {'before code':>12}")
    runs = {}
    for label, concurrency, review in (
        ("parallel, no review", 4, False),
        ("parallel, with review", 4, True),
        ("sequential (concurrency 1)", 1, False),
    ):
        result = asyncio.run(one_run(latency, concurrency=concurrency, review=review))
        runs[label] = result
        ratio = result["wall"] / result["bound"]
        print(
            f"{label:<34} {result['wall']:7.2f} {result['bound']:8.2f} {ratio:6.2f} {result['calls']:>6} "
            f"{result['metagpt_calls']:>8} {result['before_first_file']:>5} (MetaGPT {METAGPT_CALLS_BEFORE_CODE})"
        )
    first = runs["parallel, no review"]
    print(f"\nDAG levels: {first['levels']}; bound = ({first['stages']} stages + levels x calls per file) x latency")

    print("\nprompt tokens per run (estimate: 4 characters a token, both sides)")
    print(f"{'run':<34} {'ours':>8} {'MetaGPT-style':>14} {'ratio':>6}")
    figures = {}
    for label in ("parallel, no review", "parallel, with review"):
        figures[label] = prompt_figures(runs[label])
        ours, theirs = figures[label]["ours"], figures[label]["theirs"]
        print(f"{label:<34} {ours:>8} {theirs:>14} {ours / theirs:6.2f}")

    reviewed = figures["parallel, with review"]["per_call"]
    by_file: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for action, path, ours, theirs in reviewed:
        by_file[path][action] = (ours, theirs)
    print(f"\n{'file (write order)':<22} {'deps':>4} {'WriteCode':>10} {'MetaGPT':>8} {'Review':>8} {'MetaGPT':>8}")
    for path in first["order"]:
        write, review = by_file[path].get("WriteCode", (0, 0)), by_file[path].get("ReviewCode", (0, 0))
        print(
            f"{path:<22} {len(first['dependencies'][path]):>4} {write[0]:>10} {write[1]:>8} {review[0]:>8} "
            f"{review[1]:>8}"
        )
    for action, (ours, theirs) in by_file[""].items():
        print(f"{action:<22} {'':>4} {ours:>10} {theirs:>8}")

    fit = runs["parallel, with review"]["fit"]
    missing = sum(len(names) for names in fit["missing"].values())
    print(
        f"\nfiles fit together: {missing} imported names missing from their file's prompt"
        f"{' ' + json.dumps(fit['missing']) if missing else ''}; generated tests "
        f"{'pass' if fit['tests_pass'] else 'FAIL: ' + fit['tests_tail']}; `python -m app` "
        f"{'runs' if fit['entry_runs'] else 'FAILS'}"
    )

    startup = startup_figures(repeats)
    print(
        f"\nstart-up, CPU seconds (best of {repeats}; a real `metagpt` process, launch until the server's first "
        "request)"
    )
    sdk = startup["sdk_import"] or 0.0
    rows = [
        ("ollama run, first request", startup["ollama"], f"<= {OLLAMA_FIRST_REQUEST_CPU:.2f}"),
        (
            "openai-protocol run, first request",
            startup["openai"],
            f"<= {sdk + OPENAI_MARGIN_CPU:.2f} (the SDK {sdk:.2f} + {OPENAI_MARGIN_CPU:.2f})",
        ),
        ("python -c 'import openai' (the SDK)", startup["sdk_import"], ""),
        ("metagpt --help", startup["--help"], ""),
        ("metagpt logs", startup["logs"], ""),
        ("metagpt check (whole command)", startup["check"], ""),
    ]
    for label, value, target in rows:
        shown = f"{value:6.3f}" if value is not None else "   n/a"
        print(f"  {label:<36} {shown}  {target}")

    ratio = figures["parallel, with review"]["ours"] / figures["parallel, with review"]["theirs"]
    ok = (
        ratio <= TARGET_RATIO
        and startup["ollama"] is not None
        and startup["ollama"] <= OLLAMA_FIRST_REQUEST_CPU
        and startup["openai"] is not None
        and startup["openai"] <= sdk + OPENAI_MARGIN_CPU
    )
    print(
        f"\nprompt tokens with review: {ratio:.2f}x MetaGPT-style (target <= {TARGET_RATIO}); "
        f"start-up targets {'met' if ok else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per answer (default 0.5)")
    parser.add_argument("--repeats", type=int, default=3, help="start-up measurements to take the best of")
    arguments = parser.parse_args()
    report(arguments.latency, arguments.repeats)


if __name__ == "__main__":
    main()
