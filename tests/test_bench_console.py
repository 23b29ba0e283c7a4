"""`metagpt bench` tells the truth and adapts: projects paced to the server's slots, failures said and tried
again, warnings that name their project, and the flags every subcommand takes.

Every case runs the real `metagpt bench` in a subprocess against a scripted OpenAI-protocol server.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from cli_runner import run_metagpt, write_config
from fakes import CutStream, OpenAIServer, RecordedRequest, Reply
from scripted_bench import REFUSAL, ScriptedBenchModel

IDEAS = ("write a word counter", "write a line counter", "write a char counter")


def _bench(tmp_path: Path, server: OpenAIServer, ideas: tuple[str, ...] = IDEAS, **llm: object) -> list[str]:
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m", **llm})
    path = tmp_path / "ideas.txt"
    path.write_text("".join(f"{idea}\n" for idea in ideas))
    return ["bench", str(path), "--no-code-review", "--qa-rounds", "1", "--workspace", str(tmp_path / "out")]


def _rows(tmp_path: Path) -> list[dict[str, object]]:
    return json.loads((tmp_path / "out" / "bench.json").read_text())["projects"]


class _Overlap:
    """Counts the chat requests in flight at once; each is held a moment so that concurrent ones overlap."""

    def __init__(self, model: ScriptedBenchModel, hold: float = 0.1) -> None:
        self.model, self.hold = model, hold
        self.active = self.peak = 0
        self._lock = threading.Lock()
        self._never = threading.Event()

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            self._never.wait(self.hold)
            return self.model(request)
        finally:
            with self._lock:
                self.active -= 1


def test_a_server_with_one_slot_gets_one_project_at_a_time(tmp_path: Path) -> None:
    overlap = _Overlap(ScriptedBenchModel())
    with OpenAIServer(total_slots=1) as server:  # llama.cpp's GET /props says total_slots 1
        server.set_handler(overlap)
        result = run_metagpt(_bench(tmp_path, server), cwd=tmp_path, timeout=600)

    assert result.code == 0, result.output
    assert overlap.peak == 1
    assert "m: projects 1 at a time (the server serves one request at a time" in result.stdout
    assert [row["status"] for row in _rows(tmp_path)] == ["ok", "ok", "ok"]


class _CutsWhenBusy:
    """Like llama-cpp-python's server: a request that arrives cuts the answers being streamed. Each request is
    held a moment, so two projects sending at once meet for sure."""

    def __init__(self, model: ScriptedBenchModel, hold: float = 0.3) -> None:
        self.model, self.hold = model, hold
        self.arrived = self.cuts = 0
        self.active: set[int] = set()
        self.cut: set[int] = set()
        self._lock = threading.Lock()
        self._never = threading.Event()

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.arrived += 1
            me = self.arrived
            self.cut.update(self.active)
            self.active.add(me)
        self._never.wait(self.hold)
        with self._lock:
            self.active.discard(me)
            was_cut = me in self.cut
            self.cuts += was_cut
        return CutStream("def partial(") if was_cut else self.model(request)


def test_a_server_that_cuts_streams_under_concurrency_gets_one_project_at_a_time_and_warnings_name_it(
    tmp_path: Path,
) -> None:
    busy = _CutsWhenBusy(ScriptedBenchModel())
    with OpenAIServer() as server:  # says nothing of its slots
        server.set_handler(busy)
        result = run_metagpt(_bench(tmp_path, server, num_retries=3), cwd=tmp_path, timeout=600)

    assert result.code == 0, result.output
    assert busy.cuts >= 1  # two projects started together and cut each other's answers ...
    assert "m: projects 2 at a time, 1 once the server shows it serves one request at a time" in result.stdout
    assert "one project at a time from now on" in result.stdout  # ... then the bench learnt it
    assert [row["status"] for row in _rows(tmp_path)] == ["ok", "ok", "ok"]
    # Every warning on the console names the project whose call it was.
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert warnings and all(line.startswith("[m/idea0") for line in warnings), warnings


def test_a_failed_project_says_why_and_runs_again_on_the_next_bench_unless_told_not_to(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    model = ScriptedBenchModel()
    model.refuse = "doomed"
    openai_server.set_handler(model)
    args = _bench(tmp_path, openai_server, ("write a word counter", "write a doomed tool"))

    first = run_metagpt(args, cwd=tmp_path, timeout=300)

    assert first.code == 0, first.output
    ok, doomed = _rows(tmp_path)
    assert ok["status"] == "ok" and doomed["status"] == "failed" and REFUSAL in str(doomed["error"])
    # The reason is on the console and at the end of the project's progress log, not only in bench.json.
    [said] = [line for line in first.stdout.splitlines() if "failed in" in line]
    assert said.startswith(f"bench: m/{doomed['project']} failed") and REFUSAL in said
    log = (tmp_path / "out" / "m" / "logs" / f"{doomed['project']}.log").read_text()
    assert REFUSAL in log.splitlines()[-1]

    model.refuse = None  # the key works again
    kept = run_metagpt([*args, "--no-retry-failed"], cwd=tmp_path, timeout=300)
    assert kept.code == 0, kept.output
    assert "2 projects already done, 0 to run" in kept.stdout
    assert [row["status"] for row in _rows(tmp_path)] == ["ok", "failed"]

    again = run_metagpt(args, cwd=tmp_path, timeout=300)
    assert again.code == 0, again.output
    assert "1 projects already done, 1 to run (1 failed before, run again)" in again.stdout
    assert [row["status"] for row in _rows(tmp_path)] == ["ok", "ok"]
    assert _rows(tmp_path)[1]["runs"] == 2  # the failed run's calls count too


def test_the_common_flags_are_taken(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedBenchModel())
    args = _bench(tmp_path, openai_server, ("write a word counter",))
    other = tmp_path / "other.yaml"
    other.write_text(f"llm:\n  api_type: open_llm\n  base_url: {openai_server.base_url}\n  model: m\n")

    result = run_metagpt(
        [*args, "--plain", "-v", "--model", "picked-model", "--config", str(other)], cwd=tmp_path, timeout=300
    )

    assert result.code == 0, result.output
    assert {request.json["model"] for request in openai_server.chat_requests} == {"picked-model"}
    assert "model picked-model" in result.stdout
    assert [row["model"] for row in _rows(tmp_path)] == ["picked-model"]
    # -v: the log on the console, each line naming its project.
    assert all(line.startswith("[picked-model/idea01") for line in result.stderr.splitlines() if "INFO" in line)


def test_a_program_with_no_tests_is_not_ok(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedBenchModel())

    result = run_metagpt(
        _bench(tmp_path, openai_server, ("write an untested word counter",)), cwd=tmp_path, timeout=300
    )

    assert result.code == 0, result.output
    [row] = _rows(tmp_path)
    assert row["starts"] and row["tests_total"] == 0 and row["status"] == "no tests", row
    assert "0 ok" in result.stdout
