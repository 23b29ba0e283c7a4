"""`metagpt bench` between runs: bench.json read back with care, one bench per folder, ideas matched whole.

Every case runs the real `metagpt bench` in a subprocess against a scripted OpenAI-protocol server.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from cli_runner import clean_env, metagpt_command, run_metagpt, write_config
from fakes import OpenAIServer, RecordedRequest, Reply
from scripted_bench import ScriptedBenchModel


def _bench(tmp_path: Path, server: OpenAIServer, *ideas: str) -> list[str]:
    """The bench's argument list for these ideas, into tmp_path/out, with the config at tmp_path/config."""
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})
    path = tmp_path / "ideas.txt"
    path.write_text("".join(f"{idea}\n" for idea in ideas))
    return ["bench", str(path), "--no-code-review", "--qa-rounds", "1", "--workspace", str(tmp_path / "out")]


def _rows(tmp_path: Path) -> list[dict[str, object]]:
    return json.loads((tmp_path / "out" / "bench.json").read_text())["projects"]


def _prds(model: ScriptedBenchModel) -> int:
    return sum(1 for call in model.calls if call.startswith("## Action: WritePRD"))


def _set_aside(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "out").glob("bench.json.unreadable-*"))


def test_a_bench_json_that_is_not_json_is_moved_aside_never_overwritten(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set_handler(ScriptedBenchModel())
    args = _bench(tmp_path, openai_server, "write a word counter")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "bench.json").write_text("{ my notes: not JSON")

    result = run_metagpt(args, cwd=tmp_path, timeout=300)

    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    [aside] = _set_aside(tmp_path)
    assert aside.read_text() == "{ my notes: not JSON"
    assert "not readable JSON" in result.stdout and aside.name in result.stdout
    assert [row["status"] for row in _rows(tmp_path)] == ["ok"]


def test_rows_with_missing_or_mistyped_fields_run_again_without_a_trace(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    model = ScriptedBenchModel()
    openai_server.set_handler(model)
    args = _bench(tmp_path, openai_server, "write a word counter", "write a line counter")
    first = run_metagpt(args, cwd=tmp_path, timeout=300)
    assert first.code == 0, first.output
    state = tmp_path / "out" / "bench.json"
    data = json.loads(state.read_text())
    del data["projects"][0]["status"]  # a missing key
    data["projects"][1]["seconds"] = "fast"  # a wrong type
    data["projects"][1]["repairs"] = ["not", "a", "dict"]
    edited = json.dumps(data)
    state.write_text(edited)
    prds_before = _prds(model)

    again = run_metagpt(args, cwd=tmp_path, timeout=300)

    assert again.code == 0, again.output
    assert "Traceback" not in again.output
    assert "2 of its 2 rows have missing or mistyped fields" in again.stdout
    [aside] = _set_aside(tmp_path)
    assert aside.read_text() == edited  # what the person wrote is kept
    rows = _rows(tmp_path)
    assert [row["status"] for row in rows] == ["ok", "ok"] and all(isinstance(row["seconds"], float) for row in rows)
    # The two projects were continued (resumed from their commits), not started again from a PRD.
    assert _prds(model) == prds_before

    # JSON of the wrong shape is set aside too.
    state.write_text(json.dumps({"projects": "none"}))
    third = run_metagpt(args, cwd=tmp_path, timeout=300)
    assert third.code == 0 and "Traceback" not in third.output, third.output
    assert "not a bench's results" in third.stdout and len(_set_aside(tmp_path)) == 2


def test_an_edited_idea_is_a_new_project_even_when_its_first_words_match(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    model = ScriptedBenchModel()
    openai_server.set_handler(model)
    first = run_metagpt(_bench(tmp_path, openai_server, "write a word counter"), cwd=tmp_path, timeout=300)
    assert first.code == 0, first.output
    prds = _prds(model)

    edited = _bench(tmp_path, openai_server, "write a word counter that ignores case and punctuation")
    second = run_metagpt(edited, cwd=tmp_path, timeout=300)

    assert second.code == 0, second.output
    assert "already done" not in second.stdout
    assert _prds(model) > prds  # a new project: its PRD was asked for
    [row] = _rows(tmp_path)
    assert row["idea"] == "write a word counter that ignores case and punctuation"
    assert "left out of the report" in second.stdout  # the old idea's result is not passed off as this one's


def test_an_idea_with_a_20000_character_word_runs_into_a_short_folder(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set_handler(ScriptedBenchModel())
    idea = "write a " + "z" * 20_000 + " counter"

    result = run_metagpt(_bench(tmp_path, openai_server, idea), cwd=tmp_path, timeout=300)

    assert result.code == 0, result.output
    assert "Traceback" not in result.output and "File name too long" not in result.output
    [row] = _rows(tmp_path)
    assert row["idea"] == idea and len(Path(str(row["path"])).name) < 64


class _Slow:
    """The scripted model, a little slow per answer: a bench takes long enough for a second one to meet it."""

    def __init__(self, model: ScriptedBenchModel, seconds: float) -> None:
        self.model, self.seconds = model, seconds

    def __call__(self, request: RecordedRequest) -> Reply:
        time.sleep(self.seconds)
        return self.model(request)


def test_a_second_bench_in_the_same_folder_stops_at_once_and_marks_nothing_failed(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set_handler(_Slow(ScriptedBenchModel(), 0.2))
    args = _bench(tmp_path, openai_server, "write a word counter", "write a line counter")
    home = tmp_path / "home"
    home.mkdir()
    first = subprocess.Popen(
        [*metagpt_command(), *args],
        cwd=tmp_path,
        env=clean_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        logs = tmp_path / "out" / "m" / "logs"
        deadline = time.monotonic() + 120
        while first.poll() is None and time.monotonic() < deadline and not any(logs.glob("*.log")):
            time.sleep(0.05)
        assert first.poll() is None, first.communicate()

        second = run_metagpt(args, cwd=tmp_path, timeout=120)

        assert second.code == 2, second.output
        assert "another metagpt bench is running in" in second.stderr and "Traceback" not in second.output
        stdout, stderr = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, stdout + stderr
    assert [row["status"] for row in _rows(tmp_path)] == ["ok", "ok"]
