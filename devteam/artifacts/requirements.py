"""Requirements are names: a model's `required_packages` (or its `requirements.txt`) reaches pip only as PEP 508
requirements, parsed by `packaging`.

pip reads a requirements file as a command line: `-e evilpkg` builds and runs a package's setup.py,
`--index-url http://…` sends pip to the model's server, `-r /any/file` makes pip read it, and `name @ URL` (a
direct reference) downloads whatever the URL holds. None of that is a package name, so none of it passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement


@dataclass
class CheckedRequirements:
    """The requirements pip may see (normalised text), and each refused line with the reason."""

    kept: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def refusal(line: str) -> str | None:
    """Why `line` is not a plain requirement, or None when it is one."""
    text = line.strip()
    if not text:
        return "it is empty"
    if text.startswith("-"):
        return "it is a pip option, not a package name"
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return "it is not a PEP 508 requirement (name, extras, version, markers)"
    if requirement.url:
        return "it is a direct reference (a URL or path), not a package from the index"
    return None


def check_requirements(lines: list[str]) -> CheckedRequirements:
    """Each line's comment dropped, blank lines skipped, the rest kept or refused."""
    checked = CheckedRequirements()
    for raw in lines:
        text = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not text:
            continue
        reason = refusal(text)
        if reason is None:
            normalised = str(Requirement(text))
            if normalised not in checked.kept:
                checked.kept.append(normalised)
        else:
            checked.refused.append((text, reason))
    return checked


REFUSED_MARKER = "repair_requirement_refused"


def requirements_file(packages: list[str]) -> tuple[str, CheckedRequirements]:
    """The text of `requirements.txt` for a design's `required_packages`: only what `check_requirements` keeps
    (one requirement a line), so the file never holds an option, a URL or a path; and what was refused."""
    checked = check_requirements(packages)
    return "\n".join(checked.kept) or "# standard library only", checked
