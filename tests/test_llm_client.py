"""`LLM` (the provider wrapped in the run's policies) built by `build_llm`, against a real local OpenAI server.

Covers the schema fallback (re-sent prompt-only, outside the retry budget, remembered for the run), the
budget (refused before anything is sent), the ledger's totals, the observers' `Exchange`, estimated usage.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fakes import Error, OpenAIServer, Text
from pydantic import BaseModel, ConfigDict

from devteam.config.settings import Config
from devteam.core.errors import BudgetExceededError, ProviderError, SchemaRejectedError
from devteam.llm.client import LLM, Exchange
from devteam.llm.factory import build_llm
from devteam.llm.types import ChatMessage, ChatRequest, ChatResponse
from devteam.llm.usage import Ledger
from devteam.structured.ask import Answer, ask_structured
from devteam.structured.schema import to_strict_schema

T = TypeVar("T")

MESSAGES = [ChatMessage("system", "You write tickets."), ChatMessage("user", "a snake game")]
ANSWER = '{"title": "Snake"}'


class Ticket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str


class Recorder:
    """An `ExchangeObserver` that keeps what it is told."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def on_exchange(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)


def llm_settings(server: OpenAIServer, **overrides: Any) -> dict[str, Any]:
    """An open_llm block aimed at the fake server, with retries fast enough for tests."""
    return {
        "api_type": "open_llm",
        "base_url": server.base_url,
        "model": "test-model",
        "stream": False,
        "timeout": 5,
        "num_retries": 2,
        "retry_min_wait": 0.01,
        "retry_max_wait": 0.05,
        **overrides,
    }


def with_llm(
    server: OpenAIServer,
    body: Callable[[LLM], Awaitable[T]],
    *,
    ledger: Ledger | None = None,
    observers: list[Any] | None = None,
    **overrides: Any,
) -> T:
    """Build the LLM from a config the way a run does, run `body` with it, and always close it."""
    config = Config.model_validate({"llm": llm_settings(server, **overrides)})

    async def go() -> T:
        llm = build_llm(config.llm, ledger=ledger if ledger is not None else Ledger(), observers=observers)
        try:
            return await body(llm)
        finally:
            await llm.aclose()

    return asyncio.run(go())


def structured_request(llm: LLM, **options: Any) -> ChatRequest:
    """A JSON request the way `ask_structured` builds it: the output mode comes from the LLM."""
    return ChatRequest(
        messages=MESSAGES,
        json_schema=to_strict_schema(Ticket),
        schema_name="Ticket",
        output_mode=llm.output_mode(wants_json=True),
        **options,
    )


def bodies(server: OpenAIServer) -> list[dict[str, Any]]:
    return [request.json for request in server.chat_requests]


# -- schema fallback: the structured-output ladder -----------------------------------------------------------

REJECTIONS = [
    pytest.param(Error(400, message="'response_format.type' must be 'json_object' or 'text'"), id="400"),
    pytest.param(Error(422, message="response_format: extra fields not permitted"), id="422"),
    pytest.param(Error(500, message="failed to compile the json_schema grammar"), id="500-naming-json_schema"),
]

NOT_SUPPORTED = "response_format is not supported"


def level_of(body: dict[str, Any]) -> str:
    """The structured-output level a request body asked at."""
    response_format = body.get("response_format")
    if response_format is None:
        return "prompt"
    if response_format["type"] == "json_object":
        return "json_object_schema" if "schema" in response_format else "json_object"
    return response_format["type"]


def rejecting(*levels: str, then: str = ANSWER) -> Callable[[Any], Any]:
    """A handler that refuses requests at `levels` with a 400 naming response_format, and answers the rest."""
    return lambda request: Error(400, message=NOT_SUPPORTED) if level_of(request.json) in levels else Text(then)


