"""HumanProvider: the prompt goes out on a text stream, the answer comes back from another."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import textwrap

import pytest

from devteam.errors import ProviderError
from devteam.llm.human import HumanProvider, new_turn
from devteam.llm.registry import PROVIDER_FACTORIES
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
    provider = PROVIDER_FACTORIES["human"](
        api_type="human", model="human", base_url=None, api_key=None, timeout=5.0, stream=False,
        context_length=None, temperature=0.0, max_tokens=None, seed=None,
    )
    assert isinstance(provider, HumanProvider)
    assert not any(vars(provider.capabilities).values())
    assert asyncio.run(provider.list_models()) == ["human"]


def test_reads_the_real_stdin_of_a_process() -> None:
    script = textwrap.dedent(
        """
        import asyncio
        from devteam.llm.human import HumanProvider
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
