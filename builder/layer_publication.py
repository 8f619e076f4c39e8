"""Publishing a built layer only when its manifest changed, in an order a crash cannot fool.

The order of writes is the contract: the zip goes to a staging key, Lambda publishes it, the
versioned manifest is written, and only then ``last-manifest.json`` is replaced. A run that
dies anywhere before the last step leaves ``last-manifest.json`` describing an older layer, so
the next run publishes (or finds the versioned manifest of the newest version equal to its own
build and adopts that version) and never skips a publication it needed.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from builder.api import BuildRequest
from builder.artifacts.layers import LayerPart, merge_layer_zips
from builder.errors import AwsError, UsageError
from builder.inputs.selection import LOCK_KINDS
from builder.layer_manifest import (
    LayerContent,
    LayerKeys,
    LayerManifest,
    PublishedLayer,
    changed_fields,
    dependency_set,
    describe_changes,
    dump_manifest,
    load_manifest,
    package_lines,
)
from builder.report import LayerPublicationReport, TargetReport
from builder.requirements_file import parse_requirements
from builder.ui import BuildUI
from builder.version import __version__

# Tests kill the process at one of these points to prove a later run recovers.
CRASH_VARIABLE = "LAMBDA_BUILDER_TEST_CRASH_AT"
PUBLICATION = "publish-layer"  # the "target" name of this step's UI lines
Action = Literal["published", "reused", "would-publish", "would-reuse"]


class LayerStore(Protocol):
    """The bucket and Lambda's layers (``builder.aws.layer_store.LayerStore`` in real use)."""

    def read_text(self, key: str) -> str | None: ...

    def write_text(self, key: str, text: str) -> None: ...

    def upload_file(self, key: str, path: Path) -> None: ...

    def delete(self, key: str) -> None: ...

    def publish(
        self,
        layer_name: str,
        key: str,
        *,
        runtimes: Sequence[str],
        architectures: Sequence[str],
        description: str,
    ) -> PublishedLayer: ...

    def layer_version_arn(self, layer_name: str, version: int) -> str | None: ...

    def latest_version(self, layer_name: str) -> int | None: ...


@dataclass(frozen=True)
class LayerBuild:
    """The zip to publish and its manifest (not yet published: ``version`` is 0)."""

    zip_path: Path
    manifest: LayerManifest
    input_file: Path | None  # the lock or requirements file the user has


def check_layer_inputs(requests: Sequence[BuildRequest]) -> None:
    """A layer holds dependencies: refuse, before building, a project that declares none."""
    if requests and requests[0].requirements is None:
        raise UsageError(
            "publish-layer found no dependencies to put in a layer",
            hint="give PROJECT_DIR a lock, requirements.txt or pyproject.toml, or pass -r FILE",
        )


def assemble_layer(
    requests: Sequence[BuildRequest],
    reports: Sequence[TargetReport],
    destination: Path,
    *,
    layer_name: str,
    description: str,
) -> LayerBuild:
    """The zip for every target and its manifest.

    One target publishes the zip ``build --layer-zip`` wrote; several are merged into
    ``destination``.
    """
    check_layer_inputs(requests)
    first = requests[0]
    assert first.requirements is not None
    zip_path, (sha256, size, unzipped) = _one_zip(requests, reports, destination)
    source = first.input_source or first.requirements
    requirements, constraints = dependency_set(
        parse_requirements(first.requirements, is_complete=first.input_kind in LOCK_KINDS),
        source.parent,
    )
    content = LayerContent(
        requirements=requirements,
        constraints=constraints,
        packages={report.name: package_lines(report.packages) for report in reports},
        runtimes=list(dict.fromkeys(r.runtime.name for r in requests)),
        architectures=list(dict.fromkeys(r.architecture.value for r in requests)),
        layout=first.config.artifacts.layer_layout,
        zip_sha256=sha256,
    )
    manifest = LayerManifest(
        tool_version=__version__,
        layer_name=layer_name,
        description=description,
        content=content,
        zip_size=size,
        unzipped_size=unzipped,
        input_kind=first.input_kind,
        input_file=source.name if source.is_file() else None,
    )
    return LayerBuild(zip_path, manifest, source if source.is_file() else None)


def _one_zip(
    requests: Sequence[BuildRequest], reports: Sequence[TargetReport], destination: Path
) -> tuple[Path, tuple[str, int, int]]:
    """The zip to publish with its sha256, size and unzipped size."""
    zips = [_layer_zip(report) for report in reports]
    if len(zips) == 1:
        return zips[0]
    parts = [
        LayerPart(request.runtime.name, request.architecture.value, path)
        for request, (path, _record) in zip(requests, zips)
    ]
    summary = merge_layer_zips(parts, destination)
    return destination, (summary.sha256, summary.size, summary.unzipped_size)


def _layer_zip(report: TargetReport) -> tuple[Path, tuple[str, int, int]]:
    record = next(a for a in report.artifacts if a.kind == "layer-zip")
    assert record.sha256 is not None and record.unzipped_size is not None
    return Path(record.path), (record.sha256, record.size, record.unzipped_size)


