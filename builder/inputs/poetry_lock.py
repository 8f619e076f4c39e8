"""``poetry.lock`` read directly, as Poetry 2 installs from it without re-resolving.

Since lock format 2.1 (Poetry 2.0) each package records its groups and, per group, the marker
under which it is needed, so the installable set is a filter over the lock: no resolver and no
``poetry export`` plugin at build time. Freshness is Poetry's own ``content-hash`` check.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from builder.errors import InputError, UsageError
from builder.inputs.draft import Draft, Pin, apply_hash_policy, direct_line, path_line, pin_line
from builder.inputs.indexes import PYPI_URL, indexes_for_lock, poetry_indexes
from builder.inputs.markers import any_of, settle_extras
from builder.inputs.project import is_poetry_package, load_toml, table

# Poetry's Locker: which parts of pyproject.toml the content-hash covers.
_LEGACY_KEYS = ("dependencies", "source", "extras", "dev-dependencies")
_RELEVANT_KEYS = (*_LEGACY_KEYS, "group")
_PROJECT_KEYS = ("requires-python", "dependencies", "optional-dependencies")
_REGENERATE = "run `poetry lock` (Poetry 2 or later) and commit the updated poetry.lock"


def content_hash(pyproject: Mapping[str, Any], *, with_dependency_groups: bool = True) -> str:
    """Poetry's ``Locker._get_content_hash``, key for key."""
    project = {
        key: table(pyproject, "project")[key]
        for key in _PROJECT_KEYS
        if table(pyproject, "project").get(key) is not None
    }
    groups = table(pyproject, "dependency-groups") if with_dependency_groups else {}
    poetry = table(pyproject, "tool", "poetry")
    relevant_poetry: dict[str, Any] = {}
    for key in _RELEVANT_KEYS:
        value = poetry.get(key)
        # The legacy keys are hashed even when absent, unless [project] or groups have content.
        if value is None and (key not in _LEGACY_KEYS or project or groups):
            continue
        relevant_poetry[key] = value
    relevant: dict[str, Any] = {}
    if project:
        relevant["project"] = project
    if groups:
        relevant["dependency-groups"] = groups
    if relevant:
        relevant["tool"] = {"poetry": relevant_poetry}
    else:
        relevant = relevant_poetry
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def _writer_version(lock_text: str) -> Version | None:
    match = re.search(r"Poetry ([^ ]+)", lock_text.split("\n", 1)[0])
    try:
        return Version(match.group(1)) if match else None
    except InvalidVersion:
        return None


def is_fresh(pyproject: Mapping[str, Any], lock: Mapping[str, Any], lock_text: str) -> bool:
    """As ``Locker.is_fresh``: before Poetry 2.3 the hash did not cover dependency-groups."""
    recorded = table(lock, "metadata").get("content-hash")
    if not recorded:
        return False
    if content_hash(pyproject) == recorded:
        return True
    writer = _writer_version(lock_text)
    return (
        writer is not None
        and writer < Version("2.3.0")
        and content_hash(pyproject, with_dependency_groups=False) == recorded
    )


def check_lock(pyproject: Mapping[str, Any], lock: Mapping[str, Any], lock_path: Path) -> None:
    version = str(table(lock, "metadata").get("lock-version", "0"))
    if Version(version) < Version("2.1"):
        raise InputError(
            f"{lock_path} has lock-version {version}, written by Poetry 1.x: it does not "
            "record which groups and markers each package belongs to, so it cannot be "
            "installed without re-resolving",
            hint=f"{_REGENERATE}; `poetry lock` keeps the locked versions unless pyproject.toml "
            "changed",
        )
    if not is_fresh(pyproject, lock, lock_path.read_text(encoding="utf-8")):
        raise InputError(
            f"{lock_path} is out of date with pyproject.toml (its content-hash does not match)",
            hint=_REGENERATE,
        )


def known_groups(pyproject: Mapping[str, Any], lock: Mapping[str, Any]) -> set[str]:
    found = {"main"}
    found |= {canonicalize_name(name) for name in table(pyproject, "tool", "poetry", "group")}
    found |= {canonicalize_name(name) for name in table(pyproject, "dependency-groups")}
    for package in lock.get("package", []):
        found |= {canonicalize_name(name) for name in package.get("groups", [])}
    return found


