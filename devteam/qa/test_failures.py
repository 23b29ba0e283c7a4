"""Which test functions failed in one pytest run, and what pytest said of each one.

A small model asked to correct a whole test file gives it back nearly as it was (the 0.5B's todo tests: two
asserts changed in form only); one failing test at a time, with pytest's own report of it, is a short prompt
and a short answer. This module only reads pytest's output (`-q --tb=short -rfE`, as `run_tests` runs it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devteam.qa.box import PROJECT_DIR

# `FAILED test_main.py::TestTodo::test_add - AssertionError: ...` in the short summary (`-rfE`).
_SUMMARY = re.compile(r"^(FAILED|ERROR) ([^\s:]+\.py)::((?:[A-Za-z_]\w*::)?)([A-Za-z_]\w*)(?:\[[^\]]*\])?(?: - |$)")
# `____________ TestTodo.test_add ____________` opens a test's report; `====` lines end the last one.
_SECTION = re.compile(r"^_{3,} (?:ERROR at \w+ of )?([\w.]+)(?:\[[^\]]*\])? _{3,}$")
_RULE = re.compile(r"^(?:={3,}|_{3,}).*$")
# A frame of pytest's short traceback (`main.py:12: in add`) or of Python's own (`File "...", line 12, in add`).
_FRAME = re.compile(
    r'^([^\s:"][^:\n"]*\.py):(\d+): in (\w+)$|^\s*File "([^"]+\.py)", line (\d+), in (\w+)$', re.MULTILINE
)
# The smoke run's part of a round's failure: `$ python -m snake` and what the program printed.
_SMOKE = re.compile(r"^\$ (python [^\n]*)\n(.*)\Z", re.MULTILINE | re.DOTALL)
REPORT_LIMIT = 1500  # characters of one test's report; its end (the `E` lines) says the most


@dataclass(frozen=True)
class FailingTest:
    path: str  # the test file, relative to the project
    name: str  # the test function
    class_name: str | None  # its class, for a test method
    report: str  # pytest's report of this test (`--tb=short`), or the summary line when there is none
    error: bool  # an error in setup or teardown (pytest's ERROR), not a failed check

    @property
    def qualname(self) -> str:
        return f"{self.class_name}.{self.name}" if self.class_name else self.name


def same_test(one: FailingTest, other: FailingTest) -> bool:
    """Whether two reports are of one test function (in two runs, its report differs)."""
    return (one.path, one.class_name, one.name) == (other.path, other.class_name, other.name)


def failing_tests(output: str) -> list[FailingTest]:
    """The failed and erroring test functions of a pytest run, in the order pytest listed them, each once
    (a parametrized test is one function). A file that failed to collect names no function: not listed."""
    lines = output.splitlines()
    sections = _sections(lines)
    found: dict[tuple[str, str | None, str], FailingTest] = {}
    for line in lines:
        match = _SUMMARY.match(line)
        if match is None:
            continue
        kind, path, owner, name = match.groups()
        class_name = owner.rstrip(":") or None
        key = (path, class_name, name)
        if key in found:
            continue
        qualname = f"{class_name}.{name}" if class_name else name
        report = sections.get(qualname) or line
        if len(report) > REPORT_LIMIT:
            report = "...\n" + report[-REPORT_LIMIT:]
        found[key] = FailingTest(path, name, class_name, report, kind == "ERROR")
    return list(found.values())


_CRASH = re.compile(r"^FAILED \S+ - (\w+(?:Error|Exception|Exit))\b", re.MULTILINE)


def crashed_tests(output: str) -> int:
    """How many failed tests ended in an exception other than a failed assert (`FAILED ... - TypeError: ...`):
    code that raises is further from working than code that runs and gives another value."""
    return sum(1 for name in _CRASH.findall(output) if name != "AssertionError")


_COMPARED = re.compile(r"^E\s+(?:AssertionError: )?assert (.+?) (?:==|is(?! not)) (.+?)\s*$", re.MULTILINE)


def compared(report: str) -> tuple[str, str] | None:
    """What a failed `==` (or `is`) assert got and expected, as pytest shows them (`E   assert 0.01 == 1.0 ± 1.0e-06`):
    a small model reads "0.01 where 1.0 was expected" where it passes over pytest's report."""
    match = _COMPARED.search(report)
    return (match.group(1), match.group(2)) if match else None


