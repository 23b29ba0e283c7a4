"""A run imports only what it uses: no openai SDK for ollama, no networkx or gitpython before the first request.

Checked in a fresh interpreter (sys.modules), not by timing: `bench/pipeline_bench.py` measures the CPU time.
"""

from __future__ import annotations

import json
import subprocess
import sys

from devteam.llm.wire.http_options import tls_options

HEAVY = ("openai", "networkx", "git", "json_repair")

PROBE = """
import json, sys
import devteam.cli, devteam.commands.run, devteam.run.company
from devteam.llm.provider_settings import ProviderSettings
from devteam.llm.registry import build_provider
provider = build_provider(ProviderSettings(api_type=sys.argv[1], model="m", base_url="http://127.0.0.1:9", timeout=5.0))
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[2:]))))
"""


def heavy_modules_after_building(api_type: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, api_type, *HEAVY], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(result.stdout)


def test_an_ollama_run_never_imports_the_openai_sdk_networkx_or_gitpython_up_front() -> None:
    assert heavy_modules_after_building("ollama") == []


def test_an_openai_protocol_run_imports_the_sdk_and_nothing_else_heavy() -> None:
    assert heavy_modules_after_building("open_llm") == ["openai"]


def test_plain_http_servers_get_no_tls_setup_and_https_keeps_verification() -> None:
    assert tls_options("http://127.0.0.1:11434") == {"verify": False, "follow_redirects": False}
    assert tls_options("HTTP://localhost:8000/v1") == {"verify": False, "follow_redirects": False}
    assert tls_options("https://api.openai.com/v1") == {}
