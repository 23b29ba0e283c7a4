"""A real pytest run over a folder, with the options QA runs pytest with (`run_tests`): its output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def pytest_output(root: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--tb=short", "-rfE", "-p", "no:cacheprovider", "-o", "addopts="],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout + result.stderr
