"""Fit, proven before and after writing: interfaces carry every attribute a class sets and every module-level
name; design slices match names exactly and stay mermaid; every name a file uses from a planned file it depends
on is in its WriteCode prompt (over the real records and a plan shaped like the real 8-file shop); after
writing, an import of something that does not exist goes back to its writer with the real interface."""

from __future__ import annotations

import ast
import asyncio
import io
import json
import re
from pathlib import Path

import pytest
from fakes import OpenAIServer, Text
from fakes.base import RecordedRequest, Reply
from scripted_company import ScriptedCompany, ScriptedFile

from devteam.actions.code_context import code_contexts
from devteam.actions.write_code import code_prompt
from devteam.artifacts.code_interface import class_members, module_names, python_interface
from devteam.artifacts.design_slice import call_flow_slice, design_slice
from devteam.artifacts.documents import PRD, PlannedFile, SystemDesign
from devteam.artifacts.file_plan import build_levels
from devteam.artifacts.import_fit import import_misses, module_paths
from devteam.config.settings import Config
from devteam.run.company import run_company
from devteam.run.options import RunOptions
from devteam.structured.parse import ParseFailure, extract_code, parse_structured

RECORDS = Path(__file__).parent / "data" / "real_model_records"

# -- interfaces -----------------------------------------------------------------------------------------------

CONFIG = '''"""Settings."""
TAX_RATE = 0.2
WIDTH, HEIGHT = 40, 20
if True:
    DEBUG = False


class GameConfig:
    def __init__(self) -> None:
        self.width = WIDTH
        self.x, self.y = 0, 0

    def load(self, name: str) -> None:
        self.currency: str = "EUR"
        self.name = name

    def tick(self) -> None:
        self.ticks += 1
'''


def test_the_interface_carries_every_attribute_a_method_sets_and_module_names() -> None:
    interface = python_interface(CONFIG)
    assert interface is not None
    for kept in ("TAX_RATE = 0.2", "WIDTH, HEIGHT", "self.width = WIDTH", "self.x = ", "self.y = "):
        assert kept in interface, kept
    assert "    currency: str = ...  # set by load()" in interface
    assert "    name = ...  # set by load()" in interface and "    ticks = ...  # set by tick()" in interface
    compile(interface, "interface.py", "exec")
    tree = ast.parse(CONFIG)
    assert {"TAX_RATE", "WIDTH", "HEIGHT", "DEBUG", "GameConfig"} <= module_names(tree)
    config_class = next(node for node in tree.body if isinstance(node, ast.ClassDef))
    assert {"width", "x", "y", "currency", "name", "ticks", "load", "tick"} <= class_members(config_class)


# -- slices ---------------------------------------------------------------------------------------------------

SHOP_DIAGRAM = """classDiagram
    class Shop {
        +list products
        +open() None
    }
    class GameConfig {
        +str currency
    }
    class Cart {
        +bool paid
        +checkout() Receipt
    }
    Shop --> Cart
    Cart ..> GameConfig"""

SHOP_FLOW = """sequenceDiagram
    participant Main
    participant Shop
    Main->>Shop: open()
    loop every order
        Shop->>Cart: checkout()
        alt paid
            Cart->>GameConfig: currency
        else refused
            Cart->>Cart: retry()
        end
    end
    end
    opt never closed
        Shop->>Shop: close()
    else not in an opt"""


def shop_design(files: list[PlannedFile]) -> SystemDesign:
    return SystemDesign(
        implementation_approach="Standard library only.",
        file_list=files,
        data_structures_and_interfaces=SHOP_DIAGRAM,
        program_call_flow=SHOP_FLOW,
    )


