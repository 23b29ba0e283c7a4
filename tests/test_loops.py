"""Loop detection on real answers: SmolLM2-135M's cut-off loops are loops; answers that ended are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
