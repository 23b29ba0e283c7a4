"""The structured-output ladder against the corpus of real-world malformed answers (tests/data)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from data.malformed_answers import CASES, PRD_METAGPT, TICKET_JSON, Case, Ticket
from pydantic import BaseModel

from devteam.artifacts.documents import PRD
from devteam.structured.parse import ParseFailure, extract_code, parse_structured

RECOVERED = [case for case in CASES if case.expect == "recovered"]
REFUSED = [case for case in CASES if case.expect == "refused"]

# A case that needs one of these cannot pass without repair: the JSON or its shape is wrong as written.
NEEDS_REPAIR = {
    "repair_python_literals",
    "repair_smart_quotes",
    "repair_control_chars",
    "repair_double_encoded",
    "repair_unwrap",
    "repair_key_case",
    "repair_enum_case",
    "repair_wrap_list",
    "repair_coerce_type",
    "repair_premature_close",
    "repair_escaped_quotes",
    "repair_triple_quotes",
    "repair_invalid_escape",
    "repair_numbered_keys",
    "repair_nameless_keys",
}


def field_at(value: BaseModel, path: str) -> Any:
    """`requirement_pool.0.priority` -> value.requirement_pool[0].priority"""
    current: Any = value
    for part in path.split("."):
        current = current[int(part)] if part.isdigit() else getattr(current, part)
    return current


def test_corpus_size() -> None:
    malformed = [case for case in RECOVERED if case.kind != "clean"]
    assert len(malformed) >= 45
    assert len(REFUSED) >= 8
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", RECOVERED, ids=lambda case: case.id)
def test_recovered(case: Case) -> None:
    result = parse_structured(case.text, case.model, repair=True)
    assert isinstance(result.value, case.model)
    assert case.markers <= set(result.repairs), result.repairs
    if case.exact:
        assert set(result.repairs) == case.markers
    assert len(result.repairs) == len(set(result.repairs))
    for path, expected in case.values.items():
        assert field_at(result.value, path) == expected, path


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.id)
@pytest.mark.parametrize("repair", [True, False])
def test_refused(case: Case, repair: bool) -> None:
    with pytest.raises(ParseFailure) as failure:
        parse_structured(case.text, case.model, repair=repair)
    if repair:
        assert {failure.value.kind} == case.markers, failure.value.feedback
    assert failure.value.feedback


@pytest.mark.parametrize("case", RECOVERED, ids=lambda case: case.id)
def test_strict_mode_accepts_only_strict_json(case: Case) -> None:
    try:
        result = parse_structured(case.text, case.model, repair=False)
    except ParseFailure as failure:
        assert case.kind != "clean", failure
        return
    assert not case.markers & NEEDS_REPAIR, "strict mode accepted an answer that needed repair"
    assert result.repairs == []
    for path, expected in case.values.items():
        assert field_at(result.value, path) == expected, path


def test_validation_feedback_names_the_fields() -> None:
    broken = TICKET_JSON.replace('"severity": "high"', '"severity": "urgent"')
    with pytest.raises(ParseFailure) as failure:
        parse_structured(broken, Ticket, repair=True)
    assert failure.value.kind == "validation"
    assert "field 'severity'" in failure.value.feedback


def test_each_marker_is_logged_once_with_its_detail(caplog: pytest.LogCaptureFixture) -> None:
    text = "<think>plan</think>\n[CONTENT]\n" + PRD_METAGPT + "\n[/CONTENT]"
    with caplog.at_level(logging.INFO, logger="devteam.repair"):
        result = parse_structured(text, PRD, repair=True)
    lines = [record.getMessage() for record in caplog.records if record.name == "devteam.repair"]
    assert result.repairs == ["repair_strip_think", "repair_content_tags", "repair_key_case"]
    assert [line.split(":", 1)[0] for line in lines] == result.repairs
    assert all(record.levelno == logging.INFO for record in caplog.records)
    assert "'Original Requirements' -> 'original_requirements'" in lines[2]
    assert "'Anything UNCLEAR' -> 'anything_unclear'" in lines[2]


def test_clean_answer_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="devteam.repair"):
        result = parse_structured(TICKET_JSON, Ticket, repair=True)
    assert result.repairs == []
    assert not [record for record in caplog.records if record.name == "devteam.repair"]


def test_strict_mode_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="devteam.repair"):
        result = parse_structured("Here you go: " + TICKET_JSON, Ticket, repair=False)
    assert result.repairs == []
    assert not caplog.records


@pytest.mark.parametrize(
    "text",
    ["\x00\x01", "{" * 5000, "[" * 100000, '{"title": "x", "severity": "low"' + "}" * 50, "```\n```", "[CONTENT]"],
)
@pytest.mark.parametrize("repair", [True, False])
def test_nothing_but_parse_failure_escapes(text: str, repair: bool) -> None:
    try:
        parse_structured(text, Ticket, repair=repair)
    except ParseFailure:
        pass


# --- code answers ---------------------------------------------------------------------------------------


def test_code_prefers_the_requested_language() -> None:
    text = "Run it with:\n```bash\npython main.py\n```\nThe file:\n```python\nimport curses\n\nprint('hi')\n```"
    extraction = extract_code(text, language="python")
    assert extraction.code == "import curses\n\nprint('hi')\n"
    assert extraction.repairs == []


def test_code_takes_the_largest_block_without_a_language() -> None:
    text = "```\nshort\n```\n\n```js\nconst a = 1;\nconst b = 2;\n```"
    assert extract_code(text).code == "const a = 1;\nconst b = 2;\n"


def test_code_language_aliases() -> None:
    text = "```sh\nls\n```\n```py\nprint(1)\n```"
    assert extract_code(text, language="python").code == "print(1)\n"


def test_code_without_fence_is_the_whole_answer() -> None:
    extraction = extract_code("\n\nprint('hello')\n\n", language="python")
    assert extraction.code == "print('hello')\n"
    assert extraction.repairs == []


def test_code_unclosed_fence_think_and_tokens() -> None:
    text = "<think>I will use curses</think>\n```python\nimport curses\ncurses.wrapper(main)\n<|im_end|>"
    extraction = extract_code(text, language="python")
    assert extraction.code == "import curses\ncurses.wrapper(main)\n"
    assert extraction.repairs == ["repair_chat_tokens", "repair_strip_think", "repair_code_fence"]


def test_code_keeps_nested_fences_in_a_longer_fence() -> None:
    text = "````markdown\n# Usage\n```bash\npython main.py\n```\n````"
    assert extract_code(text, language="markdown").code == "# Usage\n```bash\npython main.py\n```\n"


def test_code_strict_mode_does_not_strip_think() -> None:
    extraction = extract_code("<think>x</think>\nprint(1)", language="python", repair=False)
    assert extraction.code == "<think>x</think>\nprint(1)\n"


@pytest.mark.parametrize("text", ["", "   ", "```python\n```", "<think>only this</think>"])
def test_code_empty_answers_fail(text: str) -> None:
    with pytest.raises(ParseFailure) as failure:
        extract_code(text, language="python")
    assert failure.value.kind == "empty"


def test_code_unclosed_think_is_truncation() -> None:
    with pytest.raises(ParseFailure) as failure:
        extract_code("<think>let me write the game loop", language="python")
    assert failure.value.kind == "truncated"


def test_code_docstring_fences_do_not_close_the_block() -> None:
    code = 'def f() -> None:\n    """Usage:\n\n    ```\n    f()\n    ```\n    """\n'
    assert extract_code("```python\n" + code + "```", language="python").code == code


# --- repairs never change the data ------------------------------------------------------------------------


def test_an_invalid_escape_in_a_regex_keeps_its_backslash() -> None:
    text = '{"title": "Route \\s*path\\( and C:\\Users", "severity": "low", "tags": ["a\\.b", "send\\_it"]}'
    result = parse_structured(text, Ticket, repair=True)
    assert result.value.title == "Route \\s*path\\( and C:\\Users"
    assert result.value.tags == ["a\\.b", "send_it"]  # markdown's `\_` is the one escape read as its character
    assert result.repairs == ["repair_invalid_escape"]


def test_a_stray_quote_inside_a_list_item_keeps_the_item_whole() -> None:
    text = '{"title": "Fix the "Save" button", "severity": "low", "tags": ["the "classic" look, kept", "ui"]}'
    result = parse_structured(text, Ticket, repair=True)
    assert result.value.title == 'Fix the "Save" button'
    assert result.value.tags == ['the "classic" look, kept', "ui"]
    assert result.repairs == ["repair_json_syntax"]


def test_a_stray_quote_with_other_syntax_slips_is_not_split_by_the_general_repair() -> None:
    text = '{"title": "x", "severity": "low", "tags": ["a "b, c" d", "e",],}'
    result = parse_structured(text, Ticket, repair=True)
    assert result.value.tags == ['a "b, c" d', "e"]


@pytest.mark.parametrize(
    "tags",
    ['["the 5" screen, big", "e"]', '["a "b, c", "e"]'],
    ids=["odd_quote_before_a_comma", "quote_then_comma_inside"],
)
def test_a_quote_whose_end_is_a_guess_is_refused(tags: str) -> None:
    text = '{"title": "x", "severity": "low", "tags": ' + tags + "}"
    with pytest.raises(ParseFailure) as failure:
        parse_structured(text, Ticket, repair=True)
    assert failure.value.kind == "invalid_json"
    assert 'write a quote inside a string as \\"' in failure.value.feedback


def test_a_refused_guess_is_asked_again_with_the_reason(openai_server: Any) -> None:
    import asyncio

    from fakes import Text

    from devteam.config.settings import Config
    from devteam.llm.factory import build_llm
    from devteam.llm.types import ChatMessage
    from devteam.llm.usage import Ledger
    from devteam.structured.ask import ask_structured

    openai_server.enqueue(
        Text('{"title": "x", "severity": "low", "tags": ["the 5" screen, big", "e"]}'),
        Text('{"title": "x", "severity": "low", "tags": ["the 5\\" screen, big", "e"]}'),
    )
    config = Config.model_validate(
        {"llm": {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "stream": False}}
    )

    async def go() -> Any:
        llm = build_llm(config.llm, ledger=Ledger())
        try:
            return await ask_structured(
                llm, [ChatMessage("user", "a ticket")], Ticket, role="PM", action="T", repair=True
            )
        finally:
            await llm.aclose()

    answer = asyncio.run(go())
    assert answer.value.tags == ['the 5" screen, big', "e"]
    assert answer.reasks == 1
    reask = openai_server.chat_requests[1].json["messages"][-1]["content"]
    assert "is not escaped" in reask
