"""Checks of what the roles produce beyond its types: a PRD that still describes the user's idea and lists
requirements, and code that is code (the design's checks are in `design_checks`).

Each check either fixes the artifact itself — a logged `repair_…` line, when the fix is certain — or returns a
*problem*: one sentence for the model, which the action sends back once before settling it (`settle_*`) with a
logged fix.
"""

from __future__ import annotations

import ast
import logging
import re
from pathlib import PurePosixPath

from devteam.artifacts.checked import Checked, note_repair
from devteam.artifacts.documents import PRD, Priority, Requirement
from devteam.artifacts.program_layout import CODE_SUFFIXES
from devteam.structured.extract import preview

log = logging.getLogger("devteam.repair")

# A PRD settled from its goals or stories keeps at most this many requirements (the prompt asks for 3-6).
MAX_SETTLED_REQUIREMENTS = 6


# -- the idea and the PRD -----------------------------------------------------------------------------------

# Words that say what kind of thing to build, or how, but not *what* it is about: "write the 2048 game for the
# terminal" is about 2048, and a PRD about a terminal game that never says 2048 has lost the idea.
_GENERIC_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "for",
        "to",
        "in",
        "on",
        "with",
        "without",
        "that",
        "which",
        "this",
        "these",
        "it",
        "its",
        "by",
        "from",
        "as",
        "at",
        "into",
        "onto",
        "is",
        "are",
        "be",
        "using",
        "use",
        "via",
        "me",
        "my",
        "our",
        "your",
        "you",
        "i",
        "we",
        "us",
        "please",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "must",
        "just",
        "also",
        "very",
        "some",
        "any",
        "all",
        "each",
        "every",
        "one",
        "two",
        "let",
        "lets",
        "want",
        "need",
        "write",
        "make",
        "build",
        "create",
        "develop",
        "implement",
        "design",
        "code",
        "generate",
        "produce",
        "give",
        "set",
        "up",
        "game",
        "games",
        "app",
        "apps",
        "application",
        "applications",
        "program",
        "programs",
        "tool",
        "tools",
        "utility",
        "script",
        "scripts",
        "project",
        "software",
        "system",
        "service",
        "simple",
        "small",
        "basic",
        "little",
        "tiny",
        "minimal",
        "quick",
        "easy",
        "nice",
        "fun",
        "classic",
        "new",
        "terminal",
        "console",
        "command",
        "commands",
        "line",
        "cli",
        "text",
        "based",
        "python",
        "python3",
        "gui",
        "web",
        "website",
        "page",
        "interface",
        "version",
        "clone",
        "style",
        "like",
        "playable",
        "file",
        "files",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")


def idea_subject_words(idea: str) -> list[str]:
    """The words of the idea that name its subject (order kept, no repeats)."""
    words: list[str] = []
    for word in _WORD.findall(idea.lower()):
        if word in _GENERIC_WORDS or word in words or (len(word) < 3 and not word.isdigit()):
            continue
        words.append(word)
    return words


def _stem(word: str) -> str:
    # A prefix is enough to see "tasks" in "task", "calculator" in "calculation", "snake" in "snakes".
    return word if word.isdigit() or len(word) <= 4 else word[: max(4, len(word) - 3)]


def _prd_text(prd: PRD) -> str:
    parts = [
        prd.original_requirements,
        prd.project_name,
        prd.requirement_analysis,
        prd.ui_design_draft,
        *prd.product_goals,
        *prd.user_stories,
        *(item.requirement for item in prd.requirement_pool),
    ]
    return " ".join(parts).lower()


def missing_idea_words(idea: str, prd: PRD) -> list[str]:
    """The idea's subject words the PRD never mentions."""
    text = _prd_text(prd)
    return [word for word in idea_subject_words(idea) if _stem(word) not in text]


# The role's voice, as prompts/voice.j2 words it ("You are ProductManager, a product manager. ..."), or the
# PRD prompt's own instructions, inside the restated idea.
_INSTRUCTIONS = re.compile(r"\byou are (?:a |an |the )?[a-z]*(?:manager|architect|engineer)\b|\bturn the user's idea\b")


