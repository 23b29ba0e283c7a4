"""Float equalities in tests compared with pytest.approx (the 0.5B's unit-converter tests, bench suite idea 5)."""

from __future__ import annotations

from pathlib import Path

from cli_runner import pytest_output

from devteam.artifacts.float_asserts import with_approx_floats
from devteam.artifacts.missing_imports import with_module_imports

CONVERTER = "def celsius_to_fahrenheit(celsius):\n    return celsius * 9 / 5 + 32\n"
# As the 0.5B wrote such tests, on a right converter: 36.6 * 9 / 5 + 32 is 97.88000000000001.
TESTS = (
    "from main import celsius_to_fahrenheit\n\n\n"
    "def test_body_temperature():\n"
    '    assert celsius_to_fahrenheit(36.6) == 97.88, "Test failed for Celsius to Fahrenheit conversion"\n'
)


def test_a_float_compared_with_equals_is_compared_with_approx_and_passes(tmp_path: Path) -> None:
    fixed, changed = with_approx_floats(TESTS)
    fixed, _ = with_module_imports(fixed, test_file=True)  # as WriteTests does: `pytest` is imported

    assert changed == 1
    assert "assert celsius_to_fahrenheit(36.6) == pytest.approx(97.88), " in fixed and "import pytest\n" in fixed
    assert "1 failed" in pytest_output(tmp_path, CONVERTER, TESTS)
    assert "1 passed" in pytest_output(tmp_path, CONVERTER, fixed)


def test_what_is_wrapped_and_what_is_not() -> None:
    tests = (
        "def test_all():\n"
        "    assert convert(32) == (32 - 32) * 5 / 9\n"
        "    assert 0.5 == half()\n"
        "    assert pair() == (0.1, 2)\n"
        "    assert fahrenheit(\n        -40\n    ) != -40.0\n"
        "    assert count() == 3\n"
        "    assert name() == 'x'\n"
        "    assert f(1.5) == g(2.5)\n"
        "    assert 1.5 == 1.5\n"
        "    assert total() == 10 // 4\n"
    )
    fixed, changed = with_approx_floats(tests)

    assert changed == 4
    assert "convert(32) == pytest.approx((32 - 32) * 5 / 9)" in fixed
    assert "pytest.approx(0.5) == half()" in fixed
    assert "pair() == pytest.approx((0.1, 2))" in fixed
    assert ") != pytest.approx(-40.0)" in fixed
    # ints, strings, two computed sides, two literals and floor division stay as written
    for kept in ("count() == 3", "name() == 'x'", "f(1.5) == g(2.5)", "1.5 == 1.5", "total() == 10 // 4"):
        assert f"assert {kept}" in fixed
    assert with_approx_floats("def test_(:\n") == ("def test_(:\n", 0)
