"""``pyproject.toml`` without a lock: ``[project]`` dependencies, extras and groups, unpinned."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.errors import InputError, UsageError
from builder.inputs.draft import Draft, Pin
from builder.inputs.indexes import poetry_indexes, uv_indexes
from builder.inputs.project import (
    dependency_group,
    has_build_system,
    load_toml,
    optional_dependencies,
    table,
)


@dataclass(frozen=True)
class PyprojectConversion:
    draft: Draft
    application: Path | None


def _warnings(pyproject: Mapping[str, Any]) -> list[str]:
    found = []
    if table(pyproject, "tool", "uv", "sources") or table(pyproject, "tool", "uv", "workspace"):
        found.append(
            "pyproject.toml uses [tool.uv.sources] or a uv workspace, which pip does "
            "not understand: run `uv lock` so the build uses uv.lock"
        )
    if table(pyproject, "tool", "poetry", "dependencies"):
        found.append(
            "pyproject.toml has [tool.poetry.dependencies]: run `poetry lock` so the "
            "build uses poetry.lock"
        )
    return found


def requirements(
    pyproject: Mapping[str, Any],
    root: Path,
    *,
    is_package: bool,
    groups: Sequence[str],
    extras: Sequence[str],
) -> list[str]:
    """The project itself (with its extras) when it is a package, else its dependency list."""
    project = table(pyproject, "project")
    wanted: list[str] = []
    if is_package:
        suffix = f"[{','.join(extras)}]" if extras else ""
        for extra in extras:
            optional_dependencies(pyproject, extra)  # an unknown extra is an error here too
        wanted.append(f"{root}{suffix}")
    else:
        if "dependencies" in project.get("dynamic", []):
            raise InputError(
                "pyproject.toml declares its dependencies dynamic, and the "
                "project has no [build-system] to compute them",
                hint="declare a [build-system], or list the dependencies",
            )
        wanted += [str(item) for item in project.get("dependencies", [])]
        for extra in extras:
            wanted += optional_dependencies(pyproject, extra)
    for group in groups:
        wanted += dependency_group(pyproject, group)
    return wanted


def convert(
    pyproject_path: Path,
    *,
    groups: Sequence[str],
    extras: Sequence[str],
    environ: Mapping[str, str] | None = None,
) -> PyprojectConversion:
    environ = dict(os.environ) if environ is None else environ
    root = pyproject_path.parent.resolve()
    pyproject = load_toml(pyproject_path)
    if "project" not in pyproject:
        raise UsageError(
            f"{pyproject_path} has no [project] table, so it names no dependencies",
            hint="lock the project (uv.lock, poetry.lock) or pass --requirements FILE",
        )
    is_package = has_build_system(pyproject)
    lines = requirements(pyproject, root, is_package=is_package, groups=groups, extras=extras)
    pins = [Pin(line, line, is_directory=line.startswith(str(root))) for line in lines]
    indexes = uv_indexes(pyproject, environ) + poetry_indexes(pyproject, environ)
    draft = Draft(pins=pins, indexes=indexes, warnings=_warnings(pyproject))
    return PyprojectConversion(draft, None if is_package else root)
