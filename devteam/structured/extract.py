"""Getting the JSON payload (or the code block) out of a model's answer.

Open models wrap their JSON in everything imaginable: reasoning blocks, chat-template tokens, code fences,
MetaGPT's `[CONTENT]` tags, friendly prose. This module only finds the payload; it never changes it, so a
clean answer goes through untouched. What it stripped is reported as `Fix`es for the caller to log.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from devteam.core.errors import DevteamError
from devteam.structured.json_text import tokens

FailureKind = Literal["empty", "truncated", "refusal", "no_json", "invalid_json", "validation", "no_code"]

STRIP_BOM = "repair_strip_bom"
STRIP_THINK = "repair_strip_think"
CODE_FENCE = "repair_code_fence"
CONTENT_TAGS = "repair_content_tags"
STRIP_PROSE = "repair_strip_prose"
CHAT_TOKENS = "repair_chat_tokens"
JSON_SYNTAX = "repair_json_syntax"
PREMATURE_CLOSE = "repair_premature_close"
ESCAPED_QUOTES = "repair_escaped_quotes"

# A model that loops can produce megabytes of braces; a handful of candidates is always enough.
MAX_SPANS = 24


class ParseFailure(DevteamError):
    """One answer could not be used; `feedback` is quoted back to the model when it is asked again."""

    def __init__(
        self,
        kind: FailureKind,
        feedback: str,
        *,
        partial: dict[str, Any] | None = None,
        fields: dict[str, str] | None = None,
        fixes: list[Fix] | None = None,
    ) -> None:
        super().__init__(f"{kind}: {feedback}")
        self.kind: FailureKind = kind
        self.feedback = feedback
        # For an object that failed on some fields only: the object (repaired, as far as repair went), the
        # top-level fields to ask for again with what is wrong with each, and the repairs that shaped it.
        self.partial = partial
        self.fields = fields or {}
        self.fixes = fixes or []


class Fix(NamedTuple):
    """One repair applied to an answer: its marker and what it did, for the log line."""

    marker: str
    detail: str


@dataclass(frozen=True)
class Candidate:
    """A piece of the answer that may be the JSON we want, with the fixes it took to get there."""

    text: str
    fixes: tuple[Fix, ...]
    # The structure is still open at the end of the answer: json_repair would have to close it.
    unterminated: bool = False
    # ... and the answer stops in the middle of a string: the data itself was cut.
    cut_in_string: bool = False


@dataclass(frozen=True)
class Fence:
    info: str
    body: str
    closed: bool
    start: int
    end: int


def preview(text: str, limit: int = 48) -> str:
    """A short quotable excerpt for log lines and feedback."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 3] + "...")


# --- wrapping: BOM, chat-template tokens, reasoning ---------------------------------------------------

# After an end-of-turn token, whatever follows is a hallucinated next turn.
_END_TOKEN = re.compile(
    r"<\|(?:im_end|eot_id|end_of_text|endoftext|end|eom_id)\|>|<｜end▁of▁sentence｜>|<end_of_turn>"
    r"|</s>\s*$"
)
_OTHER_TOKEN = re.compile(
    r"<\|im_start\|>[a-z]*\n?|<\|start_header_id\|>[a-z]*<\|end_header_id\|>\n*|<start_of_turn>[a-z]*\n?"
    r"|<\|[a-z_]{1,30}\|>|<｜[^｜\n]{1,40}｜>|^\s*<s>|^\s*\[/?INST\]"
)
_THINK_BLOCK = re.compile(r"<(think|thinking)>.*?</\1>", re.S | re.I)
_THINK_CLOSE = re.compile(r"</think(?:ing)?>", re.I)
_THINK_OPEN = re.compile(r"<think(?:ing)?>", re.I)


def strip_wrapping(text: str) -> tuple[str, list[Fix]]:
    """Remove what is never payload: a BOM, template tokens, `<think>` reasoning.

    Raises ParseFailure("truncated") for an unclosed `<think>`: the budget ran out while the model thought.
    """
    fixes: list[Fix] = []
    if text.lstrip().startswith("\ufeff"):
        text = text.lstrip().lstrip("\ufeff")
        fixes.append(Fix(STRIP_BOM, "byte-order mark at the start"))
    text, fix = _strip_chat_tokens(text)
    fixes.extend(fix)
    text, fix = _strip_think(text)
    fixes.extend(fix)
    return text, fixes


