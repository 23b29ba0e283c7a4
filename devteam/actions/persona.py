"""Who is asking: one system prompt for the whole run, and the role's voice late in each action's prompt.

Every role sends the same system prompt, byte for byte, so a server's prefix cache serves it to every call;
the role's own voice goes after the run's shared context (see prompts/run_shared.j2), just before the action.
"""

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
        """The run's one system prompt: the same for every role, so it is never read twice by the server."""
        return ChatMessage("system", render_prompt("system.j2", language=language))

    def voice(self) -> str:
        """Who this role is and what it aims at, for the action part of a prompt (after the shared context)."""
        return render_prompt("voice.j2", role=self.role, profile=self.profile, goal=self.goal).strip()


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
