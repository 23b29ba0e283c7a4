"""A corpus of answers the way open models (llama, qwen, mistral, deepseek-r1, phi) really write them.

Each case names the malformation (`kind`), what the ladder must do with it (`expect`), the markers that must
fire (for a refused case: the one expected failure kind) and, for recovered cases, the values of a few fields
after the repair. Used by tests/test_structured_corpus.py and bench/repair_corpus.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from devteam.artifacts.documents import PRD, SystemDesign

Expect = Literal["recovered", "refused"]


class Severity(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Subtask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    done: bool = False


class Ticket(BaseModel):
    """A small model that exercises what the artifacts do not: floats, bools, an optional, a nested list."""

    model_config = ConfigDict(extra="forbid")

    title: str
    severity: Severity
    tags: list[str] = Field(default_factory=list)
    estimate_hours: float | None = None
    version: str = ""
    subtasks: list[Subtask] = Field(default_factory=list)


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # the malformation, for the bench's table
    text: str
    model: type[BaseModel]
    expect: Expect
    # recovered: markers that must be among the repairs; refused: the expected failure kind.
    markers: frozenset[str]
    values: dict[str, Any] = field(default_factory=dict)  # dotted path -> expected value
    exact: bool = False  # the repairs must be exactly `markers` (nothing else may fire)


def ok(
    id: str, kind: str, text: str, model: type[BaseModel], markers: set[str], values: dict[str, Any], *,
    exact: bool = False,
) -> Case:
    return Case(id, kind, text, model, "recovered", frozenset(markers), values, exact)


def refused(id: str, text: str, model: type[BaseModel], failure: str) -> Case:
    return Case(id, f"refused:{failure}", text, model, "refused", frozenset({failure}))


# --- the documents the answers carry -----------------------------------------------------------------------

PRD_DATA: dict[str, Any] = {
    "language": "en_us",
    "programming_language": "Python",
    "original_requirements": "Write a snake game in the terminal",
    "project_name": "snake_game",
    "product_goals": [
        "Create an engaging snake game playable in any terminal",
        "Keep the controls simple and responsive",
        "Show the score and a high score",
    ],
    "user_stories": [
        "As a player, I want to steer the snake with the arrow keys",
        "As a player, I want to see my score while I play",
        "As a player, I want to restart quickly after losing",
    ],
    "competitive_analysis": [
        "nsnake: classic look, no high scores",
        "Google Snake: polished but browser only",
    ],
    "competitive_quadrant_chart": "quadrantChart\n    title Reach and engagement\n    nsnake: [0.3, 0.4]",
    "requirement_analysis": "A curses-based game loop with a fixed tick, keyboard input and collision checks.",
    "requirement_pool": [
        {"requirement": "The snake moves and grows when it eats food", "priority": "P0"},
        {"requirement": "Game over on collision with walls or itself", "priority": "P0"},
        {"requirement": "Persistent high score", "priority": "P1"},
    ],
    "ui_design_draft": "A bordered play field, the score on the top line, a game-over banner.",
    "anything_unclear": "",
}

# MetaGPT's own spellings of the PRD keys, as its prompts taught a generation of models.
METAGPT_PRD_KEYS = {
    "language": "Language",
    "programming_language": "Programming Language",
    "original_requirements": "Original Requirements",
    "project_name": "Project Name",
    "product_goals": "Product Goals",
    "user_stories": "User Stories",
    "competitive_analysis": "Competitive Analysis",
    "competitive_quadrant_chart": "Competitive Quadrant Chart",
    "requirement_analysis": "Requirement Analysis",
    "requirement_pool": "Requirement Pool",
    "ui_design_draft": "UI Design draft",
    "anything_unclear": "Anything UNCLEAR",
}

DESIGN_DATA: dict[str, Any] = {
    "implementation_approach": "Use the standard library's curses module for drawing and input; no third-party "
    "packages. A Game class owns the loop, a Snake class the body.",
    "file_list": [
        {"path": "main.py", "purpose": "Entry point: wraps curses and starts Game.", "depends_on": ["game.py"]},
        {"path": "game.py", "purpose": "Game loop, food, score.", "depends_on": ["snake.py"]},
        {"path": "snake.py", "purpose": "Snake body, movement and growth.", "depends_on": []},
    ],
    "data_structures_and_interfaces": "classDiagram\n    class Game {\n        +run()\n    }\n    Game --> Snake",
    "program_call_flow": "sequenceDiagram\n    participant M as main\n    M->>G: Game().run()",
    "required_packages": [],
    "anything_unclear": "",
}

METAGPT_DESIGN_KEYS = {
    "implementation_approach": "Implementation approach",
    "file_list": "File list",
    "data_structures_and_interfaces": "Data structures and interfaces",
    "program_call_flow": "Program call flow",
    "required_packages": "Required packages",
    "anything_unclear": "Anything UNCLEAR",
}

TICKET_DATA: dict[str, Any] = {
    "title": "Login button does nothing on Safari",
    "severity": "high",
    "tags": ["frontend", "safari"],
    "estimate_hours": 3.5,
}


def dump(data: Any, *, keys: dict[str, str] | None = None, indent: int | None = 2, **changes: Any) -> str:
    """The JSON text of `data` with some fields changed (None removes one) and keys respelled."""
    merged = {**data, **changes}
    merged = {key: value for key, value in merged.items() if value is not None}
    if keys:
        merged = {keys.get(key, key): value for key, value in merged.items()}
    return json.dumps(merged, indent=indent, ensure_ascii=False)


PRD_JSON = dump(PRD_DATA)
DESIGN_JSON = dump(DESIGN_DATA)
TICKET_JSON = dump(TICKET_DATA)
PRD_METAGPT = dump(PRD_DATA, keys=METAGPT_PRD_KEYS)
DESIGN_METAGPT = dump(
    DESIGN_DATA, keys=METAGPT_DESIGN_KEYS, file_list=["main.py", "game.py", "snake.py"]
)

# --- the cases ---------------------------------------------------------------------------------------------

CLEAN = [
    ok("clean_prd", "clean", PRD_JSON, PRD, set(), {"project_name": "snake_game"}, exact=True),
    ok("clean_design", "clean", DESIGN_JSON, SystemDesign, set(), {"file_list.2.path": "snake.py"}, exact=True),
    ok("clean_ticket_compact", "clean", dump(TICKET_DATA, indent=None), Ticket, set(),
       {"severity": "high", "estimate_hours": 3.5}, exact=True),
]

WRAPPING = [
    ok("bom_prd", "bom", "\ufeff" + PRD_JSON, PRD, {"repair_strip_bom"}, {"language": "en_us"}, exact=True),
    ok("bom_fenced_ticket", "bom", "\ufeff```json\n" + TICKET_JSON + "\n```", Ticket,
       {"repair_strip_bom", "repair_code_fence"}, {"title": "Login button does nothing on Safari"}),
    ok("think_r1_braces_in_reasoning", "think",
       "<think>\nOkay, the user wants a PRD for a terminal snake game. The schema has keys like "
       "{language, project_name, ...}. Let me draft: {\"language\": \"en_us\", \"project_name\": \"snake\"} "
       "-- no wait, the name should be more descriptive. Requirements: movement is P0, high score P1.\n"
       "</think>\n\n" + PRD_JSON,
       PRD, {"repair_strip_think"}, {"project_name": "snake_game"}, exact=True),
    ok("think_lone_close_r1_ollama", "think",
       "Alright, the architecture. curses is in the standard library, so no packages. I'll split it into "
       "main.py, game.py and snake.py. Something like {\"file_list\": [\"main.py\"]} but with purposes.\n"
       "</think>\n\n```json\n" + DESIGN_JSON + "\n```",
       SystemDesign, {"repair_strip_think", "repair_code_fence"}, {"file_list.0.depends_on": ["game.py"]}),
    ok("think_empty_qwen3", "think", "<think>\n\n</think>\n\n" + TICKET_JSON, Ticket,
       {"repair_strip_think"}, {"tags": ["frontend", "safari"]}, exact=True),
    ok("think_thinking_tag", "think",
       "<thinking>\nThe bug is only on Safari, so it is probably the form submit handler. Severity high.\n"
       "</thinking>\n" + TICKET_JSON, Ticket, {"repair_strip_think"}, {"severity": "high"}),
    ok("think_two_blocks", "think",
       "<think>First, the goals.</think>\n<think>Then the pool, with {priority} values.</think>\n" + PRD_JSON,
       PRD, {"repair_strip_think"}, {"requirement_pool.2.priority": "P1"}),
    ok("chat_qwen_im_end", "chat_tokens", TICKET_JSON + "<|im_end|>", Ticket, {"repair_chat_tokens"},
       {"title": "Login button does nothing on Safari"}, exact=True),
    ok("chat_llama3_header_eot", "chat_tokens",
       "<|start_header_id|>assistant<|end_header_id|>\n\n" + DESIGN_JSON + "<|eot_id|>", SystemDesign,
       {"repair_chat_tokens"}, {"file_list.1.path": "game.py"}, exact=True),
    ok("chat_mistral_eos", "chat_tokens", PRD_JSON + "</s>", PRD, {"repair_chat_tokens"},
       {"programming_language": "Python"}, exact=True),
    ok("chat_deepseek_eos", "chat_tokens", TICKET_JSON + "<｜end▁of▁sentence｜>", Ticket,
       {"repair_chat_tokens"}, {"estimate_hours": 3.5}, exact=True),
    ok("chat_hallucinated_next_turn", "chat_tokens",
       TICKET_JSON + "<|im_end|>\n<|im_start|>user\nThanks! Now estimate {the other ticket}.<|im_end|>\n"
       "<|im_start|>assistant\n{\"title\": \"Other\", \"severity\": \"low\"}",
       Ticket, {"repair_chat_tokens"}, {"severity": "high"}, exact=True),
]

FENCES = [
    ok("fence_json_llama", "fence", "```json\n" + PRD_JSON + "\n```", PRD, {"repair_code_fence"},
       {"user_stories.0": "As a player, I want to steer the snake with the arrow keys"}, exact=True),
    ok("fence_untagged_mistral", "fence", "```\n" + TICKET_JSON + "\n```", Ticket, {"repair_code_fence"},
       {"tags.1": "safari"}, exact=True),
    ok("fence_prefers_json_block", "fence",
       "To read the file plan in Python you could use:\n```python\nimport json\nplan = json.load(open('d.json'))"
       "\n```\nHere is the design:\n```json\n" + DESIGN_JSON + "\n```",
       SystemDesign, {"repair_code_fence", "repair_strip_prose"}, {"file_list.0.path": "main.py"}),
    ok("fence_unclosed", "fence", "```json\n" + DESIGN_JSON + "\n", SystemDesign, {"repair_code_fence"},
       {"required_packages": []}),
    ok("fence_one_line", "fence", '```json {"title": "Typo on the pricing page", "severity": "low"}```',
       Ticket, {"repair_code_fence"}, {"title": "Typo on the pricing page"}),
    ok("fence_example_then_answer", "fence",
       'The format is:\n```json\n{"title": "<short title>"}\n```\n\nAnd for your bug:\n```json\n'
       + TICKET_JSON + "\n```", Ticket, {"repair_code_fence", "repair_strip_prose"},
       {"title": "Login button does nothing on Safari"}),
    ok("fence_mislabelled_javascript", "fence", "```javascript\n" + TICKET_JSON + "\n```", Ticket,
       {"repair_code_fence"}, {"severity": "high"}),
    ok("fence_tilde", "fence", "~~~json\n" + TICKET_JSON + "\n~~~", Ticket, {"repair_code_fence"},
       {"estimate_hours": 3.5}),
]

CONTENT_TAGS = [
    ok("content_metagpt_prd", "content_tags", "[CONTENT]\n" + PRD_METAGPT + "\n[/CONTENT]", PRD,
       {"repair_content_tags", "repair_key_case"}, {"original_requirements": "Write a snake game in the terminal"}),
    ok("content_close_missing", "content_tags", "[CONTENT]\n" + DESIGN_JSON + "\n", SystemDesign,
       {"repair_content_tags"}, {"file_list.2.purpose": "Snake body, movement and growth."}),
    ok("content_close_without_bracket", "content_tags", "[CONTENT]\n" + TICKET_JSON + "\n[/CONTENT", Ticket,
       {"repair_content_tags"}, {"severity": "high"}),
    ok("content_close_slash_after", "content_tags", "[CONTENT]\n" + TICKET_JSON + "\n[CONTENT/]", Ticket,
       {"repair_content_tags"}, {"tags": ["frontend", "safari"]}),
    ok("content_lowercase", "content_tags", "[content]\n" + PRD_JSON + "\n[/content]", PRD,
       {"repair_content_tags"}, {"project_name": "snake_game"}),
    ok("content_fence_and_prose", "content_tags",
       "## Design\n[CONTENT]\n```json\n" + DESIGN_METAGPT + "\n```\n[/CONTENT]\nThe design uses only curses.",
       SystemDesign, {"repair_content_tags", "repair_code_fence", "repair_strip_prose", "repair_key_case"},
       {"file_list.1.path": "game.py", "file_list.1.depends_on": []}),
]

PROSE = [
    ok("prose_before_after_llama", "prose",
       "Sure! Here is the PRD for your snake game:\n\n" + PRD_JSON + "\n\nI hope this helps! Let me know if "
       "you want changes to the requirement pool.", PRD, {"repair_strip_prose"}, {"project_name": "snake_game"},
       exact=True),
    ok("prose_placeholder_braces_before", "prose",
       "Use {project_name} in snake_case and keep {priority} to P0-P2. Here it is: " + PRD_JSON, PRD,
       {"repair_strip_prose"}, {"requirement_pool.0.priority": "P0"}, exact=True),
    ok("prose_braces_after", "prose",
       TICKET_JSON + "\n\nNote: I guessed {estimate_hours}; adjust it if {needed}.", Ticket,
       {"repair_strip_prose"}, {"estimate_hours": 3.5}, exact=True),
    ok("prose_markdown_phi", "prose",
       "### Ticket\n\n**Output (JSON):**\n\n" + TICKET_JSON + "\n\n---\n*Generated for the triage board.*",
       Ticket, {"repair_strip_prose"}, {"title": "Login button does nothing on Safari"}, exact=True),
]

SYNTAX = [
    ok("syntax_trailing_commas", "json_syntax",
       '{\n  "title": "Checkout total ignores coupon",\n  "severity": "medium",\n  "tags": ["cart", "coupons",],\n'
       '  "estimate_hours": 2,\n}', Ticket, {"repair_json_syntax"}, {"tags": ["cart", "coupons"]}, exact=True),
    ok("syntax_single_quotes", "json_syntax",
       "{'title': 'Avatar upload fails for PNG', 'severity': 'medium', 'tags': ['upload']}", Ticket,
       {"repair_json_syntax"}, {"title": "Avatar upload fails for PNG"}, exact=True),
    ok("syntax_comments", "json_syntax",
       '{\n  // short and imperative\n  "title": "Add dark mode",\n  "severity": "low", /* cosmetic */\n'
       '  "tags": ["ui"]\n}', Ticket, {"repair_json_syntax"}, {"severity": "low"}, exact=True),
    ok("syntax_missing_final_brace", "json_syntax", DESIGN_JSON[:-1].rstrip(), SystemDesign,
       {"repair_json_syntax"}, {"file_list.2.path": "snake.py"}, exact=True),
    ok("syntax_extra_closing_brace", "json_syntax", TICKET_JSON + "\n}", Ticket, {"repair_json_syntax"},
       {"severity": "high"}, exact=True),
    ok("syntax_unescaped_quotes", "json_syntax",
       '{"title": "Button labelled "Save" does not save", "severity": "high", "tags": ["forms"]}', Ticket,
       {"repair_json_syntax"}, {"title": 'Button labelled "Save" does not save'}, exact=True),
    ok("syntax_missing_comma", "json_syntax",
       '{\n  "title": "Search is slow"\n  "severity": "medium"\n  "tags": ["search", "perf"]\n}', Ticket,
       {"repair_json_syntax"}, {"tags": ["search", "perf"]}, exact=True),
    ok("syntax_unquoted_keys", "json_syntax",
       '{title: "Crash when offline", severity: "high", estimate_hours: 5}', Ticket, {"repair_json_syntax"},
       {"estimate_hours": 5.0}, exact=True),
    ok("syntax_missing_list_bracket", "json_syntax",
       '{"title": "Emails go to spam", "severity": "medium", "tags": ["email", "deliverability"}', Ticket,
       {"repair_json_syntax"}, {"tags": ["email", "deliverability"]}),
    ok("python_literals", "python_literals",
       '{"title": "Session never expires", "severity": "high", "estimate_hours": None,\n'
       ' "subtasks": [{"title": "Add a TTL", "done": False}, {"title": "Write a test", "done": True}]}',
       Ticket, {"repair_python_literals"}, {"estimate_hours": None, "subtasks.1.done": True}, exact=True),
    ok("python_repr_dict", "python_literals",
       "{'title': 'Export to CSV drops unicode', 'severity': 'medium', 'estimate_hours': None, "
       "'subtasks': [{'title': 'Reproduce', 'done': True}]}", Ticket,
       {"repair_python_literals", "repair_json_syntax"}, {"subtasks.0.done": True}),
    ok("python_literal_not_in_strings", "python_literals",
       dump(PRD_DATA, anything_unclear="None").replace('"ui_design_draft": "A bordered play field, the score on '
                                                       'the top line, a game-over banner."', '"ui_design_draft": None'),
       PRD, {"repair_python_literals"}, {"anything_unclear": "None", "ui_design_draft": ""}, exact=True),
    ok("smart_double_quotes", "smart_quotes",
       "{“title”: “Fix the “Remember me” checkbox”, “severity”: “low”, “tags”: [“auth”]}", Ticket,
       {"repair_smart_quotes"}, {"title": "Fix the “Remember me” checkbox", "tags": ["auth"]}, exact=True),
    ok("smart_single_quotes", "smart_quotes",
       "{‘title’: ‘Crash on start’, ‘severity’: ‘high’, ‘tags’: [‘mobile’]}", Ticket, {"repair_smart_quotes"},
       {"title": "Crash on start"}, exact=True),
    ok("smart_quotes_only_in_values", "smart_quotes",
       '{"title": "Rename “Remember me” to “Stay signed in”", "severity": "low",}', Ticket,
       {"repair_json_syntax"}, {"title": "Rename “Remember me” to “Stay signed in”"}, exact=True),
    ok("control_raw_newlines", "control_chars",
       dump(DESIGN_DATA).replace("\\n", "\n"), SystemDesign, {"repair_control_chars"},
       {"program_call_flow": "sequenceDiagram\n    participant M as main\n    M->>G: Game().run()"}, exact=True),
    ok("control_raw_tab", "control_chars",
       '{"title": "Tabs\tbreak the CSV export", "severity": "medium"}', Ticket, {"repair_control_chars"},
       {"title": "Tabs\tbreak the CSV export"}, exact=True),
    ok("control_newlines_and_trailing_comma", "control_chars",
       '{"title": "Multi-line\nnotes are cut", "severity": "low", "tags": ["notes",],}', Ticket,
       {"repair_control_chars", "repair_json_syntax"}, {"title": "Multi-line\nnotes are cut"}, exact=True),
]

SHAPE = [
    ok("double_encoded_answer", "double_encoded", json.dumps(dump(TICKET_DATA, indent=None)), Ticket,
       {"repair_double_encoded"}, {"severity": "high"}, exact=True),
    ok("double_encoded_in_fence", "double_encoded", "```json\n" + json.dumps(DESIGN_JSON) + "\n```",
       SystemDesign, {"repair_double_encoded", "repair_code_fence"}, {"file_list.0.path": "main.py"}),
    ok("double_encoded_field", "double_encoded",
       dump(PRD_DATA, requirement_pool=json.dumps(PRD_DATA["requirement_pool"])), PRD,
       {"repair_double_encoded"}, {"requirement_pool.1.priority": "P0"}, exact=True),
    ok("unwrap_class_name", "unwrap", '{"PRD": ' + PRD_JSON + "}", PRD, {"repair_unwrap"},
       {"project_name": "snake_game"}, exact=True),
    ok("unwrap_data", "unwrap", '{"data": ' + TICKET_JSON + "}", Ticket, {"repair_unwrap"},
       {"severity": "high"}, exact=True),
    ok("unwrap_schema_echo_llama", "unwrap",
       '{"type": "object", "properties": ' + TICKET_JSON + ', "required": ["title", "severity"]}', Ticket,
       {"repair_unwrap"}, {"title": "Login button does nothing on Safari"}, exact=True),
    ok("unwrap_key_with_list", "unwrap", '{"tickets": [' + TICKET_JSON + "]}", Ticket, {"repair_unwrap"},
       {"tags": ["frontend", "safari"]}, exact=True),
    ok("unwrap_one_element_list", "unwrap", "[" + DESIGN_JSON + "]", SystemDesign, {"repair_unwrap"},
       {"file_list.0.depends_on": ["game.py"]}, exact=True),
    ok("unwrap_nested_metagpt", "unwrap", '{"response": {"SystemDesign": ' + DESIGN_METAGPT + "}}",
       SystemDesign, {"repair_unwrap", "repair_key_case"}, {"file_list.2.path": "snake.py"}, exact=True),
    ok("keys_metagpt_prd", "key_case", PRD_METAGPT, PRD, {"repair_key_case"},
       {"ui_design_draft": PRD_DATA["ui_design_draft"], "anything_unclear": ""}, exact=True),
    ok("keys_metagpt_design_bare_paths", "key_case", DESIGN_METAGPT, SystemDesign, {"repair_key_case"},
       {"file_list.0.path": "main.py", "file_list.0.purpose": ""}, exact=True),
    ok("keys_camel_case", "key_case",
       dump(PRD_DATA, keys={"programming_language": "programmingLanguage",
                            "original_requirements": "originalRequirements", "project_name": "projectName",
                            "requirement_pool": "requirementPool", "ui_design_draft": "uiDesignDraft"}),
       PRD, {"repair_key_case"}, {"project_name": "snake_game"}, exact=True),
    ok("keys_upper_snake", "key_case", dump(TICKET_DATA, keys={k: k.upper() for k in TICKET_DATA}), Ticket,
       {"repair_key_case"}, {"estimate_hours": 3.5}, exact=True),
    ok("keys_kebab_and_spaces", "key_case",
       dump(DESIGN_DATA, keys={"implementation_approach": "implementation-approach", "file_list": "file list",
                               "program_call_flow": "Program-Call-Flow"}),
       SystemDesign, {"repair_key_case"}, {"implementation_approach": DESIGN_DATA["implementation_approach"]},
       exact=True),
    ok("keys_nested_file_list", "key_case",
       dump(DESIGN_DATA, file_list=[{"Path": "main.py", "Purpose": "Entry point.", "dependsOn": ["game.py"]},
                                    {"PATH": "game.py", "PURPOSE": "Loop.", "Depends On": []}]),
       SystemDesign, {"repair_key_case"}, {"file_list.0.depends_on": ["game.py"], "file_list.1.purpose": "Loop."},
       exact=True),
    ok("enum_lowercase_priority", "enum_case",
       dump(PRD_DATA, requirement_pool=[{"requirement": "Snake moves", "priority": "p0"},
                                        {"requirement": "High score", "priority": "p2"}]),
       PRD, {"repair_enum_case"}, {"requirement_pool.1.priority": "P2"}, exact=True),
    ok("enum_title_case", "enum_case", dump(TICKET_DATA, severity="High"), Ticket, {"repair_enum_case"},
       {"severity": "high"}, exact=True),
    ok("enum_upper_padded", "enum_case", dump(TICKET_DATA, severity=" MEDIUM "), Ticket, {"repair_enum_case"},
       {"severity": "medium"}, exact=True),
    ok("null_defaults_strict_schema", "null_default",
       dump(PRD_DATA).replace('"anything_unclear": ""', '"anything_unclear": null')
       .replace('"ui_design_draft": "A bordered play field, the score on the top line, a game-over banner."',
                '"ui_design_draft": null'),
       PRD, set(), {"anything_unclear": "", "ui_design_draft": ""}, exact=True),
    ok("null_default_nested", "null_default",
       dump(DESIGN_DATA, file_list=[{"path": "main.py", "purpose": "All of it.", "depends_on": "__null__"}],
            required_packages="__null__").replace('"__null__"', "null"),
       SystemDesign, set(), {"file_list.0.depends_on": [], "required_packages": []}, exact=True),
    ok("wrap_goals_string", "wrap_list", dump(PRD_DATA, product_goals="Make a fun terminal snake game"), PRD,
       {"repair_wrap_list"}, {"product_goals": ["Make a fun terminal snake game"]}, exact=True),
    ok("wrap_requirement_object", "wrap_list",
       dump(PRD_DATA, requirement_pool={"requirement": "The snake moves", "priority": "P0"}), PRD,
       {"repair_wrap_list"}, {"requirement_pool.0.requirement": "The snake moves"}, exact=True),
    ok("wrap_tags_string", "wrap_list", dump(TICKET_DATA, tags="safari"), Ticket, {"repair_wrap_list"},
       {"tags": ["safari"]}, exact=True),
    ok("coerce_project_name_number", "coerce_type",
       dump(PRD_DATA, original_requirements="Write the 2048 game", project_name=2048), PRD,
       {"repair_coerce_type"}, {"project_name": "2048"}, exact=True),
    ok("coerce_version_float", "coerce_type", dump(TICKET_DATA, version=1.2), Ticket, {"repair_coerce_type"},
       {"version": "1.2"}, exact=True),
    ok("coerce_list_to_text", "coerce_type",
       dump(PRD_DATA, requirement_analysis=["A fixed-tick game loop.", "Keyboard input via curses."]), PRD,
       {"repair_coerce_type"}, {"requirement_analysis": "A fixed-tick game loop.\nKeyboard input via curses."},
       exact=True),
    ok("coerce_ui_draft_object", "coerce_type",
       dump(PRD_DATA, ui_design_draft={"layout": "bordered field", "style": "monochrome"}), PRD,
       {"repair_coerce_type"}, {"ui_design_draft": "layout: bordered field\nstyle: monochrome"}, exact=True),
]

MIXED = [
    ok("mixed_qwen_think_fence_metagpt_trailing", "mixed",
       "<think>\nThe user wants the PRD in MetaGPT's format.\n</think>\n\n```json\n"
       + PRD_METAGPT[:-2] + ",\n}\n```<|im_end|>",
       PRD, {"repair_strip_think", "repair_code_fence", "repair_json_syntax", "repair_key_case",
             "repair_chat_tokens"}, {"requirement_pool.0.priority": "P0"}),
    ok("mixed_llama_prose_tags_smart", "mixed",
       "Here is the ticket in the requested format:\n[CONTENT]\n{“Title”: “Dark mode toggle resets”, "
       "“Severity”: “Low”, “Tags”: [“settings”]}\n[/CONTENT]\nLet me know if you need anything else!",
       Ticket, {"repair_strip_prose", "repair_content_tags", "repair_smart_quotes", "repair_key_case",
                "repair_enum_case"}, {"title": "Dark mode toggle resets", "severity": "low"}, exact=True),
    ok("mixed_mistral_fence_none_comment_eos", "mixed",
       "```json\n{\n  \"title\": \"Password reset mail not sent\", // critical path\n  \"severity\": \"HIGH\",\n"
       "  \"estimate_hours\": None\n}\n```</s>", Ticket,
       {"repair_code_fence", "repair_python_literals", "repair_json_syntax", "repair_enum_case",
        "repair_chat_tokens"}, {"severity": "high", "estimate_hours": None}, exact=True),
    ok("mixed_r1_lone_think_unwrap_enum", "mixed",
       "so priorities: movement p0, scores p1.\n</think>\n" + '{"PRD": '
       + dump(PRD_DATA, requirement_pool=[["The snake moves", "P0"], {"requirement": "Scores", "priority": "p1"}])
       + "}",
       PRD, {"repair_strip_think", "repair_unwrap", "repair_enum_case", "repair_positional_object"},
       {"requirement_pool.0.requirement": "The snake moves", "requirement_pool.1.priority": "P1"}, exact=True),
    ok("mixed_phi_prose_python_repr", "mixed",
       "Output:\n{'Title': 'Cannot scroll on iPad', 'Severity': 'medium', 'Tags': ['ios'], 'Estimate Hours': 1, "
       "'Subtasks': [{'Title': 'Repro on iPad', 'Done': False}]}\nEnd of output.",
       Ticket, {"repair_strip_prose", "repair_python_literals", "repair_json_syntax", "repair_key_case"},
       {"estimate_hours": 1.0, "subtasks.0.title": "Repro on iPad"}, exact=True),
]

# Shapes a 0.5B model writes (seen against llama-cpp-python), that the ladder recovers without losing data.
WEAK_MODEL = [
    ok("premature_close_then_keys", "premature_close",
       '{"title": "Login button does nothing on Safari", "severity": "high"}, "tags": ["frontend", "safari"], '
       '"estimate_hours": 3.5}', Ticket, {"repair_premature_close"},
       {"tags": ["frontend", "safari"], "estimate_hours": 3.5}, exact=True),
    ok("premature_close_no_comma", "premature_close",
       dump(PRD_DATA, requirement_pool=None, ui_design_draft=None, anything_unclear=None)[:-2] + "\n}\n"
       + '"requirement_pool": [{"requirement": "The snake moves", "priority": "P0"}],\n'
       + '"ui_design_draft": "A bordered field.", "anything_unclear": ""\n}', PRD, {"repair_premature_close"},
       {"requirement_pool.0.requirement": "The snake moves", "ui_design_draft": "A bordered field."}, exact=True),
    ok("escaped_quotes_no_outer", "escaped_quotes", json.dumps(dump(TICKET_DATA, indent=None))[1:-1], Ticket,
       {"repair_escaped_quotes"}, {"title": "Login button does nothing on Safari", "tags": ["frontend", "safari"]},
       exact=True),
    ok("escaped_quotes_in_prose", "escaped_quotes",
       "Here is the JSON: " + json.dumps(dump(DESIGN_DATA, indent=None))[1:-1], SystemDesign,
       {"repair_escaped_quotes", "repair_strip_prose"}, {"file_list.1.path": "game.py"}, exact=True),
    ok("numbered_keys_for_a_list", "odd_keys",
       dump(PRD_DATA, product_goals={"1": "Be fun", "2": "Be simple", "10": "Be fast"}).replace('"1":', "1:")
       .replace('"2":', "2:"), PRD, {"repair_json_syntax", "repair_numbered_keys"},
       {"product_goals": ["Be fun", "Be simple", "Be fast"]}, exact=True),
    ok("null_and_number_keys", "odd_keys",
       '{"title": "Login button does nothing on Safari", "severity": "high", null: "", 3: "x"}', Ticket,
       {"repair_json_syntax", "repair_nameless_keys"}, {"severity": "high"}, exact=True),
    ok("single_quoted_value_with_double_quote", "json_syntax",
       "{'title': 'The \"Save\" button is grey', 'severity': 'low', 'tags': ['ui']}", Ticket,
       {"repair_json_syntax"}, {"title": 'The "Save" button is grey'}, exact=True),
    ok("python_triple_quoted_value", "triple_quotes",
       '{"title": """Crash on start""", "severity": "high", "version": """1.0\nbeta"""}', Ticket,
       {"repair_triple_quotes"}, {"title": "Crash on start", "version": "1.0\nbeta"}, exact=True),
    ok("python_triple_single_quoted_code", "triple_quotes",
       dump(DESIGN_DATA, data_structures_and_interfaces="__CODE__").replace(
           '"__CODE__"', "'''classDiagram\n    class Game {\n        +run()\n    }'''"),
       SystemDesign, {"repair_triple_quotes"},
       {"data_structures_and_interfaces": "classDiagram\n    class Game {\n        +run()\n    }"}, exact=True),
    ok("markdown_underscore_escape", "invalid_escape",
       dump(DESIGN_DATA, implementation_approach="Route send_message through the queue").replace(
           "send_message", "send\\_message"),
       SystemDesign, {"repair_invalid_escape"}, {"implementation_approach": "Route send_message through the queue"},
       exact=True),
    ok("missing_final_brace_after_value", "json_syntax", TICKET_JSON.rstrip()[:-1], Ticket,
       {"repair_json_syntax"}, {"estimate_hours": 3.5}, exact=True),
]

REFUSED = [
    refused("empty", "", PRD, "empty"),
    refused("whitespace_only", "  \n\n\t ", Ticket, "empty"),
    refused("only_reasoning", "<think>\nThe PRD needs goals, stories...\n</think>\n\n", PRD, "empty"),
    refused("unclosed_think", "<think>\nOkay, so the user wants a snake game. First I need to decide on the "
            "goals. Goal one: {engaging}. Then the user stories, maybe", PRD, "truncated"),
    refused("refusal_sorry", "I'm sorry, but I can't help with that.", Ticket, "refusal"),
    refused("refusal_as_an_ai", "As an AI language model, I cannot create documents that ...", PRD, "refusal"),
    refused("prose_only", "The snake game should have a score, a high score and simple arrow-key controls. "
            "I would start with the game loop.", PRD, "no_json"),
    refused("placeholders_only", "Fill in {title} and {severity}, then send it to {team}.", Ticket, "no_json"),
    refused("truncated_mid_string", PRD_JSON[: PRD_JSON.index("Create an engaging") + 12], PRD, "truncated"),
    refused("truncated_after_value", PRD_JSON[: PRD_JSON.index('"user_stories"') - 2], PRD, "truncated"),
    refused("truncated_file_list", DESIGN_JSON[: DESIGN_JSON.rindex("{", 0, DESIGN_JSON.index('"game.py"'))],
            SystemDesign, "truncated"),
    refused("truncated_in_fence", "```json\n" + TICKET_JSON[:40], Ticket, "truncated"),
    # Cut-off answers are not data: never closed into fewer items.
    refused("truncated_after_comma", TICKET_JSON[: TICKET_JSON.index('"estimate_hours"')].rstrip(), Ticket,
            "truncated"),
    refused("truncated_after_colon", TICKET_JSON[: TICKET_JSON.index('"estimate_hours"') + 17], Ticket, "truncated"),
    refused("truncated_inside_list", TICKET_JSON[: TICKET_JSON.index('"safari"') - 1].rstrip().rstrip(","),
            Ticket, "truncated"),
    refused("truncated_list_of_goals", PRD_JSON[: PRD_JSON.index('"Show the score')].rstrip(), PRD, "truncated"),
    refused("truncated_inside_string", TICKET_JSON[: TICKET_JSON.index("Safari")], Ticket, "truncated"),
    refused("truncated_after_key", TICKET_JSON[: TICKET_JSON.index('"estimate_hours"') + 16], Ticket, "truncated"),
    refused("missing_required_fields", dump(PRD_DATA, product_goals=None, user_stories=None), PRD, "validation"),
    refused("unknown_field", dump(TICKET_DATA, assignee="bob"), Ticket, "validation"),
    refused("enum_value_unknown", dump(TICKET_DATA, severity="urgent"), Ticket, "validation"),
]

CASES: list[Case] = [
    *CLEAN, *WRAPPING, *FENCES, *CONTENT_TAGS, *PROSE, *SYNTAX, *SHAPE, *MIXED, *WEAK_MODEL, *REFUSED
]
