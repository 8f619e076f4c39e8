"""One function's zip, built through the public API before CDK needs its hash (no aws_cdk here)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from builder.api import BuildRequest, build_target, raise_for_status
from builder.cdk.options import FunctionBuild
from builder.cli.build import default_ca_bundle
from builder.docker.engine import connect
from builder.errors import BuilderError, DockerError
from builder.inputs import select_input
from builder.report import TargetReport
from builder.ui import BuildUI, TerminalUI

DOCKER_REQUIRED = (
    "the lambda-builder CDK construct builds in the Lambda image and needs a Docker engine "
    "(it never falls back to another bundler)"
)


@dataclass(frozen=True)
class FunctionArtifact:
    """A finished function zip in the cloud assembly, and the sha256 that names it."""

    path: Path
    sha256: str
    report: TargetReport


class LabelledUI:
    """One construct's build events, its path before the target: two functions' builds for the
    same runtime and architecture read apart in one synth's output."""

    def __init__(self, label: str, inner: BuildUI | None = None) -> None:
        self.label = label
        # No heartbeat thread: it would outlive the build inside a long-lived synth process.
        self.inner = inner or TerminalUI(heartbeat=0)

    def step(self, target: str, message: str) -> None:
        self.inner.step(f"{self.label} {target}", message)

    def log(self, target: str, line: str) -> None:
        self.inner.log(f"{self.label} {target}", line)

    def warning(self, target: str, message: str) -> None:
        self.inner.warning(f"{self.label} {target}", message)


def for_jsii(error: BuilderError) -> BuilderError:
    """The error to raise in a method jsii calls back, which keeps only the exception's text."""
    hint = f"\nhint: {error.hint}" if error.hint else ""
    return BuilderError(f"{error}{hint}")


def require_engine(target: str) -> None:
    """Fail before any work, in one line, when no Docker engine answers."""
    try:
        connect()
    except DockerError as error:
        raise DockerError(
            f"{DOCKER_REQUIRED}: {error.message}", hint=error.hint, target=target
        ) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _request(build: FunctionBuild, scratch: Path, zip_path: Path | None) -> BuildRequest:
    """The same request ``lambda-builder build PROJECT_DIR --zip ...`` makes for one target."""
    project = build.project_dir.resolve()
    selection = select_input(
        project,
        requirements=build.requirements,
        input_file=build.input,
        groups=tuple(build.groups),
        extras=tuple(build.extras),
        package=build.package,
        scratch=scratch / "input",
    )
    # A project built into a wheel is not copied as well; a non-package member is copied alone.
    copied = project if selection.copy_source else None
    if copied is not None and selection.application_dir is not None:
        copied = selection.application_dir
    ca_bundle = default_ca_bundle(str(build.ca_bundle) if build.ca_bundle else None)
    return BuildRequest(
        runtime=build.lambda_runtime,
        architecture=build.lambda_architecture,
        requirements=selection.requirements,
        output=scratch / "bundle",
        source_dir=copied,
        config=build.config(zip_path, ca_bundle),
        input_kind=selection.kind,
        input_source=selection.source,
        input_warnings=selection.warnings,
    )


def _build(
    build: FunctionBuild, scratch: Path, zip_path: Path | None, ui: BuildUI | None
) -> TargetReport:
    request = _request(build, scratch, zip_path)
    report = build_target(request, ui or LabelledUI("lambda-builder"))
    raise_for_status(report)
    return report


def build_bundle_directory(
    build: FunctionBuild, output_dir: Path, ui: BuildUI | None = None
) -> TargetReport:
    """Build the function's directory (what its zip would hold) into ``output_dir``.

    ``output_dir`` is CDK's bundling directory, which it created and owns: the bundle is
    assembled beside it and its entries are moved in only when the build succeeded.
    """
    require_engine(build.target)
    with tempfile.TemporaryDirectory(prefix=".lambda-builder-", dir=output_dir.parent) as scratch:
        report = _build(build, Path(scratch), None, ui)
        for entry in sorted((Path(scratch) / "bundle").iterdir()):
            os.replace(entry, output_dir / entry.name)
    return report


def build_function_zip(
    build: FunctionBuild, out_dir: Path, ui: BuildUI | None = None
) -> FunctionArtifact:
    """Build the zip and move it to ``out_dir/asset.<sha256>.zip``, as CDK names staged assets.

    Everything is built in a temporary directory inside ``out_dir`` and only the finished zip is
    moved into place, so an interrupted synth leaves no half-written asset behind.
    """
    require_engine(build.target)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".lambda-builder-", dir=out_dir) as scratch:
        zip_path = Path(scratch) / "function.zip"
        report = _build(build, Path(scratch), zip_path, ui)
        sha256 = file_sha256(zip_path)
        destination = out_dir / f"asset.{sha256}.zip"
        os.replace(zip_path, destination)
    return FunctionArtifact(destination, sha256, report)
