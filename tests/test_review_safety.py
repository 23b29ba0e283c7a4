"""Code review never destroys a file: the verdict is a choice (LGTM / needs changes), and only a complete fenced
file counts as the fix that follows "needs changes".

A whole run through `run_company` against a real local OpenAI server; the reviewer's answers are scripted.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import git
import pytest
from fakes import Error, OpenAIServer, RecordedRequest, Reply, Text
from scripted_company import ScriptedCompany, ScriptedFile

from devteam.actions.review_code import parse_review
from devteam.config.settings import Config
from devteam.run.company import run_company
from devteam.run.options import RunOptions, RunOutcome
from devteam.structured.parse import ParseFailure

WEB_FILES = [
    ScriptedFile("app.js", "function start() {\n  return 1;\n}\n", [], "the game loop"),
    ScriptedFile("style.css", "body {\n  margin: 0;\n}\n", [], "the page style"),
    ScriptedFile("game.py", "def score() -> int:\n    return 0\n", [], "the score"),
]
ADVICE = "The code looks fine overall, but consider adding comments and handling edge cases."


def _run(server: OpenAIServer, tmp_path: Path, handler, progress: io.StringIO) -> RunOutcome:  # type: ignore[no-untyped-def]
    server.set_handler(handler)
    config = Config.model_validate(
        {
            "llm": {
                "api_type": "open_llm",
                "base_url": server.base_url,
                "model": "m",
                "timeout": 10,
                "num_retries": 1,
                "retry_min_wait": 0.01,
                "retry_max_wait": 0.05,
            }
        }
    )
    options = RunOptions(idea="write a web game", workspace=tmp_path / "workspace", code_review=True)
    outcome = asyncio.run(run_company(config, options, progress_stream=progress))
    if outcome.run.repo is not None:
        outcome.run.repo.close()
    return outcome


def _reviewing(company: ScriptedCompany, answer, verdict=lambda path: Text("needs changes")) -> object:  # type: ignore[no-untyped-def]
    """The verdict request gets `verdict(path)`; every request for the fix (re-asks included), which follows the
    model's own verdict in the conversation, gets `answer(path)`; the rest is the scripted run."""

    def handler(request: RecordedRequest) -> Reply:
        messages = request.json["messages"]
        first_user = next(m["content"] for m in messages if m["role"] == "user")
        if "## Action: ReviewCode" in first_user:
            path = first_user.split("## Action: ReviewCode\nReview the file `", 1)[1].split("`", 1)[0]
            fixing = any(m["role"] == "assistant" and "needs changes" in m["content"] for m in messages)
            company.calls.append(f"{'fix' if fixing else 'review'}:{path}")
            return answer(path) if fixing else verdict(path)
        return company(request)

    return handler


def _committed(root: Path, path: str) -> str:
    with git.Repo(root) as repo:
        return repo.git.show(f"HEAD:{path}") + "\n"


def test_prose_review_never_replaces_a_file(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany(WEB_FILES, project_name="web_game")
    progress = io.StringIO()

    outcome = _run(openai_server, tmp_path, _reviewing(company, lambda path: Text(ADVICE)), progress)

    assert outcome.error is None, outcome.error
    root = outcome.repo_root
    assert root is not None
    for planned in WEB_FILES:
        assert (root / planned.path).read_text() == planned.code, planned.path
        assert _committed(root, planned.path) == planned.code
    # The reviewer was asked again with what a fix must be, then the file was kept as written.
    assert company.calls.count("review:app.js") == 1 and company.calls.count("fix:app.js") > 1
    assert "review: failed, kept as written" in progress.getvalue()
    assert "rewritten" not in progress.getvalue()


def test_a_failed_review_keeps_the_written_file(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany(WEB_FILES, project_name="web_game")
    progress = io.StringIO()

    outcome = _run(
        openai_server,
        tmp_path,
        _reviewing(company, lambda path: Error(400, message="reviewer model not loaded")),
        progress,
    )

    assert outcome.error is None, outcome.error
    root = outcome.repo_root
    assert root is not None
    assert sorted(outcome.run.files_written) == sorted([f.path for f in WEB_FILES] + ["requirements.txt", "README.md"])
    for planned in WEB_FILES:
        assert _committed(root, planned.path) == planned.code


def test_rewritten_only_when_the_code_changed(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany(WEB_FILES, project_name="web_game")
    fixed_css = "body {\n  margin: 0;\n  padding: 0;\n}\n"

    def answer(path: str) -> Reply:
        if path == "style.css":
            return Text(f"```css\n{fixed_css}```")
        code = next(f.code for f in WEB_FILES if f.path == path)
        return Text(f"Here is the file:\n```\n{code}```\n")  # the same code sent back

    progress = io.StringIO()
    outcome = _run(openai_server, tmp_path, _reviewing(company, answer), progress)

    assert outcome.error is None, outcome.error
    lines = progress.getvalue().splitlines()
    assert [line for line in lines if "review: rewritten" in line and "style.css" in line]
    assert not [line for line in lines if "review: rewritten" in line and "style.css" not in line]
    assert _committed(outcome.repo_root, "style.css") == fixed_css  # type: ignore[arg-type]


@pytest.mark.parametrize("answer", [ADVICE, "```js\nfunction start() {\n  return 2;\n", "Looks OK to me."])
def test_an_answer_that_is_not_a_review_is_refused(answer: str) -> None:
    with pytest.raises(ParseFailure):
        parse_review(answer, language="javascript", repair=True)


@pytest.mark.parametrize("answer", ["LGTM", "<think>fine</think>\nlgtm.", "LGTM - nothing to change."])
def test_lgtm_keeps_the_file(answer: str) -> None:
    assert parse_review(answer, language="python", repair=True) == (None, [])


def test_the_verdict_is_a_constrained_choice_and_lgtm_costs_one_call(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedCompany(WEB_FILES, project_name="web_game")
    verdicts = {
        "app.js": Text('{"choice": "LGTM"}'),
        "style.css": Text("LGTM"),
        "game.py": Text(ADVICE),
    }  # prose is no verdict: asked again, then the review fails
    progress = io.StringIO()

    outcome = _run(
        openai_server,
        tmp_path,
        _reviewing(company, lambda path: Text("never asked"), verdict=lambda path: verdicts[path]),
        progress,
    )

    assert outcome.error is None, outcome.error
    assert company.calls.count("review:app.js") == 1 and company.calls.count("review:style.css") == 1
    assert company.calls.count("review:game.py") > 1 and not [c for c in company.calls if c.startswith("fix:")]
    for planned in WEB_FILES:
        assert _committed(outcome.repo_root, planned.path) == planned.code  # type: ignore[arg-type]
    review = next(
        r.json for r in openai_server.chat_requests if "## Action: ReviewCode" in r.json["messages"][1]["content"]
    )
    schema = review["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["choice"]["enum"] == ["LGTM", "needs changes"]
