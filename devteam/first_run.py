"""What to tell a user who has no config yet: where we looked, which local servers answer, what to try."""

from __future__ import annotations

import socket
from pathlib import Path

LOCAL_SERVERS = (
    ("ollama", "127.0.0.1", 11434, "api_type: ollama\n    base_url: http://127.0.0.1:11434/api"),
    ("OpenAI-compatible server", "127.0.0.1", 8000, "api_type: open_llm\n    base_url: http://127.0.0.1:8000/v1"),
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
            lines.append(f"  - {host}:{port} answers ({label}). Point config2.yaml at it:\n"
                         f"      llm:\n        {snippet.replace(chr(10) + '    ', chr(10) + '        ')}\n"
                         "        model: <model name>")
        else:
            lines.append(f"  - nothing answers at {host}:{port} ({label})")
    lines.append("Next steps:")
    lines.append("  metagpt --init-config        writes a commented ~/.metagpt/config2.yaml to edit")
    lines.append(f"  {DEMO_COMMAND}")
    lines.append("                               the offline demo: replays a recorded run, no model server needed")
    return "\n".join(lines)
