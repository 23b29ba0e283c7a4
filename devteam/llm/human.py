"""A person plays the model: the prompt is printed, the answer typed (the seeds' "human" backend).

For stepping through a pipeline without any server. The answer ends at an empty line or end of input.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from devteam.errors import ProviderError
from devteam.llm.usage import estimate_usage, estimated_count
from devteam.llm.types import Capabilities, ChatMessage, ChatRequest, ChatResponse, TokenCount


def new_turn(messages: list[ChatMessage]) -> list[ChatMessage]:
    """The messages after the last assistant answer: what the person has not seen yet."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "assistant":
            return messages[index + 1 :]
    return list(messages)


def render_prompt(request: ChatRequest) -> str:
    parts = [f"--- {message.role} ---\n{message.content}" for message in new_turn(request.messages)]
    if request.json_schema is not None:
        parts.append(f"(answer as JSON for the schema {request.schema_name!r})")
    parts.append("--- your answer (end with an empty line) ---")
    return "\n".join(parts) + "\n"


def read_answer(stream: TextIO) -> str | None:
    """Lines up to an empty line or EOF; None when the input was already closed."""
    lines: list[str] = []
    while True:
        line = stream.readline()
        if not line:
            return "\n".join(lines) if lines else None
        line = line.rstrip("\r\n")
        if not line:
            return "\n".join(lines)
        lines.append(line)


class HumanProvider:
    """Prints the new messages to `output_stream` (stdout) and reads the answer from `input_stream` (stdin)."""

    name = "human"
    capabilities = Capabilities()

    def __init__(
        self,
        *,
        model: str = "human",
        input_stream: TextIO | None = None,
        output_stream: TextIO | None = None,
        context_length: int | None = None,
    ) -> None:
        self.model = model
        self._window = context_length
        # Looked up at call time when not given, so pytest's capture or a redirected stdin is honoured.
        self._input = input_stream
        self._output = output_stream

    def describe(self) -> str:
        return "human (answers typed on stdin)"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        text = await asyncio.to_thread(self._ask, render_prompt(request))
        if text is None:
            raise ProviderError(f"{self.describe()}: input closed before an answer was typed")
        return ChatResponse(
            text=text,
            finish_reason="stop",
            usage=estimate_usage(request.messages, text),
            model=self.model,
            latency_s=time.perf_counter() - started,
        )

    def _ask(self, prompt: str) -> str | None:
        output = self._output or sys.stdout
        output.write(prompt)
        output.flush()
        return read_answer(self._input or sys.stdin)

    async def context_window(self) -> int | None:
        return self._window

    async def count_tokens(self, text: str) -> TokenCount:
        return estimated_count(text)

    async def list_models(self) -> list[str]:
        return [self.model]

    async def aclose(self) -> None:
        return None
