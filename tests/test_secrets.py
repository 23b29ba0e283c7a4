"""Keys stay secret even from a server that echoes them, and go only to the server they were configured for.

An echoing server (tests/fakes) puts the configured key and the password of `base_url` in model names, error
bodies, answers, file contents and plan paths; every output of `metagpt`, `metagpt check` and `metagpt logs`,
every file of the project (names too) and the whole git history are then searched for them.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_runner import clean_env, run_metagpt, write_config
from fakes import Error, OpenAIServer, RecordedRequest, Reply, Text, asked
from scripted_company import _FILE, ScriptedCompany, ScriptedFile

from devteam.config.settings import load_config
from devteam.run.company import run_company
from devteam.run.options import RunOptions


def first_user(request: RecordedRequest) -> str:
    return asked((request.json or {}).get("messages", []))


KEY = "sk-live-7f3Qz9EchoedKey2026"
PASSWORD = "hunter2-Pa55word"
SECRETS = (KEY, PASSWORD)
IDEA = "write a tic-tac-toe game"


class EchoingServer(OpenAIServer):
    """Lists models named after the key, and answers with the key and the password wherever text goes."""

    def route(self, request: RecordedRequest, wire: Any) -> None:
        if request.method == "GET" and request.path == "/v1/models":
            names = ["test-model", f"model-{KEY}", f"{PASSWORD}-7b"]
            data = [{"id": name, "object": "model", "created": 0, "owned_by": KEY} for name in names]
            wire.send_json(200, {"object": "list", "data": data})
            return
        super().route(request, wire)


def echoing(company: ScriptedCompany) -> Callable[[RecordedRequest], Reply]:
    """The scripted run, with both secrets in every answer: the PRD's goals, a planned file's name, a comment
    in every file; and a retried 503 whose body quotes them."""
    first = {"busy": True}
    company.files[f"tictactoe/notes_{KEY}.py"] = ScriptedFile(f"tictactoe/notes_{KEY}.py", "NOTE = 1\n")

    def handler(request: RecordedRequest) -> Reply:
        if first.pop("busy", False):
            return Error(503, message=f"overloaded; your key {KEY} and password {PASSWORD} are fine")
        path = _FILE.search(first_user(request))
        if path and path.group(1) not in company.files:  # the echoed file, asked for under its scrubbed name
            return Text(f"```python\n# key {KEY}\nNOTE = 1\n```\n")
        reply = company(request)
        assert isinstance(reply, Text)
        content = reply.content
        if content.startswith("```"):
            content = content.replace("\n", f"\n# key {KEY} password {PASSWORD}\n", 1)
        else:
            content = content.replace("Have a simple computer opponent", f"Use the key {KEY} and {PASSWORD}")
        return Text(content, reasoning=f"the key is {KEY}", usage=reply.usage)

    return handler


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _tree_leaks(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        name = str(path.relative_to(root))
        if _leaks(name):
            found.append(f"name {name}")
        if path.is_file() and _leaks(path.read_bytes().decode(errors="replace")):
            found.append(f"content {name}")
    return found


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


def test_an_echoed_key_and_url_password_appear_in_no_output(tmp_path: Path) -> None:
    with EchoingServer() as server:
        company = ScriptedCompany()
        server.set_handler(echoing(company))
        url = server.base_url.replace("http://", f"http://devteam:{PASSWORD}@")
        write_config(
            tmp_path, {"api_type": "openai", "base_url": url, "model": "test-model", "api_key": KEY, "stream": False}
        )

        run = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path)
        check = run_metagpt(["check"], cwd=tmp_path)
        server.set_handler(lambda _request: Error(401, message=f"invalid key {KEY} for user devteam:{PASSWORD}"))
        failed_check = run_metagpt(["check"], cwd=tmp_path)
        failed_run = run_metagpt([IDEA, "--project-name", "ttt2"], cwd=tmp_path)

    root = tmp_path / "workspace" / "ttt"
    assert run.code == 0, run.output
    sent = {request.headers.get("authorization", "") for request in server.chat_requests}
    assert any(KEY in header or header.startswith("Basic ") for header in sent), sent  # the secrets were sent
    logs = [
        run_metagpt(args, cwd=tmp_path)
        for args in (["logs", str(root)], ["logs", str(root), "--json"], ["logs", str(root), "--call", "1"])
    ]
    outputs = {
        "run": run.output,
        "check": check.output,
        "failed check": failed_check.output,
        "failed run": failed_run.output,
        **{f"logs {i}": r.output for i, r in enumerate(logs)},
    }
    outputs["git"] = _git(root, "log", "--all", "-p", "--format=%an %ae %s%n%b")
    leaks = {where: _leaks(text) for where, text in outputs.items() if _leaks(text)}
    leaks.update({"files": _tree_leaks(tmp_path / "workspace")} if _tree_leaks(tmp_path / "workspace") else {})

    assert leaks == {}
    assert failed_check.code == 1 and "401" in failed_check.output
    assert "model-[REDACTED]" in check.stdout
    assert "[REDACTED]" in (root / "tictactoe" / "board.py").read_text()


# -- which key goes where ---------------------------------------------------------------------------------

ENV_KEY = "sk-openai-from-the-environment-1234"
CHECK_ANSWER = json.dumps({"greeting": "hello", "numbers": [1, 2, 3], "ok": True})


@pytest.mark.parametrize("file_key", [None, "local-server-key"])
def test_openai_variables_never_reach_or_redirect_an_open_llm_server_the_config_names(
    tmp_path: Path, openai_server: OpenAIServer, file_key: str | None
) -> None:
    openai_server.set_handler(lambda _request: Text(CHECK_ANSWER))
    llm: dict[str, Any] = {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "test-model"}
    if file_key:
        llm["api_key"] = file_key
    write_config(tmp_path, llm)
    env = clean_env(tmp_path / "home", OPENAI_API_KEY=ENV_KEY, OPENAI_BASE_URL="http://127.0.0.1:9/v1")

    result = run_metagpt(["check"], cwd=tmp_path, env=env)

    assert result.code == 0, result.output  # answered by the configured server, not sent to OPENAI_BASE_URL
    headers = {request.headers.get("authorization", "") for request in openai_server.requests}
    assert openai_server.chat_requests and not any(ENV_KEY in header for header in headers), headers
    if file_key:
        assert headers == {f"Bearer {file_key}"}


def test_roles_that_differ_only_by_api_key_each_send_their_own(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    (tmp_path / "home").mkdir()
    path = tmp_path / "config2.yaml"
    path.write_text(
        json.dumps(
            {
                "llm": {
                    "api_type": "open_llm",
                    "base_url": openai_server.base_url,
                    "model": "m",
                    "api_key": "key-of-the-base",
                    "num_retries": 0,
                },
                "roles": [{"role": "Architect", "llm": {"api_key": "key-of-the-architect"}}],
            }
        )
    )
    config = load_config(path, cwd=tmp_path, home=tmp_path / "home", env={})
    options = RunOptions(idea=IDEA, workspace=tmp_path / "workspace", code_review=False)

    outcome = asyncio.run(run_company(config, options, progress_stream=io.StringIO()))
    if outcome.run.repo is not None:
        outcome.run.repo.close()

    assert outcome.error is None, outcome.error
    sent = {
        ("## Action: " + first_user(r).split("## Action: ", 1)[-1].split("\n", 1)[0], r.headers.get("authorization"))
        for r in openai_server.chat_requests
    }
    by_key = {key: {action for action, k in sent if k == key} for _, key in sent}
    assert "## Action: WriteDesign" in by_key["Bearer key-of-the-architect"]
    assert {"## Action: WritePRD", "## Action: WriteCode"} <= by_key["Bearer key-of-the-base"]
    assert not by_key["Bearer key-of-the-architect"] & by_key["Bearer key-of-the-base"], sent
    assert len(outcome.llms) == 2
