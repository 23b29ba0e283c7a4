"""PRD and design prompts describe the answer compactly when the server enforces the schema, in full otherwise."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from fakes import OpenAIServer
from scripted_company import ScriptedCompany

from devteam.artifacts.documents import PRD, SystemDesign
from devteam.config.settings import Config
from devteam.run.company import run_company
from devteam.run.options import RunOptions
from devteam.structured.schema import answer_format, describe_fields, schema_for_prompt


def test_fields_are_described_one_line_each_with_nested_shapes() -> None:
    lines = describe_fields(PRD).splitlines()
    assert len(lines) == len(PRD.model_fields)
    assert (
        "- requirement_pool (list of {requirement: text, priority: P0|P1|P2}): Requirements with priorities." in lines
    )
    assert "- file_list (list of {path: text, purpose: text, depends_on: list of text}):" in describe_fields(
        SystemDesign
    )
    assert len(describe_fields(PRD)) < len(schema_for_prompt(PRD)) / 2


@pytest.mark.parametrize(
    ("mode", "enforced"),
    [("json_schema", True), ("json_object_schema", True), ("json_object", False), ("prompt", False)],
)
def test_answer_format_follows_whether_the_server_enforces_the_schema(mode: str, enforced: bool) -> None:
    variables = answer_format(PRD, output_mode=mode)
    assert variables["enforced"] is enforced
    assert bool(variables["schema"]) is not enforced and bool(variables["fields"]) is enforced


def prd_and_design_prompts(tmp_path: Path, structured_output: str) -> list[str]:
    company = ScriptedCompany()
    with OpenAIServer() as server:
        server.set_handler(company)
        config = Config.model_validate(
            {
                "llm": {
                    "api_type": "open_llm",
                    "base_url": server.base_url,
                    "model": "m",
                    "structured_output": structured_output,
                }
            }
        )
        options = RunOptions(idea="tic-tac-toe", workspace=tmp_path, code_review=False)
        outcome = asyncio.run(run_company(config, options, progress_stream=io.StringIO()))
        if outcome.run.repo is not None:
            outcome.run.repo.close()
    assert outcome.error is None, outcome.error
    return [company.prompts["WritePRD"], company.prompts["WriteDesign"]]


def test_native_schema_prompts_carry_the_field_list_not_the_schema(tmp_path: Path) -> None:
    prd_native, design_native = prd_and_design_prompts(tmp_path / "native", "json_schema")
    for prompt in (prd_native, design_native):
        assert "the server checks the schema" in prompt and '"$defs"' not in prompt and '"properties"' not in prompt
    prd_prompt_mode, design_prompt_mode = prd_and_design_prompts(tmp_path / "prompt", "prompt")
    for prompt in (prd_prompt_mode, design_prompt_mode):
        assert '"properties"' in prompt and "Shape only" in prompt
    assert len(prd_native) < 0.6 * len(prd_prompt_mode)
