"""Our git never obeys the project's config: a generated repository that plants programs in `.git/config` and
`.git/hooks` (fsmonitor, hooksPath, hooks, clean/smudge/process filters, textconv, external diff, pager, ssh
command, another work tree) gets none of them run by devteam's own git calls — real git, through gitpython."""

from __future__ import annotations

import stat
from pathlib import Path

from devteam.workspace.project import ProjectRepo


def _planted(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A program that leaves `marker` behind when anything runs it (and passes its input through)."""
    marker = tmp_path / f"ran-{name}"
    script = tmp_path / f"{name}.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, marker


def test_nothing_planted_in_the_repository_config_or_hooks_runs(tmp_path: Path) -> None:
    root = tmp_path / "project"
    repo = ProjectRepo.create(root)
    try:
        scripts = {
            name: _planted(tmp_path, name)
            for name in (
                "fsmonitor",
                "hook",
                "hookspath",
                "clean",
                "process",
                "smudge",
                "textconv",
                "extdiff",
                "pager",
                "ssh",
            )
        }
        hooks = tmp_path / "hooks"
        hooks.mkdir()
        for hook in ("post-index-change", "pre-commit", "post-commit", "reference-transaction"):
            (root / ".git" / "hooks" / hook).write_text(scripts["hook"][0].read_text())
            (root / ".git" / "hooks" / hook).chmod(0o755)
            (hooks / hook).write_text(scripts["hookspath"][0].read_text())
            (hooks / hook).chmod(0o755)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "private.txt").write_text("not the project's\n")
        with (root / ".git" / "config").open("a") as config:
            config.write(
                f"[core]\n\tfsmonitor = {scripts['fsmonitor'][0]}\n\thooksPath = {hooks}\n"
                f"\tpager = {scripts['pager'][0]}\n\tsshCommand = {scripts['ssh'][0]}\n\tworktree = {elsewhere}\n"
                f'[filter "evil"]\n\tclean = {scripts["clean"][0]}\n\tsmudge = {scripts["smudge"][0]}\n'
                f"\tprocess = {scripts['process'][0]}\n\trequired = true\n"
                f'[diff "evil"]\n\ttextconv = {scripts["textconv"][0]}\n\tcommand = {scripts["extdiff"][0]}\n'
                f"[diff]\n\texternal = {scripts['extdiff'][0]}\n"
            )
        repo.write_text(".gitattributes", "* filter=evil diff=evil\n")
        repo.write_text("app.py", "print('hello')\n")

        sha = repo.commit("Add app", author="Engineer", paths=[".gitattributes", "app.py"])
        repo.write_text("app.py", "print('changed')\n")
        changes = repo.local_changes()
        repo.check_planned("other.py")
        repo.commit("Change app", author="Engineer")
        tracked = repo.tracked_files()
        repo.history()

        assert sha is not None
        assert "app.py" in changes and "app.py" in tracked
        assert "private.txt" not in tracked  # the planted work tree was not the one added
        ran = sorted(name for name, (_, marker) in scripts.items() if marker.exists())
        assert ran == [], f"planted programs ran: {ran}"
        assert (root / "app.py").read_text() == "print('changed')\n"
    finally:
        repo.close()
