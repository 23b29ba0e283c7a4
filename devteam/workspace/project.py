"""The generated project: one git repository per idea, a commit per stage, files confined to the folder.

MetaGPT deletes an existing project of the same name and commits only at the end; here an existing folder is
never touched, every stage is a commit authored by its role, and every path an LLM proposes is checked
before anything is written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from devteam.core.errors import WorkspaceError
from devteam.core.untrusted_text import escape_unsafe
from devteam.workspace.git_locks import GitLockedError, check_no_git_locks
from devteam.workspace.lock import ProjectBusyError, ProjectLock

if TYPE_CHECKING:
    import git

from devteam.core.safe_paths import (
    UnsafePathError,
    is_git_dir_name,
    normalise_relative_path,
    project_name_from,
    protected_reason,
)

__all__ = [
    "CommitInfo",
    "GitLockedError",
    "ProjectBusyError",
    "ProjectClaimedError",
    "ProjectExistsError",
    "ProjectRepo",
    "UnsafePathError",
    "project_name_from",
    "resolve_project_root",
]

BRANCH = "main"
EMAIL_DOMAIN = "devteam.local"
SCAFFOLD_AUTHOR = "devteam"
# Names with glob characters ("[x].py") must be taken literally when handed to git.
_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}

# `.devteam/` (the run's record) is ignored: it holds every full prompt and answer, private to the user,
# while the repository is the product they may publish; `metagpt logs` reads it in place.
# Build folders are anchored at the root so a planned `src/build/` module is still committed.
GITIGNORE = """\
# Python
__pycache__/
*.py[cod]
*.egg-info/
.eggs/
/build/
/dist/

# Environments and secrets
/.venv/
/venv/
.env

# Tools
.pytest_cache/
.mypy_cache/
.ruff_cache/
.coverage
htmlcov/

# devteam's record of the run (prompts, answers, usage): local, read with `metagpt logs`
/.devteam/

# Editors and OS
.idea/
.vscode/
.DS_Store
"""


@dataclass(frozen=True)
class CommitInfo:
    """One entry of the project's history, as a user would read it in `git log --oneline`."""

    sha: str
    author: str
    message: str


def resolve_project_root(workspace: Path, name: str) -> Path:
    """Where the project called `name` lives: always a direct child of `workspace`."""
    return Path(workspace) / project_name_from(name)


