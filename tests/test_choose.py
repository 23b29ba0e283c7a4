"""choose_from_options: a constrained choice through the whole ladder, against a real local server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fakes import OpenAIServer, Text

from devteam.config.settings import LLMConfig
from devteam.core.errors import StructuredOutputError
from devteam.llm.factory import build_llm
from devteam.llm.usage import Ledger
from devteam.structured.choose import bare_option, choice_model, choose_from_options

OPTIONS = ("LGTM", "needs changes")


def choose(server: OpenAIServer, prompt: Any = "Is `x = 1` fine?", options: tuple[str, ...] = OPTIONS) -> Any:
    config = LLMConfig.model_validate(
        {"api_type": "open_llm", "base_url": server.base_url, "model": "m", "num_retries": 0, "stream": False}
    )

    async def go() -> Any:
        llm = build_llm(config, ledger=Ledger())
        try:
            return await choose_from_options(llm, prompt, options, role="Engineer", action="ReviewCode")
        finally:
            await llm.aclose()

    return asyncio.run(go())


def test_the_options_become_an_enum_the_server_constrains(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text('{"choice": "needs changes"}'))
    answer = choose(openai_server)
    assert answer.value == "needs changes" and answer.native_schema
    body = openai_server.chat_requests[0].json
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["choice"]["enum"] == list(OPTIONS)
    prompt = body["messages"][-1]["content"]
    assert "- LGTM\n- needs changes" in prompt and '{"choice": "<the option>"}' in prompt


@pytest.mark.parametrize("text", ["LGTM", "lgtm.", "`LGTM`", '"LGTM"'])
def test_a_bare_option_counts(openai_server: OpenAIServer, text: str) -> None:
    openai_server.enqueue(Text(text))
    assert choose(openai_server).value == "LGTM"


def test_case_drift_is_repaired_and_anything_else_is_asked_again(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text('{"choice": "Needs Changes"}'))
    drift = choose(openai_server)
    assert drift.value == "needs changes" and "repair_enum_case" in drift.repairs
    openai_server.enqueue(Text('{"choice": "maybe"}'), Text('{"choice": "LGTM"}'))
    again = choose(openai_server)
    assert again.value == "LGTM" and again.reasks == 1
    reask = openai_server.chat_requests[-1].json["messages"][-1]["content"]
    assert "maybe" in reask or "LGTM" in reask


def test_no_option_after_the_reasks_is_an_error(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(*[Text("I am not sure.")] * 3)
    with pytest.raises(StructuredOutputError):
        choose(openai_server)


def test_options_must_be_two_or_more_and_distinct() -> None:
    with pytest.raises(ValueError):
        choice_model(["only"])
    with pytest.raises(ValueError):
        choice_model(["a", "a"])
    assert bare_option("  **needs changes** ", OPTIONS) == "needs changes"
    assert bare_option("LGTM, but", OPTIONS) is None