_TRUTH = re.compile(r"^E\s+(?:AssertionError: )?assert (not )?(True|False)\s*$", re.MULTILINE)


def asserted_truth(report: str) -> bool | None:
    """What the code gave where a failed assert wanted it true or false, when pytest shows a bool (`assert
    False` for `assert game.check_winner('X')`, `assert not True` for `assert not game.is_valid_move(3, 0)`):
    the bool the code gave; None for any other failure."""
    match = _TRUTH.search(report)
    return match.group(2) == "True" if match else None


# `E    +  where None = add_task('Write a task')` under a failed compare: the call that gave the value.
# Python 3.12's pytest shows a method as `<bound method TodoList.add_task of <main.TodoList object>>('x')`.
_GIVEN_BY = re.compile(
    r"^E\s+\+\s+where .+? = (?:<bound method (?:\w+\.)*(\w+) of |(?:[\w.]+\.)?(\w+)\()", re.MULTILINE
)


def given_by(report: str) -> str | None:
    """The name of the function whose result a failed assert compared (`where None = add_task('x')`: add_task),
    as pytest's introspection shows it; None when pytest shows none."""
    match = _GIVEN_BY.search(report)
    return (match.group(1) or match.group(2)) if match else None


def silent_call(report: str) -> str | None:
    """The function whose result a failed compare got as `None` (`assert None == True`, `where None =
    add_task('x')`): where it has no `return`, the test expects a value the code never gives."""
    got = compared(report)
    return given_by(report) if got is not None and got[0] == "None" else None


_MISSING_FILE = re.compile(r"^E\s+FileNotFoundError: \[Errno 2\] No such file or directory: '([^'/\\]+)'", re.MULTILINE)


def missing_file(report: str) -> str | None:
    """The file a test's run looked for in its folder and did not find (`example.txt`, not a path): the 0.5B's
    word-frequency and CSV tests read files nobody wrote, every one a FileNotFoundError."""
    match = _MISSING_FILE.search(report)
    return match.group(1) if match else None


_MISSING_ATTRIBUTE = re.compile(r"^E\s+AttributeError: '(\w+)' object has no attribute '(\w+)'", re.MULTILINE)


def missing_attribute(report: str) -> tuple[str, str] | None:
    """The class and the attribute a test's run asked of an object that lacks it (`'TicTacToe' object has no
    attribute 'is_full'`): the 0.5B's tests called a method on an object of another class than the one that
    has it."""
    match = _MISSING_ATTRIBUTE.search(report)
    return (match.group(1), match.group(2)) if match else None


def _sections(lines: list[str]) -> dict[str, str]:
    """Each test's report under its `___ name ___` heading, up to the next heading or rule; the first kept."""
    sections: dict[str, str] = {}
    current: str | None = None
    body: list[str] = []
    for line in [*lines, "=" * 3]:
        heading = _SECTION.match(line)
        if heading is not None or _RULE.match(line):
            if current is not None and current not in sections:
                sections[current] = "\n".join(body).strip("\n")
            current = heading.group(1) if heading is not None else None
            body = []
        elif current is not None:
            body.append(line)
    return sections


@dataclass(frozen=True)
class Frame:
    path: str  # relative to the project
    line: int
    function: str
    code: str = ""  # the line's source as the traceback quotes it (the line after the frame's own)


def frames(report: str) -> list[Frame]:
    """The frames of the tracebacks in `report` that are the project's own files, outermost first."""
    found = []
    for match in _FRAME.finditer(report):
        raw = match.group(1) or match.group(4)
        line = int(match.group(2) or match.group(5))
        function = match.group(3) or match.group(6)
        if raw.startswith(PROJECT_DIR + "/"):
            raw = raw[len(PROJECT_DIR) + 1 :]
        elif raw.startswith("/"):
            continue  # the standard library's, or an installed package's
        rest = report[match.end() :].split("\n", 2)
        code = rest[1].strip() if len(rest) > 1 and not rest[1].lstrip().startswith(("E ", "File ")) else ""
        found.append(Frame(raw, line, function, code))
    return found


def start_failure(output: str) -> tuple[str, str] | None:
    """The smoke run's command and output in a round's failure (`$ python main.py` and after), or None."""
    match = _SMOKE.search(output)
    if match is None:
        return None
    text = match.group(2).strip("\n")
    return match.group(1), text if len(text) <= REPORT_LIMIT else "...\n" + text[-REPORT_LIMIT:]