def _crash_point(name: str) -> None:
    """Die here as a killed process would (no cleanup), when a test asks for it."""
    if os.environ.get(CRASH_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _report(
    build: LayerBuild,
    keys: LayerKeys,
    action: Action,
    *,
    arn: str | None = None,
    version: int | None = None,
    changes: Sequence[str] = (),
    manifest_keys: Sequence[str] = (),
    staging_key: str | None = None,
) -> LayerPublicationReport:
    manifest = build.manifest
    return LayerPublicationReport(
        layer_name=manifest.layer_name,
        action=action,
        reused=action in ("reused", "would-reuse"),
        dry_run=action.startswith("would-"),
        arn=arn,
        version=version,
        changes=list(changes),
        sha256=manifest.content.zip_sha256,
        zip_size=manifest.zip_size,
        unzipped_size=manifest.unzipped_size,
        runtimes=manifest.content.runtimes,
        architectures=manifest.content.architectures,
        layout=manifest.content.layout,
        bucket=keys.location.bucket,
        manifest_keys=list(manifest_keys),
        staging_key=staging_key,
    )


def read_previous(store: LayerStore, keys: LayerKeys, ui: BuildUI) -> LayerManifest | None:
    """The last published manifest; also the first AWS call, so bad access fails before a build."""
    previous, problem = load_manifest(store.read_text(keys.last_manifest))
    if problem:
        ui.warning(
            PUBLICATION,
            f"{keys.location.uri(keys.last_manifest)} is unusable ({problem}): publishing anew",
        )
    return previous


def publish_layer(
    store: LayerStore,
    keys: LayerKeys,
    build: LayerBuild,
    previous: LayerManifest | None,
    *,
    dry_run: bool,
    ui: BuildUI,
) -> LayerPublicationReport:
    """Reuse the published version when nothing changed; otherwise publish a new one."""
    content, name = build.manifest.content, keys.layer_name
    if previous is not None and previous.content == content:
        arn = store.layer_version_arn(name, previous.version)
        if arn is not None:
            action: Action = "would-reuse" if dry_run else "reused"
            manifests = [keys.last_manifest, keys.versioned_manifest(previous.version)]
            return _report(
                build, keys, action, arn=arn, version=previous.version, manifest_keys=manifests
            )
        ui.warning(PUBLICATION, f"{previous.layer_version_arn} no longer exists: publishing again")
    adopted = _adopt_unfinished(store, keys, build, previous, dry_run=dry_run, ui=ui)
    if adopted is not None:
        return adopted
    changes = changed_fields(previous, content)
    if dry_run:
        ui.step(PUBLICATION, f"dry run: would publish {name} ({describe_changes(changes)})")
        staging = keys.staging(content.zip_sha256)
        return _report(build, keys, "would-publish", changes=changes, staging_key=staging)
    return _publish(store, keys, build, changes, ui)


def _adopt_unfinished(
    store: LayerStore,
    keys: LayerKeys,
    build: LayerBuild,
    previous: LayerManifest | None,
    *,
    dry_run: bool,
    ui: BuildUI,
) -> LayerPublicationReport | None:
    """A run that died after writing the newest version's manifest published this very build.

    Only a versioned manifest proves what a version holds (it is written after Lambda answered),
    so a version without one is never adopted: that case publishes again.
    """
    latest = store.latest_version(keys.layer_name)
    if latest is None or (previous is not None and latest <= previous.version):
        return None
    found, _problem = load_manifest(store.read_text(keys.versioned_manifest(latest)))
    if found is None or found.content != build.manifest.content or found.version != latest:
        return None
    arn = store.layer_version_arn(keys.layer_name, latest)
    if arn is None:
        return None
    manifests = [keys.last_manifest, keys.versioned_manifest(latest)]
    if dry_run:
        return _report(build, keys, "would-reuse", arn=arn, version=latest, manifest_keys=manifests)
    ui.warning(
        PUBLICATION,
        f"version {latest} was published by a run that did not finish: reusing it and "
        "recording it in last-manifest.json",
    )
    store.write_text(keys.last_manifest, dump_manifest(found))
    return _report(build, keys, "reused", arn=arn, version=latest, manifest_keys=manifests)


def _publish(
    store: LayerStore, keys: LayerKeys, build: LayerBuild, changes: list[str], ui: BuildUI
) -> LayerPublicationReport:
    content, name = build.manifest.content, keys.layer_name
    staging = keys.staging(content.zip_sha256)
    ui.step(PUBLICATION, f"uploading the layer zip to {keys.location.uri(staging)}")
    store.upload_file(staging, build.zip_path)
    _crash_point("after-upload")
    ui.step(PUBLICATION, f"publishing a new version of {name} ({describe_changes(changes)})")
    published = store.publish(
        name,
        staging,
        runtimes=content.runtimes,
        architectures=content.architectures,
        description=build.manifest.description,
    )
    _crash_point("after-publish")
    manifest = build.manifest.model_copy(
        update={
            "layer_arn": published.layer_arn,
            "layer_version_arn": published.layer_version_arn,
            "version": published.version,
        }
    )
    text = dump_manifest(manifest)
    versioned = keys.versioned_manifest(published.version)
    if build.input_file is not None and manifest.input_file:
        inputs = keys.input_file(published.version, manifest.input_file)
        store.upload_file(inputs, build.input_file)
    store.write_text(versioned, text)
    _crash_point("after-versioned-manifest")
    store.write_text(keys.last_manifest, text)
    try:
        store.delete(staging)  # Lambda keeps its own copy of the content
    except AwsError as error:
        ui.warning(PUBLICATION, f"could not remove the staged zip: {error}")
    return _report(
        build,
        keys,
        "published",
        arn=published.layer_version_arn,
        version=published.version,
        changes=changes,
        manifest_keys=[keys.last_manifest, versioned],
        staging_key=staging,
    )
