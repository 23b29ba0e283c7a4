"""WriteInputFile: the content of a file a failing test reads and nobody wrote, asked on its own.

The test and the function that reads the file (the deepest frame of the failure in the module) are the
prompt; the answer is the file's content, which `artifacts.input_files` writes into the test. A short prompt
and a short answer: the 0.5B, asked to rewrite the test around the file, dropped the module's calls instead.
"""

from __future__ import annotations

import logging

from devteam.actions.function_answer import function_answer
from devteam.actions.persona import Persona
from devteam.artifacts.input_files import MAX_CONTENT_CHARS
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM

log = logging.getLogger("devteam.engineer")

NAME = "WriteInputFile"
# Sample data for a test: a few lines. A small budget also cuts a looping answer early.
MAX_ANSWER_TOKENS = 384
# The fence's language for a file of this suffix, so the model writes data, not code that makes it.
_FENCES = {".csv": "csv", ".json": "json", ".md": "markdown", ".html": "html", ".yaml": "yaml", ".yml": "yaml"}


async def input_file_content(
    llm: LLM,
    persona: Persona,
    *,
    file_name: str,
    test_name: str,
    function: str,
    reader: str | None,
    module_path: str,
    idea: str,
    subject: str,
    repair: bool,
    temperature: float | None = None,
) -> str | None:
    """What `file_name` must hold for the test `test_name` (its source: `function`), or None: no usable
    answer, or more than a test's sample data."""
    fence = next((name for suffix, name in _FENCES.items() if file_name.endswith(suffix)), "text")
    prompt = render_prompt(
        "write_input_file.j2",
        test_name=test_name,
        module_path=module_path,
        file_name=file_name,
        function=function,
        reader=reader,
        idea=idea,
        fence=fence,
    )
    content = await function_answer(
        llm,
        persona,
        prompt,
        action=NAME,
        subject=subject,
        repair=repair,
        max_tokens=MAX_ANSWER_TOKENS,
        temperature=temperature,
        language=fence,
    )
    if content is None:
        return None
    if content.strip() in (file_name, f"<{file_name}>"):
        # The 0.5B's first answers for `example.txt`: the file's own name, as its one line.
        log.warning("%s %s: the answer is the file's name, not its content; not used", NAME, subject)
        return None
    if len(content) > MAX_CONTENT_CHARS:
        log.warning("%s %s: %d characters is no test's sample file; not used", NAME, subject, len(content))
        return None
    return content
