"""Who is asking: the role's voice in the system prompt of every action it runs."""

from __future__ import annotations

from dataclasses import dataclass

from devteam.core.prompting import render_prompt
from devteam.llm.types import ChatMessage


@dataclass(frozen=True)
class Persona:
    role: str
    profile: str
    goal: str

    def system_message(self, *, language: str = "English") -> ChatMessage:
        return ChatMessage(
            "system",
            render_prompt("system.j2", role=self.role, profile=self.profile, goal=self.goal, language=language),
        )


FENCE_LANGUAGES = {
    ".py": "python",
    ".js": "javascript",
    ".ts": "typescript",
    ".html": "html",
    ".css": "css",
    ".json": "json",
    ".md": "markdown",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".sh": "bash",
    ".txt": "text",
    ".cfg": "ini",
    ".ini": "ini",
    ".sql": "sql",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
}


def language_of(path: str) -> str:
    """The fence language for a file path ("text" for unknown kinds)."""
    dot = path.rfind(".")
    return FENCE_LANGUAGES.get(path[dot:].lower(), "text") if dot != -1 else "text"
