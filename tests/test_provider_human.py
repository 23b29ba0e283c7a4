"""HumanProvider: the prompt goes out on a text stream, the answer comes back from another."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from cli_runner import clean_env, metagpt_command
from provider_builder import make_provider

from devteam.core.errors import ProviderError
from devteam.llm.providers.human import HumanProvider, new_turn
from devteam.llm.types import ChatMessage, ChatRequest, ChatResponse

CONVERSATION = [
    ChatMessage("system", "You write PRDs."),
    ChatMessage("user", "first question"),
    ChatMessage("assistant", "first answer"),
    ChatMessage("user", "Fix the JSON: missing key 'title'."),
]


def ask(typed: str, request: ChatRequest) -> tuple[ChatResponse, str]:
    shown = io.StringIO()
    provider = HumanProvider(input_stream=io.StringIO(typed), output_stream=shown)
    response = asyncio.run(provider.complete(request))
    return response, shown.getvalue()


def test_answer_ends_at_an_empty_line() -> None:
    response, _ = ask('{"title":\n "Snake"}\n\nignored\n', ChatRequest(messages=CONVERSATION))

    assert response.text == '{"title":\n "Snake"}'
    assert response.finish_reason == "stop"
    assert response.model == "human"
    assert response.usage.estimated is True


def test_answer_ends_at_end_of_input() -> None:
    response, _ = ask("last line without newline", ChatRequest(messages=CONVERSATION))

    assert response.text == "last line without newline"


def test_only_the_new_turn_is_shown() -> None:
    _, shown = ask("ok\n", ChatRequest(messages=CONVERSATION, json_schema={"type": "object"}, schema_name="prd"))

    assert "Fix the JSON: missing key 'title'." in shown
    assert "first question" not in shown
    assert "'prd'" in shown
    assert shown.rstrip().endswith("--- your answer (end with an empty line) ---")


def test_first_turn_shows_the_system_prompt() -> None:
    assert new_turn(CONVERSATION[:2]) == CONVERSATION[:2]


def test_closed_input_is_an_error_not_an_empty_answer() -> None:
    with pytest.raises(ProviderError, match="input closed"):
        ask("", ChatRequest(messages=CONVERSATION))


def test_capabilities_are_all_off_and_registry_ignores_transport_options() -> None:
    provider = make_provider(
        "human",
        api_type="human",
        model="human",
        base_url=None,
        api_key=None,
        timeout=5.0,
        stream=False,
        context_length=None,
        temperature=0.0,
        max_tokens=None,
        seed=None,
    )
    assert isinstance(provider, HumanProvider)
    assert not any(vars(provider.capabilities).values())
    assert asyncio.run(provider.list_models()) == ["human"]


def test_reads_the_real_stdin_of_a_process() -> None:
    script = textwrap.dedent(
        """
        import asyncio
        from devteam.llm.providers.human import HumanProvider
        from devteam.llm.types import ChatMessage, ChatRequest

        request = ChatRequest(messages=[ChatMessage("user", "name a game")])
        response = asyncio.run(HumanProvider().complete(request))
        print("ANSWER=" + repr(response.text))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], input="snake\n\n", capture_output=True, text=True, timeout=30, check=True
    )

    assert "name a game" in result.stdout
    assert "ANSWER='snake'" in result.stdout


class Screen(io.StringIO):
    """An output stream a test can wait on, like a person watching the terminal."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()

    def write(self, text: str) -> int:
        with self.changed:
            written = super().write(text)
            self.changed.notify_all()
        return written

    def wait_for_prompts(self, count: int) -> str:
        with self.changed:
            assert self.changed.wait_for(lambda: self.getvalue().count(ANSWER_MARKER) >= count, timeout=20)
            return self.getvalue()


ANSWER_MARKER = "--- your answer"


def test_concurrent_calls_show_one_prompt_at_a_time() -> None:
    """The Engineer asks for several files at once; the person must see one question, answer it, then the next."""
    read_end, write_end = os.pipe()
    screen = Screen()
    answers = io.TextIOWrapper(io.FileIO(read_end), encoding="utf-8")
    provider = HumanProvider(input_stream=answers, output_stream=screen)
    shown_when_answering: list[int] = []

    def person() -> None:
        with io.TextIOWrapper(io.FileIO(write_end, "w"), encoding="utf-8") as keyboard:
            for number in (1, 2, 3):
                screen.wait_for_prompts(number)
                time.sleep(0.3)  # a person reads before typing: time enough for another prompt to show up
                text = screen.getvalue()
                shown_when_answering.append(text.count(ANSWER_MARKER))
                asked = re.findall(r"write (file \d)", text)[-1]
                keyboard.write(f"the code of {asked}\n\n")
                keyboard.flush()

    async def three_files() -> list[ChatResponse]:
        requests = [ChatRequest(messages=[ChatMessage("user", f"write file {n}")]) for n in (1, 2, 3)]
        return await asyncio.gather(*(provider.complete(request) for request in requests))

    typist = threading.Thread(target=person)
    typist.start()
    responses = asyncio.run(three_files())
    typist.join(timeout=20)
    answers.close()

    assert shown_when_answering == [1, 2, 3]
    assert [response.text for response in responses] == [f"the code of file {n}" for n in (1, 2, 3)]


def test_ctrl_c_at_a_prompt_stops_the_run_without_waiting_for_enter(tmp_path: Path) -> None:
    """The terminal stays open and nobody types: Ctrl-C alone must end the run (exit 130), on every Python."""
    (tmp_path / "home").mkdir()
    config = tmp_path / "config" / "config2.yaml"
    config.parent.mkdir()
    config.write_text("llm:\n  api_type: human\n")
    with subprocess.Popen(
        [*metagpt_command(), "write a snake game"],
        cwd=tmp_path,
        env=clean_env(tmp_path / "home"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stdin is not None
        seen = ""
        while ANSWER_MARKER not in seen:
            line = process.stdout.readline()
            assert line, "metagpt ended before it asked anything"
            seen += line
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)  # stdin stays open: the person is there, just not typing
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("Ctrl-C at a human prompt did not stop the run: it waits for Enter")
        finally:
            process.stdin.close()
        stderr = process.stderr.read() if process.stderr else ""

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Fatal Python error" not in stderr
    assert "stopped by Ctrl-C." in stderr
