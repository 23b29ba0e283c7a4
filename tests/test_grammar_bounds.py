"""Bounded grammars: after a cut-off answer, a server that makes a grammar of the schema gets every string and
list bounded so that the longest answer the grammar allows fits the new budget.

The bounds are checked on our real schemas (the longest answer they allow is built and measured), and on the
wire: what a llama.cpp-like server, ollama and llama.cpp's `/completion` receive when an answer is cut off, and
that OpenAI's strict `json_schema` never carries them.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fakes import CompletionsServer, OllamaServer, OpenAIServer, RecordedRequest, Text
from pydantic import BaseModel

from devteam.artifacts.documents import PRD, SystemDesign
from devteam.commands.check import CheckAnswer
from devteam.config.settings import Config
from devteam.llm.factory import build_llm
from devteam.llm.grammar_bounds import CHARS_PER_TOKEN, bound_for_grammar
from devteam.llm.types import ChatMessage
from devteam.llm.usage import Ledger
from devteam.structured.ask import ask_structured
from devteam.structured.schema import to_strict_schema

MESSAGES = [ChatMessage("system", "You write PRDs."), ChatMessage("user", "Write the PRD for a snake game.")]
GOOD_PRD = json.dumps(
    {
        "language": "en_us",
        "programming_language": "Python",
        "original_requirements": "a snake game",
        "project_name": "snake_game",
        "product_goals": ["fun"],
        "user_stories": ["As a player, I want to play"],
        "competitive_analysis": ["Nokia snake: simple"],
        "competitive_quadrant_chart": "",
        "requirement_analysis": "a grid and a snake",
        "requirement_pool": [{"requirement": "move", "priority": "P0"}],
        "ui_design_draft": "a grid",
        "anything_unclear": "",
    }
)
LOOPING_PRD = '{"language": "en_us", "product_goals": ["fun", "fun", "fun", "fun", "fun", "fun", "fun"'


def longest_answer(node: dict[str, Any], defs: dict[str, Any]) -> Any:
    """The longest JSON value a bounded schema allows: every list full, every string at its maxLength
    the widest member of every union."""
    if "$ref" in node:
        return longest_answer(defs[node["$ref"].removeprefix("#/$defs/")], defs)
    if "anyOf" in node:
        return max((longest_answer(member, defs) for member in node["anyOf"]), key=lambda v: len(json.dumps(v)))
    if "enum" in node:
        return max(node["enum"], key=lambda v: len(json.dumps(v)))
    kind = node.get("type")
    assert not isinstance(kind, list), f"a type list loses its bounds in llama-cpp-python: {node}"
    if kind == "object":
        return {name: longest_answer(prop, defs) for name, prop in node["properties"].items()}
    if kind == "array":
        assert "maxItems" in node, f"an unbounded list: {node}"
        return [longest_answer(node["items"], defs)] * node["maxItems"]
    if kind == "string":
        assert "maxLength" in node, f"an unbounded string: {node}"
        return "x" * node["maxLength"]
    if kind == "null":
        return None
    if kind in ("integer", "number"):
        return 10**9
    if kind == "boolean":
        return False
    raise AssertionError(f"unexpected schema node {node}")


MODELS: list[type[BaseModel]] = [PRD, SystemDesign, CheckAnswer]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("max_tokens", [768, 1536, 4096, 8192])
def test_the_longest_answer_a_bounded_grammar_allows_fits_the_budget(model: type[BaseModel], max_tokens: int) -> None:
    bounded = bound_for_grammar(to_strict_schema(model), max_tokens)

    worst = json.dumps(longest_answer(bounded, bounded.get("$defs", {})), ensure_ascii=False)

    assert len(worst) <= max_tokens * CHARS_PER_TOKEN, (len(worst), max_tokens)


def test_bounds_grow_with_the_budget_and_leave_room_for_a_sentence() -> None:
    small = bound_for_grammar(to_strict_schema(PRD), 1536)["properties"]
    large = bound_for_grammar(to_strict_schema(PRD), 8192)["properties"]

    assert small["user_stories"]["maxItems"] < large["user_stories"]["maxItems"]
    assert small["user_stories"]["items"]["maxLength"] < large["user_stories"]["items"]["maxLength"]
    # "As a player, I want to steer the snake with the arrow keys so that I can play" fits at 1536 tokens.
    assert small["user_stories"]["items"]["maxLength"] >= 80
    # A summary outside any list may be longer than one list item.
    assert small["requirement_analysis"]["maxLength"] > small["user_stories"]["items"]["maxLength"]


def test_enums_and_the_original_schema_are_left_alone() -> None:
    schema = to_strict_schema(PRD)
    before = json.dumps(schema, sort_keys=True)

    bounded = bound_for_grammar(schema, 1536)

    assert json.dumps(schema, sort_keys=True) == before  # a copy: the request's schema is not changed
    priority = bounded["$defs"]["Requirement"]["properties"]["priority"]
    assert "maxLength" not in priority and priority["enum"] == ["P0", "P1", "P2"]
    assert bound_for_grammar(schema, None) is schema  # the server's own limit: nothing to fit


def test_a_nullable_list_keeps_its_items_and_bounds_as_an_anyof_member() -> None:
    bounded = bound_for_grammar(to_strict_schema(SystemDesign), 1536)["properties"]["required_packages"]

    members = bounded["anyOf"]
    assert {"type": "null"} in members
    (array,) = [member for member in members if member.get("type") == "array"]
    assert array["items"]["type"] == "string" and "maxLength" in array["items"] and "maxItems" in array


# -- on the wire ---------------------------------------------------------------------------------------------


def ask_prd(server_settings: dict[str, Any]) -> None:
    config = Config.model_validate(
        {
            "llm": {
                "model": "test-model",
                "stream": False,
                "timeout": 5,
                "max_token": 768,
                "num_retries": 0,
                **server_settings,
            }
        }
    )

    async def go() -> None:
        llm = build_llm(config.llm, ledger=Ledger())
        try:
            await ask_structured(llm, MESSAGES, PRD, role="ProductManager", action="WritePRD", repair=True)
        finally:
            await llm.aclose()

    asyncio.run(go())


def has_bounds(schema: Any) -> bool:
    text = json.dumps(schema)
    return '"maxLength"' in text and '"maxItems"' in text


def test_a_cut_off_answer_is_asked_again_with_a_bounded_grammar_on_llama_cpp(llama_cpp_server: OpenAIServer) -> None:
    llama_cpp_server.enqueue(Text(LOOPING_PRD, finish_reason="length"), Text(GOOD_PRD))

    ask_prd({"api_type": "open_llm", "base_url": llama_cpp_server.base_url, "structured_output": "json_object_schema"})

    first, second = (request.json for request in llama_cpp_server.chat_requests)
    assert first["response_format"]["type"] == "json_object" and not has_bounds(first["response_format"]["schema"])
    assert second["max_tokens"] == 1536
    assert has_bounds(second["response_format"]["schema"])
    assert second["response_format"]["schema"] == bound_for_grammar(first["response_format"]["schema"], 1536)


def test_openai_strict_json_schema_never_carries_bounds(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Text(LOOPING_PRD, finish_reason="length"), Text(GOOD_PRD))

    ask_prd({"api_type": "open_llm", "base_url": openai_server.base_url, "structured_output": "json_schema"})

    first, second = (request.json for request in openai_server.chat_requests)
    assert second["max_tokens"] == 1536
    assert second["response_format"] == first["response_format"]
    assert not has_bounds(second["response_format"])


def test_ollama_format_is_bounded_after_a_cut_off_answer(ollama_server: OllamaServer) -> None:
    ollama_server.enqueue(Text(LOOPING_PRD, finish_reason="length"), Text(GOOD_PRD))

    ask_prd({"api_type": "ollama", "base_url": ollama_server.url})

    first, second = (request.json for request in ollama_server.chat_requests)
    assert not has_bounds(first["format"])
    assert second["options"]["num_predict"] == 1536 and has_bounds(second["format"])


def test_llama_server_completion_json_schema_is_bounded_after_a_cut_off_answer(
    completions_server: CompletionsServer,
) -> None:
    completions_server.enqueue(Text(LOOPING_PRD, finish_reason="length"), Text(GOOD_PRD))

    ask_prd({"api_type": "llama_server", "base_url": completions_server.url, "prompt_format": "chatml"})

    first, second = (request.json for request in completions_server.prompt_requests)
    assert not has_bounds(first["json_schema"])
    assert second["n_predict"] == 1536 and has_bounds(second["json_schema"])


# -- in real llama.cpp ---------------------------------------------------------------------------------------

# Run in a child process: llama.cpp aborts the whole process on a grammar it refuses.
GRAMMAR_CHECK = """
import json, sys
from llama_cpp import Llama
llama = Llama(model_path=sys.argv[1], n_ctx=512, verbose=False)
for schema in json.load(sys.stdin):
    llama.create_chat_completion(messages=[{"role": "user", "content": "hi"}], max_tokens=2,
                                 response_format={"type": "json_object", "schema": schema})
    print("parsed", flush=True)
