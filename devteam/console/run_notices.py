"""The notices a run owes its user when it did something other than what was literally asked: a project name
made safe, a replay of a record made for another idea, an `--inc` run that changed nothing."""

from __future__ import annotations

import logging
from pathlib import Path

from devteam.core.errors import ConfigError
from devteam.llm.record_file import read_exchanges
from devteam.workspace.project import project_name_from

log = logging.getLogger("devteam.run")


def notice_project_name(given: str | None) -> None:
    if given and project_name_from(given) != given:
        log.warning(
            "--project-name %r is not a plain folder name; the project folder is %s", given, project_name_from(given)
        )


def notice_replayed_idea(record: Path, idea: str) -> None:
    """Replay answers by role, action and file, not by idea: say so when the record was made for another one."""
    try:
        exchanges = read_exchanges(record)
    except ConfigError:
        return  # the replay itself reports an unreadable record
    first_prompt = next((e for e in exchanges if e.get("action") == "WritePRD"), None)
    if first_prompt is None:
        return
    prompts = "\n".join(str(m.get("content", "")) for m in first_prompt.get("messages") or [] if isinstance(m, dict))
    if prompts and " ".join(idea.split()).casefold() not in " ".join(prompts.split()).casefold():
        log.warning(
            "the record %s was made for another idea; replay gives that run's answers, not answers to %r", record, idea
        )


def head_commit(root: Path | None) -> str | None:
    """The commit a project is at (None when there is no repository yet)."""
    if root is None or not (root / ".git").exists():
        return None
    import git

    try:
        with git.Repo(root) as repo:
            return repo.head.commit.hexsha
    except (git.GitError, ValueError):
        return None


def notice_unchanged(root: Path | None, before: str | None) -> bool:
    """After `--inc`: True (and a line saying so) when the run committed nothing new."""
    if before is None or head_commit(root) != before:
        return False
    print(f"Nothing changed: the answers for the increment are the files {root} already has; no new commit.")
    return True