def _strip_chat_tokens(text: str) -> tuple[str, list[Fix]]:
    found: list[str] = []
    end = _END_TOKEN.search(text)
    if end and text[: end.start()].strip():
        found.append(end.group().strip())
        text = text[: end.start()]
    found.extend(match.group().strip() for match in _OTHER_TOKEN.finditer(text))
    text = _OTHER_TOKEN.sub("", text)
    if not found:
        return text, []
    return text, [Fix(CHAT_TOKENS, ", ".join(dict.fromkeys(found)))]


def _strip_think(text: str) -> tuple[str, list[Fix]]:
    stripped, blocks = _THINK_BLOCK.subn("", text)
    closes = list(_THINK_CLOSE.finditer(stripped))
    if closes:  # the opening tag was eaten by the chat template (deepseek-r1 on ollama)
        stripped = stripped[closes[-1].end() :]
    if _THINK_OPEN.search(stripped):
        raise ParseFailure(
            "truncated", "the answer ended inside a <think> block: the reasoning used up the budget before the answer"
        )
    if not blocks and not closes:
        return text, []
    detail = f"{blocks} <think> block(s)" if blocks else "reasoning before a lone </think>"
    return stripped, [Fix(STRIP_THINK, detail)]


# --- code fences ----------------------------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^([ \t]*)(`{3,}|~{3,})[ \t]*([\w+#.-]*)[ \t]*(.*?)\s*$")


def find_fences(text: str, *, nested_to_the_last: bool = False) -> list[Fence]:
    """Fenced blocks, line by line; an unclosed fence runs to the end of the text.

    A fence may hold fences (a README's ```bash blocks inside the ```markdown answer): an inner opener with
    a language opens a nested block that the next bare fence closes. A bare fence line cannot say whether it
    opens or closes, so with `nested_to_the_last` (a markdown or text file, where nested blocks are usual)
    the outer block ends at the last bare fence that leaves everything balanced; otherwise at the first.
    """
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    fences: list[Fence] = []
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i])
        if not match:
            i += 1
            continue
        indent, marker, info, rest = match.groups()
        body, closed, after = _fence_body(lines, i, marker, rest, max(3, len(indent)), nested_to_the_last)
        fences.append(Fence(info.lower(), body, closed, offsets[i], offsets[after]))
        i = after
    return fences


def _fence_body(
    lines: list[str], opening: int, marker: str, rest: str, indent: int, nested_to_the_last: bool
) -> tuple[str, bool, int]:
    """The body of the fence opened at line `opening`, whether it closed, and the index after it.

    As in CommonMark, a closing fence is not indented further than `indent`: the ``` lines of a docstring
    inside the code do not end the block.
    """
    prefix = ""
    if rest[:1] in "{[":  # ```json {"a": 1}``` on one line
        if rest.endswith(marker):
            return rest[: -len(marker)], True, opening + 1
        prefix = rest + "\n"
    fence_lines: list[tuple[int, bool]] = []  # (line index, bare): the fence lines inside, in order
    for j in range(opening + 1, len(lines)):
        line = lines[j].strip()
        shallow = len(lines[j]) - len(lines[j].lstrip(" \t")) <= indent
        bare = shallow and bool(line) and set(line) == {marker[0]} and len(line) >= len(marker)
        if bare:
            fence_lines.append((j, True))
            if not nested_to_the_last and _balanced(fence_lines[:-1]):
                return prefix + "".join(lines[opening + 1 : j]), True, j + 1
        elif shallow and line.startswith(marker) and _FENCE_OPEN.match(lines[j]):
            fence_lines.append((j, False))  # an inner fence with a language: it opens a nested block
        elif not fence_lines and line.endswith(marker) and line[: -len(marker)].rstrip()[-1:] in ("}", "]"):
            return prefix + "".join(lines[opening + 1 : j]) + line[: -len(marker)], True, j + 1
    closes = [n for n, (_, bare) in enumerate(fence_lines) if bare and _balanced(fence_lines[:n])]
    if nested_to_the_last:
        closes = [n for n in closes if _balanced(fence_lines[n + 1 :])] or closes
    if not closes:
        return prefix + "".join(lines[opening + 1 :]), False, len(lines)
    end = fence_lines[closes[-1] if nested_to_the_last else closes[0]][0]
    return prefix + "".join(lines[opening + 1 : end]), True, end + 1


