"""A person plays the model: the prompt is printed, the answer typed (the seeds' "human" backend).

For stepping through a pipeline without any server. The answer ends at an empty line or end of input.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO, TypeVar

from devteam.core.errors import ProviderError
from devteam.llm.types import Capabilities, ChatMessage, ChatRequest, ChatResponse, TokenCount
from devteam.llm.usage import estimate_usage, estimated_count

# Shared by every HumanProvider of the process: they all talk to the same person on the same terminal.
_ONE_QUESTION_AT_A_TIME = threading.Lock()

_T = TypeVar("_T")


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
        text = await _in_daemon_thread(self._ask, render_prompt(request))
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
        # One prompt on the screen at a time: the Engineer asks for several files at once, and a person
        # can only answer the prompt they were just shown.
        with _ONE_QUESTION_AT_A_TIME:
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


async def _in_daemon_thread(function: Callable[[str], _T], argument: str) -> _T:
    """`asyncio.to_thread`, but in a daemon thread the process does not wait for.

    A thread blocked reading the terminal cannot be interrupted; asyncio.run waits for its executor's
    threads before it returns, so Ctrl-C at a prompt used to hang until Enter was pressed as well.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[_T] = loop.create_future()

    def settle(result: _T | None, error: BaseException | None) -> None:
        if answer.done():  # the call was cancelled while the person was typing
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            result, error = function(argument), None
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task, as to_thread does
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:
            pass  # the loop is closed: the run ended while this thread waited for input

    threading.Thread(target=work, name="human-answer", daemon=True).start()
    return await answer
