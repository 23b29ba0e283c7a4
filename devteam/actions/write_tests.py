"""WriteTests: pytest tests for one module, from the requirements, the design, the module and its dependencies.

Scoped like WriteCode: the prompt carries the module under test and the files it depends on, not the project.
When this run wrote the module, the request is a turn after the conversation that wrote it (`file_threads`):
the server's cache serves that whole conversation, and a small model sees the module as its own answer.
"""

from __future__ import annotations

import ast
import logging
from dataclasses import dataclass
from pathlib import PurePosixPath

from devteam.actions.file_threads import continued, fenced, fits
from devteam.actions.persona import Persona, language_of
from devteam.actions.write_code import compile_error, with_stdlib_imports
from devteam.artifacts.documents import PRD, SystemDesign
from devteam.artifacts.float_asserts import with_approx_floats
from devteam.artifacts.function_source import collected_tests, is_check, own_nodes
from devteam.artifacts.method_imports import with_method_calls
from devteam.artifacts.module_copies import without_module_copies
from devteam.artifacts.test_objects import with_made_objects
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import ask_code

log = logging.getLogger("devteam.structured")

NAME = "WriteTests"
TEST_IMPORT = "repair_test_import"
METHOD_CALL = "repair_test_method_call"
MODULE_COPY = "repair_test_module_copy"
FLOAT_EQUALITY = "repair_test_float_equality"
MADE_OBJECT = "repair_test_object"
# The most a test file of 3-8 tests needs; the answer budget of a continued request.
ANSWER_TOKENS = 1536


@dataclass(frozen=True)
class WrittenTests:
    code: str
    # The request that wrote the tests and its answer: a fix of the test file continues it.
    conversation: list[ChatMessage]


def test_path_for(module_path: str, taken: set[str]) -> str:
    """tests/test_<module>.py, made unique with the package name when two modules share a name."""
    parts = PurePosixPath(module_path).with_suffix("").parts
    candidate = f"tests/test_{parts[-1]}.py"
    if candidate in taken and len(parts) > 1:
        candidate = f"tests/test_{'_'.join(parts)}.py"
    return candidate


def has_tests(code: str) -> bool:
    """Whether pytest would collect something from `code`: a `test_*` function, or one inside a `Test*` class."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return "def test_" in code  # a file that does not compile is the syntax fix's business
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
        for node in ast.walk(tree)
    )


def with_module_imports(test_code: str, module_code: str, module: str) -> tuple[str, list[str]]:
    """The test file with an import of the names it uses from the module under test but never imports (a 0.5B
    wrote `convert_length(...)` in its tests without importing it: every test a NameError). Returns the code and
    the names added; nothing changes when either file does not parse."""
    try:
        tests, code = ast.parse(test_code), ast.parse(module_code)
    except (SyntaxError, ValueError):
        return test_code, []
    offered = {
        node.name
        for node in code.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_")
    }
    offered |= {
        target.id
        for node in code.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id.isupper()
    }
    bound = {
        alias.asname or alias.name.split(".")[0]
        for node in ast.walk(tests)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    bound |= {
        node.name for node in ast.walk(tests) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    bound |= {node.id for node in ast.walk(tests) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    used = {node.id for node in ast.walk(tests) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    missing = sorted((used & offered) - bound)
    if not missing:
        return test_code, []
    return f"from {module} import {', '.join(missing)}\n" + test_code, missing


def checked_tests(code: str) -> int | None:
    """How many test functions in `code` check something (an `assert`, or a `raises` block); None when the
    file does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    # Not in a function a test only defines, nor such a function itself: pytest never runs either. An `assert`
    # of a constant counts here (it is what a fix may not hollow), not in `checks_something_of`.
    return sum(
        1
        for node in collected_tests(tree)
        if any(isinstance(inner, ast.Assert) or is_check(inner) for inner in own_nodes(node))
    )


