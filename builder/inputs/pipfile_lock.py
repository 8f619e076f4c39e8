"""``Pipfile.lock``: pipenv's JSON lock, its categories, sources and Pipfile hash."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from builder.credentials import expand_variables
from builder.errors import InputError, UsageError
from builder.inputs.draft import Draft, Index, Pin, apply_hash_policy, direct_line, path_line
from builder.inputs.project import load_toml

# Pipfile tables that are not package categories (plette's PIPFILE_SECTIONS).
_NOT_CATEGORIES = {
    "source",
    "packages",
    "dev-packages",
    "requires",
    "scripts",
    "pipfile",
    "pipenv",
    "default",
    "develop",
}
_DEFAULT_SOURCE = [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}]
_DEVELOP_NAMES = {"dev", "develop", "dev-packages"}


def pipfile_hash(pipfile: Mapping[str, Any], name: Callable[[str], str] = str) -> str:
    """pipenv's Pipfile hash; ``name`` normalises package keys (newer pipenv canonicalises)."""

    def section(values: Any) -> Any:
        return (
            {name(key): value for key, value in values.items()}
            if isinstance(values, Mapping)
            else values
        )

    data: dict[str, Any] = {
        "_meta": {
            "sources": pipfile.get("source", _DEFAULT_SOURCE),
            "requires": pipfile.get("requires", {}),
        },
        "default": section(pipfile.get("packages", {})),
        "develop": section(pipfile.get("dev-packages", {})),
    }
    for category, values in pipfile.items():
        if category not in _NOT_CATEGORIES:
            data[category] = section(values)
    content = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def check_fresh(lock: Mapping[str, Any], lock_path: Path) -> list[str]:
    """An error when the Pipfile changed since locking, as ``pipenv install --deploy``."""
    pipfile_path = lock_path.with_name("Pipfile")
    if not pipfile_path.is_file():
        return [f"no Pipfile beside {lock_path}: cannot check that the lock is current"]
    pipfile = load_toml(pipfile_path)
    recorded = lock.get("_meta", {}).get("hash", {}).get("sha256")
    # Older pipenv hashed names as written, newer pipenv (#4699) their canonical form.
    if recorded not in (pipfile_hash(pipfile), pipfile_hash(pipfile, canonicalize_name)):
        raise InputError(
            f"{lock_path} is out of date with its Pipfile (the Pipfile hash does not match)",
            hint="run `pipenv lock` and commit the updated Pipfile.lock",
        )
    return []


def categories(lock: Mapping[str, Any], groups: Sequence[str]) -> list[str]:
    """``default``, plus ``develop`` (``--group dev``) or a custom category when asked."""
    chosen = ["default"]
    available = [key for key in lock if key != "_meta"]
    for group in groups:
        key = "develop" if group in _DEVELOP_NAMES else group
        if key not in available:
            raise UsageError(
                f"--group {group}: Pipfile.lock has no such category "
                f"(categories: {', '.join(sorted(available))}; dev = develop)"
            )
        chosen.append(key)
    return list(dict.fromkeys(chosen))


def entry_pin(name: str, entry: Mapping[str, Any], root: Path) -> Pin:
    marker = str(entry.get("markers", ""))
    extras = f"[{','.join(sorted(entry['extras']))}]" if entry.get("extras") else ""
    hashes = tuple(str(value) for value in entry.get("hashes", []))
    if "version" in entry:
        suffix = f" ; {marker}" if marker else ""
        return Pin(name, f"{name}{extras}{entry['version']}{suffix}", hashes)
    for vcs in ("git", "hg", "svn", "bzr"):
        if vcs in entry:
            url = str(entry[vcs])
            url = url if url.startswith(f"{vcs}+") else f"{vcs}+{url}"
            url += f"@{entry['ref']}" if entry.get("ref") else ""
            url += f"#subdirectory={entry['subdirectory']}" if entry.get("subdirectory") else ""
            return Pin(name, direct_line(f"{name}{extras}", url, marker))
    if "path" in entry:
        path = (root / str(entry["path"])).resolve()
        return Pin(name, path_line(path, marker), hashes, is_directory=path.is_dir())
    if "file" in entry:
        return Pin(name, direct_line(f"{name}{extras}", str(entry["file"]), marker), hashes)
    raise InputError(f"Pipfile.lock: cannot tell how to install {name}: {dict(entry)!r}")


def lock_indexes(lock: Mapping[str, Any], environ: Mapping[str, str]) -> list[Index]:
    """``_meta.sources``: the first replaces PyPI, as in pipenv; ``${VAR}`` expanded."""
    found = []
    for number, source in enumerate(lock.get("_meta", {}).get("sources", [])):
        url = expand_variables(str(source["url"]), environ)
        found.append(
            Index(
                url,
                name=str(source.get("name", "")),
                default=number == 0,
                verify_ssl=bool(source.get("verify_ssl", True)),
            )
        )
    return found


@dataclass(frozen=True)
class PipfileConversion:
    draft: Draft
    application: Path | None


def convert(
    lock_path: Path, *, groups: Sequence[str], environ: Mapping[str, str] | None = None
) -> PipfileConversion:
    environ = dict(os.environ) if environ is None else environ
    root = lock_path.parent.resolve()
    try:
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {lock_path}: {error}") from None
    warnings = check_fresh(lock, lock_path)
    pins: dict[str, Pin] = {}
    for category in categories(lock, groups):
        for name, entry in lock.get(category, {}).items():
            pins.setdefault(canonicalize_name(name), entry_pin(name, entry, root))
    is_package = any(
        pin.is_directory and Path(pin.text.split(" ;")[0]) == root for pin in pins.values()
    )
    draft = Draft(pins=list(pins.values()), indexes=lock_indexes(lock, environ), warnings=warnings)
    return PipfileConversion(apply_hash_policy(draft), None if is_package else root)