class ProjectRepo:
    """A project folder with its git repository; build it with `create` or `open`, then `close` it."""

    def __init__(self, repo: git.Repo, root: Path, lock: ProjectLock | None = None) -> None:
        self._repo = repo
        self._root = root
        self._lock = lock

    # -- lifecycle ---------------------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path) -> ProjectRepo:
        """Start a new project at `root`: folder, `git init` on `main`, a `.gitignore` and a first commit.

        The folder is claimed atomically — its `.git` is created with an exclusive mkdir, then locked for
        the run — so of two runs starting the same project at once, exactly one gets it and the other gets
        `ProjectClaimedError` before writing anything. The first commit (author "devteam") is what `open`
        later recognises as ours, and it keeps the `.gitignore` out of the roles' own commits.
        """
        root = Path(root).expanduser()
        _refuse_existing(root)
        try:
            root.mkdir(parents=True, exist_ok=True)  # an empty folder the user made is fine to use
        except OSError as exc:
            raise WorkspaceError(f"cannot create the project folder {root}: {exc}") from exc
        try:
            (root / ".git").mkdir()
        except FileExistsError:
            raise ProjectClaimedError(
                f"another run claimed the project folder {root} at the same moment; it is left to that run. "
                "Choose another --project-name"
            ) from None
        except OSError as exc:
            raise WorkspaceError(f"cannot create the project folder {root}: {exc}") from exc
        lock = ProjectLock.acquire(root / ".git", root)
        import git

        from devteam.workspace.git_session import DetachedRepo

        try:
            repo = DetachedRepo.init(root)
        except (OSError, git.GitError) as exc:
            lock.release()
            raise WorkspaceError(f"cannot create the project repository at {root}: {exc}") from exc
        project = cls(repo, root.resolve(), lock)
        try:
            project._start()
        except BaseException:
            project.close()
            raise
        return project

    def _start(self) -> None:
        # `symbolic-ref` rather than `init --initial-branch`, which older gits do not know.
        self._git("symbolic_ref", "HEAD", f"refs/heads/{BRANCH}")
        self.write_text(".gitignore", GITIGNORE)
        self.commit(f"Start project {self._root.name}", author=SCAFFOLD_AUTHOR, paths=[".gitignore"])

    @classmethod
    def open(cls, root: Path) -> ProjectRepo:
        """Reopen a project made by `create`, to resume it or change it; anything else is refused, and so is a
        project where a git lock file would make the first commit fail (before any call is paid for)."""
        root = Path(root).expanduser()
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root} is a file, not a project folder; it is left untouched")
        if not root.is_dir():
            raise WorkspaceError(f"there is no project at {root}; run without --resume to start a new one there")
        repo = _open_repo(root)
        project = cls(repo, root.resolve())
        try:
            project._check_ours()
            project._lock = ProjectLock.acquire(Path(repo.git_dir), project._root)
            # Under our lock no other run writes here: a git lock now is a user's git, or one that died.
            check_no_git_locks(project._root, Path(repo.git_dir))
        except BaseException:
            project.close()
            raise
        return project

    def _check_ours(self) -> None:
        working_tree = self._repo.working_tree_dir
        if working_tree is None or Path(working_tree).resolve() != self._root:
            raise WorkspaceError(f"{self._root} is not the top folder of a git repository made by devteam")
        first = self._first_commit()
        if first is None or not (first.author.email or "").endswith(f"@{EMAIL_DOMAIN}"):
            raise WorkspaceError(
                f"{self._root} is a git repository, but not one devteam created; it is left untouched. "
                "Choose another --project-name to start a new project"
            )

    def close(self) -> None:
        """Stop the git helper processes gitpython keeps open (they leak pipes otherwise); end the run's lock."""
        self._repo.close()
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> ProjectRepo:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- paths and files ---------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The project folder, with symlinks resolved."""
        return self._root

    def relative(self, rel: str) -> str:
        """The normalised project-relative POSIX form of `rel` (checked like `safe_path`)."""
        return self.safe_path(rel).relative_to(self._root).as_posix()

    def safe_path(self, rel: str) -> Path:
        """The absolute path for an LLM-proposed `rel`, or `UnsafePathError` if it would leave the project.

        Lexical checks first (absolute, `..`, `.git/`), then the real location, so a symlinked folder or
        file inside the project cannot point the write elsewhere.
        """
        normalised = normalise_relative_path(rel)
        candidate = self._root / normalised
        real = Path(os.path.realpath(candidate))
        if not real.is_relative_to(self._root) or real == self._root:
            raise UnsafePathError(rel, f"through a symbolic link it leads out of the project folder (to {real})")
        inside = real.relative_to(self._root).parts
        if inside and is_git_dir_name(inside[0]):
            raise UnsafePathError(rel, "through a symbolic link it leads into .git/")
        return candidate

    def check_planned(self, rel: str) -> str:
        """The key of a planned file the Engineer may write, or `UnsafePathError` saying why not.

        Checked before the file's WriteCode call is paid for: confinement, the protected paths (also when
        reached through a link inside the project), a `.gitignore` that would keep the file out of every
        commit, and a folder standing where the file, or a file where one of its folders, would go.
        """
        key = self.relative(rel)
        real = Path(os.path.realpath(self._root / key)).relative_to(self._root).as_posix()
        for candidate in dict.fromkeys((key, real)):
            reason = protected_reason(candidate)
            if reason is not None:
                raise UnsafePathError(rel, reason)
        path = self._root / key
        if path.is_dir() and not path.is_symlink():
            raise UnsafePathError(rel, "a folder of that name exists in the project")
        for parent in list(path.relative_to(self._root).parents)[:-1]:
            if (self._root / parent).exists() and not (self._root / parent).is_dir():
                raise UnsafePathError(rel, f"{parent.as_posix()} is a file in the project, not a folder")
        if self._is_ignored(key):  # check-ignore never counts a tracked file as ignored
            raise UnsafePathError(
                rel,
                "the project's .gitignore ignores it, so it could never be committed (secrets such as "
                ".env and build output stay out of the repository)",
            )
        return key

    def local_changes(self) -> set[str]:
        """Files whose working copy differs from HEAD, untracked ones included (ignored ones not)."""
        out = self._git("status", "--porcelain", "-z", "--untracked-files=all", "--no-renames")
        return {entry[3:] for entry in out.split("\0") if len(entry) > 3}

    def write_text(self, rel: str, content: str) -> Path:
        """Write a UTF-8 file at `rel`, creating folders; the file ends with a newline, as linters expect."""
        path = self.safe_path(rel)
        if path.is_symlink():
            raise UnsafePathError(rel, "the file is a symbolic link; links are never written through")
        if path.is_dir():
            raise WorkspaceError(f"cannot write {rel!r}: a folder of that name exists in the project")
        if content and not content.endswith("\n"):
            content += "\n"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8", newline="")
        except OSError as exc:
            raise WorkspaceError(f"cannot write {rel!r} in {self._root}: {exc}") from exc
        return path

    def read_text(self, rel: str) -> str | None:
        """The file's text, or None when the project has no such file (yet)."""
        path = self.safe_path(rel)
        if not path.is_file():
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise WorkspaceError(f"cannot read {rel!r} in {self._root}: {exc}") from exc

    def exists(self, rel: str) -> bool:
        """Whether `rel` exists in the working tree (file or folder)."""
        return self.safe_path(rel).exists()

    # -- git ---------------------------------------------------------------------------------------

    def commit(self, message: str, *, author: str, paths: Sequence[str] | None = None) -> str | None:
        """Stage `paths` (default: every change, untracked files included) and commit as `author`.

        Both author and committer are set explicitly, so no global git identity is needed. Files matched
        by `.gitignore` are left out unless already tracked. Returns the new sha, or None if nothing
        changed.
        """
        self._stage(paths)
        index = self._repo.index
        tree = index.write_tree()
        head = self._head_commit()
        if (head is None and not index.entries) or (head is not None and head.tree.hexsha == tree.hexsha):
            return None
        import git

        actor = git.Actor(author, f"{_email_slug(author)}@{EMAIL_DOMAIN}")
        try:
            # Hooks are skipped: nothing the project contains should run on our machine at commit time.
            # Messages carry model-chosen names: no control or bidi character reaches `git log` unescaped.
            created = index.commit(escape_unsafe(message), author=actor, committer=actor, skip_hooks=True)
        except (OSError, git.GitError) as exc:
            raise WorkspaceError(f"cannot commit in {self._root}: {exc}") from exc
        return created.hexsha

    def _stage(self, paths: Sequence[str] | None) -> None:
        if paths is None:
            self._git("add", "--all")
            return
        rels = [self.relative(path) for path in paths]
        tracked = set(self.tracked_files())
        missing = [rel for rel in rels if not os.path.lexists(self._root / rel) and rel not in tracked]
        if missing:
            raise WorkspaceError(f"cannot commit {missing}: no such files in {self._root}")
        ignored = self._ignored(rels)
        wanted = [rel for rel in rels if rel not in ignored]
        if wanted:
            self._git("add", "--all", "--", *wanted)

    def _ignored(self, rels: list[str]) -> set[str]:
        """Which of `rels` `.gitignore` excludes (tracked files never count as ignored).

        One `check-ignore --quiet` per path: its exit status is exact, where its listing quotes odd names.
        """
        return {rel for rel in rels if self._is_ignored(rel)}

    def _is_ignored(self, rel: str) -> bool:
        # No literal-pathspec env here: check-ignore takes plain paths and rejects pathspec magic.
        status, _, stderr = self._repo.git.check_ignore(
            "--quiet", "--", rel, with_extended_output=True, with_exceptions=False
        )
        if status not in (0, 1):
            raise WorkspaceError(f"git check-ignore failed in {self._root}: {stderr}")
        return status == 0

    def history(self) -> list[CommitInfo]:
        """The commits on the current branch, oldest first."""
        if self._head_commit() is None:
            return []
        return [_commit_info(commit) for commit in self._repo.iter_commits("HEAD", reverse=True)]

    def tracked_files(self) -> list[str]:
        """Project-relative POSIX paths of the files in git's index, sorted."""
        out = self._git("ls_files", "-z")
        return sorted(name for name in out.split("\0") if name)

    def has_path_committed(self, rel: str) -> bool:
        """Whether HEAD holds `rel` as a file: on resume, such a file needs no second writing."""
        head = self._head_commit()
        if head is None:
            return False
        try:
            entry = head.tree / normalise_relative_path(rel)
        except KeyError:
            return False
        return entry.type == "blob"

    # -- helpers -----------------------------------------------------------------------------------

    def _git(self, command: str, *args: str) -> str:
        """Run one git command, translating its failure into a WorkspaceError."""
        import git

        try:
            return getattr(self._repo.git, command)(*args, env=_LITERAL)
        except git.GitCommandError as exc:
            raise WorkspaceError(f"git {command.replace('_', '-')} failed in {self._root}: {exc}") from exc

    def _head_commit(self) -> git.Commit | None:
        """HEAD's commit, or None in a repository without commits yet."""
        try:
            return self._repo.head.commit
        except ValueError:
            return None

    def _first_commit(self) -> git.Commit | None:
        if self._head_commit() is None:
            return None
        roots: Iterator[git.Commit] = self._repo.iter_commits("HEAD", max_parents=0)
        return next(roots, None)


