"""The project repository: real git repos in tmp_path, no global git identity, hostile LLM paths."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from devteam.core.errors import WorkspaceError
from devteam.workspace.project import (
    CommitInfo,
    ProjectBusyError,
    ProjectRepo,
    UnsafePathError,
    project_name_from,
    resolve_project_root,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def _isolated_git_env(home: Path) -> dict[str, str]:
    """Environment with no user or system git config, as on a fresh CI machine."""
    empty_config = home / "empty.gitconfig"
    empty_config.touch()
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_GLOBAL": str(empty_config),
        "GIT_CONFIG_NOSYSTEM": "1",
    }


@pytest.fixture(autouse=True)
def no_git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs as if nobody had ever configured git: the code must set identities itself."""
    home = tmp_path / "home"
    home.mkdir()
    for key, value in _isolated_git_env(home).items():
        monkeypatch.setenv(key, value)
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[ProjectRepo]:
    with ProjectRepo.create(tmp_path / "workspace" / "game") as repo:
        yield repo


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (symlinks by their target text), to prove nothing changed."""
    result: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        if path.is_symlink():
            result[key] = os.readlink(path).encode()
        elif path.is_file():
            result[key] = path.read_bytes()
        else:
            result[key] = b"<dir>"
    return result


def _git_log(root: Path, fmt: str) -> list[str]:
    out = subprocess.run(
        ["git", "log", "--reverse", f"--format={fmt}"], cwd=root, capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


# -- project names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write a Snake Game!", "write_a_snake_game"),
        ("2048", "project_2048"),
        ("", "project"),
        ("../../etc", "etc"),
        ("...", "project"),
        (".", "project"),
        ("..", "project"),
        ("   ", "project"),
        ("Écrire un jeu", "ecrire_un_jeu"),
        ("贪吃蛇", "project"),
        ("CON", "con_project"),
        ("snake_game", "snake_game"),
        ("A/B\\C", "a_b_c"),
    ],
)
def test_project_name_from(text: str, expected: str) -> None:
    assert project_name_from(text) == expected


def test_project_name_is_short_and_cut_at_a_word() -> None:
    name = project_name_from("Build a very elaborate command line tool that manages todo lists for teams")
    assert len(name) <= 40
    assert name == "build_a_very_elaborate_command_line_tool"


def test_project_name_of_one_long_word_is_cut() -> None:
    name = project_name_from("x" * 100)
    assert name == "x" * 40


def test_resolve_project_root_stays_in_the_workspace(tmp_path: Path) -> None:
    assert resolve_project_root(tmp_path, "../../etc") == tmp_path / "etc"
    assert resolve_project_root(tmp_path, "Write a Snake Game!") == tmp_path / "write_a_snake_game"


# -- create / open ---------------------------------------------------------------------------------


def is_clean(root: Path) -> bool:
    """Nothing modified, staged or untracked (ignored files do not count)."""
    with git.Repo(root) as repo:
        return not repo.is_dirty(index=True, working_tree=True, untracked_files=True)


def test_create_makes_a_repository_on_main_with_a_gitignore(project: ProjectRepo) -> None:
    assert (project.root / ".git").is_dir()
    assert "__pycache__/" in (project.read_text(".gitignore") or "")
    with git.Repo(project.root) as repo:
        assert repo.active_branch.name == "main"
    assert project.tracked_files() == [".gitignore"]
    assert [c.author for c in project.history()] == ["devteam"]
    assert is_clean(project.root)


def test_create_accepts_an_existing_empty_folder(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    with ProjectRepo.create(root) as repo:
        assert repo.root == root.resolve()


def test_create_refuses_an_existing_project_and_leaves_it_byte_identical(tmp_path: Path) -> None:
    root = tmp_path / "game"
    (root / "src").mkdir(parents=True)
    (root / "main.py").write_bytes(b"print('mine')\r\n")
    (root / "src" / "board.py").write_bytes(b"\x00\x01binary")
    before = _snapshot(root)

    with pytest.raises(WorkspaceError) as excinfo:
        ProjectRepo.create(root)

    message = str(excinfo.value)
    assert "exists" in message and "untouched" in message
    assert "--resume" in message and "--project-name" in message
    assert _snapshot(root) == before
    assert not (root / ".git").exists()


def test_create_refuses_an_existing_devteam_project_too(project: ProjectRepo) -> None:
    project.write_text("main.py", "print(1)")
    project.commit("Engineer: main", author="Engineer")
    before = _snapshot(project.root)

    with pytest.raises(WorkspaceError, match="--resume"):
        ProjectRepo.create(project.root)

    assert _snapshot(project.root) == before
    assert len(project.history()) == 2


def test_create_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    root = tmp_path / "game"
    root.write_text("not a folder")
    with pytest.raises(WorkspaceError, match="untouched"):
        ProjectRepo.create(root)
    assert root.read_text() == "not a folder"


def test_open_reopens_a_project_for_resume(project: ProjectRepo) -> None:
    project.write_text("docs/prd.md", "# PRD")
    project.commit("ProductManager: PRD", author="ProductManager")
    project.close()  # the run that made it has ended

    with ProjectRepo.open(project.root) as reopened:
        assert reopened.has_path_committed("docs/prd.md")
        assert not reopened.has_path_committed("main.py")
        assert [c.author for c in reopened.history()] == ["devteam", "ProductManager"]


def test_a_project_is_held_by_one_run_at_a_time(project: ProjectRepo) -> None:
    with pytest.raises(ProjectBusyError, match="another devteam run is using"):
        ProjectRepo.open(project.root)
    project.close()
    with ProjectRepo.open(project.root) as reopened:
        with pytest.raises(ProjectBusyError):
            ProjectRepo.open(project.root)
        assert reopened.history()


def test_open_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no project"):
        ProjectRepo.open(tmp_path / "nothing")


def test_open_refuses_a_folder_without_git(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "a.txt").write_text("x")
    with pytest.raises(WorkspaceError, match="not a devteam project"):
        ProjectRepo.open(root)


def test_open_refuses_a_repository_devteam_did_not_make(tmp_path: Path) -> None:
    root = tmp_path / "theirs"
    with git.Repo.init(root) as repo:
        (root / "a.txt").write_text("x")
        repo.index.add(["a.txt"])
        someone = git.Actor("Someone", "someone@example.com")
        repo.index.commit("theirs", author=someone, committer=someone)

    with pytest.raises(WorkspaceError, match="not one devteam created"):
        ProjectRepo.open(root)


def test_open_refuses_a_subfolder_of_a_project(project: ProjectRepo) -> None:
    project.write_text("src/a.py", "x = 1")
    with pytest.raises(WorkspaceError):
        ProjectRepo.open(project.root / "src")


# -- commits ---------------------------------------------------------------------------------------


def test_commits_carry_the_role_as_author_and_committer(project: ProjectRepo) -> None:
    project.write_text("docs/prd.md", "# PRD")
    sha = project.commit("ProductManager: write PRD", author="ProductManager")

    assert sha is not None
    with git.Repo(project.root) as repo:
        commit = repo.commit(sha)
        assert (commit.author.name, commit.author.email) == ("ProductManager", "productmanager@devteam.local")
        assert (commit.committer.name, commit.committer.email) == ("ProductManager", "productmanager@devteam.local")


def test_history_is_in_git_log_order(project: ProjectRepo) -> None:
    project.write_text("docs/prd.md", "# PRD")
    first = project.commit("ProductManager: write PRD", author="ProductManager")
    project.write_text("docs/system_design.md", "# Design")
    second = project.commit("Architect: design\n\nlong body", author="Architect")
    project.write_text("main.py", "print('hi')")
    third = project.commit("Engineer: code", author="Engineer")

    history = project.history()
    assert [c.sha for c in history[1:]] == [first, second, third]
    assert history[2] == CommitInfo(sha=second, author="Architect", message="Architect: design")
    assert _git_log(project.root, "%an|%cn|%s") == [
        "devteam|devteam|Start project game",
        "ProductManager|ProductManager|ProductManager: write PRD",
        "Architect|Architect|Architect: design",
        "Engineer|Engineer|Engineer: code",
    ]


def test_nothing_to_commit_returns_none(project: ProjectRepo) -> None:
    assert project.commit("empty", author="Engineer") is None
    project.write_text("a.py", "x = 1")
    assert project.commit("a", author="Engineer") is not None
    project.write_text("a.py", "x = 1")  # same content again
    assert project.commit("again", author="Engineer") is None
    assert project.commit("paths", author="Engineer", paths=["a.py"]) is None
    assert len(project.history()) == 2


def test_commit_with_paths_stages_only_those(project: ProjectRepo) -> None:
    project.write_text("docs/prd.md", "# PRD")
    project.write_text("notes.txt", "scratch")
    project.commit("ProductManager: PRD", author="ProductManager", paths=["./docs/prd.md"])

    assert project.tracked_files() == [".gitignore", "docs/prd.md"]
    assert not is_clean(project.root)
    assert project.has_path_committed("docs\\prd.md")


def test_commit_without_paths_takes_untracked_files_but_respects_gitignore(project: ProjectRepo) -> None:
    project.write_text("src/game/board.py", "BOARD = 1")
    project.write_text("src/game/__pycache__/board.cpython-312.pyc", "junk")
    project.write_text(".env", "SECRET=1")
    project.commit("Engineer: code", author="Engineer")

    assert project.tracked_files() == [".gitignore", "src/game/board.py"]
    assert is_clean(project.root)


def test_commit_with_paths_skips_ignored_files(project: ProjectRepo) -> None:
    project.write_text("main.py", "print(1)")
    project.write_text(".env", "SECRET=1")
    project.commit("Engineer: code", author="Engineer", paths=["main.py", ".env"])
    assert project.tracked_files() == [".gitignore", "main.py"]


def test_commit_records_a_deleted_file(project: ProjectRepo) -> None:
    project.write_text("old.py", "x = 1")
    project.commit("add", author="Engineer")
    (project.root / "old.py").unlink()
    assert project.commit("remove", author="Engineer", paths=["old.py"]) is not None
    assert not project.has_path_committed("old.py")


def test_commit_refuses_a_missing_or_hostile_path(project: ProjectRepo) -> None:
    with pytest.raises(WorkspaceError, match="no such files"):
        project.commit("x", author="Engineer", paths=["ghost.py"])
    with pytest.raises(UnsafePathError):
        project.commit("x", author="Engineer", paths=["../x.py"])


def test_commit_takes_glob_characters_literally(project: ProjectRepo) -> None:
    project.write_text("[ab].py", "x = 1")
    project.write_text("a.py", "y = 1")
    project.commit("one file", author="Engineer", paths=["[ab].py"])
    assert project.tracked_files() == [".gitignore", "[ab].py"]


def test_commits_work_without_any_global_git_identity(tmp_path: Path) -> None:
    """A fresh machine: HOME is empty and global config is empty, in a separate process."""
    home = tmp_path / "bare_home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.pop("EMAIL", None)
    env.update(_isolated_git_env(home))
    env["PYTHONPATH"] = str(REPO_ROOT)
    root = tmp_path / "fresh"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from devteam.workspace.project import ProjectRepo
        with ProjectRepo.create(Path({str(root)!r})) as repo:
            repo.write_text("main.py", "print('hi')")
            print(repo.commit("Engineer: code", author="Engineer"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    log = subprocess.run(
        ["git", "log", "-1", "--format=%an <%ae>|%cn <%ce>"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert log.stdout.strip() == "Engineer <engineer@devteam.local>|Engineer <engineer@devteam.local>"
    assert result.stdout.strip() == _git_log(root, "%H")[-1]


# -- files and paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposed", "expected"),
    [
        ("./src/a.py", "src/a.py"),
        ("src\\b.py", "src/b.py"),
        ("` main.py `", "main.py"),
        ('"docs/prd.md"', "docs/prd.md"),
        ("'`game.py`'", "game.py"),
        ("a/../b.py", "b.py"),
        ("src//game/./board.py", "src/game/board.py"),
        (".\\src\\game\\board.py", "src/game/board.py"),
        (".gitignore", ".gitignore"),
        ("src/.github/ci.yml", "src/.github/ci.yml"),
    ],
)
def test_paths_are_normalised(project: ProjectRepo, proposed: str, expected: str) -> None:
    written = project.write_text(proposed, "x = 1")
    assert written == project.root / expected
    assert project.relative(proposed) == expected
    assert project.read_text(expected) == "x = 1\n"
    assert project.exists(proposed)


HOSTILE = [
    ("../x.py", "outside"),
    ("/tmp/x.py", "absolute"),
    (".git/hooks/post-commit", ".git"),
    (".GIT/config", ".git"),
    ("src/.git/config", ".git"),
    (".git./config", ".git"),
    ("a/../../x.py", "outside"),
    ("~/x", "home"),
    ("~root/x.py", "home"),
    ("C:\\x.py", "drive"),
    ("c:x.py", "drive"),
    ("\\\\server\\share\\x.py", "absolute"),
    ("..\\x.py", "outside"),
    ("", "empty"),
    ("``", "empty"),
    ("./", "empty"),
    ("a\x00.py", "NUL"),
    ("a\nb.py", "control"),
]


@pytest.mark.parametrize(("proposed", "reason"), HOSTILE)
def test_hostile_paths_are_refused_with_a_reason(project: ProjectRepo, proposed: str, reason: str) -> None:
    with pytest.raises(UnsafePathError, match=reason):
        project.safe_path(proposed)


def test_hostile_writes_leave_everything_outside_the_project_unchanged(tmp_path: Path) -> None:
    outside = tmp_path / "workspace" / "sibling"
    outside.mkdir(parents=True)
    (outside / "target.py").write_text("original")
    with ProjectRepo.create(tmp_path / "workspace" / "game") as project:
        root = project.root
        (root / "linkdir").symlink_to(outside, target_is_directory=True)
        (root / "evil.py").symlink_to(outside / "target.py")
        (root / "dangling.py").symlink_to(outside / "new.py")
        (root / "gitlink").symlink_to(root / ".git", target_is_directory=True)
        before_outside = _snapshot(outside)
        before_git = _snapshot(root / ".git")
        attempts = [proposed for proposed, _ in HOSTILE] + [
            str(outside / "abs.py"),
            "linkdir/x.py",
            "linkdir/../../sibling/x.py",
            "evil.py",
            "dangling.py",
            "gitlink/hooks/post-commit",
        ]

        for proposed in attempts:
            with pytest.raises(UnsafePathError):
                project.write_text(proposed, "import os; os.system('rm -rf /')")
        for proposed in ("evil.py", "linkdir/target.py", "../sibling/target.py"):
            with pytest.raises(UnsafePathError):
                project.read_text(proposed)
            with pytest.raises(UnsafePathError):
                project.exists(proposed)

        assert _snapshot(outside) == before_outside
        assert _snapshot(root / ".git") == before_git
        assert not (tmp_path / "workspace" / "x.py").exists()


def test_a_symlink_inside_the_project_is_still_not_written_through(project: ProjectRepo) -> None:
    project.write_text("real.py", "x = 1")
    (project.root / "alias.py").symlink_to(project.root / "real.py")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        project.write_text("alias.py", "y = 2")
    assert project.read_text("real.py") == "x = 1\n"


def test_symlinked_folder_inside_the_project_is_allowed(project: ProjectRepo) -> None:
    (project.root / "pkg").mkdir()
    (project.root / "alias").symlink_to(project.root / "pkg", target_is_directory=True)
    project.write_text("alias/mod.py", "x = 1")
    assert (project.root / "pkg" / "mod.py").read_text() == "x = 1\n"


def test_write_text_makes_nested_folders_and_ends_with_a_newline(project: ProjectRepo) -> None:
    path = project.write_text("src/game/board.py", "BOARD = 'é'")
    assert path.read_bytes() == "BOARD = 'é'\n".encode()
    assert project.write_text("src/game/__init__.py", "").read_bytes() == b""
    assert project.write_text("b.py", "x\n").read_bytes() == b"x\n"


def test_write_text_refuses_to_replace_a_folder(project: ProjectRepo) -> None:
    project.write_text("src/a.py", "x")
    with pytest.raises(WorkspaceError, match="folder"):
        project.write_text("src", "x")


def test_write_text_under_a_file_is_a_workspace_error(project: ProjectRepo) -> None:
    project.write_text("main.py", "x")
    with pytest.raises(WorkspaceError):
        project.write_text("main.py/inner.py", "x")


def test_read_text_and_exists_for_missing_files(project: ProjectRepo) -> None:
    assert project.read_text("nope.py") is None
    assert not project.exists("nope.py")
    project.write_text("src/a.py", "x")
    assert project.read_text("src") is None
    assert project.exists("src")


def test_has_path_committed_is_about_files_in_head(project: ProjectRepo) -> None:
    project.write_text("src/a.py", "x")
    assert not project.has_path_committed("src/a.py")
    project.commit("code", author="Engineer")
    assert project.has_path_committed("src/a.py")
    assert project.has_path_committed("./src/a.py")
    assert not project.has_path_committed("src")
    with pytest.raises(UnsafePathError):
        project.has_path_committed("../src/a.py")
