"""gitpython, hardened: every git child in a session of its own, obeying none of the project's own config that
runs programs; imported only once a project is opened or created.

A generated repository is model-made: whatever its `.git/config` says (`core.fsmonitor`, `core.hooksPath`, a
pager, a clean/smudge filter, an external diff or textconv, an ssh command, another work tree) must not act on
this machine with the user's keys when devteam calls `git add` or `ls-files`. So each call overrides those
keys on the command line (`-c`, which wins over every config file), names the drivers the repository config
defines and empties their commands, and reads no system or global config.

The session of its own: the terminal's Ctrl-C (sent to the whole foreground process group) reaches devteam
only, which finishes the commit in progress before it stops, instead of killing a `git add` half-way or the
`cat-file` helpers gitpython keeps open.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import git

# Keys that name a program git would start; an empty value or a harmless one switches each off.
HARDENED_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.pager=cat",
    "core.editor=:",
    "core.askPass=",
    "core.sshCommand=",
    "core.gitProxy=",
    "core.alternateRefsCommand=",
    "credential.helper=",
    "diff.external=",
    "sequence.editor=:",
    "gpg.program=",
    "protocol.allow=never",
    "uploadpack.packObjectsHook=",
)
HARDENED_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GIT_EXTERNAL_DIFF": "",
    "GIT_SSH_COMMAND": "",
    "GIT_EDITOR": ":",
}
# Config sections whose named entries hold commands: `filter.<name>.clean`, `diff.<name>.textconv`, ...
_DRIVER_KEYS = {
    "filter": ("clean", "smudge", "process"),
    "diff": ("command", "textconv"),
    "merge": ("driver",),
    "pager": (),
}
_DRIVER = re.compile(r"^(filter|diff|merge)\.(.+)\.([a-z]+)$")
_PAGER = re.compile(r"^(pager\.[^=\n]+)$")


def hardened_options(work_tree: Path) -> list[str]:
    """The `-c` arguments for one git call in `work_tree`: fixed overrides, plus the repository's drivers."""
    options = list(HARDENED_CONFIG)
    for key in _repository_command_keys(work_tree):
        options.append(f"{key}=" if not key.endswith(".required") else f"{key}=false")
    return [arg for option in options for arg in ("-c", option)]


_CACHE: dict[Path, tuple[tuple[int, int], list[str]]] = {}


def _repository_command_keys(work_tree: Path) -> list[str]:
    """The command keys of the drivers the repository's config (with its includes) defines; cached per file."""
    config = work_tree / ".git" / "config"
    try:
        info = config.stat()
    except OSError:
        return []
    stamp = (info.st_mtime_ns, info.st_size)
    cached = _CACHE.get(work_tree)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        done = subprocess.run(
            [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", "config", "--local", "--includes", "--name-only", "--list"],
            cwd=work_tree,
            env={**os.environ, **HARDENED_ENV},
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
            start_new_session=True,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    keys: list[str] = []
    for name in done.stdout.splitlines():
        driver = _DRIVER.match(name.strip())
        if driver:
            section, middle = driver.group(1), driver.group(2)
            for command in _DRIVER_KEYS[section]:
                keys.append(f"{section}.{middle}.{command}")
            if section == "filter":
                keys.append(f"filter.{middle}.required")
        elif _PAGER.match(name.strip()) and name.startswith("pager."):
            keys.append(name.strip())
    keys = list(dict.fromkeys(keys))
    _CACHE[work_tree] = (stamp, keys)
    return keys


class DetachedGit(git.Git):
    """git children in a session of their own, with the project's executable config switched off."""

    def execute(self, command, **kwargs):  # type: ignore[no-untyped-def, override]
        if os.name == "posix":
            kwargs.setdefault("start_new_session", True)
        env = dict(HARDENED_ENV)
        if isinstance(command, (list, tuple)) and command and self._working_dir:
            work_tree = Path(self._working_dir)
            command = [command[0], *hardened_options(work_tree), *command[1:]]
            # The repository's own `core.worktree` is read before any `-c`: the environment wins over it.
            env.update({"GIT_DIR": str(work_tree / ".git"), "GIT_WORK_TREE": str(work_tree)})
        kwargs["env"] = {**env, **(kwargs.get("env") or {})}
        return super().execute(command, **kwargs)


class DetachedRepo(git.Repo):
    GitCommandWrapperType = DetachedGit