"""


@pytest.mark.local_model
def test_the_largest_bounds_are_grammars_llama_cpp_accepts() -> None:
    from llama_server import smollm2_gguf

    one_string = {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
        "additionalProperties": False,
    }
    schemas = [
        bound_for_grammar(schema, budget)
        for schema in [one_string, *(to_strict_schema(model) for model in MODELS)]
        for budget in (768, 8192, 131072)
    ]

    result = subprocess.run(
        [sys.executable, "-c", GRAMMAR_CHECK, str(smollm2_gguf())],
        input=json.dumps(schemas),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.stdout.count("parsed") == len(schemas), result.stderr[-2000:]
    assert bound_for_grammar(one_string, 131072)["properties"]["text"]["maxLength"] == 800  # the cap


# -- the real loop, replayed ---------------------------------------------------------------------------------

RECORD = Path(__file__).parent / "data" / "real_model_records" / "snake_prd_loop_smollm2.jsonl"


def test_the_real_smollm2_loop_is_closed_by_the_bounded_grammar_and_its_echoes_asked_for_again(
    llama_cpp_server: OpenAIServer,
) -> None:
    looping, bounded = (json.loads(line) for line in RECORD.read_text(encoding="utf-8").splitlines())
    fixed = {
        "original_requirements": "A classic snake game for the terminal.",
        "product_goals": ["Playable with the arrow keys"],
        "user_stories": ["As a player, I want to eat food"],
        "competitive_analysis": ["Nokia Snake: simple, addictive"],
        "requirement_analysis": "A grid, a snake.",
        "anything_unclear": "",
    }

    def serve(request: RecordedRequest) -> Text:
        schema = request.json["response_format"]["schema"]
        if set(schema["properties"]) < set(PRD.model_fields):  # a field follow-up
            return Text(json.dumps({key: fixed[key] for key in schema["properties"] if key in fixed}))
        return Text(looping["answer"], finish_reason="length") if not has_bounds(schema) else Text(bounded["answer"])

    llama_cpp_server.set_handler(serve)
    messages = [ChatMessage(m["role"], m["content"]) for m in looping["messages"]]
    config = Config.model_validate(
        {
            "llm": {
                "api_type": "open_llm",
                "base_url": llama_cpp_server.base_url,
                "model": "smollm2",
                "stream": False,
                "timeout": 5,
                "max_token": 768,
                "num_retries": 0,
                "structured_output": "json_object_schema",
            }
        }
    )

    async def go() -> Any:
        llm = build_llm(config.llm, ledger=Ledger())
        try:
            return await ask_structured(llm, messages, PRD, role="ProductManager", action="WritePRD", repair=True)
        finally:
            await llm.aclose()

    answer = asyncio.run(go())

    _first, second, *follow_ups = llama_cpp_server.chat_requests
    assert second.json["max_tokens"] == 1536 and has_bounds(second.json["response_format"]["schema"])
    assert len(follow_ups) == answer.field_followups >= 1
    asked = set(follow_ups[0].json["response_format"]["schema"]["properties"])
    # Each of these holds another field's description ("The user's idea, restated.", project_name's).
    assert {"original_requirements", "product_goals", "requirement_analysis"} <= asked
    assert answer.value.original_requirements == fixed["original_requirements"]
    assert "The user's idea, restated." not in answer.value.product_goals
