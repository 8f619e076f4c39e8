"""``uv.lock``: exported by uv itself (``uv export --locked``), then pointed at local paths.

uv knows its own lock format, its workspaces and its freshness rules best, so it does the
export; this module only chooses the flags, checks that the lock is current, makes workspace
paths absolute and adds the indexes the locked files came from.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from builder.errors import InputError, UsageError
from builder.inputs.draft import Draft, apply_hash_policy, pins_from_parsed
from builder.inputs.indexes import indexes_for_lock, uv_indexes
from builder.inputs.project import is_uv_package, load_toml, project_name
from builder.requirements_file import parse_requirements

UV_VARIABLE = "LAMBDA_BUILDER_UV"
_INSTALL_HINT = (
    "install uv (`pip install uv`, it comes with lambda-builder's dependencies), "
    f"put it on PATH or set {UV_VARIABLE}=/path/to/uv"
)
# A local path line in uv's output: "./pkg", "../lib", "." (the project itself).
_LOCAL_LINE = re.compile(r"^(\.{1,2}(?:/\S*)?)(.*)$")


@dataclass(frozen=True)
class UvProject:
    """What the lock and pyproject say about the project, read before running uv."""

    root: Path
    pyproject: dict[str, Any]
    lock: dict[str, Any]

    @property
    def members(self) -> dict[str, Path]:
        """Workspace members (and the root project) by canonical name -> directory."""
        found: dict[str, Path] = {}
        for package in self.lock.get("package", []):
            source = package.get("source", {})
            where = source.get("editable") or source.get("virtual") or source.get("directory")
            if where is not None:
                found[canonicalize_name(package["name"])] = (self.root / where).resolve()
        names = self.lock.get("manifest", {}).get("members")
        if names is not None:
            wanted = {canonicalize_name(name) for name in names}
            return {name: path for name, path in found.items() if name in wanted}
        root_name = project_name(self.pyproject)
        return {root_name: self.root} if root_name in found else {}

    def registries(self) -> list[str]:
        return [
            str(package["source"]["registry"])
            for package in self.lock.get("package", [])
            if "registry" in package.get("source", {})
        ]


def find_uv(environ: Mapping[str, str]) -> str:
    """``$LAMBDA_BUILDER_UV``, the uv on PATH (it most likely wrote the lock), or the uv
    that came with lambda-builder's dependencies."""
    if environ.get(UV_VARIABLE):
        return environ[UV_VARIABLE]
    found = shutil.which("uv", path=environ.get("PATH"))
    if found:
        return found
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        raise InputError(
            "uv.lock needs uv to export it, and uv was not found", hint=_INSTALL_HINT
        ) from None


def export_command(
    uv: str,
    *,
    groups: Sequence[str],
    extras: Sequence[str],
    package: str | None,
    check: str = "--locked",
) -> list[str]:
    """Default groups (``dev``) are left out: only what ``--group`` names is added."""
    command = [
        uv,
        "export",
        check,
        "--format",
        "requirements-txt",
        "--no-default-groups",
        "--no-editable",
        "--no-header",
        "--no-annotate",
        "--no-progress",
        "--quiet",
    ]
    for group in groups:
        command += ["--group", group]
    for extra in extras:
        command += ["--extra", extra]
    if package:
        command += ["--package", package]
    return command


def absolute_paths(exported: str, root: Path) -> str:
    """uv writes workspace paths relative to the project; the file is read elsewhere."""
    lines = []
    for line in exported.splitlines():
        match = _LOCAL_LINE.match(line)
        if match:
            line = f"{(root / match.group(1)).resolve()}{match.group(2)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _run(
    command: list[str], root: Path, environ: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command,
            cwd=root,
            env=dict(environ),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )
    except OSError as error:
        raise InputError(f"cannot run {command[0]}: {error}", hint=_INSTALL_HINT) from None


def _tail(text: str, lines: int = 12) -> str:
    """uv's last words, indented under ours (its ``error:`` prefix would read twice)."""
    kept = [line.removeprefix("error: ") for line in text.splitlines() if line.strip()]
    return "\n".join(f"    {line}" for line in kept[-lines:])


def export(
    project: UvProject,
    uv: str,
    *,
    groups: Sequence[str],
    extras: Sequence[str],
    package: str | None,
    environ: Mapping[str, str],
) -> str:
    """uv's export of a current lock; a stale lock is an error, as ``uv sync --locked``."""

    def attempt(check: str) -> subprocess.CompletedProcess[str]:
        command = export_command(uv, groups=groups, extras=extras, package=package, check=check)
        return _run(command, project.root, environ)

    locked = attempt("--locked")
    if locked.returncode == 0:
        return locked.stdout
    # --frozen skips the freshness check: if it works, freshness is what --locked refused.
    frozen = attempt("--frozen")
    lock = project.root / "uv.lock"
    if frozen.returncode != 0:
        raise InputError(
            f"uv could not export {lock}; uv says:\n{_tail(frozen.stderr)}",
            hint="check --group, --extra and --package against the project",
        )
    raise InputError(
        f"{lock} is out of date with pyproject.toml (or uv could not confirm that it is "
        f"current); uv says:\n{_tail(locked.stderr)}",
        hint="run `uv lock` and commit the updated uv.lock; the build installs exactly what "
        "the lock says, so the lock must match the project",
    )


def check_package(project: UvProject, package: str | None) -> None:
    if package and canonicalize_name(package) not in project.members:
        members = ", ".join(sorted(project.members)) or "none"
        raise UsageError(
            f"--package {package}: not a member of the uv workspace at "
            f"{project.root} (members: {members})"
        )


@dataclass(frozen=True)
class UvConversion:
    draft: Draft
    application: Path | None  # a member (or root) whose source is copied, not built


def convert(
    lock_path: Path,
    scratch: Path,
    *,
    groups: Sequence[str],
    extras: Sequence[str],
    package: str | None,
    environ: Mapping[str, str] | None = None,
) -> UvConversion:
    environ = dict(os.environ) if environ is None else environ
    root = lock_path.parent.resolve()
    project = UvProject(root, load_toml(root / "pyproject.toml"), load_toml(lock_path))
    check_package(project, package)
    exported = export(
        project, find_uv(environ), groups=groups, extras=extras, package=package, environ=environ
    )
    scratch.mkdir(parents=True, exist_ok=True)
    raw = scratch / "uv-export.txt"
    raw.write_text(absolute_paths(exported, root), encoding="utf-8")
    pins = pins_from_parsed(parse_requirements(raw, environ={}))
    member = project.members.get(canonicalize_name(package)) if package else None
    target = member or root
    target_pyproject = load_toml(target / "pyproject.toml") if member else project.pyproject
    if not pins and not package and len(project.members) > 1:
        names = ", ".join(sorted(project.members))
        raise UsageError(
            f"the uv workspace root at {root} exports nothing to install",
            hint=f"pick a member with --package NAME (members: {names})",
        )
    configured = uv_indexes(project.pyproject, environ)
    if member is not None:
        configured += uv_indexes(target_pyproject, environ)
    draft = Draft(pins=pins, indexes=indexes_for_lock(configured, project.registries()))
    application = None if is_uv_package(target_pyproject) else target
    return UvConversion(apply_hash_policy(draft), application)
