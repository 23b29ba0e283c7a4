"""Output read by a pager or `head` that stops early: the command ends quietly, never in a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_runner import clean_env, metagpt_command

REPO = Path(__file__).resolve().parents[1]
DEMO_RECORD = REPO / "devteam" / "demos" / "snake_game.jsonl"


def _big_record(project: Path, calls: int = 1000) -> None:
    """A record whose every view (table, JSON, call 3 in full) overflows a pipe's buffer (64 KiB on Linux),
    so metagpt is still writing when the reader hangs up."""
    record = project / ".devteam" / "exchanges.jsonl"
    record.parent.mkdir(parents=True)
    lines = [
        json.dumps(
            {
                "run": "r1",
                "seq": seq,
                "role": "Engineer",
                "action": "WriteCode",
                "subject": f"pkg/m{seq}.py",
                "model": "m",
                "answer": "x = 1\n" * (40_000 if seq == 3 else 20),
                "messages": [{"role": "user", "content": "go"}],
            }
        )
        for seq in range(1, calls + 1)
    ]
    record.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _read_one_line_then_hang_up(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """`metagpt ARGS | head -n 1`, with the exit status and stderr of metagpt itself."""
    (cwd / "home").mkdir(exist_ok=True)
    with subprocess.Popen(
        [*metagpt_command(), *args],
        cwd=cwd,
        env=clean_env(cwd / "home"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()
        stderr = process.stderr.read()
        return process.wait(timeout=60), first, stderr


@pytest.mark.parametrize("view", [[], ["--json"], ["--call", "3"]])
def test_logs_into_a_pipe_closed_early_ends_quietly(tmp_path: Path, view: list[str]) -> None:
    project = tmp_path / "workspace" / "big"
    _big_record(project)

    code, first, stderr = _read_one_line_then_hang_up(["logs", str(project), *view], tmp_path)

    assert first.strip()
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr and "Exception ignored" not in stderr
    assert stderr == ""
    assert code == 141


def test_a_run_whose_output_reader_is_gone_ends_quietly_with_its_work_kept(tmp_path: Path) -> None:
    """The run's summary goes to stdout after the work is committed; a closed pipe must not turn it into a
    traceback (the read end is closed before anything is written)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    (tmp_path / "home").mkdir()
    try:
        completed = subprocess.run(
            [*metagpt_command(), "write a snake game", "--replay", str(DEMO_RECORD), "--project-name", "snake"],
            cwd=tmp_path,
            env=clean_env(tmp_path / "home"),
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)

    assert "Traceback" not in completed.stderr and "Exception ignored" not in completed.stderr
    assert completed.returncode == 141, completed.stderr[-2000:]
    assert (tmp_path / "workspace" / "snake" / "docs" / "prd.json").is_file()
