"""The benchmark's 8-file plan: a small shop inventory program whose files really import each other.

Each file is what a model would be asked to write; the scripted server answers with it. The files fit
together (the generated project's tests pass and `python -m app` runs), so the benchmark can check that
each prompt gave its file what it uses from the others.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the scripted answers

from scripted_company import ScriptedCompany, ScriptedFile, design_answer

CONFIG = '''"""Settings of the shop: tax rate, currency and where the inventory is stored."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TAX_RATE = 0.2
DEFAULT_STORE = "inventory.json"


@dataclass
class Settings:
    """Everything the program can be configured with; read once at start."""

    tax_rate: float = DEFAULT_TAX_RATE
    currency: str = "EUR"
    store_path: Path = field(default_factory=lambda: Path(DEFAULT_STORE))
    max_quantity: int = 999

    def with_overrides(self, **changes: object) -> "Settings":
        """A copy with the given fields replaced (unknown names are an error)."""
        values = {**self.__dict__}
        for name, value in changes.items():
            if name not in values:
                raise KeyError(f"unknown setting {name!r}")
            values[name] = value
        return Settings(**values)


def load_settings(path: Path | None = None, *, environ: dict[str, str] | None = None) -> Settings:
    """Settings from a JSON file (when it exists), then SHOP_TAX_RATE / SHOP_CURRENCY from the environment."""
    environ = dict(os.environ) if environ is None else environ
    settings = Settings()
    if path is not None and path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        if "store_path" in data:
            data["store_path"] = Path(data["store_path"])
        settings = settings.with_overrides(**data)
    if "SHOP_TAX_RATE" in environ:
        settings = settings.with_overrides(tax_rate=float(environ["SHOP_TAX_RATE"]))
    if "SHOP_CURRENCY" in environ:
        settings = settings.with_overrides(currency=environ["SHOP_CURRENCY"].upper())
    return settings
'''

MODEL = '''"""The inventory's data: items and the collection that holds them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Item:
    """One product line: a unique SKU, a name, a unit price in cents and a quantity in stock."""

    sku: str
    name: str
    price_cents: int
    quantity: int = 0

    def with_quantity(self, quantity: int) -> "Item":
        """The same item with another stock count."""
        return Item(self.sku, self.name, self.price_cents, quantity)

    @property
    def value_cents(self) -> int:
        """What the stock of this item is worth."""
        return self.price_cents * self.quantity


@dataclass
class Inventory:
    """Items by SKU, in the order they were added."""

    items: dict[str, Item] = field(default_factory=dict)

    def get(self, sku: str) -> Item | None:
        return self.items.get(sku)

    def put(self, item: Item) -> None:
        """Add the item, or replace the one with the same SKU."""
        self.items[item.sku] = item

    def remove(self, sku: str) -> Item:
        """Take the item out; KeyError when there is none."""
        return self.items.pop(sku)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(list(self.items.values()))

    def total_value_cents(self) -> int:
        """The value of everything in stock."""
        return sum(item.value_cents for item in self.items.values())
'''

RULES = '''"""Business rules: what may enter the inventory, and what things cost with tax."""

from __future__ import annotations

import re

from core.model import Inventory, Item

SKU_PATTERN = re.compile(r"^[A-Z]{3}-[0-9]{4}$")


class RuleError(ValueError):
    """An item or a change the rules refuse; the message says which rule."""


def validate_item(item: Item, *, max_quantity: int = 999) -> None:
    """Raise RuleError unless the SKU has the shape ABC-1234, the name is set, price and quantity make sense."""
    if not SKU_PATTERN.match(item.sku):
        raise RuleError(f"SKU {item.sku!r} must look like ABC-1234")
    if not item.name.strip():
        raise RuleError("an item needs a name")
    if item.price_cents <= 0:
        raise RuleError(f"price of {item.sku} must be positive")
    if not 0 <= item.quantity <= max_quantity:
        raise RuleError(f"quantity of {item.sku} must be between 0 and {max_quantity}")


def can_add(inventory: Inventory, item: Item) -> bool:
    """An item may be added when no item with its SKU is in the inventory yet."""
    return inventory.get(item.sku) is None


def price_with_tax(price_cents: int, tax_rate: float) -> int:
    """The price a customer pays, rounded to the nearest cent (half up)."""
    if tax_rate < 0:
        raise RuleError("tax rate cannot be negative")
    return int(price_cents * (1 + tax_rate) + 0.5)


def restock(item: Item, amount: int, *, max_quantity: int = 999) -> Item:
    """The item with `amount` more in stock; RuleError past the maximum or for a negative amount."""
    if amount < 0:
        raise RuleError("restock by a positive amount")
    if item.quantity + amount > max_quantity:
        raise RuleError(f"{item.sku} would hold more than {max_quantity}")
    return item.with_quantity(item.quantity + amount)
'''

STORAGE = '''"""Saving and loading the inventory as JSON, written atomically so a crash never leaves half a file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from core.config import Settings


