"""The structured-output loop (`ask_structured`, `ask_code`) against a real local OpenAI server.

What is checked is what the server received: the re-ask quotes the error and the previous answer, a
truncated answer is asked again with twice the token budget, a refusal is not asked again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest
from fakes import Error, OpenAIServer, RecordedRequest, Text
from fakes.openai_server import completion_body
from pydantic import BaseModel, ConfigDict

from devteam.config.settings import Config
from devteam.core.errors import ProviderError, StructuredOutputError
from devteam.llm.client import LLM
from devteam.llm.factory import build_llm
from devteam.llm.types import ChatMessage
from devteam.llm.usage import Ledger
from devteam.structured.ask import Answer, ask_code, ask_structured

T = TypeVar("T")

MESSAGES = [ChatMessage("system", "You plan work."), ChatMessage("user", "Write the ticket for a snake game.")]
GOOD = '{"title": "Snake", "priority": "high", "estimate_hours": 3}'
BAD_PRIORITY = '{"title": "Snake", "priority": "urgent", "estimate_hours": 3}'
MAX_TOKEN = 100


class Ticket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    priority: Literal["low", "high"]
    estimate_hours: int


def with_llm(
    server: OpenAIServer, body: Callable[[LLM], Awaitable[T]], *, ledger: Ledger | None = None, **overrides: Any
) -> T:
    settings = {
        "api_type": "open_llm",
        "base_url": server.base_url,
        "model": "test-model",
        "stream": False,
        "timeout": 5,
        "max_token": MAX_TOKEN,
        "num_retries": 2,
        "retry_min_wait": 0.01,
        "retry_max_wait": 0.05,
        **overrides,
    }
    config = Config.model_validate({"llm": settings})

    async def go() -> T:
        llm = build_llm(config.llm, ledger=ledger if ledger is not None else Ledger())
        try:
            return await body(llm)
        finally:
            await llm.aclose()

    return asyncio.run(go())


def ticket(
    server: OpenAIServer, *, repair: bool = True, ledger: Ledger | None = None, **overrides: Any
) -> Answer[Ticket]:
    async def body(llm: LLM) -> Answer[Ticket]:
        return await ask_structured(llm, MESSAGES, Ticket, role="PM", action="WriteTicket", repair=repair)

    return with_llm(server, body, ledger=ledger, **overrides)


def code(server: OpenAIServer, *, repair: bool = True, ledger: Ledger | None = None) -> Answer[str]:
    async def body(llm: LLM) -> Answer[str]:
        return await ask_code(
            llm, MESSAGES, role="Engineer", action="WriteCode", subject="snake.py", language="python", repair=repair
        )

    return with_llm(server, body, ledger=ledger)


def messages_sent(server: OpenAIServer) -> list[list[dict[str, str]]]:
    return [request.json["messages"] for request in server.chat_requests]


def always(text: str) -> Callable[[RecordedRequest], Text]:
    return lambda _request: Text(text)


def raw_completion(**message: Any) -> Error:
    """A 200 answer whose message carries fields `Text` cannot express (OpenAI's `refusal`).

    `Error` sends any body verbatim with the status given; here that status is 200.
    """
    body = completion_body(Text(""), model="test-model")
    body["choices"][0]["message"].update(message)
    return Error(200, body=body)


# -- re-asks ------------------------------------------------------------------------------------------------


def test_a_field_failure_is_followed_up_for_that_field_alone(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(BAD_PRIORITY), Text('{"priority": "high"}'))
    ledger = Ledger()

    answer = ticket(openai_server, ledger=ledger)

    assert answer.value == Ticket(title="Snake", priority="high", estimate_hours=3)
    assert (answer.calls, answer.reasks, answer.field_followups) == (2, 0, 1)
    assert answer.repairs == ["repair_field_followup"]
    first, second = (request.json for request in openai_server.chat_requests)
    assert first["messages"] == [m.as_dict() for m in MESSAGES]
    assert second["messages"][:2] == first["messages"]
    assert second["messages"][2] == {"role": "assistant", "content": BAD_PRIORITY}
    followup = second["messages"][3]["content"]
    assert "priority" in followup and "'low' or 'high'" in followup
    assert "title" not in followup and "estimate_hours" not in followup
    # A small schema of just that field, constrained like the first request.
    small = second["response_format"]["json_schema"]["schema"]
    assert list(small["properties"]) == ["priority"]
    assert (ledger.reasks, ledger.field_followups, len(ledger.calls)) == (0, 1, 2)
    assert ledger.repairs["repair_field_followup"] == 1


def test_a_missing_field_is_followed_up_and_merged(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text('{"title": "Snake", "estimate_hours": 3}'), Text('{"priority": "low"}'))

    answer = ticket(openai_server)

    assert answer.value == Ticket(title="Snake", priority="low", estimate_hours=3)
    assert "Field required" in openai_server.chat_requests[1].json["messages"][3]["content"]


def test_an_answer_that_is_not_json_is_reasked_whole(openai_server: OpenAIServer) -> None:
    prose = "The ticket is about a snake game with high priority."
    openai_server.enqueue(Text(prose), Text(GOOD))
    ledger = Ledger()

    answer = ticket(openai_server, ledger=ledger)

    assert answer.value == Ticket(title="Snake", priority="high", estimate_hours=3)
    assert (answer.calls, answer.reasks, answer.field_followups) == (2, 1, 0)
    first, second = messages_sent(openai_server)
    assert second[:2] == first
    assert second[2] == {"role": "assistant", "content": prose}
    assert "no_json" in second[3]["content"]
    assert (ledger.reasks, ledger.field_followups) == (1, 0)


def test_a_field_follow_up_that_fixes_nothing_ends_with_a_structured_output_error(
    openai_server: OpenAIServer,
) -> None:
    openai_server.set_handler(always(BAD_PRIORITY))
    ledger = Ledger()

    with pytest.raises(StructuredOutputError) as caught:
        ticket(openai_server, ledger=ledger)

    error = caught.value
    assert error.attempts == 2
    assert "field follow-up" in str(error) and "priority" in str(error)
    assert "PM WriteTicket" in str(error)
    # The follow-up is built on the original messages; the same wrong value again ends it: a second follow-up
    # would show the model its own answer and get it back (the 0.5B's did, 20 of 20 times).
    assert [len(m) for m in messages_sent(openai_server)] == [2, 4]
    assert (ledger.reasks, ledger.field_followups, len(ledger.calls)) == (0, 1, 2)


def test_reasks_stop_after_two_with_a_structured_output_error(openai_server: OpenAIServer) -> None:
    openai_server.set_handler(always("Sure! The ticket is about snakes."))
    ledger = Ledger()

    with pytest.raises(StructuredOutputError) as caught:
        ticket(openai_server, ledger=ledger)

    error = caught.value
    assert error.attempts == 3
    assert len(error.errors) == 3
    assert all(e.startswith("no_json: ") for e in error.errors)
    assert len(openai_server.chat_requests) == 3
    assert [len(m) for m in messages_sent(openai_server)] == [2, 4, 4]
    assert ledger.reasks == 2
    assert len(ledger.calls) == 3


def test_a_reask_never_repeats_an_identical_request(openai_server: OpenAIServer) -> None:
    """The same answer twice would make the second re-ask byte-identical to the first: it goes out warmer."""
    openai_server.set_handler(always("Sure! The ticket is about snakes."))

    with pytest.raises(StructuredOutputError):
        ticket(openai_server)

    sent = [request.json for request in openai_server.chat_requests]
    bodies = [json.dumps(body, sort_keys=True) for body in sent]
    assert len(set(bodies)) == len(bodies) == 3
    assert [body.get("temperature") for body in sent] == [0.0, 0.0, 0.3]
    assert sent[1]["messages"] == sent[2]["messages"]


def test_when_nothing_can_change_the_question_stops_early(openai_server: OpenAIServer) -> None:
    openai_server.set_handler(always("Sure! The ticket is about snakes."))

    with pytest.raises(StructuredOutputError, match="could not change anything") as caught:
        ticket(openai_server, temperature=1.0)  # no warmer step left

    assert caught.value.attempts == 2
    assert len(openai_server.chat_requests) == 2


def test_reasks_are_counted_apart_from_transport_retries(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(503), Text("no json here"), Text(GOOD))
    ledger = Ledger()

    answer = ticket(openai_server, ledger=ledger)

    assert (answer.calls, answer.reasks) == (2, 1)
    assert len(openai_server.chat_requests) == 3
    assert ledger.reasks == 1
    assert ledger.retries == 1
    assert [call.retries for call in ledger.calls] == [1, 0]


def test_retries_of_a_call_that_gave_up_are_counted(openai_server: OpenAIServer) -> None:
    """The summary's retries are the log's: a call that ran out of retries still spent them."""
    openai_server.set_handler(lambda _request: Error(503))
    ledger = Ledger()

    with pytest.raises(ProviderError, match="gave up after 3 attempts"):
        ticket(openai_server, ledger=ledger)

    assert ledger.retries == 2
    assert (len(ledger.calls), ledger.failed_calls, ledger.call_count) == (0, 1, 1)


# -- truncation -------------------------------------------------------------------------------------------


def test_a_truncated_answer_is_asked_again_with_twice_the_tokens(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text('{"title": "Sna', finish_reason="length"), Text(GOOD))
    ledger = Ledger()

    answer = ticket(openai_server, ledger=ledger)

    assert answer.value.title == "Snake"
    assert (answer.calls, answer.reasks) == (2, 0)
    first, second = (request.json for request in openai_server.chat_requests)
    assert first["max_tokens"] == MAX_TOKEN
    assert second["max_tokens"] == 2 * MAX_TOKEN
    assert second["messages"] == first["messages"]  # not a re-ask: nothing to quote
    assert ledger.reasks == 0


def test_a_second_truncation_is_a_structured_output_error(openai_server: OpenAIServer) -> None:
    openai_server.set_handler(lambda _request: Text('{"title": "Sna', finish_reason="length"))

    with pytest.raises(StructuredOutputError, match="max_token") as caught:
        ticket(openai_server)

    assert caught.value.attempts == 2
    assert [request.json["max_tokens"] for request in openai_server.chat_requests] == [MAX_TOKEN, 2 * MAX_TOKEN]
    assert all("finish_reason=length" in e for e in caught.value.errors)


LOOPING_CODE = "```python\n" + "def test_snake():\n    return 'This is a test of the snake game'\n\n" * 40
# Real code cut off mid-file: long, but not a loop.
WORDY_CODE = "```python\n" + (Path(__file__).parents[1] / "devteam" / "run" / "company.py").read_text()[:4000]


def test_looping_code_cut_off_is_asked_again_with_a_repetition_penalty(
    openai_server: OpenAIServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    openai_server.enqueue(Text(LOOPING_CODE, finish_reason="length"), Text("```python\nprint('snake')\n```"))

    with caplog.at_level(logging.WARNING, logger="devteam"):
        answer = code(openai_server)

    assert answer.value == "print('snake')\n"
    first, second = (request.json for request in openai_server.chat_requests)
    assert "frequency_penalty" not in first
    assert second["frequency_penalty"] == 0.5 and second["max_tokens"] == 2 * MAX_TOKEN
    assert any("frequency_penalty=0.5 (the answer repeats itself)" in r.getMessage() for r in caplog.records)


def test_code_cut_off_without_a_loop_only_gets_a_larger_budget(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(WORDY_CODE, finish_reason="length"), Text("```python\nprint('snake')\n```"))

    code(openai_server)

    second = openai_server.chat_requests[1].json
    assert second["max_tokens"] == 2 * MAX_TOKEN and "frequency_penalty" not in second


def test_a_looping_json_answer_where_the_server_took_no_schema_gets_the_penalty_not_bounds(
    openai_server: OpenAIServer,
) -> None:
    # The request was written for json_schema; the server refuses both schema levels, so the answer comes at
    # plain json_object, where no grammar exists to bound: the loop gets the repetition penalty.
    looping = '{"title": "' + "Snake snake snake. " * 120
    replies = iter([Text(looping, finish_reason="length"), Text(GOOD)])

    def answer(request: RecordedRequest) -> Text | Error:
        response_format = request.json.get("response_format") or {}
        if response_format.get("type") == "json_schema" or "schema" in response_format:
            return Error(400, message="response_format is not supported")
        return next(replies)

    openai_server.set_handler(answer)

    assert ticket(openai_server).value.title == "Snake"
    *_, cut, again = (request.json for request in openai_server.chat_requests)
    assert cut["response_format"] == again["response_format"] == {"type": "json_object"}
    assert again["frequency_penalty"] == 0.5 and again["max_tokens"] == 2 * MAX_TOKEN


def test_json_cut_off_after_a_comma_is_asked_again_not_closed_into_fewer_items(openai_server: OpenAIServer) -> None:
    # The model stopped on its own (finish_reason=stop) in the middle of the object: that is not data.
    openai_server.enqueue(Text('{"title": "Snake", "priority": "high",'), Text(GOOD))
    ledger = Ledger()

    answer = ticket(openai_server, ledger=ledger)

    assert answer.value == Ticket(title="Snake", priority="high", estimate_hours=3)
    assert (answer.calls, answer.reasks, answer.field_followups) == (2, 0, 0)
    first, second = (request.json for request in openai_server.chat_requests)
    assert second["max_tokens"] == 2 * MAX_TOKEN
    assert second["messages"] == first["messages"]


def test_json_cut_again_is_reasked_with_the_reason_quoted(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text('{"title": "Snake", "priority": ['), Text('{"title": "Snake", "priority":'), Text(GOOD))

    answer = ticket(openai_server)

    assert (answer.calls, answer.reasks) == (3, 1)
    third = openai_server.chat_requests[2].json["messages"]
    assert "truncated" in third[-1]["content"] and "it ends right after a colon" in third[-1]["content"]


def test_a_missing_final_brace_after_a_complete_value_is_a_logged_repair(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(GOOD[:-1]))

    answer = ticket(openai_server)

    assert answer.value == Ticket(title="Snake", priority="high", estimate_hours=3)
    assert answer.calls == 1
    assert answer.repairs == ["repair_json_syntax"]


def test_empty_content_with_reasoning_is_a_truncation(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(
        Text("", reasoning="Let me think about the ticket at length...", finish_reason="stop"), Text(GOOD)
    )

    answer = ticket(openai_server)

    assert (answer.calls, answer.reasks) == (2, 0)
    assert [request.json["max_tokens"] for request in openai_server.chat_requests] == [MAX_TOKEN, 2 * MAX_TOKEN]


# -- refusals ----------------------------------------------------------------------------------------------


def test_a_refusal_field_is_an_error_without_a_reask(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(raw_completion(content=None, refusal="I can't help with that."), Text(GOOD))
    ledger = Ledger()

    with pytest.raises(StructuredOutputError, match="refused") as caught:
        ticket(openai_server, ledger=ledger)

    assert caught.value.attempts == 1
    assert caught.value.errors[-1].startswith("refusal")
    assert len(openai_server.chat_requests) == 1
    assert ledger.reasks == 0


@pytest.mark.parametrize("repair", [True, False])
def test_a_refusal_in_the_text_is_an_error_without_a_reask(openai_server: OpenAIServer, repair: bool) -> None:
    openai_server.enqueue(Text("I'm sorry, but I can't help with writing that ticket."), Text(GOOD))

    with pytest.raises(StructuredOutputError) as caught:
        ticket(openai_server, repair=repair)

    assert caught.value.attempts == 1
    assert caught.value.errors[-1].startswith("refusal")
    assert len(openai_server.chat_requests) == 1


# -- repair on and off --------------------------------------------------------------------------------------

THINK_WRAPPED = (
    "<think>The user wants a ticket. {maybe} high priority.</think>\n"
    '{"Title": "Snake", "Priority": "HIGH", "Estimate Hours": 3}'
)


def test_with_repair_a_wrapped_miscased_answer_is_accepted_with_markers(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(THINK_WRAPPED))
    ledger = Ledger()

    answer = ticket(openai_server, repair=True, ledger=ledger)

    assert answer.value == Ticket(title="Snake", priority="high", estimate_hours=3)
    assert (answer.calls, answer.reasks) == (1, 0)
    assert answer.repairs == ["repair_strip_think", "repair_key_case", "repair_enum_case"]
    assert {marker: ledger.repairs[marker] for marker in answer.repairs} == dict.fromkeys(answer.repairs, 1)


def test_without_repair_the_same_answer_is_reasked(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(THINK_WRAPPED), Text(GOOD))
    ledger = Ledger()

    answer = ticket(openai_server, repair=False, ledger=ledger)

    assert answer.value.priority == "high"
    assert (answer.calls, answer.reasks) == (2, 1)
    assert answer.repairs == []
    assert messages_sent(openai_server)[1][2] == {"role": "assistant", "content": THINK_WRAPPED}
    assert not ledger.repairs


# -- code -------------------------------------------------------------------------------------------------


def test_ask_code_takes_the_fenced_block(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text("Here is the file:\n```python\nprint('snake')\n```\nEnjoy!"))

    answer = code(openai_server)

    assert answer.value == "print('snake')\n"
    assert (answer.calls, answer.reasks) == (1, 0)
    (sent,) = openai_server.chat_requests
    assert "response_format" not in sent.json


@pytest.mark.parametrize(
    "no_code",
    [pytest.param("", id="empty"), pytest.param("<think>Which loop? {x}</think>\n", id="only-reasoning")],
)
def test_ask_code_reasks_an_answer_without_code(openai_server: OpenAIServer, no_code: str) -> None:
    openai_server.enqueue(Text(no_code), Text("```python\nprint('snake')\n```"))
    ledger = Ledger()

    answer = code(openai_server, ledger=ledger)

    assert answer.value == "print('snake')\n"
    assert (answer.calls, answer.reasks) == (2, 1)
    reask = messages_sent(openai_server)[1]
    assert reask[-2] == {"role": "assistant", "content": no_code}
    assert "no code" in reask[-1]["content"]
    assert ledger.reasks == 1


def test_ask_code_reasks_until_it_gives_up(openai_server: OpenAIServer) -> None:
    openai_server.set_handler(always(""))

    with pytest.raises(StructuredOutputError) as caught:
        code(openai_server)

    assert caught.value.attempts == 3
    assert all(e.startswith("empty") for e in caught.value.errors)


def test_ask_code_does_not_take_a_refusal_for_the_file(openai_server: OpenAIServer) -> None:
    """A refusal holds no code: it must not become the file's content (nor would a re-ask change it)."""
    openai_server.set_handler(always("I'm sorry, but I can't help with writing that file."))

    with pytest.raises(StructuredOutputError):
        code(openai_server)
