"""Benchmark: ordering a file plan whose dependencies are all cycles, the worst a model can send.

Every file of N depends on every other (N·(N-1) dependencies, N·(N-1)/2 of them must go). Prints the
seconds `build_levels` takes, the levels and the dependencies kept. Run from the repo root:
    python bench/file_plan_bench.py [--files 100 200 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devteam.artifacts.documents import PlannedFile
from devteam.artifacts.file_plan import build_levels


def complete_plan(size: int) -> list[PlannedFile]:
    names = [f"pkg/module_{index:03d}.py" for index in range(size)]
    return [
        PlannedFile(path=name, purpose="a module", depends_on=[other for other in names if other != name])
        for name in names
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[50, 100, 200, 300])
    args = parser.parse_args()
    print("file plan benchmark: every file depends on every other")
    print(f"{'files':>6}  {'dependencies':>12}  {'seconds':>8}  {'levels':>6}  {'kept':>8}")
    for size in args.files:
        plan = complete_plan(size)
        started = time.perf_counter()
        levels = build_levels(plan)
        seconds = time.perf_counter() - started
        kept = sum(len(deps) for deps in levels.dependencies.values())
        print(f"{size:>6}  {size * (size - 1):>12,}  {seconds:>8.3f}  {len(levels.levels):>6}  {kept:>8,}")


if __name__ == "__main__":
    main()
