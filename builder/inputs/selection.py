"""Choosing a project's dependency input, in a fixed order, and turning it into requirements."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import UsageError
from builder.inputs.draft import Draft, write_draft
from builder.inputs.project import load_toml, table

# Detection order: the most exact description of the environment wins.
DETECTION_ORDER = ("uv.lock", "poetry.lock", "Pipfile.lock", "requirements.txt", "pyproject.toml")
# Inputs whose requirements list every dependency, pinned: nothing is left for pip to resolve.
LOCK_KINDS = frozenset({"uv.lock", "poetry.lock", "Pipfile.lock"})


@dataclass(frozen=True)
class InputSelection:
    """What to build from: a requirements file the pipeline reads, and which input made it."""

    kind: str  # one of DETECTION_ORDER, or "none"
    source: Path | None  # the file the user has (lock, requirements, pyproject)
    requirements: Path | None  # what the pipeline reads (may be generated in a temp dir)
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # False when the project itself is built into a wheel: copying its tree over the bundle
    # too would ship src/, tests and the lock (and a src/ layout would not import).
    copy_source: bool = True
    # A workspace member that is not a package: its directory is copied instead of SOURCE_DIR.
    application_dir: Path | None = None


def detect(project_dir: Path) -> Path | None:
    for name in DETECTION_ORDER:
        candidate = project_dir / name
        if candidate.is_file():
            return candidate
    return None


def input_kind(path: Path) -> str:
    if path.name in DETECTION_ORDER:
        return path.name
    if path.suffix in (".txt", ".in"):
        return "requirements.txt"
    if path.name == "Pipfile":
        raise UsageError(
            "a Pipfile is not locked: lambda-builder installs what Pipfile.lock pins",
            hint="run `pipenv lock` and pass Pipfile.lock",
        )
    raise UsageError(
        f"cannot tell what kind of input {path.name} is",
        hint=f"pass one of {', '.join(DETECTION_ORDER)} (any *.txt or *.in is "
        "read as a requirements file)",
    )


def _reject(
    kind: str, groups: tuple[str, ...], extras: tuple[str, ...], package: str | None
) -> None:
    """Options a kind of input cannot honour are errors, not silently ignored."""
    unsupported = {
        "requirements.txt": ("--group", "--extra", "--package"),
        "none": ("--group", "--extra", "--package"),
        "poetry.lock": ("--package",),
        "Pipfile.lock": ("--extra", "--package"),
        "pyproject.toml": ("--package",),
    }.get(kind, ())
    given = {"--group": bool(groups), "--extra": bool(extras), "--package": bool(package)}
    used = [option for option in unsupported if given[option]]
    if used:
        what = "no input" if kind == "none" else f"a {kind} input"
        raise UsageError(
            f"{' and '.join(used)} cannot be used with {what}",
            hint="--package selects a uv workspace member; --group and --extra "
            "apply to uv.lock, poetry.lock, Pipfile.lock (groups only) and "
            "pyproject.toml",
        )


def _scratch(scratch: Path | None) -> Path:
    """A private directory for the generated file; removed at exit when the caller gave none."""
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="input-", dir=scratch))
    created = Path(tempfile.mkdtemp(prefix="lambda-builder-input-"))
    atexit.register(shutil.rmtree, created, True)
    return created


def _convert(
    kind: str,
    path: Path,
    work: Path,
    groups: tuple[str, ...],
    extras: tuple[str, ...],
    package: str | None,
) -> tuple[Draft, Path | None]:
    # Imported for the input at hand: a requirements.txt build loads none of the lock models.
    from builder.inputs import pipfile_lock, poetry_lock, pyproject_input, uv_lock

    if kind == "uv.lock":
        uv = uv_lock.convert(path, work, groups=groups, extras=extras, package=package)
        return uv.draft, uv.application
    if kind == "poetry.lock":
        poetry = poetry_lock.convert(path, groups=groups, extras=extras)
        return poetry.draft, poetry.application
    if kind == "Pipfile.lock":
        pipenv = pipfile_lock.convert(path, groups=groups)
        return pipenv.draft, pipenv.application
    pyproject = pyproject_input.convert(path, groups=groups, extras=extras)
    return pyproject.draft, pyproject.application


def _detected_without_project(chosen: Path) -> InputSelection | None:
    """A detected pyproject.toml that only configures tools names nothing to install."""
    pyproject = load_toml(chosen)
    if "project" in pyproject:
        return None
    if table(pyproject, "tool", "poetry", "dependencies"):
        raise UsageError(
            f"{chosen} is a Poetry project without poetry.lock",
            hint="run `poetry lock`, then build again",
        )
    return InputSelection(
        "none", None, None, (f"{chosen} has no [project] table: no dependencies to install",)
    )


def select_input(
    project_dir: Path | None,
    *,
    requirements: Path | None = None,
    input_file: Path | None = None,
    groups: tuple[str, ...] = (),
    extras: tuple[str, ...] = (),
    package: str | None = None,
    scratch: Path | None = None,
) -> InputSelection:
    """The explicit ``--requirements`` first, then ``--input``, then detection in order."""
    if requirements is not None and input_file is not None:
        raise UsageError(
            "--requirements and --input both name the input", hint="pass only one of them"
        )
    if requirements is not None:
        _reject("requirements.txt", groups, extras, package)
        return InputSelection("requirements.txt", requirements, requirements)
    chosen = input_file or (detect(project_dir) if project_dir else None)
    if chosen is None:
        _reject("none", groups, extras, package)
        return InputSelection("none", None, None)
    if not chosen.is_file():
        raise UsageError(f"input file not found: {chosen}")
    kind = input_kind(chosen)
    if kind == "pyproject.toml" and input_file is None:
        bare = _detected_without_project(chosen)
        if bare is not None:
            _reject("none", groups, extras, package)
            return bare
    _reject(kind, groups, extras, package)
    if kind == "requirements.txt":
        return InputSelection(kind, chosen, chosen)
    work = _scratch(scratch)
    draft, application = _convert(kind, chosen, work, groups, extras, package)
    generated = write_draft(draft, work / "requirements.txt")
    member = application if application not in (None, chosen.parent.resolve()) else None
    return InputSelection(
        kind,
        chosen.resolve(),
        generated,
        tuple(draft.warnings),
        copy_source=application is not None,
        application_dir=member,
    )
