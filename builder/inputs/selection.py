"""Choosing a project's dependency input, in a fixed order, and turning it into requirements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import UsageError

# Detection order: the most exact description of the environment wins.
DETECTION_ORDER = ("uv.lock", "poetry.lock", "Pipfile.lock", "requirements.txt", "pyproject.toml")


@dataclass(frozen=True)
class InputSelection:
    """What to build from: a requirements file the pipeline reads, and which input made it."""

    kind: str  # one of DETECTION_ORDER, or "requirements" for an explicit --requirements file
    source: Path | None  # the file the user has (lock, requirements, pyproject)
    requirements: Path | None  # what the pipeline reads (may be generated in a temp dir)
    warnings: tuple[str, ...] = field(default_factory=tuple)


def detect(project_dir: Path) -> Path | None:
    for name in DETECTION_ORDER:
        candidate = project_dir / name
        if candidate.is_file():
            return candidate
    return None


def select_input(project_dir: Path | None, *, requirements: Path | None = None,
                 input_file: Path | None = None, groups: tuple[str, ...] = (),
                 extras: tuple[str, ...] = (), package: str | None = None,
                 scratch: Path | None = None) -> InputSelection:
    """The explicit ``--requirements`` first, then ``--input``, then detection in order."""
    if requirements is not None:
        return InputSelection("requirements.txt", requirements, requirements)
    chosen = input_file or (detect(project_dir) if project_dir else None)
    if chosen is None:
        return InputSelection("none", None, None)
    if not chosen.is_file():
        raise UsageError(f"input file not found: {chosen}")
    if chosen.name.endswith(".txt") or chosen.name.endswith(".in"):
        return InputSelection("requirements.txt", chosen, chosen)
    raise UsageError(f"{chosen.name} inputs are not supported yet",
                     hint="pass --requirements FILE")