def test_slices_match_names_exactly_not_a_folder_or_a_lowercase_word() -> None:
    files = [
        PlannedFile(path="shop/shop.py", purpose="Shop: open() and its products"),
        PlannedFile(path="shop/main.py", purpose="starts the shop program", depends_on=["shop/shop.py"]),
        PlannedFile(path="shop/game_config.py", purpose="the settings of the shop"),
    ]
    plan = build_levels(files)
    main = design_slice(shop_design(files), files[1], dependencies=plan.dependencies)
    assert "class Shop {" not in main.class_diagram  # the folder `shop` is not the class `Shop`
    config = design_slice(shop_design(files), files[2], dependencies=plan.dependencies)
    assert "class GameConfig {" in config.class_diagram  # game_config.py is named after GameConfig
    assert "class Shop {" not in config.class_diagram  # "the shop" in its purpose is not the class
    shop = design_slice(shop_design(files), files[0], dependencies=plan.dependencies)
    assert "class Shop {" in shop.class_diagram and "class Cart {" not in shop.class_diagram


def mermaid_sequence_ok(flow: str) -> bool:
    """Blocks opened and closed in order, `else`/`and`/`option` only inside a block, the header first."""
    lines = [line.strip() for line in flow.splitlines() if line.strip()]
    if not lines or lines[0] != "sequenceDiagram":
        return False
    middles = {"alt": "else", "par": "and", "critical": "option"}
    blocks: list[str] = []
    for line in lines[1:]:
        keyword = line.split(" ", 1)[0].lower()
        if keyword in ("loop", "alt", "opt", "par", "critical", "break", "rect", "box"):
            blocks.append(keyword)
        elif keyword in ("else", "and", "option"):
            if not blocks or middles.get(blocks[-1]) != keyword:
                return False
        elif keyword == "end":
            if not blocks:
                return False
            blocks.pop()
    return not blocks


@pytest.mark.parametrize("name", ["Main", "Shop", "Cart", "GameConfig", "open", "retry", "close", "nothing"])
def test_every_call_flow_slice_stays_mermaid(name: str) -> None:
    sliced = call_flow_slice(SHOP_FLOW, {name})
    assert sliced == "" or mermaid_sequence_ok(sliced), sliced
    if name == "Cart":
        assert "        else refused" in sliced and "            Cart->>Cart: retry()" in sliced
    if name == "close":
        assert sliced.splitlines() == ["sequenceDiagram", "        Shop->>Shop: close()"]


# -- every name a file uses from a file it depends on is in its prompt ------------------------------------------


def used_names(code: str, dependencies: dict[str, str]) -> set[str]:
    """The names `code` takes from its planned dependencies that exist there: imported names, module
    attributes, and the members of imported classes it reads (`.attr` anywhere in the file)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    modules = module_paths(list(dependencies))
    used: set[str] = set()
    members: set[str] = set()
    for node in ast.walk(tree):
        module = node.module if isinstance(node, ast.ImportFrom) and not node.level else None
        imported = [alias.name for alias in node.names] if isinstance(node, ast.ImportFrom) else []
        if isinstance(node, ast.Import):
            module = next((alias.name for alias in node.names if alias.name in modules), None)
        if module not in modules:
            continue
        dep_tree = ast.parse(dependencies[modules[module]])
        defined = module_names(dep_tree)
        used |= {name for name in imported if name in defined}
        classes = [n for n in dep_tree.body if isinstance(n, ast.ClassDef) and (not imported or n.name in imported)]
        for cls in classes:
            members |= class_members(cls)
        if isinstance(node, ast.Import):
            used |= {a.attr for a in ast.walk(tree) if isinstance(a, ast.Attribute) and a.attr in defined}
    used |= {a.attr for a in ast.walk(tree) if isinstance(a, ast.Attribute) and a.attr in members}
    return {name for name in used if not name.startswith("_")}


def prompt_misses(design: SystemDesign, sources: dict[str, str], prd: PRD) -> dict[str, set[str]]:
    """For each written file: the names it uses from its dependencies that its WriteCode prompt lacks."""
    plan = build_levels(design.file_list)
    misses: dict[str, set[str]] = {}
    for planned in plan.files:
        code = sources.get(planned.path)
        if code is None:
            continue
        deps = {path: sources[path] for path in plan.dependencies.get(planned.path, []) if path in sources}
        written_before = {path: text for path, text in sources.items() if path in deps}
        for context in code_contexts(design, planned, written_before, plan.dependencies):
            prompt = code_prompt(prd, design, planned, context)
            missing = {name for name in used_names(code, deps) if not re.search(rf"\b{re.escape(name)}\b", prompt)}
            if missing:
                misses[f"{planned.path} ({context.level})"] = missing
    return misses


def a_prd(idea: str) -> PRD:
    return PRD(
        language="en_us",
        programming_language="Python",
        original_requirements=idea,
        project_name="x",
        product_goals=["g"],
        user_stories=["s"],
        competitive_analysis=["c"],
        requirement_analysis="r",
        requirement_pool=[],
    )


def record_run(name: str) -> tuple[SystemDesign, dict[str, str]] | None:
    exchanges = [json.loads(line) for line in (RECORDS / name).read_text().splitlines()]
    designs = [e for e in exchanges if e["action"] == "WriteDesign"]
    if not designs:
        return None
    try:
        design = parse_structured(designs[-1]["answer"], SystemDesign, repair=True).value
    except ParseFailure:
        return None
    sources = {}
    for exchange in exchanges:
        if exchange["action"] == "WriteCode":
            sources[exchange["subject"]] = extract_code(exchange["answer"], language="python").code
    return design, sources


@pytest.mark.parametrize("name", sorted(path.name for path in RECORDS.glob("*.jsonl")))
def test_every_name_a_real_file_uses_from_its_dependencies_is_in_its_prompt(name: str) -> None:
    run = record_run(name)
    if run is None:
        return  # the record ends before the design (a PRD that never validated): no file to prove
    design, sources = run
    assert prompt_misses(design, sources, a_prd("idea")) == {}


SHOP_CONFIG = CONFIG
SHOP_CART = """from shop.game_config import TAX_RATE, GameConfig


