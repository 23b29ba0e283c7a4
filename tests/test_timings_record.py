"""The figures reach the user: each exchange of the record carries its TTFT, tokens/s and cached prompt tokens,
the run summary the prompt-read and cache-hit shares, and `metagpt logs` shows them (a dash where unknown)."""

from __future__ import annotations

import asyncio
from typing import Any

from fakes import OpenAIServer, Text

from devteam.commands.logs import format_call, format_summary, format_table
from devteam.config.settings import Config
from devteam.llm.client import Exchange
from devteam.llm.factory import build_llm
from devteam.llm.types import ChatMessage
from devteam.llm.usage import Ledger
from devteam.run.summary import timing_summary
from devteam.structured.ask import ask_code

TIMINGS = {"cache_n": 90, "prompt_ms": 250.0, "predicted_ms": 2000.0, "predicted_per_second": 25.0}


class Collect:
    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def on_exchange(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)


def _one_call(server: OpenAIServer) -> tuple[Exchange, Ledger]:
    server.enqueue(Text("```python\nprint(1)\n```", usage=(120, 50), timings=TIMINGS))
    config = Config.model_validate(
        {"llm": {"api_type": "open_llm", "base_url": server.base_url, "model": "m", "num_retries": 0}}
    )
    ledger, seen = Ledger(), Collect()

    async def go() -> None:
        llm = build_llm(config.llm, ledger=ledger)
        llm.observers.append(seen)
        try:
            await ask_code(
                llm,
                [ChatMessage("user", "x")],
                role="Engineer",
                action="WriteCode",
                subject="a.py",
                language="python",
                repair=True,
            )
        finally:
            await llm.aclose()

    asyncio.run(go())
    return seen.exchanges[0], ledger


def test_the_exchange_and_the_summary_carry_the_figures(openai_server: OpenAIServer) -> None:
    exchange, ledger = _one_call(openai_server)

    record: dict[str, Any] = exchange.to_json()
    assert record["cached_tokens"] == 90 and record["prompt_s"] == 0.25 and record["tokens_per_s"] == 25.0
    assert record["first_token_s"] is not None
    timing = timing_summary(ledger.time_shares)
    assert timing["cache_hit_share"] == 0.75  # 90 of 120 prompt tokens
    assert 0 < timing["prompt_read_share"] <= 1 and timing["tokens_per_s"] == 25.0


def test_logs_shows_ttft_speed_and_cache_columns_and_a_dash_for_old_records(openai_server: OpenAIServer) -> None:
    exchange, ledger = _one_call(openai_server)
    new = {"seq": 2, **exchange.to_json()}
    old = {"seq": 1, "role": "ProductManager", "action": "WritePRD", "answer": "{}", "prompt_tokens": 10}

    table = format_table([old, new])

    header, old_row, new_row = table.splitlines()
    for column in ("cached", "TTFT s", "tok/s"):
        assert column in header
    assert " 90 " in new_row and "25.0" in new_row
    assert old_row.count(" - ") >= 3  # an older record says nothing of them: a dash, not a zero
    assert "90 prompt tokens from the server's cache" in format_call(new)
    summary = format_summary({"run": "r", "timing": timing_summary(ledger.time_shares)})
    assert "cache hits 75% of prompt tokens" in summary and "prompt reading" in summary


def test_the_bench_row_reads_both_shares_from_the_summaries() -> None:
    from devteam.commands.bench.report import format_tables
    from devteam.commands.bench.rows import timing_shares

    first = {
        "timing": {
            "model_seconds": 10.0,
            "prompt_read_seconds": 2.0,
            "cached_prompt_tokens": 60,
            "cache_hit_share": 0.6,
        }
    }
    resumed = {
        "timing": {
            "model_seconds": 30.0,
            "prompt_read_seconds": 6.0,
            "cached_prompt_tokens": 340,
            "cache_hit_share": 0.85,
        }
    }
    older = {"calls": 3}  # a summary written before the figures existed

    shares = timing_shares([first, resumed, older])

    assert shares["prompt_read_share"] == 0.2 and shares["cache_hit_share"] == 0.8  # 400 of 500 prompt tokens
    assert timing_shares([older]) == {"prompt_read_share": None, "cache_hit_share": None}
    row = {
        "model": "m",
        "idea_number": 1,
        "project": "p",
        "status": "ok",
        "starts": True,
        "smoke": "ok",
        "tests_passed": 1,
        "tests_total": 1,
        "seconds": 1.0,
        "cost": 0.0,
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "code_files": 1,
        "lines_of_code": 1,
        "reasks": 0,
        "follow_ups": 0,
        "repairs": {},
        "qa_rounds": 1,
        **shares,
    }
    table = format_tables([row], {"m": "test"})
    assert "prompt read" in table and "cache hits" in table and "20%" in table and "80%" in table
