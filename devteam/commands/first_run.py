"""What to tell a user who has no config yet: where we looked, which local servers answer, what to try."""

from __future__ import annotations

import socket
from pathlib import Path

LOCAL_SERVERS = (
    ("ollama", "127.0.0.1", 11434, "api_type: ollama\n    base_url: http://127.0.0.1:11434/api"),
    ("OpenAI-compatible server", "127.0.0.1", 8000, "api_type: open_llm\n    base_url: http://127.0.0.1:8000/v1"),
    # llama.cpp's llama-server (the README's example) serves here.
    ("OpenAI-compatible server", "127.0.0.1", 8080, "api_type: open_llm\n    base_url: http://127.0.0.1:8080/v1"),
)
# Works from any folder: the record ships inside the package.
DEMO_COMMAND = "metagpt demo"


def port_open(host: str, port: int, *, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def no_config_help(looked_at: list[Path]) -> str:
    lines = ["No config2.yaml found. Looked for:"]
    lines += [f"  - {path}" for path in looked_at]
    lines.append("Looked for a local model server:")
    for label, host, port, snippet in LOCAL_SERVERS:
        if port_open(host, port):
            models = _models_at(label, host, port)
            served = f"; it serves: {', '.join(models[:8])}" if models else ""
            lines.append(
                f"  - {host}:{port} answers ({label}{served}). Point config2.yaml at it:\n"
                f"      llm:\n        {snippet.replace(chr(10) + '    ', chr(10) + '        ')}\n"
                f"        model: {models[0] if models else '<model name>'}"
            )
            if models:
                lines.append(f"    or let metagpt write that file: metagpt --init-config --model {models[0]}")
        else:
            lines.append(f"  - nothing answers at {host}:{port} ({label})")
    lines.append(
        "Or name a server in the environment (no file needed): OPENAI_API_KEY (+ OPENAI_BASE_URL), "
        "OLLAMA_HOST, or OPENAI_BASE_URL for a local OpenAI-compatible server."
    )
    lines.append("Next steps:")
    lines.append("  metagpt --init-config        writes a commented ~/.metagpt/config2.yaml to edit")
    lines.append(f"  {DEMO_COMMAND}")
    lines.append("                               the offline demo: replays a recorded run, no model server needed")
    return "\n".join(lines)


def _models_at(label: str, host: str, port: int) -> list[str]:
    """The names a local server lists that can be shown and pasted into a config (see `usable_models`)."""
    from devteam.commands.model_setup import Server, list_models, usable_models

    server = (
        Server("ollama", f"http://{host}:{port}")
        if label == "ollama"
        else Server("open_llm", f"http://{host}:{port}/v1")
    )
    return usable_models(list_models(server) or [], where=server.label)
