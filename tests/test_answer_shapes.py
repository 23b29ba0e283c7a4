"""Answers that are right as they stand must be taken as they stand: a strict-mode null with repair off, and a
file whose fenced block holds fenced blocks of its own."""

from __future__ import annotations

import json

import pytest

from devteam.artifacts.documents import PRD, SystemDesign
from devteam.structured.parse import extract_code, parse_structured

# What a strict-mode server sends for the schema we ask with: every key present, a null for each optional one.
STRICT_DESIGN = {
    "implementation_approach": "curses for drawing, a pure logic module",
    "file_list": [
        {"path": "snake/logic.py", "purpose": "rules", "depends_on": None},
        {"path": "snake/ui.py", "purpose": "drawing", "depends_on": ["snake/logic.py"]},
    ],
    "data_structures_and_interfaces": "classDiagram\n  class Game",
    "program_call_flow": "sequenceDiagram\n  UI->>Game: step()",
    "required_packages": None,
    "anything_unclear": None,
}

STRICT_PRD = {
    "language": "en_us",
    "programming_language": "Python",
    "original_requirements": "a snake game",
    "project_name": "snake",
    "product_goals": ["fun"],
    "user_stories": ["as a player I steer"],
    "competitive_analysis": ["nokia snake"],
    "competitive_quadrant_chart": None,
    "requirement_analysis": "small",
    "requirement_pool": [{"requirement": "steer", "priority": "P0"}],
    "ui_design_draft": None,
    "anything_unclear": None,
}


def test_a_strict_mode_design_validates_with_repair_off() -> None:
    result = parse_structured(json.dumps(STRICT_DESIGN), SystemDesign, repair=False)

    assert result.repairs == []
    assert result.value.required_packages == [] and result.value.anything_unclear == ""
    assert [f.depends_on for f in result.value.file_list] == [[], ["snake/logic.py"]]


def test_a_strict_mode_prd_validates_with_repair_off() -> None:
    result = parse_structured(json.dumps(STRICT_PRD), PRD, repair=False)

    assert result.value.competitive_quadrant_chart == "" and result.value.ui_design_draft == ""


def test_repair_off_still_refuses_a_null_for_a_required_field() -> None:
    from devteam.structured.extract import ParseFailure

    with pytest.raises(ParseFailure) as failure:
        parse_structured(json.dumps({**STRICT_DESIGN, "implementation_approach": None}), SystemDesign, repair=False)
    assert failure.value.kind == "validation" and "implementation_approach" in failure.value.feedback


README = """\
# Snake

## Install

```bash
pip install -r requirements.txt
```

## Run

```
python -m snake
```

Arrow keys steer.
"""


@pytest.mark.parametrize("repair", [True, False])
@pytest.mark.parametrize("around", [("", ""), ("Here is the README:\n\n", "\n\nLet me know if you need more.")])
def test_a_markdown_file_with_nested_fences_is_kept_whole(repair: bool, around: tuple[str, str]) -> None:
    before, after = around
    answer = f"{before}```markdown\n{README}```{after}"

    assert extract_code(answer, language="markdown", repair=repair).code == README


def test_a_python_file_holding_a_fenced_example_is_kept_whole() -> None:
    code = 'USAGE = """\n```bash\npython -m snake --speed 3\n```\n"""\n\n\ndef main() -> None:\n    print(USAGE)\n'
    answer = f"```python\n{code}```\n\nRun it with:\n\n```bash\npython -m snake\n```\n"

    assert extract_code(answer, language="python").code == code


def test_separate_blocks_of_one_answer_stay_separate() -> None:
    answer = "```python\nprint('game')\n```\n\nOutput:\n\n```\ngame\n```\n"

    assert extract_code(answer, language="python").code == "print('game')\n"
