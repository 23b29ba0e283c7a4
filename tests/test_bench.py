"""`metagpt bench`: the shipped suite offline against a scripted server, two models, resume, the files."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import git
import yaml
from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer
from scripted_bench import ScriptedBenchModel

from devteam.commands.bench.suite import load_ideas, parse_ideas


def _config(tmp_path: Path, name: str, server: OpenAIServer, model: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "llm": {
                    "api_type": "open_llm",
                    "base_url": server.base_url,
                    "model": model,
                    "num_retries": 0,
                    "timeout": 20,
                }
            }
        )
    )
    return path


def test_the_shipped_suite_runs_offline_and_reports_table_1_columns(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set_handler(ScriptedBenchModel())
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "scripted-7b"})

    result = run_metagpt(["bench", "--no-code-review", "--concurrency", "3"], cwd=tmp_path, timeout=600)

    assert result.code == 0, result.output
    shipped = load_ideas(None)
    assert 8 <= len(shipped) <= 12
    bench = tmp_path / "workspace" / "bench"
    data = json.loads((bench / "bench.json").read_text())
    rows = data["projects"]
    assert len(rows) == len(shipped) and all(row["status"] == "ok" for row in rows)
    assert all(row["starts"] and row["tests_passed"] == row["tests_total"] == 2 for row in rows), rows
    assert all(row["code_files"] == 4 and row["lines_of_code"] > 5 for row in rows)
    totals = data["models"]["scripted-7b"]
    assert totals["starts"] == len(shipped) and totals["tests_passed"] == 2 * len(shipped)
    assert "model scripted-7b" in result.stdout
    for column in (
        "starts",
        "tests",
        "time s",
        "cost $",
        "tokens in/out",
        "files",
        "LOC",
        "re-asks",
        "follow-ups",
        "repairs",
        "QA rounds",
    ):
        assert column in result.stdout
    assert f"executability {len(shipped)}/{len(shipped)} programs start" in result.stdout
    with (bench / "bench.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(shipped)
    # Each project is an ordinary, inspectable project with its QA rounds committed.
    project = Path(rows[0]["path"])
    with git.Repo(project) as repo:
        authors = {c.author.name for c in repo.iter_commits()}
    assert "QaEngineer" in authors and (project / "docs" / "qa" / "round_1.md").is_file()


def test_two_models_resume_and_a_program_that_does_not_start(tmp_path: Path, openai_server: OpenAIServer) -> None:
    model = ScriptedBenchModel()
    openai_server.set_handler(model)
    ideas = tmp_path / "ideas.txt"
    ideas.write_text("# two ideas\nwrite a word counter\n\nwrite a broken word counter\n")
    a = _config(tmp_path, "a", openai_server, "small-model")
    b = _config(tmp_path, "b", openai_server, "small-model")
    args = [
        "bench",
        str(ideas),
        "--config",
        str(a),
        "--config",
        str(b),
        "--no-code-review",
        "--qa-rounds",
        "1",
        "--workspace",
        str(tmp_path / "out"),
    ]

    first = run_metagpt(args, cwd=tmp_path, timeout=300)

    assert first.code == 0, first.output
    data = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert set(data["models"]) == {"small-model", "small-model_b"}
    broken = [row for row in data["projects"] if row["project"].startswith("idea02_")]
    assert len(broken) == 2 and not any(row["starts"] for row in broken)
    assert all(row["smoke"] == "fails" and row["qa_rounds"] == 1 for row in broken)
    # A program that does not start is never `ok`, whatever its tests say.
    assert all(row["status"] == "does not start" for row in broken), broken
    assert data["models"]["small-model"]["starts"] == 1 and data["models"]["small-model"]["finished"] == 1
    assert "executability 1/2 programs start" in first.stdout
    # Projects ran side by side in one process; each run.log holds only its own run's lines.
    logs = {row["project"][:7]: (Path(row["path"]) / ".devteam" / "run.log").read_text() for row in data["projects"]}
    assert "fix changed nothing" in logs["idea02_"]
    assert "fix changed nothing" not in logs["idea01_"]

    # A bench cut off after one project: the rest runs, what was done is not asked for again.
    data["projects"] = data["projects"][:1]
    (tmp_path / "out" / "bench.json").write_text(json.dumps(data))
    calls_before = len(model.calls)
    second = run_metagpt(args, cwd=tmp_path, timeout=300)

    assert second.code == 0, second.output
    assert "resuming: 1 projects already done, 3 to run" in second.stdout
    rows = json.loads((tmp_path / "out" / "bench.json").read_text())["projects"]
    assert len(rows) == 4
    assert [row["status"] for row in rows] == ["ok", "does not start", "ok", "does not start"], rows
    assert [row["qa_rounds"] for row in rows[1:]] == [2, 2, 2]  # resumed: one more QA round each
    # A resumed row counts every run of its project: tokens, calls and time of both runs, not the last one's.
    for row in rows[1:]:
        runs = [
            json.loads(path.read_text()) for path in sorted((Path(row["path"]) / ".devteam" / "runs").glob("*.json"))
        ]
        assert len(runs) == row["runs"] == 2
        assert row["prompt_tokens"] == sum(run["prompt_tokens"] for run in runs) > runs[-1]["prompt_tokens"]
        assert row["completion_tokens"] == sum(run["completion_tokens"] for run in runs)
        assert row["calls"] == sum(run["calls"] for run in runs)
    # The three projects re-run resume from their commits: no new PRD or design is asked for.
    new_calls = model.calls[calls_before:]
    assert not any(call.startswith("## Action: WritePRD") for call in new_calls)


def test_ideas_files_skip_comments_and_an_empty_one_is_refused(tmp_path: Path) -> None:
    ideas = parse_ideas("# c\n\n write a game \nwrite a tool\n")
    assert [(i.number, i.text) for i in ideas] == [(1, "write a game"), (2, "write a tool")]
    assert ideas[0].project_name.startswith("idea01_game_")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    write_config(tmp_path, {"api_type": "open_llm", "base_url": "http://127.0.0.1:9/v1", "model": "m"})
    result = run_metagpt(["bench", str(empty)], cwd=tmp_path)
    assert result.code == 2 and "holds no idea" in result.stderr and "Traceback" not in result.output


def test_the_chart_is_a_png_when_matplotlib_is_installed_else_a_hint(tmp_path: Path) -> None:
    from devteam.commands.bench.report import PLOT_HINT, write_chart
    from devteam.commands.bench.rows import project_row
    from devteam.commands.bench.suite import Idea

    rows = [project_row("m", Idea(1, "write a game"), None, [{"seconds": 2.0}], None)]
    why_not = write_chart(tmp_path / "bench.png", rows)
    if importlib.util.find_spec("matplotlib") is None:
        assert why_not == PLOT_HINT and not (tmp_path / "bench.png").exists()
    else:
        assert why_not is None and (tmp_path / "bench.png").read_bytes().startswith(b"\x89PNG")


def test_follow_ups_and_filled_functions_are_the_summary_s_own_counts() -> None:
    from devteam.commands.bench.rows import project_row
    from devteam.commands.bench.suite import Idea

    # The summary counts 4 field follow-ups; the repair marker fired once (the `follow-ups` column is the former).
    summary = {"field_followups": 4, "repairs": {"repair_field_followup": 1, "repair_key_case": 1}, "reasks": 2}
    row = project_row("m", Idea(1, "write a game"), None, [summary], None)
    assert (row["follow_ups"], row["reasks"], sum(row["repairs"].values())) == (4, 2, 2)
    # Hollow functions filled: the summary's `functions_filled` where it has one, else the follow-up marker.
    assert project_row("m", Idea(1, "x"), None, [{"functions_filled": 3}], None)["functions_filled"] == 3
    marker = {"repairs": {"repair_function_followup": 2}}
    assert project_row("m", Idea(1, "x"), None, [marker], None)["functions_filled"] == 2


def test_only_a_program_that_starts_and_passes_its_own_tests_is_ok() -> None:
    from devteam.commands.bench.rows import project_row
    from devteam.commands.bench.suite import Idea

    def status(*rounds: dict[str, object], error: BaseException | None = None) -> str:
        summary = {"qa": {"rounds": list(rounds)}}
        return str(project_row("m", Idea(1, "write a game"), None, [summary], error)["status"])

    starts = {"smoke": "clean exit", "tests_passed": 2, "tests_failed": 0, "tests_total": 2}
    assert status(starts) == "ok"
    assert status({**starts, "smoke": "fails"}) == "does not start"
    assert status({**starts, "smoke": None}) == "does not start"  # no entry point: nothing started
    assert status({**starts, "tests_passed": 0, "tests_total": 0}) == "no tests"
    assert status({**starts, "tests_passed": 1, "tests_failed": 1}) == "tests fail"
    assert status() == "not tested"
    assert status(starts, error=RuntimeError("gave up")) == "failed"
    # The latest round is the verdict; a later verdict's collected count is used where it has one.
    assert status({**starts, "smoke": "fails"}, starts) == "ok"
    assert status({**starts, "tests_collected": 0, "tests_passed": 0}) == "no tests"


def test_ctrl_c_stops_the_bench_and_the_next_one_continues(tmp_path: Path, openai_server: OpenAIServer) -> None:
    import signal
    import subprocess
    import time

    from cli_runner import clean_env, metagpt_command

    model = ScriptedBenchModel()

    def slow(request):  # type: ignore[no-untyped-def]
        time.sleep(0.3)  # each project takes a few seconds: time to stop the bench in the middle
        return model(request)

    openai_server.set_handler(slow)
    ideas = tmp_path / "ideas.txt"
    ideas.write_text("write a word counter\nwrite a line counter\nwrite a char counter\n")
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    (tmp_path / "home").mkdir()
    args = [
        *metagpt_command(),
        "bench",
        str(ideas),
        "--concurrency",
        "1",
        "--no-code-review",
        "--workspace",
        str(tmp_path / "out"),
    ]
    process = subprocess.Popen(
        args, cwd=tmp_path, env=clean_env(tmp_path / "home"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    state = tmp_path / "out" / "bench.json"
    deadline = time.monotonic() + 120
    while not state.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 130, stderr
    assert "Run the same command again to continue" in stderr and "Traceback" not in stderr
    done = json.loads(state.read_text())["projects"]
    assert 1 <= len(done) < 3

    again = run_metagpt(args[len(metagpt_command()) :], cwd=tmp_path, timeout=300)
    assert again.code == 0, again.output
    rows = json.loads(state.read_text())["projects"]
    assert len(rows) == 3 and all(row["status"] == "ok" and row["starts"] for row in rows)
