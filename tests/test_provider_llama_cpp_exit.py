"""A process that used llama-cpp-python in process ends cleanly: no "ResourceWarning: unclosed file
<... name='/dev/null'>" lines after its output (the library opens /dev/null twice when imported and never closes
it; the provider closes them at exit). A real interpreter in a subprocess, with ResourceWarnings shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# The child imports llama_cpp, not this process: here it would leave the two files open in the test process.
pytestmark = pytest.mark.local_model

SCRIPT = """
import llama_cpp._utils as utils
from devteam.llm.providers.llama_cpp import LlamaCppProvider

provider = LlamaCppProvider(model={model!r})
print("made", provider.describe(), utils.outnull_file.closed)
"""


def test_no_unclosed_dev_null_is_left_when_the_process_exits(tmp_path: Path) -> None:
    script = SCRIPT.format(model=str(tmp_path / "model.gguf"))
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "always::ResourceWarning", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "made llama_cpp" in result.stdout and "False" in result.stdout  # open while the process runs
    assert "unclosed file" not in result.stderr and "/dev/null" not in result.stderr, result.stderr
