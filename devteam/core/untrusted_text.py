"""Text that came from a model, made harmless to show: control and bidi characters become visible escapes.

A model's answer ends up in file names, commit messages, log lines and the terminal. An ESC sequence there
can clear the screen, retitle the window or hide text; a bidi override (U+202E) makes `exe.txt` display as
`txt.exe`; a NUL cuts a C string short. Escaping (`\\x1b`, `\\u202e`) keeps the text readable and
inspectable without letting it act.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

# C0 controls but tab and newline, DEL, C1 controls; bidi embeddings, overrides, isolates and marks; the
# line and paragraph separators that some terminals treat as newlines.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_A_LINE = re.compile(_UNSAFE.pattern[:-1] + "\t\n]")


def has_unsafe_characters(text: str) -> bool:
    """Whether `text` holds a character `escape_unsafe` would escape (tab and newline count here)."""
    return _UNSAFE_IN_A_LINE.search(text) is not None


def escape_unsafe(text: str, *, one_line: bool = False) -> str:
    """`text` with every control and bidi character written as a Python escape (`\\x1b`, `\\u202e`);
    newlines and tabs are kept unless `one_line` (a commit subject, a file name in a message)."""
    pattern = _UNSAFE_IN_A_LINE if one_line else _UNSAFE
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class EscapingStream:
    """A text stream that escapes what it is given before passing it on (the console's stdout/stderr).

    Everything else (fileno, isatty, encoding, buffer) is the wrapped stream's, so code that checks for a
    terminal or hands the descriptor to a child process sees the real one.
    """

    def __init__(self, stream: TextIO) -> None:
        self.wrapped = stream

    def write(self, text: str) -> int:
        self.wrapped.write(escape_unsafe(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


# Whole terminal sequences (CSI `ESC [ ... m`, OSC `ESC ] ... BEL`, two-character `ESC x`, the C1 CSI), for
# where only the visible text is wanted: a name made from the model's text should not keep "[2J" residue.
_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?")


def visible_text(text: str) -> str:
    """`text` without its terminal sequences and control or bidi characters: what a person would read."""
    return _UNSAFE_IN_A_LINE.sub("", _SEQUENCE.sub("", text))