def check_prd(prd: PRD, *, idea: str) -> Checked[PRD]:
    """A PRD that mentions fewer than half of the idea's subject words has drifted to another product, and one
    without requirements has nothing for the design to build: both are problems. One that is about the idea
    but whose `original_requirements` (the idea, restated) names none of its words gets the idea itself there."""
    repairs: list[str] = []
    problems: list[str] = []
    missing = missing_idea_words(idea, prd)
    if _drifted(idea, prd):
        quoted = ", ".join(f"'{word}'" for word in missing)
        problems.append(
            f'The PRD is not about the user\'s idea: it never mentions {quoted}. The idea is: "{idea}". '
            "Write the PRD for exactly this idea, not for another product."
        )
    else:
        words = idea_subject_words(idea)
        restated = prd.original_requirements.lower()
        if _INSTRUCTIONS.search(restated):
            # The 0.5B restated its prompt with the idea ("... You are ProductManager, a product manager. Turn
            # the user's idea into ..."): every later prompt quotes this field, and its tests printed it back.
            note_repair(
                repairs,
                "repair_original_requirements",
                f"{preview(prd.original_requirements, limit=80)} repeats the prompt's instructions; set to the idea "
                f"{idea!r}",
            )
            prd = prd.model_copy(update={"original_requirements": idea})
        elif words and not any(_stem(word) in restated for word in words):
            note_repair(
                repairs,
                "repair_original_requirements",
                f"{preview(prd.original_requirements, limit=80)} does not restate the idea; set to the idea {idea!r}",
            )
            prd = prd.model_copy(update={"original_requirements": idea})
    if not _requirements(prd):
        problems.append(
            "requirement_pool is empty: list three to six requirements of the idea, each an object with "
            "`requirement` (one sentence) and `priority` (P0, P1 or P2)."
        )
    return Checked(prd, repairs=repairs, problems=problems)


def settle_prd(prd: PRD, *, idea: str) -> Checked[PRD]:
    """After the ProductManager was asked once: a PRD that still drifts gets the idea restated in it, so every
    later stage reads it there too; one still without requirements gets them from its goals (or the idea)."""
    repairs: list[str] = []
    if _drifted(idea, prd):
        log.warning(
            "repair_idea_restored: the PRD still never mentions %s; original_requirements set to the idea "
            "%r (the design and the code are asked for the idea itself)",
            ", ".join(missing_idea_words(idea, prd)),
            idea,
        )
        repairs.append("repair_idea_restored")
        prd = prd.model_copy(update={"original_requirements": idea})
    if not _requirements(prd):
        sources = [text.strip() for text in [*prd.product_goals, *prd.user_stories] if text.strip()] or [idea]
        pool = [
            Requirement(requirement=text, priority=Priority.P0 if index == 0 else Priority.P1)
            for index, text in enumerate(sources[:MAX_SETTLED_REQUIREMENTS])
        ]
        where = "the idea" if sources == [idea] else "its goals and user stories"
        note_repair(
            repairs, "repair_requirement_pool", f"the PRD lists no requirements; {len(pool)} taken from {where}"
        )
        prd = prd.model_copy(update={"requirement_pool": pool})
    return Checked(prd, repairs=repairs)


def _drifted(idea: str, prd: PRD) -> bool:
    words = idea_subject_words(idea)
    return bool(words) and (len(words) - len(missing_idea_words(idea, prd))) * 2 < len(words)


def _requirements(prd: PRD) -> list[Requirement]:
    return [item for item in prd.requirement_pool if item.requirement.strip()]


# -- code ---------------------------------------------------------------------------------------------------

_SENTENCE = re.compile(r"^[\"'(]?[A-Za-z][^=(){}\[\];<>#]*[.!?:]?$")


def code_problem(path: str, code: str) -> str | None:
    """Why a written file is not code worth keeping (empty, only `pass` or stubs, prose), or None."""
    name = PurePosixPath(path).name
    suffix = PurePosixPath(path).suffix.lower()
    if suffix not in CODE_SUFFIXES or name == "__init__.py":
        return None  # documents may be prose; an empty package marker is normal
    if not code.strip():
        return "the file is empty"
    if suffix != ".py":
        return None
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return "the answer is prose, not Python code" if _mostly_prose(code) else None
    if not [node for node in tree.body if not _is_placeholder(node)]:
        return "the file has no code: only `pass`, `...` or a docstring"
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if functions and all(all(_is_placeholder(stmt) for stmt in fn.body) for fn in functions):
        return "every function in the file is a stub (`pass` or `...`): nothing is implemented"
    own = ".".join(PurePosixPath(path).with_suffix("").parts)
    if own != "__main__" and not own.endswith(".__main__") and _imports(tree, own):
        # The 0.5B, asked to fix main.py after writing its tests, answered with the tests: `from main import ...`.
        return f"the file imports itself (`{own}`): it is another file's code, not `{path}`"
    return None


def _imports(tree: ast.Module, module: str) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == module:
            return True
        if isinstance(node, ast.Import) and any(alias.name == module for alias in node.names):
            return True
    return False


def _is_placeholder(node: ast.stmt) -> bool:
    return isinstance(node, ast.Pass) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))


def _mostly_prose(code: str) -> bool:
    lines = [line.strip() for line in code.splitlines() if line.strip()]
    sentences = [line for line in lines if len(line.split()) >= 4 and _SENTENCE.match(line)]
    return len(sentences) * 2 > len(lines)
