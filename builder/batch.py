"""Many targets at once (build-all): which share a dependency build, the combined report, a table.

Targets whose dependency inputs look identical are scheduled one after another, so the first
builds and fills the whole-build cache and the rest hit it. The look is only a schedule: the
cache key decides what is shared, and the report shows what really happened, from the keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from builder.architectures import Architecture
from builder.config import BuildConfig
from builder.errors import BuilderError
from builder.report import REPORT_SCHEMA_VERSION, TargetReport
from builder.requirements_file import parse_requirements
from builder.runtimes import Runtime

K = TypeVar("K", bound=Hashable)
# Settings that change how a build looks or where its artifacts go, not its dependency tree.
_NEUTRAL_CONFIG = {"artifacts", "verbose", "quiet", "cache_dir"}


def dependency_fingerprint(
    runtime: Runtime,
    architecture: Architecture,
    config: BuildConfig,
    requirements: Path | None,
    is_complete: bool = False,
) -> str | None:
    """The inputs of a dependency build as seen before building; None when nothing to share.

    Covers what the cache key covers from the host's side (every requirements file read, local
    projects' files, the settings); the key adds the image and program, so equal fingerprints
    almost always mean equal keys, and a rare difference only costs a second build.
    """
    if requirements is None or not config.use_cache:
        return None
    try:
        parsed = parse_requirements(requirements, is_complete=is_complete)
    except BuilderError:
        return None  # the build reports it; nothing to share
    digest = hashlib.sha256(f"{runtime.name}\0{architecture.value}\0".encode())
    settings = config.model_dump(mode="json", exclude=_NEUTRAL_CONFIG)
    artifacts = {"compile_bytecode": config.compile_bytecode}  # bytecode ships in the tree
    digest.update(json.dumps([settings, artifacts], sort_keys=True).encode() + b"\0")
    for path in parsed.files:  # where a requirements file lives does not matter, its text does
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for path in parsed.local_paths():
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" not in file.parts:
                name = file.relative_to(path).as_posix() if path.is_dir() else path.name
                digest.update(f"{name}\0".encode() + hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def share_groups(fingerprints: Sequence[K | None]) -> list[list[int]]:
    """Indices grouped by fingerprint, in first-seen order; None is never grouped.

    The first of a group builds; the others run after it and reuse its cache entry.
    """
    groups: dict[K, list[int]] = {}
    alone: list[list[int]] = []
    order: list[list[int]] = []
    for index, fingerprint in enumerate(fingerprints):
        if fingerprint is None:
            alone.append([index])
            order.append(alone[-1])
        elif fingerprint in groups:
            groups[fingerprint].append(index)
        else:
            groups[fingerprint] = [index]
            order.append(groups[fingerprint])
    return order


class BatchTarget(BaseModel):
    """One target of a build-all run: a function or layer for one runtime and architecture."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str  # api/python3.12/arm64
    name: str
    kind: Literal["function", "layer"]
    handler: str | None = None
    seconds: float
    # "shared": another target of this run built the same dependency set (same cache key).
    dependencies: Literal["miss", "hit", "shared", "off", "failed"]
    report: TargetReport


class SharedBuild(BaseModel):
    """Targets with one dependency set; ``builds`` is how often it was built (1 when shared).

    ``dependency_key`` is the whole-build cache key, or the schedule's fingerprint with a
    backend that keeps no such key.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dependency_key: str
    targets: list[str]
    built_by: list[str]
    builds: int


class BatchReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = REPORT_SCHEMA_VERSION
    tool: str = "lambda-builder"
    command: str = "build-all"
    manifest: str
    ok: bool
    seconds: float
    targets: list[BatchTarget]
    shared_dependency_builds: list[SharedBuild] = Field(default_factory=list)


def shared_builds(
    reports: Sequence[tuple[str, TargetReport, str | None]],
) -> list[SharedBuild]:
    """Targets grouped by their real cache key, for the groups of more than one.

    A backend that keeps no whole-build key (buildx: BuildKit's own cache decides hit or miss)
    is grouped by the fingerprint the run was scheduled by.
    """
    by_key: dict[str, list[tuple[str, TargetReport]]] = {}
    for target_id, report, fingerprint in reports:
        cached = report.dependency_cache in ("hit", "miss")
        key = report.dependency_key or (fingerprint if cached else None)
        if key and report.status == "ok":
            by_key.setdefault(key, []).append((target_id, report))
    return [
        SharedBuild(
            dependency_key=key,
            targets=[target_id for target_id, _ in members],
            built_by=[t for t, r in members if r.dependency_cache == "miss"],
            builds=sum(1 for _, r in members if r.dependency_cache == "miss"),
        )
        for key, members in by_key.items()
        if len(members) > 1
    ]


def dependency_state(
    report: TargetReport, target_id: str, shared: Sequence[SharedBuild]
) -> Literal["miss", "hit", "shared", "off", "failed"]:
    """What the summary says about a target's dependencies."""
    if report.status != "ok" or report.dependency_cache is None:
        return "failed" if report.status != "ok" else "off"
    if report.dependency_cache == "hit" and any(
        target_id in group.targets and group.built_by for group in shared
    ):
        return "shared"
    return report.dependency_cache


def _zip_size(report: TargetReport) -> str:
    sizes = [a.size for a in report.artifacts if a.kind in ("function-zip", "layer-zip")]
    if not sizes:
        return "-"
    size = max(sizes)
    return f"{size / 1048576:.1f} MB" if size >= 1048576 else f"{size / 1024:.1f} KB"


def summary_table(report: BatchReport) -> str:
    """One line per target, then the totals and the shared dependency builds."""
    header = ("target", "runtime", "arch", "status", "deps", "seconds", "zip")
    rows = [
        (
            t.name,
            t.report.runtime,
            t.report.architecture,
            t.report.status,
            t.dependencies,
            f"{t.seconds:.1f}",
            _zip_size(t.report),
        )
        for t in report.targets
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
    lines.insert(0, "  ".join(cell.ljust(width) for cell, width in zip(header, widths)))
    failed = [t for t in report.targets if t.report.status != "ok"]
    for target in failed:
        first = (target.report.error or "").splitlines()[:1]
        missing = ", ".join(f"{m.name} {m.version}".strip() for m in target.report.missing)
        lines.append(f"{target.id}: {target.report.status}: {missing or ''.join(first)}")
    for group in report.shared_dependency_builds:
        built = {0: "reused from the cache", 1: "built once"}.get(
            group.builds, f"built {group.builds} times"
        )
        lines.append(
            f"one dependency set ({group.dependency_key[:12]}), {built}: "
            + ", ".join(group.targets)
        )
    lines.append(
        f"{len(report.targets) - len(failed)} of {len(report.targets)} targets built"
        f" in {report.seconds:.1f} s" + (f"; {len(failed)} failed" if failed else "")
    )
    return "\n".join(line.rstrip() for line in lines)