class ProjectExistsError(WorkspaceError):
    """Something is already where the new project would go; it is left untouched."""


class ProjectClaimedError(WorkspaceError):
    """Another run created the same project folder at the same moment."""


def _refuse_existing(root: Path) -> None:
    """An existing project is never overwritten: MetaGPT's habit of deleting it loses the user's work."""
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise ProjectExistsError(
            f"{root} exists and is not a plain folder; it is left untouched. Choose another --project-name"
        )
    if root.is_dir() and any(root.iterdir()):
        raise ProjectExistsError(
            f"the project {root} exists already; it is left untouched. "
            "Use --resume to continue it, or choose another --project-name"
        )


def _open_repo(root: Path) -> git.Repo:
    import git

    from devteam.workspace.git_session import DetachedRepo

    try:
        return DetachedRepo(root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise WorkspaceError(
            f"{root} is not a devteam project (it has no git repository); it is left untouched. "
            "Run without --resume to start a new project, or choose another --project-name"
        ) from exc


def _commit_info(commit: git.Commit) -> CommitInfo:
    message = commit.message if isinstance(commit.message, str) else commit.message.decode("utf-8", "replace")
    first_line = message.splitlines()[0] if message.strip() else ""
    return CommitInfo(sha=commit.hexsha, author=str(commit.author.name), message=first_line)


def _email_slug(author: str) -> str:
    """A mail-safe local part for the role: "ProductManager" -> "productmanager"."""
    slug = re.sub(r"[^a-z0-9]+", "-", author.lower()).strip("-")
    return slug or SCAFFOLD_AUTHOR
