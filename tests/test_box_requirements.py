"""The design's `required_packages` reach `requirements.txt` only as PEP 508 names: pip reads that file as a command
line, so a model's `-e`, `-r`, `--index-url`, URL, path or direct reference never lands in it. The real `metagpt`
against a scripted server, the file read from the committed repository."""

from __future__ import annotations

import json
from pathlib import Path

import git
from cli_runner import run_metagpt, write_config
from fakes import OpenAIServer
from scripted_company import ScriptedCompany, design_answer

IDEA = "write a tic-tac-toe game"
HOSTILE = [
    "-e evilpkg",
    "--index-url http://127.0.0.1:9/simple",
    "-r /etc/passwd",
    "--extra-index-url=http://127.0.0.1:9/simple",
    "https://127.0.0.1:9/evil-1.0-py3-none-any.whl",
    "./vendor/evil",
    "/tmp/evil.tar.gz",
    "evil @ https://127.0.0.1:9/evil.whl",
    "git+https://127.0.0.1:9/evil.git",
]
KEPT = ["packaging>=20", "pytest"]


class HostileDesign(ScriptedCompany):
    def design_text(self) -> str:
        answer = design_answer(list(self.files.values()))
        answer["required_packages"] = [*HOSTILE, *KEPT]
        return json.dumps(answer, indent=2)


def test_requirements_txt_holds_only_package_names(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = HostileDesign()
    openai_server.set_handler(company)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})

    result = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path)

    assert result.code == 0, result.output
    root = tmp_path / "workspace" / "ttt"
    with git.Repo(root) as repo:
        committed = repo.git.show("HEAD:requirements.txt")
    assert committed.splitlines() == KEPT, committed
    for word in ("-e", "--index-url", "-r", "http", "/", "@", "git+"):
        assert word not in committed, (word, committed)
    # Checked at design time already: the design document holds only names, and the Architect is not asked
    # again about lines that are no package at all.
    design = json.loads((root / "docs" / "system_design.json").read_text())
    assert design["required_packages"] == KEPT, design["required_packages"]
    assert company.calls.count("WriteDesign") == 1, company.calls
    run_log = (root / ".devteam" / "run.log").read_text()
    for line in HOSTILE:
        assert f"repair_requirement_refused: {line!r}" in run_log, line
    summary = json.loads((root / ".devteam" / "summary.json").read_text())
    assert summary["repairs"]["repair_requirement_refused"] >= 1
