"""Field follow-ups and echoed placeholders, with what a real 0.5B model said (tests/data/real_model_records).

The records are answers of a 0.5B instruct model served by llama-cpp-python: a PRD without
`requirement_analysis` (three times the same), a design whose diagrams are the prompt's own descriptions.
Served again by the local fake (acting like llama-cpp-python), they must now cost one small follow-up, not
whole re-asks that come back the same.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer
from fakes.base import RecordedRequest, Reply, Text
from scripted_company import ScriptedCompany

from devteam.artifacts.documents import SystemDesign
from devteam.config.settings import Config
from devteam.llm.factory import build_llm
from devteam.llm.types import ChatMessage
from devteam.llm.usage import Ledger
from devteam.structured.ask import Answer, ask_structured

RECORDS = Path(__file__).parent / "data" / "real_model_records"
TODO_IDEA = "write a command-line todo list app that stores tasks in a JSON file"
ANALYSIS = "Tasks live in one JSON file; add, edit, delete and list are commands of one small CLI."


def recorded(name: str, action: str) -> list[dict[str, Any]]:
    lines = (RECORDS / name).read_text(encoding="utf-8").splitlines()
    return [exchange for exchange in map(json.loads, lines) if exchange["action"] == action]


def asked_properties(request: RecordedRequest) -> list[str]:
    """The top-level keys of the schema a request sent as its response_format (any level)."""
    response_format = (request.json or {}).get("response_format") or {}
    schema = response_format.get("schema") or (response_format.get("json_schema") or {}).get("schema") or {}
    return list(schema.get("properties", {}))


class WeakModel:
    """The recorded PRD answer first; asked for `requirement_analysis` alone, it gives it; the rest scripted."""

    def __init__(self) -> None:
        self.company = ScriptedCompany(project_name="todo_list_app")
        self.prd_answer = recorded("todo_prd_missing_field.jsonl", "WritePRD")[0]["answer"]
        self.prd_requests: list[RecordedRequest] = []

    def __call__(self, request: RecordedRequest) -> Reply:
        first_user = next(m["content"] for m in request.json["messages"] if m["role"] == "user")
        if "## Action: WritePRD" not in first_user:
            return self.company(request)
        self.prd_requests.append(request)
        if asked_properties(request) == ["requirement_analysis"]:
            return Text(json.dumps({"requirement_analysis": ANALYSIS}))
        return Text(self.prd_answer)


def test_the_recorded_prd_gap_costs_one_field_follow_up(tmp_path: Path, llama_cpp_server: OpenAIServer) -> None:
    model = WeakModel()
    llama_cpp_server.set_handler(model)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": llama_cpp_server.base_url, "model": "qwen05"})

    result = run_metagpt([TODO_IDEA, "--no-code-review", "-v"], cwd=tmp_path)

    assert result.code == 0, result.output
    # The first PRD request is refused at json_schema (HTTP 500), answered at json_object+schema; then one
    # follow-up for the missing field, with a schema of that field alone, under the server's grammar.
    _first, followup = [r for r in model.prd_requests if r.json["response_format"]["type"] == "json_object"]
    assert followup.json["response_format"]["schema"]["properties"].keys() == {"requirement_analysis"}
    ask = followup.json["messages"][-1]["content"]
    assert "requirement_analysis" in ask and "Field required" in ask
    assert "product_goals" not in ask
    assert followup.json["messages"][-2] == {"role": "assistant", "content": model.prd_answer}
    (root,) = (tmp_path / "workspace").iterdir()
    prd = json.loads((root / "docs" / "prd.json").read_text())
    recorded_prd = json.loads(model.prd_answer)
    assert prd["requirement_analysis"] == ANALYSIS
    assert prd["product_goals"] == recorded_prd["product_goals"]  # what the model got right is kept
    assert prd["requirement_pool"] == recorded_prd["requirement_pool"]
    summary = json.loads((root / ".devteam" / "summary.json").read_text())
    assert (summary["field_followups"], summary["reasks"]) == (1, 0)
    assert summary["repairs"]["repair_field_followup"] == 1
    assert "repair_field_followup" in result.stderr
    assert "field follow-ups: 1" in result.stdout


def design_of(
    server: OpenAIServer, messages: list[ChatMessage], *, structured_output: str = "auto"
) -> Answer[SystemDesign]:
    config = Config.model_validate(
        {
            "llm": {
                "api_type": "open_llm",
                "base_url": server.base_url,
                "model": "qwen05",
                "stream": False,
                "timeout": 5,
                "num_retries": 0,
                "structured_output": structured_output,
            }
        }
    )

    async def go() -> Answer[SystemDesign]:
        llm = build_llm(config.llm, ledger=Ledger())
        try:
            return await ask_structured(
                llm, messages, SystemDesign, role="Architect", action="WriteDesign", repair=True
            )
        finally:
            await llm.aclose()

    return asyncio.run(go())


def test_echoed_field_descriptions_are_asked_for_again(llama_cpp_server: OpenAIServer) -> None:
    exchange = recorded("snake_auto_qwen05.jsonl", "WriteDesign")[0]
    diagrams = {
        "data_structures_and_interfaces": "classDiagram\n    class Snake {\n        +move()\n    }",
        "program_call_flow": "sequenceDiagram\n    participant M as main\n    M->>Snake: move()",
    }
    llama_cpp_server.enqueue(Text(exchange["answer"]), Text(json.dumps(diagrams)))
    messages = [ChatMessage(m["role"], m["content"]) for m in exchange["messages"]]

    answer = design_of(llama_cpp_server, messages)

    recorded_design = json.loads(exchange["answer"])
    assert answer.value.data_structures_and_interfaces == diagrams["data_structures_and_interfaces"]
    assert answer.value.program_call_flow == diagrams["program_call_flow"]
    assert [f.path for f in answer.value.file_list] == [f["path"] for f in recorded_design["file_list"]]
    assert answer.field_followups == 1 and answer.reasks == 0
    followup = llama_cpp_server.chat_requests[-1]
    assert sorted(asked_properties(followup)) == ["data_structures_and_interfaces", "program_call_flow"]
    ask = followup.json["messages"][-1]["content"]
    assert "repeats the description of the field" in ask
    assert "A class diagram with classes, their fields and methods." in ask


def test_a_placeholder_copied_from_the_format_is_asked_for_again(openai_server: OpenAIServer) -> None:
    design = json.loads(recorded("snake_auto_qwen05.jsonl", "WriteDesign")[0]["answer"])
    design.update(data_structures_and_interfaces="classDiagram\n    class Snake", program_call_flow="<text>")
    openai_server.enqueue(
        Text(json.dumps(design)), Text(json.dumps({"program_call_flow": "sequenceDiagram\n    main->>Snake: move()"}))
    )

    answer = design_of(openai_server, [ChatMessage("user", "Design the snake game.")])

    assert answer.value.program_call_flow.startswith("sequenceDiagram")
    assert "placeholder" in openai_server.chat_requests[-1].json["messages"][-1]["content"]


def test_an_echoed_field_nothing_builds_on_is_cleared_without_a_follow_up(openai_server: OpenAIServer) -> None:
    """The 0.5B's PRD repeats the quadrant chart's description: cleared at once, not asked for (it echoed
    through two follow-ups in 3 PRDs of 10)."""
    from devteam.artifacts.documents import PRD

    exchange = recorded("snake_auto_qwen05.jsonl", "WritePRD")[0]
    openai_server.set_handler(lambda _request: Text(exchange["answer"]))
    config = Config.model_validate(
        {
            "llm": {
                "api_type": "open_llm",
                "base_url": openai_server.base_url,
                "model": "qwen05",
                "stream": False,
                "timeout": 5,
                "num_retries": 0,
            }
        }
    )

    async def go() -> Answer[PRD]:
        llm = build_llm(config.llm, ledger=Ledger())
        try:
            messages = [ChatMessage(m["role"], m["content"]) for m in exchange["messages"]]
            return await ask_structured(llm, messages, PRD, role="ProductManager", action="WritePRD", repair=True)
        finally:
            await llm.aclose()

    answer = asyncio.run(go())

    assert answer.value.competitive_quadrant_chart == ""  # the echo is not kept as content
    assert answer.value.product_goals == json.loads(exchange["answer"])["product_goals"]
    assert answer.repairs[-1:] == ["repair_echo_unresolved"]
    assert answer.field_followups == 0 and len(openai_server.chat_requests) == 1


def test_an_echo_the_follow_ups_cannot_fix_is_not_fatal(openai_server: OpenAIServer) -> None:
    """The same echo after the follow-up: a required field stays as answered, and the run goes on — after one
    follow-up, since it fixed none of the fields (a second would show the model the same answer)."""
    exchange = recorded("snake_auto_qwen05.jsonl", "WriteDesign")[0]
    openai_server.set_handler(lambda _request: Text(exchange["answer"]))
    messages = [ChatMessage(m["role"], m["content"]) for m in exchange["messages"]]

    answer = design_of(openai_server, messages)

    echoed = json.loads(exchange["answer"])["data_structures_and_interfaces"]
    assert answer.value.data_structures_and_interfaces == echoed
    assert answer.repairs[-2:] == ["repair_field_followup", "repair_echo_unresolved"]
    assert answer.field_followups == 1 and len(openai_server.chat_requests) == 2


def test_a_follow_up_that_fixes_some_fields_is_followed_by_one_for_the_rest(openai_server: OpenAIServer) -> None:
    exchange = recorded("snake_auto_qwen05.jsonl", "WriteDesign")[0]
    recorded_design = json.loads(exchange["answer"])
    class_diagram = "classDiagram\n    class Snake {\n        +move()\n    }"
    call_flow = "sequenceDiagram\n    participant M as main\n    M->>Snake: move()"
    openai_server.enqueue(
        Text(exchange["answer"]),
        # the class diagram comes right; the call flow is still the field's description
        Text(
            json.dumps(
                {
                    "data_structures_and_interfaces": class_diagram,
                    "program_call_flow": recorded_design["program_call_flow"],
                }
            )
        ),
        Text(json.dumps({"program_call_flow": call_flow})),
    )
    messages = [ChatMessage(m["role"], m["content"]) for m in exchange["messages"]]

    answer = design_of(openai_server, messages)

    assert answer.value.data_structures_and_interfaces == class_diagram
    assert answer.value.program_call_flow == call_flow
    assert answer.field_followups == 2
    assert asked_properties(openai_server.chat_requests[-1]) == ["program_call_flow"]


def test_a_follow_up_under_a_schema_the_server_enforces_does_not_spell_the_schema_out(
    llama_cpp_server: OpenAIServer, openai_server: OpenAIServer
) -> None:
    """llama.cpp holds the answer to the small schema by its grammar: the prompt names the fields and what
    each must hold, and leaves the JSON schema out (fewer prompt tokens to read); asked in plain JSON mode
    (nothing enforced), the model gets the schema spelled out."""
    exchange = recorded("snake_auto_qwen05.jsonl", "WriteDesign")[0]
    messages = [ChatMessage(m["role"], m["content"]) for m in exchange["messages"]]
    for server, mode in ((llama_cpp_server, "auto"), (openai_server, "json_object")):
        server.set_handler(lambda _request: Text(exchange["answer"]))
        design_of(server, messages, structured_output=mode)

    enforced = llama_cpp_server.chat_requests[-1]
    assert (enforced.json.get("response_format") or {}).get("schema"), "llama.cpp gets the schema as its grammar"
    enforced_ask = enforced.json["messages"][-1]["content"]
    assert "data_structures_and_interfaces: A mermaid classDiagram of the code." in enforced_ask
    assert "JSON schema" not in enforced_ask and '"properties"' not in enforced_ask
    spelled_ask = openai_server.chat_requests[-1].json["messages"][-1]["content"]
    assert "It must match this JSON schema" in spelled_ask and '"program_call_flow"' in spelled_ask
