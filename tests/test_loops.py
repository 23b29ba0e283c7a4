"""Loop detection on real answers: SmolLM2-135M's cut-off loops are loops; answers that ended are not."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from fakes import Text

from devteam.structured.loops import repeats_itself

RECORDS = Path(__file__).parent / "data" / "real_model_records"
PACKAGE = Path(__file__).parents[1] / "devteam"


def real_answers() -> list[tuple[str, str, str]]:
    answers = []
    for record in sorted(RECORDS.glob("*.jsonl")):
        for number, line in enumerate(record.read_text(encoding="utf-8").splitlines(), 1):
            exchange = json.loads(line)
            answers.append((f"{record.stem}:{number}", exchange.get("finish_reason") or "", exchange["answer"]))
    return answers


@pytest.mark.parametrize(("name", "finish_reason", "answer"), real_answers(), ids=[a[0] for a in real_answers()])
def test_a_real_answer_is_a_loop_only_when_it_was_cut_off_looping(name: str, finish_reason: str, answer: str) -> None:
    # The only cut-off answer in the records is SmolLM2's PRD repeating its goals until the limit.
    assert repeats_itself(answer) == (finish_reason == "length"), name


@pytest.mark.parametrize(
    "module", ["run/company.py", "artifacts/checks.py", "llm/providers/openai_compat.py", "workspace/project.py"]
)
def test_real_code_is_not_a_loop(module: str) -> None:
    assert not repeats_itself((PACKAGE / module).read_text(encoding="utf-8"))


def test_a_short_repetition_is_too_short_to_call() -> None:
    assert not repeats_itself("ok " * 100)
    assert repeats_itself("The user's idea, restated. " * 100)


def test_every_http_protocol_carries_the_repetition_penalty() -> None:
    from devteam.llm.providers.completions import build_completion_body
    from devteam.llm.providers.ollama import build_chat_body
    from devteam.llm.providers.openai_compat import build_chat_kwargs
    from devteam.llm.types import ChatMessage, ChatRequest

    penalised = ChatRequest(messages=[ChatMessage("user", "write snake.py")], frequency_penalty=0.5)
    plain = ChatRequest(messages=[ChatMessage("user", "write snake.py")])

    for request, expected in ((penalised, 0.5), (plain, None)):
        openai = build_chat_kwargs(request, api_type="open_llm", model="m", stream=False)
        ollama = build_chat_body(request, model="m", stream=False)["options"]
        bodies = [
            build_completion_body(request, dialect=dialect, prompt="p", stop=[], model="m")
            for dialect in ("llama_server", "openai")
        ]
        assert [
            openai.get("frequency_penalty"),
            ollama.get("frequency_penalty"),
            *(body.get("frequency_penalty") for body in bodies),
        ] == [expected] * 4
    # OpenAI's reasoning models reject the parameter: OpenAI itself never gets it.
    assert "frequency_penalty" not in build_chat_kwargs(penalised, api_type="openai", model="o3", stream=False)


# -- loops stop in seconds: the stream is watched, and a looping answer is cut where it starts going round ------

LOOP_UNIT = "- The user's idea, restated as a goal of the product.\n"
GOOD_CODE = "```python\nprint('snake')\n```"


def _hung_up(server: Any) -> bool:
    """Whether the server saw the client hang up on its loop (its next writes fail); waits a little for it."""
    for _ in range(250):
        if server.hangups:
            return True
        time.sleep(0.02)
    return False


def _request() -> Any:
    from devteam.llm.types import ChatMessage, ChatRequest

    return ChatRequest(messages=[ChatMessage("user", "write snake.py")], max_tokens=4096)


def test_a_looping_openai_stream_is_cut_and_the_server_is_hung_up_on() -> None:
    from fakes import Loop, OpenAIServer

    from devteam.llm.providers.openai_compat import OpenAICompatProvider

    async def go(server: OpenAIServer) -> Any:
        provider = OpenAICompatProvider(model="test-model", base_url=server.base_url, stream=True, timeout=30)
        try:
            return await provider.complete(_request())
        finally:
            await provider.aclose()

    with OpenAIServer() as server:
        server.enqueue(Loop(LOOP_UNIT))
        response = asyncio.run(go(server))
        hung_up = _hung_up(server)
    assert response.finish_reason == "loop"
    assert LOOP_UNIT in response.text and len(response.text) < 4000  # cut within a few windows, not at the limit
    assert hung_up  # the connection was closed, so the server stops generating


def test_a_looping_ollama_stream_is_cut_too() -> None:
    from fakes import Loop, OllamaServer

    from devteam.llm.providers.ollama import OllamaProvider

    async def go(server: OllamaServer) -> Any:
        provider = OllamaProvider(model="test-model", base_url=server.url, timeout=30)
        try:
            return await provider.complete(_request())
        finally:
            await provider.aclose()

    with OllamaServer() as server:
        server.enqueue(Loop(LOOP_UNIT))
        response = asyncio.run(go(server))
        hung_up = _hung_up(server)
    assert response.finish_reason == "loop" and len(response.text) < 4000
    assert hung_up


def _ask_code_against(server: Any, **llm: Any) -> tuple[Any, list[dict[str, Any]]]:
    from devteam.config.settings import Config
    from devteam.llm.factory import build_llm
    from devteam.llm.types import ChatMessage
    from devteam.llm.usage import Ledger
    from devteam.structured.ask import ask_code

    settings = {"api_type": "open_llm", "base_url": server.base_url, "model": "test-model", "stream": True}
    config = Config.model_validate({"llm": {**settings, "num_retries": 0, **llm}})

    async def go() -> Any:
        client = build_llm(config.llm, ledger=Ledger())
        try:
            return await ask_code(
                client,
                [ChatMessage("user", "write snake.py")],
                role="Engineer",
                action="WriteCode",
                subject="snake.py",
                language="python",
                repair=True,
                max_tokens=2048,
            )
        finally:
            await client.aclose()

    answer = asyncio.run(go())
    return answer, [request.json for request in server.chat_requests]


def test_a_cut_loop_is_asked_again_with_the_penalty_and_the_same_budget() -> None:
    from fakes import Loop, OpenAIServer

    with OpenAIServer() as server:
        server.enqueue(Loop(LOOP_UNIT), Text(GOOD_CODE))
        answer, sent = _ask_code_against(server, timeout=30)

    assert answer.value.strip() == "print('snake')"
    first, second = sent
    assert "frequency_penalty" not in first and second["frequency_penalty"] == 0.5
    assert second["max_tokens"] == first["max_tokens"] == 2048  # more tokens would only loop longer


def test_a_timed_out_stream_is_never_sent_again_identical() -> None:
    from fakes import OpenAIServer, Trickle

    slow = Text("x = 1\n" * 400, chunks=["x = 1\n"] * 400)
    with OpenAIServer() as server:
        server.enqueue(Trickle(slow, interval=0.002), Text(GOOD_CODE))
        answer, sent = _ask_code_against(server, timeout=1.5)

    assert answer.value.strip() == "print('snake')"
    assert len(sent) == 2 and sent[0] != sent[1]  # what streamed before the deadline was kept and judged
    assert sent[1]["frequency_penalty"] == 0.5


def test_the_window_watch_leaves_real_code_alone() -> None:
    from devteam.llm.loop_watch import LoopWatch

    for module in ("run/company.py", "artifacts/checks.py", "llm/providers/openai_compat.py", "structured/ask.py"):
        watch = LoopWatch()
        text = (PACKAGE / module).read_text(encoding="utf-8")
        for start in range(0, len(text), 40):
            watch.feed(text[start : start + 40])
        assert not watch.looping, module