class Cart:
    def __init__(self, config: GameConfig) -> None:
        self.config = config
        self.items: list[float] = []

    def checkout(self) -> float:
        self.paid = True
        self.receipt = sum(self.items) * (1 + TAX_RATE)
        return self.receipt
"""
SHOP_MAIN = """import shop.game_config
from shop.cart import Cart
from shop.game_config import GameConfig


def main() -> None:
    config = GameConfig()
    config.load("corner shop")
    cart = Cart(config)
    cart.checkout()
    print(cart.paid, cart.receipt, config.currency, config.ticks, shop.game_config.HEIGHT)
"""


def test_every_name_the_shop_plan_uses_is_in_the_prompts() -> None:
    files = [
        PlannedFile(path="shop/game_config.py", purpose="settings"),
        PlannedFile(path="shop/cart.py", purpose="Cart: checkout()", depends_on=["shop/game_config.py"]),
        PlannedFile(
            path="shop/main.py", purpose="starts the program", depends_on=["shop/cart.py", "shop/game_config.py"]
        ),
    ]
    sources = {"shop/game_config.py": SHOP_CONFIG, "shop/cart.py": SHOP_CART, "shop/main.py": SHOP_MAIN}
    design = shop_design(files)
    uses = used_names(SHOP_MAIN, {k: v for k, v in sources.items() if k != "shop/main.py"})
    assert {"paid", "receipt", "currency", "ticks", "GameConfig", "Cart", "HEIGHT", "load", "checkout"} <= uses
    assert prompt_misses(design, sources, a_prd("a shop")) == {}


# -- after writing: imports that do not exist go back to the writer -------------------------------------------

GAME_LOGIC = "class Board:\n    def __init__(self) -> None:\n        self.cells = [0] * 16\n\n    def slide(self, way: str) -> None:\n        self.cells.sort()\n"
TERMINAL = "import pygame\nfrom game_logic import GameLogic\n\n\ndef play() -> None:\n    game = GameLogic()\n    game.slide('up')\n"
TERMINAL_FIXED = "from game_logic import Board\n\n\ndef play() -> None:\n    board = Board()\n    board.slide('up')\n"
TWENTY_48 = [
    ScriptedFile("game_logic.py", GAME_LOGIC, [], "the 2048 board"),
    ScriptedFile("terminal_game.py", TERMINAL, [], "plays 2048 in the terminal"),
    ScriptedFile("main.py", "from terminal_game import play\n\nplay()\n", ["terminal_game.py"], "starts the game"),
]


class UnfitCompany(ScriptedCompany):
    """The 0.5B's 2048: files written apart import a class that does not exist and an unrequired package."""

    def __init__(self) -> None:
        super().__init__(TWENTY_48, project_name="game2048")
        self.fit_prompts: list[str] = []
        self.fit_conversations: list[list[dict[str, str]]] = []

    def __call__(self, request: RecordedRequest) -> Reply:
        # The fit continues the conversation that wrote the file: its own question is the last user message.
        last_user = next(m["content"] for m in reversed(request.json["messages"]) if m["role"] == "user")
        if last_user.startswith("## Action: FitImports"):
            self.fit_prompts.append(last_user)
            self.fit_conversations.append(request.json["messages"])
            return Text(f"```python\n{TERMINAL_FIXED}```")
        return super().__call__(request)


