"""gitpython, with every git child in a session of its own; imported only once a project is opened or created.

The terminal's Ctrl-C (sent to the whole foreground process group) then reaches devteam only, which finishes
the commit in progress before it stops, instead of killing a `git add` half-way or the `cat-file` helpers
gitpython keeps open. Importing gitpython costs a run's start-up; a run's first LLM request never needs it.
"""

from __future__ import annotations

import os

import git


class DetachedGit(git.Git):
    """git children in a session of their own: the terminal's Ctrl-C (sent to the whole foreground process
    group) reaches devteam only, which finishes the commit in progress before it stops, instead of killing
    a `git add` half-way or the `cat-file` helpers gitpython keeps open."""

    def execute(self, command, **kwargs):  # type: ignore[no-untyped-def, override]
        if os.name == "posix":
            kwargs.setdefault("start_new_session", True)
        return super().execute(command, **kwargs)


class DetachedRepo(git.Repo):
    GitCommandWrapperType = DetachedGit
