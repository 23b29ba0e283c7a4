"""Each door out of the box, attacked the way a hostile generated program would, with a real bubblewrap box:
the user's files and sockets, the project's `.git`, the disk, the run's own process, a daemon left behind,
a lying test file, hostile requirements, a missing box — and the crash on a root cgroup-v2 machine."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from devteam.artifacts.requirements import check_requirements
from devteam.qa.box import choose_box, interpreter_prefixes
from devteam.qa.isolation import cgroup_parent
from devteam.qa.program_checks import run_tests
from devteam.qa.sandbox import Limits, NoBoxError, run_sandboxed

BOX = choose_box()


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


ATTACK_LIMITS = Limits(wall_seconds=60)


def _run(root: Path, code: str, limits: Limits = ATTACK_LIMITS):  # type: ignore[no-untyped-def]
    (root / "attack.py").write_text(code)
    return run_sandboxed([sys.executable, "attack.py"], project=root, box=BOX, limits=limits)


def _holds_interpreter(entry: Path) -> bool:
    return any(Path(prefix) == entry or entry in Path(prefix).parents for prefix in interpreter_prefixes())


def test_this_machine_has_a_real_box() -> None:
    assert BOX.kind == "bubblewrap", BOX.describe()
    assert "bubblewrap" in BOX.describe()


def test_the_users_config_files_and_the_projects_git_are_not_in_the_box(tmp_path: Path) -> None:
    secret = tmp_path / "home" / ".metagpt" / "config2.yaml"
    secret.parent.mkdir(parents=True)
    secret.write_text("llm:\n  api_key: sk-box-test-0123456789\n")
    root = _project(tmp_path, {"config/keep.txt": "x\n"})
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    # The folder metagpt runs in may hold the interpreter (a venv in a checkout): the box shows that venv
    # read-only and the folders above it as empty mount points, but nothing else from there.
    host_files = [str(entry) for entry in sorted(Path.cwd().iterdir())[:20] if not _holds_interpreter(entry)]
    paths = [str(secret), "~/.metagpt/config2.yaml", ".git/config", str(Path.home() / ".metagpt"), *host_files]
    code = (
        "import os\n"
        f"for path in {paths!r}:\n"
        "    print(path, 'VISIBLE' if os.path.exists(os.path.expanduser(path)) else 'absent')\n"
    )
    result = _run(root, code)
    assert result.ok, result.output
    assert "VISIBLE" not in result.output and "sk-box-test" not in result.output


def test_what_the_program_writes_never_reaches_the_project(tmp_path: Path) -> None:
    root = _project(tmp_path, {"app.py": "print('original')\n"})
    (root / ".git").mkdir()
    code = (
        "import os\nopen('app.py', 'w').write('hacked')\nos.makedirs('.git', exist_ok=True)\n"
        "open('.git/config', 'w').write('[core]\\n\\tfsmonitor = /bin/evil\\n')\nopen('dropped.txt', 'w').write('x')\n"
        "print('wrote')\n"
    )
    result = _run(root, code)
    assert "wrote" in result.output, result.output
    assert (root / "app.py").read_text() == "print('original')\n"
    assert not (root / "dropped.txt").exists() and list((root / ".git").iterdir()) == []


def test_many_files_stop_at_one_disk_cap_for_all_of_them(tmp_path: Path) -> None:
    limits = Limits(wall_seconds=60, file_bytes=32 * 1024 * 1024, disk_bytes=48 * 1024 * 1024)
    code = (
        "written = 0\ntry:\n    for n in range(20):\n        with open(f'big{n}.bin', 'wb') as out:\n"
        "            for _ in range(32):\n                out.write(b'x' * 1024 * 1024)\n                written += 1\n"
        "except OSError as error:\n    print('stopped after', written, 'MiB:', error.strerror)\n"
    )
    result = _run(_project(tmp_path, {}), code, limits)
    assert "stopped after" in result.output, result.output
    assert int(result.output.split("stopped after")[1].split()[0]) <= 48


def test_a_host_unix_socket_is_not_reachable(tmp_path: Path) -> None:
    path = tmp_path / "agent.sock"
    with socket.socket(socket.AF_UNIX) as listener, socket.socket(socket.AF_UNIX) as abstract:
        listener.bind(str(path))
        listener.listen(1)
        abstract.bind("\0devteam-box-test")
        abstract.listen(1)
        code = (
            "import socket\n"
            f"for address in [{str(path)!r}, '\\0devteam-box-test']:\n"
            "    try:\n        socket.socket(socket.AF_UNIX).connect(address)\n        print('CONNECTED', repr(address))\n"
            "    except OSError as error:\n        print('refused', error.strerror)\n"
        )
        result = _run(_project(tmp_path, {}), code)
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == ["refused", "refused"], result.output


def test_a_program_that_kills_its_parent_does_not_reach_devteam(tmp_path: Path) -> None:
    code = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.killpg(0, signal.SIGKILL)\n"
    result = _run(_project(tmp_path, {}), code)
    assert not result.ok
    os.kill(os.getpid(), 0)  # still here


def test_a_daemon_does_not_outlive_its_run(tmp_path: Path) -> None:
    marker = f"devteam-daemon-{os.getpid()}-{time.monotonic_ns()}"
    code = (
        "import os, sys\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}])\n"
        "    os._exit(0)\nprint('daemon started')\n"
    )
    result = _run(_project(tmp_path, {}), code)
    assert "daemon started" in result.output, result.output
    deadline = time.monotonic() + 30  # a hang guard: the kernel reaps a dead namespace a moment later
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(marker) == []


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize(
    "tests",
    [
        "",  # a test file with no tests
        "import os\nos._exit(0)\n",  # exits 0 before pytest collects anything
        "def helper():\n    return 1\n",
    ],
)
def test_no_tests_or_an_exit_before_collection_is_no_tests_never_a_pass(tmp_path: Path, tests: str) -> None:
    root = _project(tmp_path, {"calc.py": "X = 1\n", "test_calc.py": tests})
    run = run_tests(root, BOX)
    assert run.verdict == "no tests", run.output
    assert not run.ok and not run.code_failure


def test_requirements_are_names_only() -> None:
    checked = check_requirements(
        [
            "requests==2.31.0",
            "-e evilpkg",
            "--index-url http://evil.example/simple",
            "-r /etc/passwd",
            "evil @ https://evil.example/evil.tar.gz",
            "./local_pkg",
            "git+https://evil.example/x.git",
            "numpy>=1.26; python_version >= '3.10'",
            "# a comment",
        ]
    )
    assert checked.kept == ["requests==2.31.0", 'numpy>=1.26; python_version >= "3.10"']
    assert [line for line, _ in checked.refused] == [
        "-e evilpkg",
        "--index-url http://evil.example/simple",
        "-r /etc/passwd",
        "evil @ https://evil.example/evil.tar.gz",
        "./local_pkg",
        "git+https://evil.example/x.git",
    ]


def test_without_a_box_no_model_code_runs_unless_the_user_says_unsafe(tmp_path: Path) -> None:
    missing = choose_box("auto", bwrap=str(tmp_path / "no-bwrap-here"))
    assert missing.kind == "missing" and not missing.runs_code
    assert "NOT run" in missing.describe() and "--qa-unsafe" in missing.describe()
    with pytest.raises(NoBoxError):
        run_sandboxed([sys.executable, "-c", "print(1)"], project=_project(tmp_path, {}), box=missing)
    assert choose_box("none").kind == "unsafe" and choose_box("auto", unsafe=True).kind == "unsafe"
    assert "NO BOX" in choose_box("none").describe()


def test_a_root_cgroup_v2_hierarchy_is_read_without_crashing(tmp_path: Path) -> None:
    v2 = tmp_path / "cgroup"
    v2.mkdir()
    (v2 / "cgroup.procs").write_text("")
    (v2 / "cgroup.subtree_control").write_text("cpu memory pids\n")
    assert cgroup_parent((v2,)) == v2
    (v2 / "cgroup.subtree_control").write_text("cpu memory\n")
    assert cgroup_parent((v2,)) is None
