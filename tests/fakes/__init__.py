"""Scripted local HTTP servers that speak the OpenAI, completions and ollama protocols, for tests and benchmarks."""

from .base import (
    CutStream,
    Error,
    ErrorLine,
    Hang,
    Loop,
    Raw,
    RawStream,
    RecordedRequest,
    Reply,
    ScriptedServer,
    Text,
    Trickle,
    asked,
)
from .completions_server import CompletionsServer
from .ollama_server import OllamaServer
from .openai_server import OpenAIServer

__all__ = [
    "CompletionsServer",
    "CutStream",
    "Error",
    "ErrorLine",
    "Hang",
    "Loop",
    "OllamaServer",
    "OpenAIServer",
    "Raw",
    "RawStream",
    "RecordedRequest",
    "Reply",
    "ScriptedServer",
    "Text",
    "Trickle",
    "asked",
]