def _balanced(fence_lines: list[tuple[int, bool]]) -> bool:
    """Whether these fence lines pair up into blocks: a line with a language opens, a bare one closes the
    open block (or opens one when none is open)."""
    open_blocks = 0
    for _, bare in fence_lines:
        open_blocks += -1 if bare and open_blocks else 1
    return open_blocks == 0


# --- JSON candidates --------------------------------------------------------------------------------------

# A brace that opens JSON, not "{x}" in prose: a quoted/unquoted key (numbers and null included), an empty
# object, or a list of objects.
_JSON_START = re.compile(r"""\{\s*(?:["'“”‘’}/]|[A-Za-z_][\w\- ]{0,40}\s*:|-?\d{1,6}\s*:)|\[\s*[\[{]""")
# After a closed object: more `"key":` pairs and a brace of their own — the model closed the object too early.
_MORE_KEYS = re.compile(r"""\s*(,?)\s*(?:"[^"\n]{1,80}"|'[^'\n]{1,80}')\s*:""")
# JSON whose every quote is backslash-escaped, with no outer quotes: {\"title\": \"Snake\"}.
_ESCAPED_OBJECT = re.compile(r'\{\s*\\"')
_CONTENT_OPEN = re.compile(r"\[\s*CONTENT\s*\]", re.I)
_CONTENT_CLOSE = re.compile(r"\[\s*/\s*CONTENT\s*\]?|\[\s*CONTENT\s*/\s*\]|\[\s*END[\s_]*CONTENT\s*\]", re.I)
_JSON_INFO = ("json", "jsonc", "json5")
_STRAY = re.compile(r"^[\s}\]),;]*$")


def json_candidates(text: str) -> list[Candidate]:
    """Every piece of `text` that may hold the answer's JSON, most likely first."""
    region, base = _content_region(text)
    found: list[Candidate] = []
    fences = sorted(find_fences(region), key=lambda f: f.info not in _JSON_INFO)
    for fence in fences:
        state = "" if fence.closed else "unclosed "
        fence_fix = Fix(CODE_FENCE, f"{state}```{fence.info} block")
        outer = region[: fence.start] + region[fence.end :]
        found.extend(_body_candidates(fence.body, [*base, fence_fix], outer))
    found.extend(_body_candidates(region, base, ""))
    unique: dict[str, Candidate] = {}
    for candidate in found:
        unique.setdefault(candidate.text, candidate)
    return list(unique.values())


def _body_candidates(body: str, fixes: list[Fix], outer: str) -> list[Candidate]:
    found: list[Candidate] = []
    unescaped = _unescape_quotes(body)
    if unescaped is not None:
        fixes = [*fixes, Fix(ESCAPED_QUOTES, 'every quote written as \\" with no outer quotes')]
        body = unescaped
    stripped = body.strip()
    if len(stripped) > 1 and stripped[0] == stripped[-1] == '"' and "{" in stripped:
        # A JSON string holding the JSON: decoding it is the repair step's business.
        prose = [Fix(STRIP_PROSE, f"dropped {preview(outer.strip())}")] if outer.strip() else []
        found.append(Candidate(stripped, tuple([*fixes, *prose])))
    found.extend(_candidate(body, span, fixes, outer) for span in json_spans(body))
    return found


def closes_too_early(text: str, end: int) -> bool:
    """Whether the object that ended at `end` (just after its `}`) is followed by more of its own keys."""
    return text[end - 1 : end] == "}" and _MORE_KEYS.match(text, end) is not None


def _unescape_quotes(body: str) -> str | None:
    """`{\\"title\\": \\"Snake\\"}` as `{"title": "Snake"}`: the JSON string's content without its outer quotes.

    Only when no quote in the body is a bare one: then the escaping is the whole answer's, not a value's.
    """
    if not _ESCAPED_OBJECT.search(body) or re.search(r'(?<!\\)"', body):
        return None
    try:
        return json.loads('"' + body.strip() + '"', strict=False)
    except ValueError:
        return body.replace('\\"', '"')


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    closed: bool
    cut_in_string: bool = False
    # Offsets of `}` the model wrote before more keys of the same object (dropped from the candidate).
    early_closers: tuple[int, ...] = ()