def rewritten_tests_problem(before: str, after: str) -> str | None:
    """Why a rewritten test file is not kept, or None. A fix of the tests may correct them, not hollow them: it
    keeps at least half of the tests that checked something (a small model's "fix" that drops every assert
    would make any program pass)."""
    now = checked_tests(after)
    if now is None:
        return "it does not parse"
    earlier = checked_tests(before) or 0
    if now < max(1, (earlier + 1) // 2):
        return f"{now} of its tests check anything, where {earlier} did"
    return None


def import_name(module_path: str) -> str:
    return ".".join(PurePosixPath(module_path).with_suffix("").parts)


async def write_tests(
    llm: LLM,
    persona: Persona,
    *,
    prd: PRD,
    design: SystemDesign,
    module_path: str,
    code: str,
    test_path: str,
    dependencies: dict[str, str],
    repair: bool,
    idea: str = "",
    conversation: list[ChatMessage] | None = None,
    temperature: float | None = None,
) -> WrittenTests:
    """`conversation`: the request that wrote the module and its answer, when this run wrote it; `temperature`
    None: the configured one (another candidate of the tests is asked warmer, `qa_test_candidates`)."""
    messages: list[ChatMessage] = []
    if conversation:
        followup = render_prompt(
            "write_tests_followup.j2",
            voice=persona.voice(),
            module_path=module_path,
            test_path=test_path,
            import_name=import_name(module_path),
        )
        messages = [*continued(conversation, module_path, code), ChatMessage("user", followup)]
        if not await fits(llm, messages, ANSWER_TOKENS):
            messages = []
    if not messages:
        # A prompt of its own: this run did not write the module, or the conversation leaves no room.
        prompt = render_prompt(
            "write_tests.j2",
            idea=idea or prd.original_requirements,
            prd=prd,
            design=design,
            plan_shown=True,
            module_path=module_path,
            code=code,
            test_path=test_path,
            import_name=import_name(module_path),
            dependencies=dependencies,
            language_of=language_of,
            voice=persona.voice(),
        )
        messages = [persona.system_message(), ChatMessage("user", prompt)]
    answer = await ask_code(
        llm,
        messages,
        role=persona.role,
        action=NAME,
        subject=test_path,
        language="python",
        repair=repair,
        temperature=temperature,
    )
    if not has_tests(answer.value):
        # A 0.5B answered the tic-tac-toe tests with a copy of the module: nothing to collect. Sent back once.
        log.warning("sent_back: %s %s: no test function in the answer", NAME, test_path)
        llm.ledger.count_reask()
        again = [
            *messages,
            ChatMessage("assistant", fenced(test_path, answer.value)),
            ChatMessage(
                "user",
                render_prompt("tests_sent_back.j2", test_path=test_path, import_name=import_name(module_path)),
            ),
        ]
        retried = await ask_code(
            llm, again, role=persona.role, action=NAME, subject=test_path, language="python", repair=repair
        )
        if has_tests(retried.value):
            answer, messages = retried, again
    tests = answer.value
    error = compile_error(test_path, tests)
    if error is not None:
        messages = [
            *messages,
            ChatMessage("assistant", fenced(test_path, tests)),
            ChatMessage("user", render_prompt("fix_syntax.j2", path=test_path, error=error)),
        ]
        llm.ledger.add_repairs(["repair_syntax"])
        fixed = await ask_code(
            llm, messages, role=persona.role, action=NAME, subject=test_path, language="python", repair=repair
        )
        tests = fixed.value
    written = repaired_tests(tests, code, module_path, test_path, llm)
    return WrittenTests(written, [*messages, ChatMessage("assistant", fenced(test_path, written))])


def repaired_tests(test_code: str, module_code: str, module_path: str, test_path: str, llm: LLM) -> str:
    """A test file, written or rewritten (a QA round's test fix), made to test the module itself, to compare
    floats as floats, and to import what it uses: the module's own names first, so a bare `mean(...)` the module
    defines is the module's, not the standard library's."""
    test_code, copied = without_module_copies(test_code, module_code)
    if copied:
        log.info(
            "%s: %s carried its own copy of %s from %s; removed, the module's own are imported",
            MODULE_COPY,
            test_path,
            ", ".join(copied),
            module_path,
        )
        llm.ledger.add_repairs([MODULE_COPY])
    called = with_method_calls(test_code, module_code, import_name(module_path))
    if called.methods:
        log.info(
            "%s: %s imported %s from %s as functions; called on an object of their class",
            METHOD_CALL,
            test_path,
            ", ".join(f"{name} ({owner} method)" for name, owner in called.methods.items()),
            module_path,
        )
        llm.ledger.add_repairs([METHOD_CALL])
        test_code = called.code
    made = with_made_objects(test_code, module_code)
    if made.fixtures or made.names:
        what = [f"fixtures: {', '.join(made.fixtures)}"] if made.fixtures else []
        what += [f"names: {', '.join(dict.fromkeys(made.names))}"] if made.names else []
        log.info(
            "%s: %s uses objects of %s it never makes (%s); made as the file makes them",
            MADE_OBJECT,
            test_path,
            module_path,
            "; ".join(what),
        )
        llm.ledger.add_repairs([MADE_OBJECT])
        test_code = made.code
    completed, added = with_module_imports(test_code, module_code, import_name(module_path))
    if added:
        log.info(
            "%s: %s uses %s from %s without importing them; imported",
            TEST_IMPORT,
            test_path,
            ", ".join(added),
            module_path,
        )
        llm.ledger.add_repairs([TEST_IMPORT])
    completed, approximated = with_approx_floats(completed)
    if approximated:
        log.info(
            "%s: %s compared %d float(s) with ==; compared with pytest.approx", FLOAT_EQUALITY, test_path, approximated
        )
        llm.ledger.add_repairs([FLOAT_EQUALITY])
    return with_stdlib_imports(llm, test_path, completed, test_file=True)
