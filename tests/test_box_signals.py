"""Signals always stop the run, whatever the generated code does: a test that ignores SIGINT and SIGTERM, sleeps,
and leaves children and a double-forked daemon behind. The real `metagpt --run-tests` in a subprocess, Ctrl-C (to
its process group, as a terminal sends it) or SIGTERM sent while the QA round runs: the exit code is 130 or 143,
and no process of the box is left, found by a marker in their command lines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cli_runner import clean_env, metagpt_command, write_config
from fakes import OpenAIServer
from scripted_qa import ScriptedQaCompany

from devteam.qa.isolation import cgroup_parent
from devteam.qa.sandbox import Limits, _make_cgroup, _remove_cgroup

IDEA = "write a snake game"

STUBBORN_TEST = """\
import os
import signal
import subprocess
import sys
import time

from snake.board import Board

SLEEPER = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(900)  # MARK"


def test_never_ends() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    subprocess.Popen([sys.executable, "-c", SLEEPER])
    subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True)
    if os.fork() == 0:  # a daemon: double fork, a session of its own
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", SLEEPER])
        os._exit(0)
    time.sleep(900)
    assert Board().score == 0  # a test of the board, as far as any check can tell
"""


def _marked(marker: str) -> list[int]:
    """Processes anywhere on this machine whose command line holds `marker` (the box's PIDs are seen from here)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.parametrize("box", ["bubblewrap", "unsafe"])
@pytest.mark.parametrize(("number", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_during_qa_and_leaves_nothing_running(
    tmp_path: Path, openai_server: OpenAIServer, number: int, code: int, box: str
) -> None:
    marker = f"devteam-signal-test-{uuid.uuid4().hex}"
    company = ScriptedQaCompany(fixes={}, tests={"snake/board.py": STUBBORN_TEST.replace("MARK", marker)})
    openai_server.set_handler(company)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    args = [IDEA, "--no-code-review", "--run-tests", "--project-name", "snake", *(["--qa-unsafe"] * (box == "unsafe"))]
    run = subprocess.Popen(
        [*metagpt_command(), *args],
        cwd=tmp_path,
        env=clean_env(home, TMPDIR=str(scratch)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        # The QA round has started when its program's children are running.
        assert _wait_for(lambda: len(_marked(marker)) >= 3 or run.poll() is not None, 180), "the QA round never ran"
        assert run.poll() is None, run.communicate()
        if number == signal.SIGINT:
            os.killpg(run.pid, number)  # Ctrl-C reaches the terminal's whole foreground group
        else:
            os.kill(run.pid, number)
        stdout, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()

    assert run.returncode == code, stdout + stderr
    assert "Traceback" not in stderr, stderr
    assert "--resume" in stderr, stderr
    # Killed as the run ends; the kernel may take a moment to reap a PID namespace.
    leftovers = [] if _wait_for(lambda: not _marked(marker), 10) else _marked(marker)
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert leftovers == [], "still running after the run ended"
    assert sorted(path.name for path in scratch.iterdir()) == [], "the box's temporary folders were left behind"
    root = tmp_path / "workspace" / "snake"
    assert (root / "snake" / "board.py").is_file()  # what was committed before the signal is kept


@pytest.mark.skipif(cgroup_parent() is None, reason="needs a pids cgroup this user may create groups in (root)")
def test_the_pids_cgroup_is_emptied_of_a_daemon_before_it_is_removed(tmp_path: Path) -> None:
    """Where no namespace can be had, the cgroup is the layer that catches a daemon: it left the process group,
    never the cgroup."""
    marker = f"devteam-cgroup-test-{uuid.uuid4().hex}"
    group = _make_cgroup(Limits())
    assert group is not None
    daemon = subprocess.Popen(
        [sys.executable, "-c", f"import time; time.sleep(900)  # {marker}"],
        start_new_session=True,
        preexec_fn=lambda: (group / "cgroup.procs").write_text(str(os.getpid())),
    )
    try:
        assert _marked(marker) == [daemon.pid]

        _remove_cgroup(group)

        daemon.wait(timeout=30)
        assert daemon.returncode == -signal.SIGKILL
        assert not group.exists()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