def json_spans(text: str) -> list[Span]:
    """Top-level JSON-looking structures in `text`; the last may run unterminated to the end."""
    spans: list[Span] = []
    pos = 0
    while len(spans) < MAX_SPANS:
        match = _JSON_START.search(text, pos)
        if not match:
            break
        end, in_string = _structure_end(text, match.start())
        early: list[int] = []
        while end is not None and closes_too_early(text, end):
            early.append(end - 1)
            end, in_string = _structure_end(text, end, stack=["}"])
        if end is None:
            # A cut inside a string loses data; a missing closer after the last value is a common slip.
            cut = in_string and not text.rstrip().endswith(("}", "]"))
            spans.append(Span(match.start(), len(text), False, cut, tuple(early)))
            break
        spans.append(Span(match.start(), end, True, early_closers=tuple(early)))
        pos = end
    return spans


def _structure_end(text: str, start: int, *, stack: list[str] | None = None) -> tuple[int | None, bool]:
    """Index after the bracket closing the one at `start` (or the brackets already open in `stack`), or None
    and whether the text ends in a string."""
    stack = list(stack or [])
    in_string = False
    for token in tokens(text, start=start):
        in_string = token.kind in ("open", "text", "escape")
        ch = token.text
        if token.kind != "code":
            continue
        if ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and ch in stack:  # a mismatched closer closes what it matches
            while stack.pop() != ch:
                pass
            if not stack:
                return token.index + 1, False
    return None, in_string


def cut_off_reason(text: str) -> str | None:
    """Why an unterminated JSON text was cut off rather than merely left without its final brace, or None.

    Open after a comma, a colon or a key, inside a list, inside a nested object, or inside a string, the
    answer stopped before its data did: closing it would make a document with fewer items than the model
    meant to write. A complete value followed by a missing final `}` is the one shape safe to close.
    """
    stack: list[str] = []
    quote = ""  # the delimiter of the string we are in: ", ', """ or '''
    last = ""  # the last significant character outside strings
    key_pending = False  # the last thing was a string in key position (after "{" or ",")
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                key_pending = stack[-1:] == ["}"] and last in ("{", ",")
                last, quote = '"', ""
                continue
            i += 1
            continue
        if ch in "\"'":
            triple = ch * 3
            quote = triple if text.startswith(triple, i) else ch
            i += len(quote)
            continue
        if ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and ch in stack:
            while stack.pop() != ch:
                pass
        if not ch.isspace():
            last = ch
            key_pending = False
        i += 1
    if quote:
        return None if text.rstrip().endswith(("}", "]")) else "it ends inside a string"
    if last == ",":
        return "it ends right after a comma"
    if last == ":":
        return "it ends right after a colon"
    if key_pending:
        return "it ends after a key with no value"
    if "]" in stack:
        return "it ends inside a list"
    if len(stack) > 1:
        return "it ends inside a nested object"
    return None


def _candidate(text: str, span: Span, fixes: list[Fix], outer: str) -> Candidate:
    outside = outer + text[: span.start] + text[span.end :]
    extra: list[Fix] = []
    if outside.strip():
        extra.append(_outside_fix(text[: span.start], text[span.end :], outer))
    body = text[span.start : span.end]
    if span.early_closers:
        body = _join_early_closers(text, span)
        extra.append(Fix(PREMATURE_CLOSE, f"{len(span.early_closers)} '}}' before more keys of the same object"))
    return Candidate(body, tuple([*fixes, *extra]), not span.closed, span.cut_in_string)


def _join_early_closers(text: str, span: Span) -> str:
    """The span without its premature `}`s; a comma joins the keys that followed when the model wrote none."""
    parts: list[str] = []
    pos = span.start
    for closer in span.early_closers:
        parts.append(text[pos:closer])
        more = _MORE_KEYS.match(text, closer + 1)
        parts.append("" if more is not None and more.group(1) else ",")
        pos = closer + 1
    parts.append(text[pos : span.end])
    return "".join(parts)


