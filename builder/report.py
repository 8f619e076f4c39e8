"""The build report: one JSON document per build, and the short summary for the terminal."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from builder.job import MissingOutcome, PackageOutcome

REPORT_SCHEMA_VERSION = 1


class ArtifactRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["directory", "function-zip", "layer-zip"]
    path: str
    sha256: str | None = None
    size: int
    unzipped_size: int | None = None
    entries: int | None = None


class PackageSize(BaseModel):
    """One contributor to a bundle's size: a package (``name version``) or a source entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    size: int
    files: int


class SizeReport(BaseModel):
    """The unzipped bundle against Lambda's limits; zipped sizes are on each ArtifactRecord."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unzipped: int
    files: int
    largest: list[PackageSize] = Field(default_factory=list)
    unzipped_limit: int
    zipped_limit: int
    removed_files: int = 0  # by --slim and --exclude
    removed_bytes: int = 0
    stripped_files: int = 0  # shared objects whose debug sections and symtab were stripped


class Problem(BaseModel):
    """A verification failure about one file (or the layout) of a bundle."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["machine", "glibc", "unreadable", "layout"]
    path: str
    package: str = ""
    detail: str


class ImportOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    ok: bool
    error: str = ""


class HandlerOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    handler: str
    ok: bool
    result: Any = None
    error: str = ""
    output: str = ""  # what the handler printed


class VerificationReport(BaseModel):
    """ELF, import and handler checks of a bundle against one runtime and architecture."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = REPORT_SCHEMA_VERSION
    ok: bool
    runtime: str
    architecture: str
    layout: Literal["function", "layer"]
    glibc_limit: str  # the runtime's glibc: no file may need a newer GLIBC_x.y
    max_glibc: str | None = None  # the newest GLIBC_x.y any file needs
    where: str  # the image the imports ran in, or the host interpreter
    python: str = ""
    elf_files: int = 0
    problems: list[Problem] = Field(default_factory=list)
    imports: list[ImportOutcome] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)  # top-level names not imported, and why
    handler: HandlerOutcome | None = None

    @property
    def failures(self) -> list[str]:
        lines = [
            f"{p.path}{f' ({p.package})' if p.package else ''}: {p.detail}" for p in self.problems
        ]
        lines += [f"import {i.name} failed: {i.error}" for i in self.imports if not i.ok]
        if self.handler is not None and not self.handler.ok:
            lines.append(f"handler {self.handler.handler} failed: {self.handler.error}")
        return lines


class ImageLayerRecord(BaseModel):
    """One layer lambda-builder wrote: ``digest`` is its diff_id (sha256 of the plain tar)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["dependencies", "source"]
    digest: str
    size: int  # bytes of the layer tar
    files: int


class ContainerImageRecord(BaseModel):
    """``build --image``: the image in the engine, and where it was pushed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tag: str
    id: str  # sha256 of the image config
    base_image: str
    architecture: str  # as the image config says it (amd64, arm64)
    cmd: list[str]
    task_root: str
    base_layers: list[str] = Field(default_factory=list)
    layers: list[ImageLayerRecord] = Field(default_factory=list)
    pushed_digest: str | None = None  # the manifest digest the registry answered with


class TargetReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    runtime: str
    architecture: str
    glibc: str
    python: str = ""
    pip: str = ""  # the pip that resolved and built (ours when the image's is older)
    mode: Literal["container", "host"]
    image: str | None = None
    # "hit": the dependency tree came from the whole-build cache; "miss": built (and stored);
    # "off": --no-cache.
    dependency_cache: Literal["hit", "miss", "off"] | None = None
    # The whole-build cache key of the dependency set (None with --no-cache): targets with
    # the same key share one dependency build.
    dependency_key: str | None = None
    input: str | None = None
    input_kind: str | None = None
    output: str | None = None
    status: Literal["ok", "missing", "error"]
    packages: list[PackageOutcome] = Field(default_factory=list)
    missing: list[MissingOutcome] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None  # "artifact", "environment-mismatch", "pip-download", ...
    artifacts: list[ArtifactRecord] = Field(default_factory=list)
    sizes: SizeReport | None = None
    verification: VerificationReport | None = None
    container_image: ContainerImageRecord | None = None

    @property
    def name(self) -> str:
        return f"{self.runtime}/{self.architecture}"


class LayerPublicationReport(BaseModel):
    """What ``publish-layer`` did with the layer zip: published, reused, or (dry run) would."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    layer_name: str
    action: Literal["published", "reused", "would-publish", "would-reuse"]
    reused: bool
    dry_run: bool = False
    arn: str | None = None  # the layer version ARN; None when a dry run would publish
    version: int | None = None
    changes: list[str] = Field(default_factory=list)  # why it was (or would be) published
    sha256: str
    zip_size: int
    unzipped_size: int
    runtimes: list[str]
    architectures: list[str]
    layout: str
    bucket: str
    manifest_keys: list[str] = Field(default_factory=list)
    staging_key: str | None = None


class BuildReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = REPORT_SCHEMA_VERSION
    tool: str = "lambda-builder"
    targets: list[TargetReport]
    layer_publication: LayerPublicationReport | None = None  # publish-layer only

    @property
    def ok(self) -> bool:
        return all(target.status == "ok" for target in self.targets)


def write_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_report(report: BuildReport, path: Path) -> None:
    write_atomic(path, report.model_dump_json(indent=2) + "\n")


def _counts(target: TargetReport) -> str:
    by_how: dict[str, int] = {}
    for package in target.packages:
        by_how[package.how] = by_how.get(package.how, 0) + 1
    return ", ".join(f"{count} {how}" for how, count in sorted(by_how.items())) or "no packages"


def _image_lines(image: ContainerImageRecord) -> list[str]:
    lines = [
        f"  container-image: {image.tag} ({image.id}, {image.architecture}, "
        f"CMD {' '.join(image.cmd)})"
    ]
    for layer in image.layers:
        lines.append(
            f"    {layer.kind} layer {layer.digest} ({layer.size:,} bytes, {layer.files} files)"
        )
    if image.pushed_digest:
        lines.append(f"    pushed: {image.tag}@{image.pushed_digest}")
    return lines


def summarize(report: BuildReport) -> str:
    """A few lines per target: what was built and, on failure, what is missing and why."""
    lines = []
    for target in report.targets:
        where = f" -> {target.output}" if target.output and target.status == "ok" else ""
        lines.append(f"{target.name} (glibc {target.glibc}, {target.mode}): {target.status}{where}")
        if target.packages:
            lines.append(f"  {len(target.packages)} packages: {_counts(target)}")
        for package in target.packages:
            if package.how not in ("wheel", "compatible-wheel"):
                lines.append(f"    {package.name} {package.version}: {package.how}")
        if target.sizes is not None:
            largest = ", ".join(
                f"{item.name} {item.size / 1048576:.1f} MB" for item in target.sizes.largest[:3]
            )
            lines.append(
                f"  {target.sizes.unzipped:,} bytes unzipped in {target.sizes.files:,} files"
                + (f"; largest: {largest}" if largest else "")
            )
        for artifact in target.artifacts:
            digest = f", sha256 {artifact.sha256}" if artifact.sha256 else ""
            lines.append(f"  {artifact.kind}: {artifact.path} ({artifact.size:,} bytes{digest})")
        if target.container_image is not None:
            lines.extend(_image_lines(target.container_image))
        if target.verification is not None:
            lines.append(
                f"  verified: {'ok' if target.verification.ok else 'FAILED'} "
                f"({target.verification.where})"
            )
        for missing in target.missing:
            lines.append(f"  missing {missing.name} {missing.version}: {missing.reason}")
            for detail in missing.detail.splitlines()[:12]:
                lines.append(f"      {detail}")
            lines.append(f"    hint: {missing.hint}")
        if target.error:
            lines.append(f"  error: {target.error}")
    return "\n".join(lines)