class StorageError(OSError):
    """The inventory file cannot be read or written; the message names the file."""


class Storage:
    """Reads and writes plain records (dicts) at the settings' store path."""

    def __init__(self, settings: Settings) -> None:
        self.path = Path(settings.store_path)

    def load_records(self) -> list[dict[str, object]]:
        """The saved records, or an empty list when nothing was saved yet."""
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise StorageError(f"cannot read {self.path}: {error}") from error
        if not isinstance(data, list):
            raise StorageError(f"{self.path} does not hold a list of records")
        return data

    def save_records(self, records: list[dict[str, object]]) -> None:
        """Replace the file with these records (write a temporary file, then rename it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, encoding="utf-8") as handle:
                json.dump(records, handle, indent=1)
            os.replace(handle.name, self.path)
        except OSError as error:
            raise StorageError(f"cannot write {self.path}: {error}") from error
'''

ENGINE = '''"""The shop's operations: the one place that applies the rules and keeps the store up to date."""

from __future__ import annotations

from core.config import Settings
from core.model import Inventory, Item
from core.rules import RuleError, can_add, price_with_tax, restock, validate_item
from core.storage import Storage


class Engine:
    """Holds the inventory in memory; every change is checked by the rules and saved at once."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.settings = settings
        self.storage = storage or Storage(settings)
        self.inventory = Inventory()
        for record in self.storage.load_records():
            self.inventory.put(Item(**record))

    def add_item(self, sku: str, name: str, price_cents: int, quantity: int = 0) -> Item:
        """Add a new product line; RuleError when it breaks a rule or its SKU is taken."""
        item = Item(sku.upper(), name.strip(), price_cents, quantity)
        validate_item(item, max_quantity=self.settings.max_quantity)
        if not can_add(self.inventory, item):
            raise RuleError(f"{item.sku} is already in the inventory")
        self.inventory.put(item)
        self._save()
        return item

    def restock(self, sku: str, amount: int) -> Item:
        """Put `amount` more of an item in stock."""
        item = restock(self._existing(sku), amount, max_quantity=self.settings.max_quantity)
        self.inventory.put(item)
        self._save()
        return item

    def sell(self, sku: str, amount: int = 1) -> int:
        """Take `amount` out of stock and return what the customer pays, tax included, in cents."""
        item = self._existing(sku)
        if amount <= 0 or amount > item.quantity:
            raise RuleError(f"cannot sell {amount} of {sku}: {item.quantity} in stock")
        self.inventory.put(item.with_quantity(item.quantity - amount))
        self._save()
        return price_with_tax(item.price_cents, self.settings.tax_rate) * amount

    def remove_item(self, sku: str) -> Item:
        item = self.inventory.remove(self._existing(sku).sku)
        self._save()
        return item

    def items(self) -> list[Item]:
        """The items, in the order they were added."""
        return list(self.inventory)

    def _existing(self, sku: str) -> Item:
        item = self.inventory.get(sku.upper())
        if item is None:
            raise RuleError(f"no item {sku}")
        return item

    def _save(self) -> None:
        self.storage.save_records([item.__dict__ for item in self.inventory])
'''

RENDER = '''"""Text output: the inventory as an aligned table, prices as money."""

from __future__ import annotations

from core.model import Inventory, Item

COLUMNS = ("SKU", "Name", "Price", "Qty", "Value")


def money(cents: int, currency: str = "EUR") -> str:
    """12345 -> '123.45 EUR'."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d} {currency}"


def render_item(item: Item, currency: str = "EUR") -> list[str]:
    """One table row for an item."""
    return [item.sku, item.name, money(item.price_cents, currency), str(item.quantity),
            money(item.value_cents, currency)]


def render_inventory(inventory: Inventory, currency: str = "EUR") -> str:
    """The whole inventory as a table with a total line; a short message when it is empty."""
    if len(inventory) == 0:
        return "The inventory is empty."
    rows = [list(COLUMNS)] + [render_item(item, currency) for item in inventory]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append(f"Total value: {money(inventory.total_value_cents(), currency)}")
    return "\\n".join(lines)