def _outside_fix(before: str, after: str, outer: str) -> Fix:
    if not before.strip() and not outer.strip() and _STRAY.match(after):
        return Fix(JSON_SYNTAX, f"dropped stray {after.strip()!r} after the JSON")
    parts = [p for p in (outer.strip(), before.strip(), after.strip()) if p]
    return Fix(STRIP_PROSE, "dropped " + " and ".join(preview(p) for p in parts))


def _content_region(text: str) -> tuple[str, list[Fix]]:
    """The part between MetaGPT's [CONTENT] tags, tolerating a missing or misspelled closing tag."""
    opening = _CONTENT_OPEN.search(text)
    closing = _CONTENT_CLOSE.search(text, opening.end() if opening else 0)
    if not opening and not closing:
        return text, []
    start = opening.end() if opening else 0
    end = closing.start() if closing else len(text)
    if closing is None:
        detail = "[CONTENT] without its closing tag"
    elif opening is None or closing.group() != "[/CONTENT]":
        detail = f"[CONTENT] ... {closing.group()!r}"
    else:
        detail = "[CONTENT] ... [/CONTENT]"
    fixes = [Fix(CONTENT_TAGS, detail)]
    outside = text[: opening.start() if opening else 0] + text[closing.end() if closing else len(text) :]
    if outside.strip():
        fixes.append(Fix(STRIP_PROSE, f"dropped {preview(outside.strip())} around the tags"))
    return text[start:end], fixes


# --- answers without JSON ---------------------------------------------------------------------------------

_REFUSAL = re.compile(
    r"\b(?:I(?:['’]m| am) sorry|I apologi[sz]e|as an AI\b|I must decline|I(?:['’]m| am) (?:not able|unable) to"
    r"|I (?:cannot|can['’]?t|can not|won['’]t|will not) (?:help|assist|comply|provide|fulfil|do|create|write"
    r"|generate|produce|complete))",
    re.I,
)


# A refusal is a few sentences; code that merely mentions "I cannot" in a string is longer than this.
REFUSAL_MAX_CHARS = 600


def looks_like_refusal(text: str) -> bool:
    """A short answer in refusal phrasing, with no code fence: the model declined instead of answering."""
    return "```" not in text and len(text.strip()) <= REFUSAL_MAX_CHARS and bool(_REFUSAL.search(text))


def no_json_failure(text: str) -> ParseFailure:
    """The failure for an answer with no JSON in it: a refusal, or plain prose."""
    if _REFUSAL.search(text[:400]):
        return ParseFailure("refusal", f"the model refused: {preview(text, 160)}")
    return ParseFailure("no_json", "the answer contained no JSON object; reply with the JSON object only")


# --- code blocks --------------------------------------------------------------------------------------------

_LANGUAGE_ALIASES = {
    "python": {"python", "py", "python3"},
    "javascript": {"javascript", "js", "jsx"},
    "typescript": {"typescript", "ts", "tsx"},
    "bash": {"bash", "sh", "shell", "zsh"},
    "yaml": {"yaml", "yml"},
    "markdown": {"markdown", "md"},
}


# Files whose text usually holds fenced blocks of its own (a README's commands).
_PROSE_LANGUAGES = frozenset({"markdown", "md", "text", "txt", "rst"})


def code_block(text: str, language: str | None, *, tolerate_unclosed: bool) -> tuple[str, list[Fix]]:
    """The code of a code-writing answer: the fence in `language` (else the largest), or the whole text."""
    wanted = (language or "").lower()
    fences = find_fences(text, nested_to_the_last=wanted in _PROSE_LANGUAGES)
    closed = [f for f in fences if f.closed]
    if closed:
        names = _LANGUAGE_ALIASES.get(wanted, {wanted})
        matching = [f for f in closed if f.info in names] if wanted else []
        return max(matching or closed, key=lambda f: len(f.body)).body, []
    if fences and tolerate_unclosed:  # only the last fence can be unclosed: it runs to the end
        return fences[-1].body, [Fix(CODE_FENCE, f"unclosed ```{fences[-1].info} block")]
    return text, []
