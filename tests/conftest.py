"""Shared fixtures. Each fixture group gets its own section; keep them small and documented."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes import OllamaServer, OpenAIServer

# -- scripted protocol servers (tests/fakes) -------------------------------------------------------------


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """An OpenAI-compatible server on 127.0.0.1; script it with `enqueue` / `set_handler`."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def ollama_server() -> Iterator[OllamaServer]:
    """An ollama native-API server on 127.0.0.1 serving the model "test-model"."""
    with OllamaServer() as server:
        yield server