'''

MAIN = '''"""Command line of the shop: `python -m app add ABC-0001 "Tea" 450 10`, `list`, `sell`, `restock`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.engine import Engine
from app.render import money, render_inventory
from core.config import load_settings
from core.rules import RuleError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shop", description="A tiny shop inventory.")
    parser.add_argument("--store", type=Path, help="inventory file (default from the settings)")
    commands = parser.add_subparsers(dest="command")
    add = commands.add_parser("add")
    add.add_argument("sku")
    add.add_argument("name")
    add.add_argument("price_cents", type=int)
    add.add_argument("quantity", type=int, nargs="?", default=0)
    for name in ("sell", "restock"):
        command = commands.add_parser(name)
        command.add_argument("sku")
        command.add_argument("amount", type=int, nargs="?", default=1)
    commands.add_parser("list")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings(Path("shop.json"))
    if args.store is not None:
        settings = settings.with_overrides(store_path=args.store)
    engine = Engine(settings)
    try:
        if args.command == "add":
            engine.add_item(args.sku, args.name, args.price_cents, args.quantity)
        elif args.command == "sell":
            print(f"Paid: {money(engine.sell(args.sku, args.amount), settings.currency)}")
        elif args.command == "restock":
            engine.restock(args.sku, args.amount)
    except RuleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(render_inventory(engine.inventory, settings.currency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

TESTS = '''"""The rules, checked on their own."""

import pytest

from core.model import Inventory, Item
from core.rules import RuleError, can_add, price_with_tax, restock, validate_item


def test_a_valid_item_passes() -> None:
    validate_item(Item("TEA-0001", "Tea", 450, 3))


@pytest.mark.parametrize("item", [Item("tea-1", "Tea", 450), Item("TEA-0001", " ", 450),
                                  Item("TEA-0001", "Tea", 0), Item("TEA-0001", "Tea", 450, -1)])
def test_invalid_items_are_refused(item: Item) -> None:
    with pytest.raises(RuleError):
        validate_item(item)


def test_a_sku_is_added_once() -> None:
    inventory = Inventory()
    item = Item("TEA-0001", "Tea", 450)
    assert can_add(inventory, item)
    inventory.put(item)
    assert not can_add(inventory, item)


def test_tax_rounds_half_up() -> None:
    assert price_with_tax(450, 0.2) == 540
    assert price_with_tax(5, 0.1) == 6


def test_restock_stops_at_the_maximum() -> None:
    item = Item("TEA-0001", "Tea", 450, 990)
    assert restock(item, 9).quantity == 999
    with pytest.raises(RuleError):
        restock(item, 10)
'''

EIGHT_FILES = [
    ScriptedFile(
        "core/config.py",
        CONFIG,
        [],
        "Settings (tax_rate, currency, store_path, max_quantity) and "
        "load_settings(path, environ) from a JSON file and the environment",
    ),
    ScriptedFile(
        "core/model.py",
        MODEL,
        [],
        "Item (sku, name, price_cents, quantity; with_quantity(), value_cents) "
        "and Inventory (get(), put(), remove(), total_value_cents())",
    ),
    ScriptedFile(
        "core/rules.py",
        RULES,
        ["core/model.py"],
        "RuleError, validate_item(), can_add(), price_with_tax(), restock(): the business rules",
    ),
    ScriptedFile(
        "core/storage.py",
        STORAGE,
        ["core/config.py"],
        "Storage(settings): load_records(), save_records() as JSON, atomically; StorageError",
    ),
    ScriptedFile(
        "app/engine.py",
        ENGINE,
        ["core/config.py", "core/model.py", "core/rules.py", "core/storage.py"],
        "Engine(settings, storage): add_item(), restock(), sell(), remove_item(), items()",
    ),
    ScriptedFile(
        "app/render.py",
        RENDER,
        ["core/model.py"],
        "money(), render_item(), render_inventory(): the inventory as a text table",
    ),
    ScriptedFile(
        "app/__main__.py",
        MAIN,
        ["app/engine.py", "app/render.py", "core/config.py", "core/rules.py"],
        "the command line: build_parser(), main(argv) with add, sell, restock and list",
    ),
    ScriptedFile("tests/test_rules.py", TESTS, ["core/model.py", "core/rules.py"], "pytest tests of the rules"),
]

CLASS_DIAGRAM = """classDiagram
    class Settings {
        +float tax_rate
        +str currency
        +Path store_path
        +int max_quantity
        +with_overrides(**changes) Settings
    }
    class Item {
        +str sku
        +str name
        +int price_cents
        +int quantity
        +with_quantity(quantity) Item
        +value_cents() int
    }
    class Inventory {
        +dict items
        +get(sku) Item
        +put(item) None
        +remove(sku) Item
        +total_value_cents() int
    }
    class Rules {
        +validate_item(item, max_quantity) None
        +can_add(inventory, item) bool
        +price_with_tax(price_cents, tax_rate) int
        +restock(item, amount, max_quantity) Item
    }
    class RuleError
    class Storage {
        +Path path
        +load_records() list
        +save_records(records) None
    }
    class StorageError
    class Engine {
        +Settings settings
        +Storage storage
        +Inventory inventory
        +add_item(sku, name, price_cents, quantity) Item
        +restock(sku, amount) Item
        +sell(sku, amount) int
        +remove_item(sku) Item
        +items() list
    }
    class Render {
        +money(cents, currency) str
        +render_item(item, currency) list
        +render_inventory(inventory, currency) str
    }
    class Main {
        +build_parser() ArgumentParser
        +main(argv) int
    }
    Inventory "1" o-- "*" Item
    Engine --> Settings
    Engine --> Storage
    Engine --> Inventory
    Engine ..> Rules
    Storage --> Settings
    Rules ..> Item
    Render ..> Inventory
    Main --> Engine
    Main ..> Render
    RuleError --|> ValueError
    StorageError --|> OSError"""

CALL_FLOW = """sequenceDiagram
    participant User
    participant Main
    participant Settings
    participant Engine
    participant Storage
    participant Rules
    participant Render
    User->>Main: python -m app add TEA-0001 Tea 450 10
    Main->>Settings: load_settings(shop.json)
    Main->>Engine: Engine(settings)
    Engine->>Storage: load_records()
    Storage-->>Engine: records
    alt add
        Main->>Engine: add_item(sku, name, price_cents, quantity)
        Engine->>Rules: validate_item(item, max_quantity)
        Engine->>Rules: can_add(inventory, item)
        Engine->>Storage: save_records(records)
    else sell
        Main->>Engine: sell(sku, amount)
        Engine->>Rules: price_with_tax(price_cents, tax_rate)
        Engine->>Storage: save_records(records)
    else restock
        Main->>Engine: restock(sku, amount)
        Engine->>Rules: restock(item, amount, max_quantity)
    end
    Main->>Render: render_inventory(inventory, currency)
    Render-->>Main: table
    Main-->>User: print(table)"""


class ShopCompany(ScriptedCompany):
    """The scripted answers, with a design whose diagrams are as full as a real Architect's."""

    def __init__(self) -> None:
        super().__init__(EIGHT_FILES, project_name="shop")

    def design_text(self) -> str:
        import json

        design = design_answer(list(self.files.values()))
        design.update(
            implementation_approach="Standard library only. The core (config, model, rules, storage) knows "
            "nothing of the command line; the engine applies the rules and saves after every change; the "
            "command line and the text rendering sit on top.",
            data_structures_and_interfaces=CLASS_DIAGRAM,
            program_call_flow=CALL_FLOW,
        )
        return json.dumps(design, indent=2)

    def prd_text(self) -> str:
        import json

        from scripted_company import prd_answer

        prd = prd_answer(self.project_name)
        prd.update(
            original_requirements=IDEA,
            product_goals=["Keep a shop's stock and prices in one place", "Sell with the right tax"],
            user_stories=[
                "As a shopkeeper, I want to add products so that I can sell them",
                "As a shopkeeper, I want to see the stock's value so that I know what I hold",
            ],
            competitive_analysis=["A spreadsheet: flexible, no rules", "A cash register: rules, no overview"],
            requirement_analysis="Products with unique SKUs, stock counts, tax on sales, a saved inventory.",
            requirement_pool=[
                {"requirement": "Add, restock, sell and remove products", "priority": "P0"},
                {"requirement": "Refuse invalid SKUs, prices and quantities", "priority": "P0"},
                {"requirement": "Show the inventory as a table with its value", "priority": "P1"},
            ],
            ui_design_draft="A command line: add, sell, restock, list; a table after each command.",
        )
        return json.dumps(prd, indent=2)


IDEA = "a shop inventory on the command line"
