"""The sandbox's limits, each tested with a program that breaks it: runs forever, allocates without end, forks
without end, writes a huge file, reads ~/.ssh, opens a socket, and one that looks for our secrets."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from devteam.qa.box import PROJECT_DIR, Bind, choose_box
from devteam.qa.isolation import probe_isolation
from devteam.qa.sandbox import Limits, run_sandboxed

# The real box (bubblewrap): CI installs it; a machine without it gets the "missing" box and these fail.
BOX = choose_box()

FAST = Limits(
    wall_seconds=20,
    cpu_seconds=10,
    memory_bytes=512 * 1024 * 1024,
    file_bytes=1024 * 1024,
    processes=8,
    output_bytes=4096,
)


def _run(tmp_path: Path, code: str, limits: Limits = FAST):  # type: ignore[no-untyped-def]
    program = tmp_path / "program.py"
    program.write_text(code)
    return run_sandboxed([sys.executable, "program.py"], project=tmp_path, box=BOX, limits=limits)


def test_a_clean_program_runs_and_its_output_comes_back(tmp_path: Path) -> None:
    result = _run(tmp_path, "print('hello from the sandbox')\n")
    assert result.ok and not result.timed_out
    assert "hello from the sandbox" in result.output


def test_a_program_that_loops_forever_is_killed_at_the_wall_clock_limit(tmp_path: Path) -> None:
    limits = Limits(wall_seconds=1.5, cpu_seconds=30)
    result = _run(tmp_path, "import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(0.05)\n", limits)
    assert result.timed_out and result.returncode is None
    assert "started" in result.output
    assert result.seconds < 15


def test_a_busy_loop_is_stopped_by_the_cpu_limit(tmp_path: Path) -> None:
    limits = Limits(wall_seconds=60, cpu_seconds=1)
    result = _run(tmp_path, "while True:\n    pass\n", limits)
    assert not result.timed_out
    assert result.returncode != 0
    assert result.signal_name in ("SIGXCPU", "SIGKILL")


def test_allocating_without_end_fails_with_memory_error(tmp_path: Path) -> None:
    code = (
        "blocks = []\ntry:\n    while True:\n        blocks.append(bytearray(64 * 1024 * 1024))\n"
        "except MemoryError:\n    print('stopped after', len(blocks), 'blocks')\n    raise SystemExit(3)\n"
    )
    result = _run(tmp_path, code)
    assert result.returncode == 3, result.output
    blocks = int(result.output.split("stopped after")[1].split()[0])
    assert blocks < 512 // 64  # the 512 MiB limit, not the machine's memory


def test_forking_without_end_is_capped(tmp_path: Path) -> None:
    code = (
        "import os, time\nforks = 0\nfor _ in range(60):\n    try:\n        pid = os.fork()\n"
        "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(3)\n        os._exit(0)\n"
        "    forks += 1\nprint('forks', forks)\n"
    )
    result = _run(tmp_path, code)
    forks = int(result.output.split("forks")[1].split()[0])
    if probe_isolation().process_limit == "none":
        # Root without a pids cgroup: the kernel ignores RLIMIT_NPROC, and the sandbox must say so.
        assert "process count is not limited" in probe_isolation().describe()
    else:
        assert forks <= FAST.processes, result.output


def test_writing_a_huge_file_stops_at_the_file_size_limit(tmp_path: Path) -> None:
    code = (
        "import signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\nwritten = 0\n"
        "try:\n    with open('huge.bin', 'wb') as out:\n        for _ in range(1024):\n"
        "            out.write(b'x' * 1024 * 1024)\n            out.flush()\n            written += 1\n"
        "except OSError as error:\n    print('refused after', written, 'MiB:', error.strerror)\n"
    )
    result = _run(tmp_path, code)
    assert "refused after 1 MiB" in result.output, result.output
    assert not (tmp_path / "huge.bin").exists()  # written in the box's copy, never in the project


def test_home_is_a_fresh_folder_so_ssh_keys_are_not_there(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fake_home = tmp_path / "home"
    (fake_home / ".ssh").mkdir(parents=True)
    (fake_home / ".ssh" / "id_rsa").write_text("PRIVATE KEY MATERIAL")
    monkeypatch.setenv("HOME", str(fake_home))
    code = (
        "import os, pathlib\nhome = pathlib.Path.home()\nprint('home', home)\n"
        "key = home / '.ssh' / 'id_rsa'\nprint('key', key.read_text() if key.exists() else 'absent')\n"
    )
    project = tmp_path / "project"
    project.mkdir()
    result = _run(project, code)
    assert result.ok, result.output
    assert "key absent" in result.output
    assert str(fake_home) not in result.output


def test_no_secret_of_ours_is_in_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
    result = _run(tmp_path, "import os\nprint(sorted(os.environ.items()))\n")
    assert result.ok
    assert "sk-test-secret-value" not in result.output and "ghp-secret" not in result.output


def test_opening_a_socket_reaches_nothing_when_namespaces_are_available(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    code = (
        f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
        "    print('connected')\nexcept OSError as error:\n    print('refused', error)\n"
    )
    try:
        result = _run(tmp_path, code)
    finally:
        listener.close()
    if probe_isolation().network:
        assert "refused" in result.output, result.output
    else:
        assert "connected" in result.output
        assert "network: NOT isolated" in probe_isolation().describe()


def test_output_is_capped_keeping_its_head_and_tail(tmp_path: Path) -> None:
    code = "print('FIRST')\nfor i in range(200000):\n    print('line', i)\nprint('LAST')\n"
    result = _run(tmp_path, code)
    assert result.ok and result.output_truncated
    assert result.output.startswith("FIRST") and result.output.rstrip().endswith("LAST")
    assert len(result.output) < FAST.output_bytes + 200


def test_a_program_can_still_talk_to_itself_over_loopback(tmp_path: Path) -> None:
    code = (
        "import socket\nserver = socket.socket()\nserver.bind(('127.0.0.1', 0))\nserver.listen(1)\n"
        "client = socket.create_connection(server.getsockname(), timeout=3)\nconn, _ = server.accept()\n"
        "client.sendall(b'ping')\nprint('got', conn.recv(4).decode())\n"
    )
    result = _run(tmp_path, code)
    assert result.ok and "got ping" in result.output, result.output


def test_stop_all_ends_a_running_program_at_once(tmp_path: Path) -> None:
    import threading
    import time

    from devteam.qa.sandbox import stop_all

    project, signals = tmp_path / "project", tmp_path / "signals"
    project.mkdir()
    signals.mkdir()
    (project / "sleeper.py").write_text(
        "import pathlib, time\npathlib.Path('signals/started').touch()\ntime.sleep(60)\n"
    )
    seen = Bind(signals, f"{PROJECT_DIR}/signals", writable=True)
    results = []
    worker = threading.Thread(
        target=lambda: results.append(
            run_sandboxed(
                [sys.executable, "sleeper.py"], project=project, box=BOX, limits=Limits(wall_seconds=60), binds=[seen]
            )
        )
    )
    worker.start()
    deadline = time.monotonic() + 30
    while not (signals / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop_all()
    worker.join(timeout=20)
    assert results and not results[0].timed_out and results[0].seconds < 20
    assert results[0].signal_name == "SIGKILL"


def test_overrides_run_another_version_of_a_file_and_leave_the_project_as_it_was(tmp_path: Path) -> None:
    program = tmp_path / "program.py"
    program.write_text("print('as written')\n")
    result = run_sandboxed(
        [sys.executable, "program.py"],
        project=tmp_path,
        box=BOX,
        limits=FAST,
        overrides={"program.py": "print('the candidate')\n", "pkg/new.py": "X = 1\n"},
    )
    assert result.ok and "the candidate" in result.output
    assert program.read_text() == "print('as written')\n" and not (tmp_path / "pkg").exists()


def test_an_override_outside_the_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "program.py").write_text("print('hi')\n")
    with pytest.raises(ValueError, match="outside the project"):
        run_sandboxed(
            [sys.executable, "program.py"], project=tmp_path, box=BOX, limits=FAST, overrides={"../escape.py": ""}
        )
    assert not (tmp_path.parent / "escape.py").exists()
