"""A run's summary as lines of text: one renderer for the summary a run prints and the one `metagpt logs` shows.

Both read the same summary data (`run.summary.build_summary`, also kept as `.devteam/summary.json`), so the
console after a run and `metagpt logs` afterwards never disagree on what a figure means or how it is worded.
"""

from __future__ import annotations

from typing import Any

from devteam.llm.usage import cost_text


def figure(value: Any, form: str) -> str:
    """A timing or cache figure, or "-" where the server and the stream did not say (older records too)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    return form.format(value)


def share(value: Any) -> str:
    return f"{float(value):.0%}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def format_timing(timing: dict[str, Any]) -> str:
    """One line: model time, the share of it spent reading prompts, the cache's share of prompt tokens."""
    model_s = timing.get("model_seconds")
    parts = [f"{float(model_s):.1f}s in the model" if isinstance(model_s, (int, float)) else "model time -"]
    parts.append(f"prompt reading {share(timing.get('prompt_read_share'))}")
    parts.append(f"cache hits {share(timing.get('cache_hit_share'))} of prompt tokens")
    ttft, speed = timing.get("median_first_token_s"), timing.get("tokens_per_s")
    parts.append(f"TTFT {figure(ttft, '{:.2f}')}s (median)")
    parts.append(f"{figure(speed, '{:.1f}')} tokens/s")
    return ", ".join(parts)


def usage_lines(summary: dict[str, Any]) -> list[str]:
    """Calls and tokens, where the model's time went, retries and follow-ups, repairs, QA rounds, the box."""
    calls = summary.get("calls", 0)
    failed = f" ({summary['failed_calls']} without an answer)" if summary.get("failed_calls") else ""
    lines = [
        f"LLM:      {calls} call{'' if calls == 1 else 's'}{failed}, {summary.get('prompt_tokens', 0):,} prompt + "
        f"{summary.get('completion_tokens', 0):,} completion tokens, "
        f"{cost_text(float(summary.get('cost') or 0), known=summary.get('cost_known', True) is not False)}"
    ]
    timing = summary.get("timing")
    if isinstance(timing, dict) and timing.get("model_seconds"):
        lines.append(f"Time:     {format_timing(timing)}")
    lines.append(
        f"Retries:  {summary.get('retries', 0)}, re-asks: {summary.get('reasks', 0)}, "
        f"field follow-ups: {summary.get('field_followups', 0)}"
    )
    repairs = summary.get("repairs") or {}
    lines.append("Repairs:  " + (", ".join(f"{kind} x{count}" for kind, count in sorted(repairs.items())) or "none"))
    qa = summary.get("qa") or {}
    for result in qa.get("rounds") or []:
        smoke = f", entry point: {result['smoke']}" if result.get("smoke") else ""
        needs = f", needs {', '.join(result['needs'])}" if result.get("needs") else ""
        lines.append(
            f"QA:       round {result.get('round')}: {result.get('tests_passed', 0)} tests passed, "
            f"{result.get('tests_failed', 0)} failed{smoke}{needs}"
        )
    if qa.get("sandbox"):
        lines.append(f"Sandbox:  {qa['sandbox']}")
    return lines


def files_line(summary: dict[str, Any]) -> str:
    files = summary.get("files") or {}

    def listed(key: str, label: str) -> str:
        paths = files.get(key) or []
        return f", {len(paths)} {label} ({', '.join(paths)})" if paths else ""

    return (
        f"Files:    {len(files.get('written') or [])} written"
        + listed("refused", "refused")
        + listed("kept_local_changes", "kept with local changes")
        + listed("not_compiling", "not compiling")
    )