def test_an_import_of_what_does_not_exist_goes_back_with_the_real_interface(tmp_path: Path) -> None:
    assert [
        m.detail.split(":")[0]
        for m in import_misses(
            "terminal_game.py", TERMINAL, {"game_logic.py": GAME_LOGIC, "terminal_game.py": TERMINAL}, []
        )
    ] == ["`import pygame`", "`from game_logic import GameLogic`"]
    company = UnfitCompany()
    with OpenAIServer() as server:
        server.set_handler(company)
        config = Config.model_validate(
            {
                "llm": {
                    "api_type": "open_llm",
                    "base_url": server.base_url,
                    "model": "m",
                    "timeout": 10,
                    "num_retries": 0,
                }
            }
        )
        options = RunOptions(idea="write the 2048 game for the terminal", workspace=tmp_path, code_review=False)
        outcome = asyncio.run(run_company(config, options, progress_stream=io.StringIO()))
        if outcome.run.repo is not None:
            outcome.run.repo.close()
    assert outcome.error is None, outcome.error
    (prompt,) = company.fit_prompts
    # It continues the conversation that wrote the file (a server's prefix cache serves the writing prompt).
    (conversation,) = company.fit_conversations
    assert [m["role"] for m in conversation] == ["system", "user", "assistant", "user"]
    assert conversation[1]["content"] == company.prompts["terminal_game.py"]
    assert "game_logic.py defines no `GameLogic` (it defines `Board`)" in prompt
    assert "`import pygame`: pygame is neither a planned file nor a required package" in prompt
    assert "### `game_logic.py`" in prompt and "def slide(self, way: str) -> None:" in prompt
    assert "using only the standard library" in prompt
    root = tmp_path / "game2048"
    assert (root / "terminal_game.py").read_text() == TERMINAL_FIXED
    log = (root / ".devteam" / "run.log").read_text()
    assert "repair_import_fit: terminal_game.py:" in log
    summary = json.loads((root / ".devteam" / "summary.json").read_text())
    assert summary["repairs"]["repair_import_fit"] == 1
    import git

    with git.Repo(root) as repo:
        assert any(c.summary == "Fit terminal_game.py to the files it imports" for c in repo.iter_commits())


def test_only_top_level_imports_at_the_named_lines_are_dropped() -> None:
    from devteam.artifacts.import_fit import without_import_lines

    code = "import os\nfrom graphics import (\n    draw,\n    clear,\n)\n\n\ndef f():\n    import graphics\n    return os.sep\n"
    trimmed = without_import_lines(code, {2, 9})
    assert trimmed == "import os\n\n\ndef f():\n    import graphics\n    return os.sep\n"
    assert without_import_lines(code, {5}) is None  # no statement starts there
    assert without_import_lines("def broken(:\n", {1}) is None


