"""Shared fixtures. Each fixture group gets its own section; keep them small and documented."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import CompletionsServer, OllamaServer, OpenAIServer

# -- isolation ----------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own XDG cache dir, so the structured-output level cache never leaks between tests
    or into the user's ~/.cache."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


# -- scripted protocol servers (tests/fakes) -------------------------------------------------------------


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """An OpenAI-compatible server on 127.0.0.1; script it with `enqueue` / `set_handler`."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def llama_cpp_server() -> Iterator[OpenAIServer]:
    """An OpenAI-compatible server that takes response_format like llama-cpp-python: json_schema refused with
    its HTTP 500, json_object with a schema accepted."""
    with OpenAIServer(flavour="llama-cpp-python") as server:
        yield server


@pytest.fixture
def ollama_server() -> Iterator[OllamaServer]:
    """An ollama native-API server on 127.0.0.1 serving the model "test-model"."""
    with OllamaServer() as server:
        yield server


@pytest.fixture
def completions_server() -> Iterator[CompletionsServer]:
    """A completion-endpoint server (`/v1/completions` and llama.cpp's `/completion`, `/tokenize`, `/props`)."""
    with CompletionsServer() as server:
        yield server
