"""The conversation that wrote a file, continued by every later call about it: its tests, its fixes.

A model server caches the longest prefix a request shares with the one before it (llama.cpp's slot, vLLM's and
SGLang's prefix cache, OpenAI's discount). A test-writing or fix prompt of its own shares the system prompt and
the run's opening; the same request as a turn after the writing conversation shares the whole writing prompt
and the file, so the server reads only the new turn. It also shows a small model the code as its own answer.

The file always appears as it reads now (after fills, fits and fixes), in the fence the writer's answer had:
while the file is unchanged the prefix stays byte-identical to what the server has cached.
"""

from __future__ import annotations

from collections.abc import Mapping

from devteam.actions.persona import language_of
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage

# What a continued request leaves the answer at least; below it the call is sent on its own (a smaller prompt).
MIN_ROOM_TOKENS = 1024


def fenced(path: str, code: str) -> str:
    """A file as an assistant turn: the fence WriteCode's conversation records, byte for byte."""
    return f"```{language_of(path)}\n{code.rstrip()}\n```"


def continued(conversation: list[ChatMessage], path: str, code: str) -> list[ChatMessage]:
    """`conversation` (a request and the answer that wrote `path`) with that answer replaced by the file as it
    reads now."""
    return [*conversation[:-1], ChatMessage("assistant", fenced(path, code))]


async def fits(llm: LLM, messages: list[ChatMessage], answer_tokens: int) -> bool:
    """Whether `messages` leave room for an answer in the model's window (True when the window is unknown:
    the server then says so, and the call is re-sized like any other)."""
    window = await llm.provider.context_window()
    if window is None:
        return True
    counted = await llm.prompt_tokens(messages)
    return window - counted.n >= min(max(answer_tokens, MIN_ROOM_TOKENS), llm.max_tokens)


def thread_for(
    conversations: Mapping[str, list[ChatMessage]], path: str, sources: Mapping[str, str]
) -> tuple[list[ChatMessage], set[str]] | None:
    """The conversation a fix of `path` continues — the one that wrote it (or its last fix), showing it as it
    reads now — and the files it shows; None when this run has none. Not the conversation that wrote its tests,
    though the server's cache holds that one: asked there to fix `main.py`, the 0.5B answered with its tests
    again (`from main import ...` as main.py)."""
    own = conversations.get(path)
    if own:
        return continued(own, path, sources[path]), {path}
    return None
