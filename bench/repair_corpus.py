"""Run the structured-output ladder over the malformed-answer corpus and print what it recovered.

    python bench/repair_corpus.py

Per kind of malformation: how many answers were recovered (right values, expected markers), refused with the
expected failure kind, or failed; then how often each marker fired.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The corpus lives in tests/data and is imported the way the tests import it (tests/ on the path).
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from data.malformed_answers import CASES, Case  # noqa: E402

from devteam.structured.parse import ParseFailure, parse_structured  # noqa: E402

OUTCOMES = ("recovered", "refused", "failed")


def run_case(case: Case, markers: Counter[str]) -> tuple[str, str]:
    """The outcome of one case and, if it failed, why."""
    try:
        result = parse_structured(case.text, case.model, repair=True)
    except ParseFailure as failure:
        if case.expect == "refused" and {failure.kind} == case.markers:
            return "refused", ""
        return "failed", f"{failure.kind}: {failure.feedback}"
    markers.update(result.repairs)
    if case.expect == "refused":
        return "failed", f"accepted (repairs {result.repairs})"
    missing = case.markers - set(result.repairs)
    extra = set(result.repairs) - case.markers if case.exact else set()
    wrong = [path for path, expected in case.values.items() if _field(result.value, path) != expected]
    if missing or extra or wrong:
        return "failed", f"missing {sorted(missing)}, unexpected {sorted(extra)}, wrong values {wrong}"
    return "recovered", ""


def _field(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value[int(part)] if part.isdigit() else getattr(value, part)
    return value


def main() -> int:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    markers: Counter[str] = Counter()
    failures: list[str] = []
    for case in CASES:
        outcome, reason = run_case(case, markers)
        by_kind[case.kind][outcome] += 1
        if reason:
            failures.append(f"  {case.id}: {reason}")
    width = max(len(kind) for kind in by_kind)
    print(f"{'kind':<{width}}  {'cases':>5}  " + "  ".join(f"{name:>9}" for name in OUTCOMES))
    for kind, counts in by_kind.items():
        cells = "  ".join(f"{counts[name]:>9}" for name in OUTCOMES)
        print(f"{kind:<{width}}  {sum(counts.values()):>5}  {cells}")
    print("\nmarker                     fired")
    for marker, count in sorted(markers.items(), key=lambda item: (-item[1], item[0])):
        print(f"{marker:<26} {count:>5}")
    if failures:
        print("\nfailed cases:", *failures, sep="\n")
    totals = Counter(outcome for counts in by_kind.values() for outcome in counts.elements())
    print(
        f"\ncorpus: {totals['recovered']} recovered, {totals['refused']} refused, {totals['failed']} failed "
        f"({len(CASES)} cases)"
    )
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