@pytest.mark.parametrize("rejection", REJECTIONS)
def test_a_rejected_level_steps_down_one_level_without_a_retry(
    openai_server: OpenAIServer, rejection: Error, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.enqueue(rejection, Text(ANSWER))

    async def body(llm: LLM) -> ChatResponse:
        return await llm.complete(structured_request(llm))

    with caplog.at_level(logging.WARNING, logger="devteam.llm"):
        response = with_llm(openai_server, body)

    assert response.text == ANSWER
    assert response.retries == 0
    assert response.output_mode == "json_object_schema"
    assert response.native_schema is True  # the server was still given the schema
    first, second = bodies(openai_server)  # exactly two: the rejection was not retried as a transient fault
    assert first["response_format"]["type"] == "json_schema"
    assert second["response_format"] == {
        "type": "json_object",
        "schema": first["response_format"]["json_schema"]["schema"],
    }
    assert second["messages"] == first["messages"]
    fallback_lines = [r for r in caplog.records if r.getMessage().startswith("schema_fallback")]
    assert len(fallback_lines) == 1
    assert "json_object_schema" in fallback_lines[0].getMessage()
    assert not [r for r in caplog.records if r.getMessage().startswith("retry ")]


def test_a_server_refusing_every_level_ends_prompt_only(
    openai_server: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.set_handler(rejecting("json_schema", "json_object_schema", "json_object"))

    async def body(llm: LLM) -> ChatResponse:
        return await llm.complete(structured_request(llm))

    with caplog.at_level(logging.WARNING, logger="devteam.llm"):
        response = with_llm(openai_server, body, num_retries=0)

    assert response.text == ANSWER
    assert response.native_schema is False
    assert [level_of(b) for b in bodies(openai_server)] == [
        "json_schema",
        "json_object_schema",
        "json_object",
        "prompt",
    ]
    assert len([r for r in caplog.records if r.getMessage().startswith("schema_fallback")]) == 3


def test_a_prompt_written_for_a_checked_schema_gets_the_schema_when_nothing_checks_it(
    openai_server: OpenAIServer,
) -> None:
    # The prompt was written for json_schema (fields listed, "the server checks the schema"); when the server
    # takes neither schema level, the request that goes out without one carries the schema in the prompt.
    openai_server.set_handler(rejecting("json_schema", "json_object_schema"))

    async def body(llm: LLM) -> ChatResponse:
        return await llm.complete(structured_request(llm))

    response = with_llm(openai_server, body, num_retries=0)

    assert response.output_mode == "json_object"
    first, second, third = bodies(openai_server)
    assert second["messages"] == first["messages"]  # json_object_schema: the server still has the schema
    assert third["messages"][:-1] == first["messages"]
    added = third["messages"][-1]
    assert added["role"] == "user" and "does not check" in added["content"]
    assert (
        json.loads(added["content"].split("(use exactly these keys, spelled as written, all of them):\n", 1)[1])
        == first["response_format"]["json_schema"]["schema"]
    )


def test_an_error_not_about_the_format_does_not_step_down(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(400, message="context length exceeded"))

    async def body(llm: LLM) -> None:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(structured_request(llm))
        assert not isinstance(caught.value, SchemaRejectedError)
        assert llm.output_mode(wants_json=True) == "json_schema"

    with_llm(openai_server, body)
    assert len(openai_server.chat_requests) == 1


def test_llama_cpp_python_gets_json_object_with_the_schema(llama_cpp_server: OpenAIServer) -> None:
    """llama-cpp-python refuses json_schema with an HTTP 500 but constrains decoding with json_object+schema."""
    llama_cpp_server.enqueue(Text(ANSWER), Text(ANSWER))

    async def body(llm: LLM) -> tuple[Answer[Ticket], Answer[Ticket]]:
        first = await ask_structured(llm, MESSAGES, Ticket, role="PM", action="WriteTicket", repair=True)
        second = await ask_structured(llm, MESSAGES, Ticket, role="PM", action="WriteTicket", repair=True)
        return first, second

    first, second = with_llm(llama_cpp_server, body)

    assert first.value == second.value == Ticket(title="Snake")
    assert first.native_schema and second.native_schema
    sent = bodies(llama_cpp_server)
    # One refusal, then the level that works is used at once for the next question.
    assert [level_of(b) for b in sent] == ["json_schema", "json_object_schema", "json_object_schema"]
    assert sent[1]["response_format"]["schema"] == to_strict_schema(Ticket)


def test_fallback_does_not_spend_the_retry_budget(openai_server: OpenAIServer) -> None:
    # With no retries at all, the re-send at the next level still happens: it is not a retry.
    openai_server.set_handler(rejecting("json_schema", "json_object_schema"))

    async def no_retries(llm: LLM) -> ChatResponse:
        return await llm.complete(structured_request(llm))

    assert with_llm(openai_server, no_retries, num_retries=0).text == ANSWER
    assert len(openai_server.chat_requests) == 3


def test_fallback_leaves_the_retry_budget_to_the_resent_request(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(400, message=NOT_SUPPORTED), Error(503), Error(503), Text(ANSWER))

    async def body(llm: LLM) -> ChatResponse:
        return await llm.complete(structured_request(llm))

    response = with_llm(openai_server, body, num_retries=2)

    assert response.text == ANSWER
    assert response.retries == 2
    assert len(openai_server.chat_requests) == 4
    assert all(level_of(b) == "json_object_schema" for b in bodies(openai_server)[1:])


def test_fallback_is_remembered_for_the_next_request(openai_server: OpenAIServer) -> None:
    openai_server.set_handler(rejecting("json_schema", "json_object_schema", "json_object"))

    async def body(llm: LLM) -> tuple[str, str | None]:
        await llm.complete(structured_request(llm))
        mode = llm.output_mode(wants_json=True)
        await llm.complete(structured_request(llm))
        return mode, llm.schema_fallback_reason

    mode, reason = with_llm(openai_server, body)

    assert mode == "prompt"
    assert reason is not None and "response_format" in reason
    assert [level_of(b) for b in bodies(openai_server)] == [
        "json_schema",
        "json_object_schema",
        "json_object",
        "prompt",
        "prompt",
    ]


def test_fallback_is_remembered_by_a_reask_of_the_same_question(openai_server: OpenAIServer) -> None:
    """After the fallback, the re-ask of the same `ask_structured` call is the next request of this LLM."""
    openai_server.enqueue(
        Error(400, message=NOT_SUPPORTED),
        Text('{"name": "Snake"}'),  # valid JSON, wrong key: re-asked
        Text(ANSWER),
    )

    async def body(llm: LLM) -> Ticket:
        answer = await ask_structured(llm, MESSAGES, Ticket, role="PM", action="WriteTicket", repair=False)
        return answer.value

    assert with_llm(openai_server, body) == Ticket(title="Snake")
    sent = bodies(openai_server)
    assert [level_of(b) for b in sent] == ["json_schema", "json_object_schema", "json_object_schema"]


# -- the level cache: later runs start at the level that worked ----------------------------------------------


def cache_file(cache_dir: Path) -> Path:
    return cache_dir / "devteam" / "structured_output.json"


def test_the_level_that_worked_is_cached_for_later_runs(
    llama_cpp_server: OpenAIServer, private_cache_dir: Path
) -> None:
    llama_cpp_server.set_handler(lambda request: Text(ANSWER))

    async def ask(llm: LLM) -> None:
        await ask_structured(llm, MESSAGES, Ticket, role="PM", action="WriteTicket", repair=True)

    with_llm(llama_cpp_server, ask)  # run 1: one refusal, then json_object+schema
    with_llm(llama_cpp_server, ask)  # run 2: straight to the level run 1 found

    assert [level_of(b) for b in bodies(llama_cpp_server)] == [
        "json_schema",
        "json_object_schema",
        "json_object_schema",
    ]
    cached = json.loads(cache_file(private_cache_dir).read_text())
    assert cached == {f"open_llm {llama_cpp_server.base_url} test-model": "json_object_schema"}


def test_the_cache_is_per_model(llama_cpp_server: OpenAIServer) -> None:
    llama_cpp_server.set_handler(lambda request: Text(ANSWER))

    async def ask(llm: LLM) -> None:
        await llm.complete(structured_request(llm))

    with_llm(llama_cpp_server, ask)
    with_llm(llama_cpp_server, ask, model="other-model")

    assert [level_of(b) for b in bodies(llama_cpp_server)] == [
        "json_schema",
        "json_object_schema",
        "json_schema",
        "json_object_schema",
    ]


def test_a_broken_cache_file_is_ignored_and_rewritten(
    openai_server: OpenAIServer, private_cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache_file(private_cache_dir).parent.mkdir(parents=True)
    cache_file(private_cache_dir).write_text("{not json")
    openai_server.enqueue(Text(ANSWER))

    async def ask(llm: LLM) -> None:
        await llm.complete(structured_request(llm))

    with caplog.at_level(logging.WARNING, logger="devteam.llm"):
        with_llm(openai_server, ask)

    assert [level_of(b) for b in bodies(openai_server)] == ["json_schema"]
    assert any("ignoring the structured-output cache" in r.getMessage() for r in caplog.records)
    assert json.loads(cache_file(private_cache_dir).read_text()) == {
        f"open_llm {openai_server.base_url} test-model": "json_schema"
    }


def test_a_forced_setting_neither_reads_nor_writes_the_cache(
    openai_server: OpenAIServer, private_cache_dir: Path
) -> None:
    cache_file(private_cache_dir).parent.mkdir(parents=True)
    cache_file(private_cache_dir).write_text(json.dumps({f"open_llm {openai_server.base_url} test-model": "prompt"}))
    openai_server.enqueue(Text(ANSWER))

    async def ask(llm: LLM) -> None:
        await llm.complete(structured_request(llm))

    with_llm(openai_server, ask, structured_output="json_object_schema")

    assert [level_of(b) for b in bodies(openai_server)] == ["json_object_schema"]
    assert json.loads(cache_file(private_cache_dir).read_text()) == {
        f"open_llm {openai_server.base_url} test-model": "prompt"
    }


def test_json_schema_setting_makes_a_rejection_an_error(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(400, message=NOT_SUPPORTED))

    async def body(llm: LLM) -> tuple[str, str | None]:
        request = structured_request(llm)
        with pytest.raises(SchemaRejectedError) as caught:
            await llm.complete(request)
        assert caught.value.status == 400
        return request.output_mode, llm.schema_fallback_reason

    mode, reason = with_llm(openai_server, body, structured_output="json_schema")

    assert mode == "json_schema"
    assert reason is None
    assert len(openai_server.chat_requests) == 1


def test_a_400_to_a_prompt_only_request_is_an_error_not_a_fallback(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Error(400, message="context length exceeded"))

    async def body(llm: LLM) -> None:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(ChatRequest(messages=MESSAGES))
        assert not isinstance(caught.value, SchemaRejectedError)
        assert llm.schema_fallback_reason is None

    with_llm(openai_server, body)
    assert len(openai_server.chat_requests) == 1


def test_prompt_setting_never_sends_response_format(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(ANSWER), Text(ANSWER))

    async def body(llm: LLM) -> Ticket:
        assert llm.output_mode(wants_json=True) == "prompt"
        await llm.complete(structured_request(llm))
        answer = await ask_structured(llm, MESSAGES, Ticket, role="PM", action="WriteTicket", repair=True)
        return answer.value

    assert with_llm(openai_server, body, structured_output="prompt") == Ticket(title="Snake")
    assert all("response_format" not in b for b in bodies(openai_server))
    assert len(openai_server.chat_requests) == 2


def test_auto_asks_for_the_strict_schema(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(ANSWER))

    async def body(llm: LLM) -> None:
        await ask_structured(llm, MESSAGES, Ticket, role="PM", action="WriteTicket", repair=True)

    with_llm(openai_server, body)
    (sent,) = bodies(openai_server)
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["name"] == "Ticket"
    assert sent["response_format"]["json_schema"]["strict"] is True


# -- budget ---------------------------------------------------------------------------------------------------

# $1000 per million tokens: a tenth of a cent per token, so a few tokens are measurable money.
EXPENSIVE = {"prompt": 1000.0, "completion": 1000.0}


def test_a_call_over_the_budget_is_refused_before_it_is_sent(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(ANSWER))
    ledger = Ledger(investment=0.0001)

    async def body(llm: LLM) -> None:
        with pytest.raises(BudgetExceededError, match="investment"):
            await llm.complete(ChatRequest(messages=MESSAGES, role="ProductManager", action="WritePRD"))

    with_llm(openai_server, body, ledger=ledger, pricing=EXPENSIVE)

    assert openai_server.chat_requests == []
    assert ledger.calls == []


def test_the_budget_counts_what_was_spent_already(openai_server: OpenAIServer) -> None:
    # Prompt of 40 characters ~ 10 tokens, max_token 30: each call holds $0.04; the first costs (10 + 35) = $0.045.
    openai_server.enqueue(Text(ANSWER, usage=(10, 35)), Text(ANSWER, usage=(10, 35)))
    ledger = Ledger(investment=0.05)
    request = ChatRequest(messages=[ChatMessage("user", "x" * 40)], role="Engineer", action="WriteCode")

    async def body(llm: LLM) -> None:
        llm.settle(request, await llm.complete(request), repairs=[])
        with pytest.raises(BudgetExceededError) as caught:
            await llm.complete(request)
        assert "Engineer WriteCode" in str(caught.value)

    with_llm(openai_server, body, ledger=ledger, pricing=EXPENSIVE, max_token=30)

    assert len(openai_server.chat_requests) == 1
    assert ledger.cost == pytest.approx(0.045)


def test_a_free_local_model_is_never_stopped_by_the_budget(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(*(Text(ANSWER, usage=(4_000, 4_000)) for _ in range(3)))
    ledger = Ledger(investment=0.0)

    async def body(llm: LLM) -> None:
        for _ in range(3):
            request = ChatRequest(messages=MESSAGES, role="Engineer", action="WriteCode")
            llm.settle(request, await llm.complete(request), repairs=[])

    with_llm(openai_server, body, ledger=ledger)

    assert len(openai_server.chat_requests) == 3
    assert ledger.cost == 0
    assert ledger.prompt_tokens == 12_000


# -- ledger, observers, usage -----------------------------------------------------------------------------


def test_ledger_totals_after_a_few_calls(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(
        Text(ANSWER, usage=(1000, 500)),
        Error(503),
        Text(ANSWER, usage=(2000, 250)),
        Text(ANSWER, usage=(3000, 250)),
    )
    ledger = Ledger()

    async def body(llm: LLM) -> None:
        for action in ("WritePRD", "WriteDesign", "WriteCode"):
            request = ChatRequest(messages=MESSAGES, role="Someone", action=action)
            llm.settle(request, await llm.complete(request), repairs=[])

    with_llm(openai_server, body, ledger=ledger, pricing={"prompt": 2.5, "completion": 10.0})

    assert len(ledger.calls) == 3
    assert [call.action for call in ledger.calls] == ["WritePRD", "WriteDesign", "WriteCode"]
    assert (ledger.prompt_tokens, ledger.completion_tokens) == (6000, 1000)
    # USD per million tokens: 6000 * 2.5 / 1M + 1000 * 10 / 1M
    assert ledger.cost == pytest.approx(0.015 + 0.01)
    assert ledger.retries == 1
    assert [call.retries for call in ledger.calls] == [0, 1, 0]
    assert ledger.reasks == 0


def test_observers_receive_each_exchange(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(
        Text('{"name": "Snake"}', usage=(40, 5)),  # no field called title: asked for that field
        Text('{"Title": "Snake"}', usage=(60, 5)),  # repaired: key case
    )
    recorder = Recorder()
    ledger = Ledger()

    async def body(llm: LLM) -> Ticket:
        answer = await ask_structured(
            llm, MESSAGES, Ticket, role="ProductManager", action="WritePRD", subject="docs/prd.json", repair=True
        )
        return answer.value

    assert with_llm(openai_server, body, ledger=ledger, observers=[recorder]) == Ticket(title="Snake")

    failed, accepted = recorder.exchanges
    for exchange in (failed, accepted):
        assert (exchange.role, exchange.action, exchange.subject) == ("ProductManager", "WritePRD", "docs/prd.json")
        assert exchange.provider == "open_llm"
        assert exchange.model == "test-model"
        assert exchange.output_mode == "json_schema"
        assert exchange.usage_estimated is False
    assert failed.outcome.startswith("validation")
    assert failed.repairs == []
    assert failed.answer == '{"name": "Snake"}'
    assert accepted.outcome == "ok"
    assert accepted.repairs == ["repair_key_case", "repair_field_followup"]
    assert accepted.prompt_tokens == 60
    assert accepted.messages[-2] == {"role": "assistant", "content": '{"name": "Snake"}'}
    assert accepted.to_json()["repairs"] == ["repair_key_case", "repair_field_followup"]
    assert ledger.repairs["repair_key_case"] == 1
    assert (ledger.reasks, ledger.field_followups) == (0, 1)


@pytest.mark.parametrize("stream", [False, True])
def test_usage_is_estimated_when_the_server_sends_none(openai_server: OpenAIServer, stream: bool) -> None:
    openai_server.enqueue(Text("x" * 40))
    recorder = Recorder()
    ledger = Ledger()

    async def body(llm: LLM) -> None:
        request = ChatRequest(messages=MESSAGES, role="Engineer", action="WriteCode", subject="a.py")
        llm.settle(request, await llm.complete(request), repairs=[])

    with_llm(openai_server, body, ledger=ledger, observers=[recorder], stream=stream, pricing=EXPENSIVE)

    (exchange,) = recorder.exchanges
    expected_prompt = sum((len(m.content) + 3) // 4 for m in MESSAGES)
    assert exchange.usage_estimated is True
    assert (exchange.prompt_tokens, exchange.completion_tokens) == (expected_prompt, 10)
    assert ledger.prompt_tokens == expected_prompt
    assert ledger.cost == pytest.approx((expected_prompt + 10) * 1000 / 1_000_000)
