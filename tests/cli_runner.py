"""Run the real `metagpt` console script in a subprocess, isolated from the user's home and environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

_SCRIPT = Path(sys.executable).with_name("metagpt")


def metagpt_command() -> list[str]:
    if _SCRIPT.exists():
        return [str(_SCRIPT)]
    found = shutil.which("metagpt")
    return [found] if found else [sys.executable, "-m", "devteam.cli"]


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OLLAMA_", "LLM_"))}
    # The structured-output cache lives under the tmp home too, never in the user's cache.
    env.update(
        {
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
    )
    env.update(extra)
    return env


def run_metagpt(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120, stdin: str | None = None
) -> CliResult:
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    completed = subprocess.run(
        [*metagpt_command(), *args],
        cwd=cwd,
        env=env or clean_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin if stdin is not None else "",
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def write_config(folder: Path, llm: dict[str, object], **top: object) -> Path:
    """A config2.yaml with fast retries, at ./config/config2.yaml of `folder` (where metagpt looks)."""
    llm = {"num_retries": 2, "retry_min_wait": 0.01, "retry_max_wait": 0.05, "timeout": 20, **llm}
    path = folder / "config" / "config2.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"llm": llm, **top}, sort_keys=False))
    return path


def pytest_output(project: Path, module: str, tests: str) -> str:
    """What `python -m pytest -q tests` prints in `project` with `tests` as `tests/test_main.py` (the module
    under test already written there): how a repaired test file fares against the real module."""
    (project / "tests").mkdir(exist_ok=True)
    (project / "main.py").write_text(module)
    (project / "tests" / "test_main.py").write_text(tests)
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return ran.stdout
