"""Scripted local HTTP servers that speak the OpenAI and ollama protocols, for tests and benchmarks."""

from .base import CutStream, Error, ErrorLine, Hang, Raw, RawStream, RecordedRequest, Reply, ScriptedServer, Text, Trickle
from .ollama_server import OllamaServer
from .openai_server import OpenAIServer

__all__ = [
    "CutStream",
    "Error",
    "ErrorLine",
    "Hang",
    "OllamaServer",
    "OpenAIServer",
    "Raw",
    "RawStream",
    "RecordedRequest",
    "Reply",
    "ScriptedServer",
    "Text",
    "Trickle",
]
