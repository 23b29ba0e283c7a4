"""Scripted local HTTP servers that speak the OpenAI and ollama protocols, for tests and benchmarks."""

from .base import CutStream, Error, ErrorLine, Hang, RecordedRequest, Reply, ScriptedServer, Text
from .ollama_server import OllamaServer
from .openai_server import OpenAIServer

__all__ = [
    "CutStream",
    "Error",
    "ErrorLine",
    "Hang",
    "OllamaServer",
    "OpenAIServer",
    "RecordedRequest",
    "Reply",
    "ScriptedServer",
    "Text",
]
