"""The bench report: a table per model with MetaGPT's Table 1 columns plus ours; bench.json, bench.csv and
an optional PNG chart (matplotlib, the `plot` extra, imported only here and only when present)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

CSV_COLUMNS = (
    "model",
    "idea_number",
    "project",
    "status",
    "starts",
    "smoke",
    "needs",
    "tests_passed",
    "tests_total",
    "qa_rounds",
    "seconds",
    "cost",
    "prompt_tokens",
    "completion_tokens",
    "calls",
    "code_files",
    "lines_of_code",
    "reasks",
    "follow_ups",
    "repairs",
    "prompt_read_share",
    "cache_hit_share",
    "error",
)
PLOT_HINT = "the chart needs matplotlib: pip install -e '.[plot]' in a checkout (or pip install matplotlib)"


def model_totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One model's line of Table 1: executability and tests as fractions, the rest as means per project."""
    count = len(rows) or 1
    repairs: Counter[str] = Counter()
    for row in rows:
        repairs.update(row["repairs"])
    lines = sum(row["lines_of_code"] for row in rows)
    files = sum(row["code_files"] for row in rows)
    tokens = sum(row["prompt_tokens"] + row["completion_tokens"] for row in rows)
    return {
        "projects": len(rows),
        "finished": sum(1 for row in rows if row["status"] == "ok"),
        "starts": sum(1 for row in rows if row["starts"]),
        "tests_passed": sum(row["tests_passed"] for row in rows),
        "tests_total": sum(row["tests_total"] for row in rows),
        "mean_seconds": sum(row["seconds"] for row in rows) / count,
        "cost": sum(row["cost"] for row in rows),
        "mean_prompt_tokens": sum(row["prompt_tokens"] for row in rows) / count,
        "mean_completion_tokens": sum(row["completion_tokens"] for row in rows) / count,
        "mean_code_files": files / count,
        "mean_lines_of_code": lines / count,
        "lines_per_file": lines / files if files else 0.0,
        "tokens_per_line": tokens / lines if lines else 0.0,
        "reasks": sum(row["reasks"] for row in rows),
        "follow_ups": sum(row["follow_ups"] for row in rows),
        "repairs": dict(repairs.most_common()),
        "qa_rounds": sum(row["qa_rounds"] for row in rows),
    }


def by_model(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    models: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        models.setdefault(row["model"], []).append(row)
    return models


_HEADER = (
    "#",
    "project",
    "status",
    "starts",
    "tests",
    "time s",
    "cost $",
    "tokens in/out",
    "files",
    "LOC",
    "re-asks",
    "follow-ups",
    "repairs",
    "QA rounds",
    "prompt read",
    "cache hits",
)


def format_tables(rows: list[dict[str, Any]], sources: dict[str, str]) -> str:
    out: list[str] = []
    for model, model_rows in by_model(rows).items():
        totals = model_totals(model_rows)
        out.append(f"model {model} ({sources.get(model, '?')})")
        table = [list(_HEADER)]
        for row in model_rows:
            table.append(
                [
                    str(row["idea_number"]),
                    row["project"],
                    row["status"],
                    _starts(row),
                    f"{row['tests_passed']}/{row['tests_total']}",
                    f"{row['seconds']:.1f}",
                    f"{row['cost']:.4f}",
                    f"{row['prompt_tokens']:,}/{row['completion_tokens']:,}",
                    str(row["code_files"]),
                    str(row["lines_of_code"]),
                    str(row["reasks"]),
                    str(row["follow_ups"]),
                    str(sum(row["repairs"].values())),
                    str(row["qa_rounds"]),
                    _share(row.get("prompt_read_share")),
                    _share(row.get("cache_hit_share")),
                ]
            )
        table.append(
            [
                "all",
                f"{totals['projects']} projects",
                f"{totals['finished']} ok",
                f"{totals['starts']}/{totals['projects']}",
                f"{totals['tests_passed']}/{totals['tests_total']}",
                f"{totals['mean_seconds']:.1f}",
                f"{totals['cost']:.4f}",
                f"{totals['mean_prompt_tokens']:,.0f}/{totals['mean_completion_tokens']:,.0f}",
                f"{totals['mean_code_files']:.1f}",
                f"{totals['mean_lines_of_code']:.0f}",
                str(totals["reasks"]),
                str(totals["follow_ups"]),
                str(sum(totals["repairs"].values())),
                str(totals["qa_rounds"]),
                _share(_mean_share(model_rows, "prompt_read_share")),
                _share(_mean_share(model_rows, "cache_hit_share")),
            ]
        )
        out.append(_align(table))
        out.append(
            f"executability {totals['starts']}/{totals['projects']} programs start; tests passing "
            f"{totals['tests_passed']}/{totals['tests_total']}; {totals['lines_per_file']:.1f} lines per file; "
            f"{totals['tokens_per_line']:.0f} tokens per line (time and tokens are means per project)"
        )
        repairs = ", ".join(f"{kind} x{count}" for kind, count in totals["repairs"].items()) or "none"
        out.append(f"repairs by kind: {repairs}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _share(value: Any) -> str:
    """A share from the runs' summaries (prompt-read time, cache hits), or "-" where no server said."""
    return f"{value:.0%}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def _mean_share(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if isinstance(row.get(key), (int, float))]
    return sum(values) / len(values) if values else None


def _starts(row: dict[str, Any]) -> str:
    if row["starts"]:
        return "yes"
    if row["needs"]:
        return "needs " + ",".join(row["needs"])
    return row["smoke"] or "no"


def _align(table: list[list[str]]) -> str:
    widths = [max(len(line[column]) for line in table) for column in range(len(table[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table)


def write_json(path: Path, rows: list[dict[str, Any]], sources: dict[str, str]) -> None:
    """bench.json: every project's row (what a resumed bench reads back) and each model's totals."""
    data = {
        "version": 1,
        "models": {
            model: {"config": sources.get(model), **model_totals(model_rows)}
            for model, model_rows in by_model(rows).items()
        },
        "projects": rows,
    }
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)  # a Ctrl-C mid-write never leaves a half file to resume from


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    **row,
                    "needs": ";".join(row["needs"]),
                    "repairs": ";".join(f"{kind}:{count}" for kind, count in row["repairs"].items()),
                }
            )


def write_chart(path: Path, rows: list[dict[str, Any]]) -> str | None:
    """The PNG comparing the models; returns why there is none (matplotlib missing), else None."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return PLOT_HINT
    models = by_model(rows)
    names = list(models)
    totals = [model_totals(models[name]) for name in names]
    figure, (rates, times) = plt.subplots(1, 2, figsize=(10, 4))
    positions = range(len(names))
    starts = [100 * t["starts"] / max(t["projects"], 1) for t in totals]
    passing = [100 * t["tests_passed"] / max(t["tests_total"], 1) for t in totals]
    rates.bar([p - 0.2 for p in positions], starts, width=0.4, label="programs that start")
    rates.bar([p + 0.2 for p in positions], passing, width=0.4, label="tests passing")
    rates.set_xticks(list(positions), names)
    rates.set_ylim(0, 100)
    rates.set_ylabel("%")
    rates.legend()
    times.bar(list(positions), [t["mean_seconds"] for t in totals])
    times.set_xticks(list(positions), names)
    times.set_ylabel("mean seconds per project")
    figure.suptitle("metagpt bench")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return None