def test_the_names_a_dropped_import_bound_and_the_functions_that_use_them_are_found() -> None:
    from devteam.artifacts.function_source import functions_using
    from devteam.artifacts.import_fit import imported_names

    code = (
        "import os\nimport markdown\nimport xml.sax as sax\nfrom graphics import draw, clear as wipe\n"
        "from shapes import *\n\n\n"
        "def to_html(text):\n    return markdown.markdown(text)\n\n\n"
        "def path():\n    return os.sep\n\n\n"
        "class Screen:\n    def show(self):\n        wipe()\n\n    def markdown(self):\n        return 1\n\n\n"
        "def shadowing(markdown):\n    markdown = 2\n"
    )
    assert imported_names(code, {2, 3, 4, 5}) == {"markdown", "sax", "draw", "wipe"}  # a star import names none
    assert imported_names(code, {1}) == {"os"}
    assert imported_names("def broken(:\n", {1}) == set()
    # Read, not only bound: a method named `markdown`, or a parameter of that name only assigned, uses nothing.
    assert functions_using(code, {"markdown", "wipe"}) == [("to_html", None), ("show", "Screen")]
    assert functions_using(code, {"os"}) == [("path", None)]
    assert functions_using("def broken(:\n", {"os"}) == []


def test_an_import_of_a_dropped_module_is_seen_under_any_name_and_anywhere() -> None:
    from devteam.artifacts.import_fit import imports_any

    assert imports_any("import markdown as md\n", {"markdown"})
    assert imports_any("def f():\n    from markdown.extensions import toc\n", {"markdown"})
    assert not imports_any("import re\nfrom . import markdown\n", {"markdown"})  # the project's own module
    assert not imports_any("def broken(:\n", {"markdown"})


def test_the_function_written_without_a_package_is_told_it_is_not_there() -> None:
    from devteam.actions.fill_function import FileBrief, function_prompt
    from devteam.artifacts.documents import SystemDesign
    from devteam.artifacts.function_source import located_function

    code = "def to_html(text):\n    return markdown.markdown(text)\n"
    place = located_function(code, "to_html")
    assert place is not None
    design = SystemDesign.model_validate(
        {
            "implementation_approach": "Python's markdown library",
            "file_list": [{"path": "main.py", "purpose": "the converter"}],
            "data_structures_and_interfaces": "def to_html(text)",
            "program_call_flow": "main -> to_html",
            "anything_unclear": "",
        }
    )
    brief = FileBrief("main.py", "the converter", "write a markdown-to-HTML converter", design, {})
    one = function_prompt(code, place, brief, unavailable=("markdown",))
    assert "`markdown` is not installed where the program runs" in one
    assert "do not import it. Write the work it did yourself, with the standard library." in one
    two = function_prompt(code, place, brief, unavailable=("markdown", "bs4"))
    assert "`markdown`, `bs4` are not installed" in two and "do not import them. Write the work they did" in two
    assert "not installed" not in function_prompt(code, place, brief)


@pytest.mark.parametrize(
    ("idea", "asked"),
    [
        ("write a data script that reads a CSV of daily temperatures and prints the mean", True),
        ("write a word-frequency tool that reads a text file and prints the ten most common words", True),
        ("write a command-line todo list that stores tasks in a JSON file", True),
        ("write a snake game for the terminal", False),
        ("write a password generator CLI with options for length, digits and symbols", False),
    ],
)
def test_a_program_that_reads_a_file_is_asked_to_take_its_path_from_the_command_line(idea: str, asked: bool) -> None:
    """The 0.5B hard-coded `example.txt` and `daily_temperatures.csv`: both programs died at start wherever QA
    ran them. Only ideas about files get the rule (fewer prompt tokens for the others)."""
    planned = PlannedFile(path="main.py", purpose="the whole program: starts it", depends_on=[])
    design = SystemDesign(
        implementation_approach="standard library",
        file_list=[planned],
        data_structures_and_interfaces="",
        program_call_flow="",
    )
    context = code_contexts(design, planned, {}, {"main.py": []})[0]
    prompt = code_prompt(a_prd(idea), design, planned, context, idea=idea)
    assert ("comes from the command line" in prompt) is asked
    assert ("prints a usage line and exits with status 2" in prompt) is asked
