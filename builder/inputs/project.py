"""What a ``pyproject.toml`` says: dependencies, groups, extras, and whether it is a package."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from builder.errors import InputError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9 and 3.10 only
    import tomli as tomllib

Table = dict[str, Any]


def load_toml(path: Path) -> Table:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except FileNotFoundError:
        raise InputError(f"{path} not found") from None
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InputError(
            f"cannot read {path}: {error}", hint="check the TOML syntax (e.g. `python -m tomllib`)"
        ) from None


def table(data: Mapping[str, Any], *keys: str) -> Table:
    """A nested table, empty when any level is missing."""
    current: Any = data
    for key in keys:
        current = current.get(key, {}) if isinstance(current, Mapping) else {}
    return dict(current) if isinstance(current, Mapping) else {}


def project_name(pyproject: Mapping[str, Any]) -> str | None:
    name = table(pyproject, "project").get("name") or table(pyproject, "tool", "poetry").get("name")
    return canonicalize_name(str(name)) if name else None


def has_build_system(pyproject: Mapping[str, Any]) -> bool:
    return bool(table(pyproject, "build-system").get("build-backend"))


def is_uv_package(pyproject: Mapping[str, Any]) -> bool:
    """uv's rule: ``tool.uv.package`` when set, else whether a build system is declared."""
    if "project" not in pyproject:
        return False
    explicit = table(pyproject, "tool", "uv").get("package")
    return bool(explicit) if explicit is not None else has_build_system(pyproject)


def is_poetry_package(pyproject: Mapping[str, Any]) -> bool:
    """Poetry installs the project itself unless ``package-mode = false``; pip also needs the
    build backend declared to build it."""
    mode = table(pyproject, "tool", "poetry").get("package-mode", True)
    return bool(mode) and has_build_system(pyproject)


def dependency_group(
    pyproject: Mapping[str, Any], name: str, seen: Sequence[str] = ()
) -> list[str]:
    """The requirements of a PEP 735 dependency group, with ``include-group`` expanded."""
    groups = {
        canonicalize_name(key): value
        for key, value in table(pyproject, "dependency-groups").items()
    }
    key = canonicalize_name(name)
    if key in seen:
        raise InputError(
            f"dependency groups include each other in a loop: {' -> '.join([*seen, key])}"
        )
    if key not in groups:
        known = ", ".join(sorted(groups)) or "none"
        raise UsageError(f"no dependency group {name!r} in pyproject.toml (groups: {known})")
    requirements: list[str] = []
    for item in groups[key]:
        if isinstance(item, str):
            requirements.append(item)
        elif isinstance(item, Mapping) and "include-group" in item:
            requirements += dependency_group(pyproject, str(item["include-group"]), [*seen, key])
        else:
            raise InputError(
                f"dependency group {name!r} has an entry that is neither a "
                f"requirement nor an include-group: {item!r}"
            )
    return requirements


def optional_dependencies(pyproject: Mapping[str, Any], extra: str) -> list[str]:
    extras = {
        canonicalize_name(key): value
        for key, value in table(pyproject, "project", "optional-dependencies").items()
    }
    if canonicalize_name(extra) not in extras:
        known = ", ".join(sorted(extras)) or "none"
        raise UsageError(f"no extra {extra!r} in [project.optional-dependencies] (extras: {known})")
    return [str(item) for item in extras[canonicalize_name(extra)]]