def check_selection(
    pyproject: Mapping[str, Any],
    lock: Mapping[str, Any],
    groups: Sequence[str],
    extras: Sequence[str],
) -> None:
    known = known_groups(pyproject, lock)
    for group in groups:
        if canonicalize_name(group) not in known:
            raise UsageError(
                f"--group {group}: no such group in the Poetry project "
                f"(groups: {', '.join(sorted(known))})"
            )
    lock_extras = {canonicalize_name(name) for name in table(lock, "extras")}
    for extra in extras:
        if canonicalize_name(extra) not in lock_extras:
            raise UsageError(
                f"--extra {extra}: no such extra in poetry.lock "
                f"(extras: {', '.join(sorted(lock_extras)) or 'none'})"
            )


def package_marker(package: Mapping[str, Any], groups: Collection[str]) -> str | None:
    """The marker under which the chosen groups need ``package``; None when they do not."""
    chosen = [group for group in package.get("groups", []) if canonicalize_name(group) in groups]
    if not chosen:
        return None
    markers = package.get("markers", "")
    if isinstance(markers, Mapping):
        return any_of([str(markers.get(group, "")) for group in chosen])
    return str(markers)


def _git_url(source: Mapping[str, Any]) -> str:
    url = str(source["url"])
    scp = re.match(r"^([\w.-]+@[\w.-]+):(?!//)(.+)$", url)
    if scp:  # git@github.com:org/repo.git, which pip only takes as ssh://
        url = f"ssh://{scp.group(1)}/{scp.group(2)}"
    reference = source.get("resolved_reference") or source.get("reference") or ""
    subdirectory = source.get("subdirectory")
    return (
        f"git+{url}"
        + (f"@{reference}" if reference else "")
        + (f"#subdirectory={subdirectory}" if subdirectory else "")
    )


def package_pin(package: Mapping[str, Any], marker: str, root: Path) -> Pin:
    name, version = str(package["name"]), str(package["version"])
    source = table(package, "source")
    kind = source.get("type")
    hashes = tuple(str(entry["hash"]) for entry in package.get("files", []) if "hash" in entry)
    if kind in (None, "legacy"):
        return Pin(name, pin_line(name, version, marker=marker), hashes)
    if kind == "directory":
        return Pin(name, path_line((root / source["url"]).resolve(), marker), is_directory=True)
    if kind == "file":
        return Pin(name, path_line((root / source["url"]).resolve(), marker), hashes)
    if kind == "url":
        return Pin(name, direct_line(name, str(source["url"]), marker), hashes)
    if kind == "git":
        return Pin(name, direct_line(name, _git_url(source), marker))
    raise InputError(
        f"poetry.lock: {name} comes from a source of type {kind!r}, which "
        "lambda-builder cannot install",
        hint="report it with the lock entry",
    )


def lock_urls(lock: Mapping[str, Any]) -> list[str]:
    urls = []
    for package in lock.get("package", []):
        source = table(package, "source")
        if not source:
            urls.append(PYPI_URL)
        elif source.get("type") == "legacy":
            urls.append(str(source["url"]))
    return urls


@dataclass(frozen=True)
class PoetryConversion:
    draft: Draft
    application: Path | None  # the project's source to copy when it is not a package


def convert(
    lock_path: Path,
    *,
    groups: Sequence[str],
    extras: Sequence[str],
    environ: Mapping[str, str] | None = None,
) -> PoetryConversion:
    environ = dict(os.environ) if environ is None else environ
    root = lock_path.parent.resolve()
    pyproject, lock = load_toml(root / "pyproject.toml"), load_toml(lock_path)
    check_lock(pyproject, lock, lock_path)
    check_selection(pyproject, lock, groups, extras)
    chosen = {"main"} | {canonicalize_name(group) for group in groups}
    pins: list[Pin] = []
    for package in lock.get("package", []):
        marker = package_marker(package, chosen)
        settled = settle_extras(marker, extras) if marker is not None else False
        if settled is not False:
            pins.append(package_pin(package, "" if settled is True else settled, root))
    is_package = is_poetry_package(pyproject)
    if is_package:
        pins.append(Pin(root.name, path_line(root), is_directory=True))
    indexes = indexes_for_lock(poetry_indexes(pyproject, environ), lock_urls(lock))
    draft = apply_hash_policy(Draft(pins=pins, indexes=indexes))
    return PoetryConversion(draft, None if is_package else root)
