"""Turning names proposed by an LLM into paths that cannot leave the project folder.

Models write `./src\\a.py`, wrap names in backticks, and now and then propose `../x.py` or `.git/hooks/...`.
Everything here is pure string work; `ProjectRepo.safe_path` adds the checks that need the filesystem.
"""

from __future__ import annotations

import re
import unicodedata

from devteam.core.errors import WorkspaceError
from devteam.core.untrusted_text import escape_unsafe, has_unsafe_characters, visible_text

PROJECT_NAME_MAX = 40
_FALLBACK_NAME = "project"
# Device names Windows refuses as a file or folder name, whatever the extension.
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)}
)
_SURROUNDING = " \t\r\n\"'`"
_DRIVE = re.compile(r"^[A-Za-z]:")
_SEGMENT_MAX_BYTES = 255


class UnsafePathError(WorkspaceError):
    """A proposed path would land outside the project or inside its `.git`; nothing was written."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"refused path {escape_unsafe(repr(path))}: {reason}")
        self.path = path
        self.reason = reason


def project_name_from(text: str) -> str:
    """A folder name for the project: lowercase snake_case ASCII, never empty, never a special name.

    The name comes from the user's idea or the PRD, so it may be a sentence, non-Latin text or an attack
    (`../../etc`); the result is always a single harmless path segment.
    """
    ascii_text = unicodedata.normalize("NFKD", visible_text(text)).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    name = _shorten(name)
    if not name:
        return _FALLBACK_NAME
    if name[0].isdigit():
        name = _shorten(f"{_FALLBACK_NAME}_{name}")
    if name in _WINDOWS_RESERVED:
        name = f"{name}_{_FALLBACK_NAME}"
    return name


def _shorten(name: str) -> str:
    """Cut to the length limit, at a word boundary when one is close enough to keep the name readable."""
    if len(name) <= PROJECT_NAME_MAX:
        return name
    cut = name[:PROJECT_NAME_MAX]
    boundary = cut.rfind("_")
    ends_on_word = name[PROJECT_NAME_MAX] == "_"
    if not ends_on_word and boundary >= PROJECT_NAME_MAX // 2:
        cut = cut[:boundary]
    return cut.strip("_")


def normalise_relative_path(proposed: str) -> str:
    """The project-relative POSIX form of `proposed`, or `UnsafePathError` saying why it is refused.

    Accepts the usual LLM noise (quotes, backticks, `./`, backslashes, `a/../b.py`); refuses absolute and
    home paths, escapes with `..`, anything under `.git/`, empty names and control characters.
    """
    if not isinstance(proposed, str):
        raise UnsafePathError(repr(proposed), "a path must be a string")
    text = _strip_surrounding(proposed).replace("\\", "/")
    _refuse_bad_characters(proposed, text)
    _refuse_absolute(proposed, text)
    segments = _collapse(proposed, text.split("/"))
    if not segments:
        raise UnsafePathError(proposed, "the name is empty")
    for segment in segments:
        _check_segment(proposed, segment)
    return "/".join(segments)


def _strip_surrounding(text: str) -> str:
    """Peel whitespace, quotes and backticks in any nesting, e.g. "` main.py `"."""
    previous = None
    while previous != text:
        previous = text
        text = text.strip(_SURROUNDING)
    return text


def _refuse_bad_characters(proposed: str, text: str) -> None:
    if "\x00" in text:
        raise UnsafePathError(proposed, "it contains a NUL byte")
    if has_unsafe_characters(text):
        raise UnsafePathError(proposed, "it contains a control or text-direction character")


def _refuse_absolute(proposed: str, text: str) -> None:
    if text.startswith("/"):
        raise UnsafePathError(proposed, "absolute paths are not allowed; give a path inside the project")
    if _DRIVE.match(text):
        raise UnsafePathError(proposed, "a Windows drive path is absolute; give a path inside the project")
    if text.startswith("~"):
        raise UnsafePathError(proposed, "home-directory paths are not allowed; give a path inside the project")


def _collapse(proposed: str, parts: list[str]) -> list[str]:
    """Resolve `.` and `..` lexically; a `..` with nothing left to climb out of leaves the project."""
    segments: list[str] = []
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not segments:
                raise UnsafePathError(proposed, "'..' leads outside the project folder")
            segments.pop()
        else:
            segments.append(part)
    return segments


def _check_segment(proposed: str, segment: str) -> None:
    if is_git_dir_name(segment):
        raise UnsafePathError(proposed, "files under .git/ belong to git, not to the project")
    if len(segment.encode("utf-8")) > _SEGMENT_MAX_BYTES:
        raise UnsafePathError(proposed, f"the name {segment[:20]!r}... is longer than {_SEGMENT_MAX_BYTES} bytes")


def is_git_dir_name(segment: str) -> bool:
    """True for `.git` in any case, and the spellings Windows and macOS treat as the same folder."""
    return segment.rstrip(". ").casefold() in (".git", "git~1")


# Paths a planned file may never take: the run record, git's own files, and the documents a later
# `--resume`/`--inc` reads back. Replacing one loses the record (`metagpt logs`), breaks every later run, or
# (a `.gitignore` without `/.devteam/`) commits every prompt and answer into history.
RECORD_DIR_NAME = ".devteam"
GIT_CONTROL_FILES = frozenset({".gitignore", ".gitattributes", ".gitmodules"})
DEVTEAM_DOCUMENTS = frozenset({"docs/prd.json", "docs/prd.md", "docs/system_design.json", "docs/system_design.md"})


def protected_reason(key: str) -> str | None:
    """Why the project-relative path `key` is not for a planned file, or None when it may be written.

    Compared without case and without trailing dots and spaces, as case-insensitive file systems (macOS,
    Windows) would resolve the name.
    """
    segments = [segment.rstrip(". ").casefold() for segment in key.split("/")]
    if segments[0] == RECORD_DIR_NAME:
        return "the run record (.devteam/) belongs to devteam"
    for segment in segments:
        if is_git_dir_name(segment) or segment in GIT_CONTROL_FILES:
            return f"{segment} belongs to git's control of the repository, not to the program"
    if "/".join(segments) in DEVTEAM_DOCUMENTS:
        return "it is one of the documents devteam commits and reads back (docs/prd.*, docs/system_design.*)"
    return None
