"""Expectations up front: `metagpt check` measures how fast the server reads and writes (one short timed call),
its parallel slots, and says roughly how long a project takes there; the measurement is cached per server and
model, and the run header repeats it. The real CLI against local protocol servers that report usage, llama.cpp's
`timings` and `/props`, or only take their time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer, RecordedRequest, Reply
from fakes.base import Error, Text
from scripted_company import ScriptedCompany

from devteam.llm.server_speed import (
    TYPICAL_ANSWER_TOKENS,
    TYPICAL_PROMPT_TOKENS,
    ServerSpeed,
)

GOOD = json.dumps({"greeting": "hello", "numbers": [1, 2, 3], "ok": True})
COUNTING = "one, two, three, four, five, six, seven, eight, nine, ten"
# llama.cpp's own figures for the speed call: 600 prompt tokens read in 2 s, 50 answer tokens at 5 a second.
LLAMA_TIMINGS = {
    "prompt_n": 600,
    "prompt_ms": 2000.0,
    "prompt_per_second": 300.0,
    "predicted_n": 50,
    "predicted_ms": 10000.0,
    "predicted_per_second": 5.0,
}


def _is_speed_call(request: RecordedRequest) -> bool:
    return "count from one to forty" in json.dumps(request.json)


def _answers(speed_reply: Reply) -> object:
    company = ScriptedCompany()

    def handler(request: RecordedRequest) -> Reply:
        text = json.dumps(request.json)
        if "## Action: Check" in text:
            return Text(GOOD, usage=(80, 20))
        if _is_speed_call(request):
            return speed_reply
        return company(request)

    return handler


def _cache(tmp_path: Path) -> dict[str, object]:
    return json.loads((tmp_path / "home" / ".cache" / "devteam" / "server_speed.json").read_text())


def test_check_reports_the_servers_own_speed_and_slots_and_the_run_header_repeats_it(tmp_path: Path) -> None:
    with OpenAIServer(total_slots=1) as server:
        server.set_handler(_answers(Text(COUNTING, usage=(600, 50), timings=LLAMA_TIMINGS)))
        write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "qwen05"})

        checked = run_metagpt(["check"], cwd=tmp_path)

        assert checked.code == 0, checked.output
        assert (
            "speed:      reads 300 tokens/s, writes 5.0 tokens/s (the server's own timings); 1 slot "
            "(one request at a time)" in checked.stdout
        )
        minutes = round((TYPICAL_PROMPT_TOKENS / 300 + TYPICAL_ANSWER_TOKENS / 5.0) / 60)
        expectation = f"about {minutes} min for a typical project here (~10 calls: 30,000 prompt and 10,000 answer"
        assert f"expect:     {expectation}" in checked.stdout
        speed_calls = [r for r in server.chat_requests if _is_speed_call(r)]
        assert len(speed_calls) == 1 and speed_calls[0].json["max_tokens"] == 64
        cached = _cache(tmp_path)[f"open_llm {server.base_url} qwen05"]
        assert cached["prompt_tokens_per_s"] == 300.0 and cached["answer_tokens_per_s"] == 5.0
        assert cached["slots"] == 1 and cached["from_server"] is True

        run = run_metagpt(["write a tic-tac-toe game", "--no-code-review"], cwd=tmp_path)

        assert run.code == 0, run.output
        header = [line for line in run.output.splitlines() if line.strip().startswith("expect")]
        assert len(header) == 1 and expectation in header[0] and "measured by metagpt check on" in header[0]
        assert not [r for r in server.chat_requests if _is_speed_call(r)][1:]  # a run never measures


def test_a_server_that_reports_only_usage_is_timed_by_the_wall_clock(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """No stream (so no first-token time) and no timings: the answer speed is the call's tokens over its wall
    time, which the server's delay bounds from above on any machine; the prompt's reading goes unmeasured."""
    openai_server.latency = 0.5
    openai_server.set_handler(_answers(Text(COUNTING, usage=(600, 40))))
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "stream": False})

    checked = run_metagpt(["check"], cwd=tmp_path)

    assert checked.code == 0, checked.output
    assert "reading not timed, writes " in checked.stdout and "(usage and wall time)" in checked.stdout
    assert "reading the prompts not counted" in checked.stdout
    cached = _cache(tmp_path)[f"open_llm {openai_server.base_url} m"]
    assert cached["prompt_tokens_per_s"] is None and cached["slots"] is None
    assert 0 < cached["answer_tokens_per_s"] <= 40 / 0.5


def test_no_speed_skips_the_call_and_a_failed_measurement_is_one_line(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set_handler(_answers(Error(500, message="slot busy")))
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    skipped = run_metagpt(["check", "--no-speed"], cwd=tmp_path)

    assert skipped.code == 0, skipped.output
    assert "speed:" not in skipped.stdout and "expect:" not in skipped.stdout
    assert not [r for r in openai_server.chat_requests if _is_speed_call(r)]

    failed = run_metagpt(["check"], cwd=tmp_path)

    assert failed.code == 0, failed.output  # the server answered the check: it is usable
    assert "speed:      not measured (" in failed.stdout and "slot busy" in failed.stdout
    assert "expect:" not in failed.stdout
    assert not (tmp_path / "home" / ".cache" / "devteam" / "server_speed.json").exists()


@pytest.mark.parametrize(
    "entry",
    [
        {"prompt_tokens_per_s": "fast", "answer_tokens_per_s": 5.0},
        {"prompt_tokens_per_s": 300.0, "answer_tokens_per_s": -1},
        {"answer_tokens_per_s": 5.0, "slots": True},
        ["not", "an", "entry"],
        {"prompt_tokens_per_s": 300.0, "answer_tokens_per_s": None},  # nothing to estimate from
    ],
)
def test_a_cache_entry_that_is_not_a_measurement_is_never_shown(tmp_path: Path, entry: object) -> None:
    with OpenAIServer() as server:
        server.set_handler(_answers(Text(COUNTING)))
        write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})
        cache = tmp_path / "home" / ".cache" / "devteam" / "server_speed.json"
        cache.parent.mkdir(parents=True)
        cache.write_text(json.dumps({f"open_llm {server.base_url} m": entry}))

        run = run_metagpt(["write a tic-tac-toe game", "--no-code-review"], cwd=tmp_path)

        assert run.code == 0, run.output
        assert not [line for line in run.output.splitlines() if line.strip().startswith("expect")]
        assert "Traceback" not in run.output


def test_the_estimate_reads_and_writes_the_typical_project() -> None:
    speed = ServerSpeed(prompt_tokens_per_s=100.0, answer_tokens_per_s=10.0)
    assert speed.project_seconds() == TYPICAL_PROMPT_TOKENS / 100 + TYPICAL_ANSWER_TOKENS / 10
    assert ServerSpeed(None, 10.0).project_seconds() == TYPICAL_ANSWER_TOKENS / 10
    assert ServerSpeed(100.0, None).project_seconds() is None
    assert (ServerSpeed(5000.0, 400.0).expectation() or "").startswith("about 31 s for")
    assert (ServerSpeed(20.0, 2.0).expectation() or "").startswith("about 1.8 h for")
