"""Config files and ideas built to hurt: each ends as a usage error (exit 2) naming the file, within moments.

The files are run through the real `metagpt` command. The child gets a memory ceiling, so a loader that
expands an alias bomb dies of MemoryError (a failed test) instead of taking the machine's memory with it.
"""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

import pytest
from cli_runner import clean_env, metagpt_command, run_metagpt, write_config

MEMORY_CEILING = 2 * 1024**3  # far more than a config needs; far less than the 3 GiB a bomb took


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CEILING, MEMORY_CEILING))


def _alias_bomb() -> str:
    """Nine levels of nine aliases each: 9**9 (387 million) strings once expanded, in under 500 bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(8):
        this, previous = chr(ord("b") + level), chr(ord("a") + level)
        lines.append(f"{this}: &{this} [" + ",".join([f"*{previous}"] * 9) + "]")
    lines.append("llm: {api_type: ollama, model: m}")
    return "\n".join(lines) + "\n"


HOSTILE = {
    "alias_bomb": _alias_bomb(),
    "deep_nesting": "llm:\n  model: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "recursive_anchor": "llm: {api_type: ollama, model: m}\nroles: &loop [*loop]\n",
    "recursive_mapping": "llm: &me {api_type: ollama, model: m, pricing: *me}\n",
    "nul_byte": "llm:\n  api_type: ollama\n  model: 'qwen\0coder'\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_config_file_is_a_usage_error_naming_the_file(tmp_path: Path, name: str) -> None:
    config = tmp_path / "config" / "config2.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(HOSTILE[name], encoding="utf-8")
    (tmp_path / "home").mkdir()

    completed = subprocess.run(
        [*metagpt_command(), "write a snake game"],
        cwd=tmp_path,
        env=clean_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=60,
        input="",
        preexec_fn=_limit_memory,
    )

    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    assert str(config) in completed.stderr
    assert completed.stderr.startswith("metagpt: config error: ")
    assert not (tmp_path / "workspace").exists()


def test_a_config_using_anchors_the_ordinary_way_still_loads(tmp_path: Path) -> None:
    """The bounds refuse bombs, not aliases: sharing one llm block between roles is fine."""
    config = tmp_path / "config" / "config2.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        "llm: &base\n  api_type: ollama\n  base_url: http://127.0.0.1:9/api\n  model: m\n"
        "roles:\n  - role: Architect\n    llm: *base\n  - role: Engineer\n    llm: {<<: *base, model: other}\n"
    )

    result = run_metagpt(["check"], cwd=tmp_path, timeout=60)

    assert "config error" not in result.stderr, result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("idea", ["   ", "\t\n", " \u3000 "])
def test_an_idea_of_only_whitespace_is_a_usage_error(tmp_path: Path, idea: str) -> None:
    write_config(tmp_path, {"api_type": "ollama", "base_url": "http://127.0.0.1:9/api", "model": "m", "num_retries": 0})

    result = run_metagpt([idea], cwd=tmp_path, timeout=60)

    assert result.code == 2, result.output
    assert result.stderr.startswith("metagpt: ")
    assert "idea" in result.stderr
    assert "Traceback" not in result.output
