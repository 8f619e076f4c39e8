"""The public Python API: build one target's dependencies (and bundle) into a directory."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from builder import background
from builder.architectures import Architecture
from builder.config import BuildConfig
from builder.errors import ArtifactError, MissingDependenciesError, PipelineError, UsageError
from builder.host.output import assemble, replace_directory, staging_dir
from builder.inputs.selection import LOCK_KINDS
from builder.job import PipelineResult
from builder.redact import redact
from builder.requirements_file import ParsedRequirements, parse_requirements
from builder.runtimes import Runtime, deprecation_warning, get_runtime
from builder.ui import BuildUI, NullUI

if TYPE_CHECKING:
    from builder.artifacts.bundle import BundleOutcome
    from builder.report import ContainerImageRecord, TargetReport

# Needed only once the dependencies are there (background.import_later).
NEEDED_AFTER_THE_BUILD = ("builder.report", "builder.artifacts.bundle")


@dataclass(frozen=True)
class BuildRequest:
    runtime: Runtime
    architecture: Architecture
    requirements: Path | None
    output: Path
    source_dir: Path | None = None
    config: BuildConfig = field(default_factory=BuildConfig)
    input_kind: str | None = None
    input_source: Path | None = None  # the user's lock or file; requirements may be generated
    input_warnings: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        return f"{self.runtime.name}/{self.architecture.value}"


def _run_pipeline(
    request: BuildRequest, parsed: ParsedRequirements | None, scratch: Path, ui: BuildUI
) -> tuple[PipelineResult, Path, str | None, str, str | None]:
    """The pipeline's result, the dependency tree, the base image, the cache outcome and key."""
    if not request.config.use_container:
        from builder.host.runner import run_on_host

        result, target_dir, cache, key = run_on_host(
            request.runtime, request.architecture, request.config, parsed, scratch, ui
        )
        return result, target_dir, None, cache, key
    if request.config.backend == "buildx":
        from builder.docker.buildx_runner import run_with_buildx

        return run_with_buildx(
            request.runtime, request.architecture, request.config, parsed, scratch, ui
        )
    from builder.docker.runner import run_in_container

    return run_in_container(
        request.runtime, request.architecture, request.config, parsed, scratch, ui
    )


def _check_request(request: BuildRequest) -> None:
    if request.requirements is not None and not request.requirements.is_file():
        raise UsageError(
            f"requirements file not found: {request.requirements}",
            hint="pass the path of an existing requirements file",
        )
    if request.source_dir is not None and not request.source_dir.is_dir():
        raise UsageError(f"source directory not found: {request.source_dir}")
    output = request.output.resolve()
    if request.source_dir is not None and output == request.source_dir.resolve():
        raise UsageError(
            "the output directory cannot be the source directory",
            hint="pick another --output, e.g. build/",
        )
    if request.config.artifacts.image is not None:
        from builder.artifacts.container_image import check_options

        check_options(request.config.artifacts.image)


def _write_output(request: BuildRequest, dependencies: Path, ui: BuildUI) -> BundleOutcome:
    """Assemble beside the destination, finish the artifacts, then swap everything in."""
    ui.step(request.target, f"writing {request.output}")
    staged = staging_dir(request.output)
    background.while_waiting()  # on the links, below
    try:
        assemble(dependencies, request.source_dir, staged, exclude=(request.output, staged))
        from builder.artifacts.bundle import finish_bundle

        bundle = finish_bundle(
            staged,
            dependencies,
            runtime=request.runtime,
            architecture=request.architecture,
            config=request.config,
            target=request.target,
            ui=ui,
        )
        try:
            replace_directory(staged, request.output)
            bundle.commit()
        finally:
            bundle.discard()
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return bundle


def _build_image(request: BuildRequest, ui: BuildUI) -> ContainerImageRecord:
    """``--image``: the finished output directory, its source files in a layer of their own."""
    from builder.artifacts.container_image import build_container_image
    from builder.host.sources import list_files

    source_paths: set[str] = set()
    if request.source_dir is not None:
        source_paths = list_files(request.source_dir, exclude=(request.output,))
    return build_container_image(
        request.output,
        source_paths,
        runtime=request.runtime,
        architecture=request.architecture,
        config=request.config,
        target=request.target,
        ui=ui,
    )


def _with_hint(message: str, hint: str | None) -> str:
    return message + (f"\nhint: {hint}" if hint else "")


def build_target(request: BuildRequest, ui: BuildUI | None = None) -> TargetReport:
    """Build one runtime/architecture; the report says ``ok``, ``missing`` or ``error``.

    Input errors raise; a build that ran and failed returns its report, and the previous
    output is left exactly as it was.
    """
    ui = ui or NullUI()
    _check_request(request)
    background.import_later(NEEDED_AFTER_THE_BUILD)
    warning = deprecation_warning(request.runtime)
    warnings = [warning] if warning else []
    warnings += request.input_warnings
    parsed = None
    if request.requirements is None:
        warnings.append("no requirements file: copying the source only")
    else:
        parsed = parse_requirements(
            request.requirements, is_complete=request.input_kind in LOCK_KINDS
        )
        warnings += parsed.warnings
    for message in warnings:
        ui.warning(request.target, message)
    scratch = Path(tempfile.mkdtemp(prefix="lambda-builder-"))
    try:
        result, target_dir, image, cache, key = _run_pipeline(request, parsed, scratch, ui)
        from builder.artifacts.bundle import BundleOutcome

        output, bundle, container_image = None, BundleOutcome(), None
        status, error, error_kind = result.status, None, None
        if result.error:
            error_kind = result.error.get("kind")
            error = _with_hint(result.error.get("message", ""), result.error.get("hint"))
        if result.status == "ok":
            try:
                bundle = _write_output(request, target_dir, ui)
                output = str(request.output)
            except ArtifactError as failure:  # limits and --verify: reported, output untouched
                status, error_kind = "error", "artifact"
                error = _with_hint(failure.message, failure.hint)
        if status == "ok" and request.config.artifacts.image is not None:
            container_image = _build_image(request, ui)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        background.wait()  # the build container's removal, begun when its work was done
    from builder.report import TargetReport

    return TargetReport(
        runtime=request.runtime.name,
        architecture=request.architecture.value,
        glibc=request.runtime.glibc_text,
        python=result.python,
        pip=result.pip,
        mode="container" if request.config.use_container else "host",
        image=image,
        dependency_cache=cache,
        dependency_key=key,
        input=str(request.input_source or request.requirements) if request.requirements else None,
        input_kind=request.input_kind or ("requirements.txt" if request.requirements else None),
        output=output,
        status=status,
        packages=result.packages,
        missing=result.missing,
        warnings=[redact(w) for w in warnings + result.warnings],
        error=redact(error) if error else None,
        error_kind=error_kind,
        artifacts=bundle.artifacts,
        sizes=bundle.sizes,
        verification=bundle.verification,
        container_image=container_image,
    )


def raise_for_status(report: TargetReport) -> None:
    if report.status == "missing":
        names = ", ".join(f"{m.name} {m.version}".strip() for m in report.missing)
        raise MissingDependenciesError(
            f"could not satisfy: {names}",
            target=report.name,
            missing=[m.model_dump() for m in report.missing],
            hint="see each package's reason above; the previous output was left untouched",
        )
    if report.status == "error":
        error_type = ArtifactError if report.error_kind == "artifact" else PipelineError
        raise error_type(report.error or "the build failed", target=report.name)


class PythonPipDependencyBuilder:
    """Builds a requirements file's dependencies for a Lambda runtime (the classic shape)."""

    def __init__(self, runtime: str, config: BuildConfig | None = None):
        self.runtime = get_runtime(runtime)
        self.config = config or BuildConfig()

    def build_dependencies(
        self,
        artifacts_dir_path: str | Path,
        requirements_path: str | Path | None,
        ui: BuildUI | None = None,
    ) -> TargetReport:
        request = BuildRequest(
            runtime=self.runtime,
            architecture=self.config.architecture,
            requirements=Path(requirements_path) if requirements_path else None,
            output=Path(artifacts_dir_path),
            config=self.config,
        )
        report = build_target(request, ui)
        raise_for_status(report)
        return report


def build_dependencies(
    artifacts_dir_path: str | Path,
    requirements_path: str | Path | None,
    runtime: str,
    ui: BuildUI | None = None,
    config: BuildConfig | None = None,
) -> TargetReport:
    """Install the dependencies of ``requirements_path`` for ``runtime`` into a directory.

    Raises ``MissingDependenciesError`` (with each package's reason) when some cannot be
    satisfied for the target; the directory is then left as it was.
    """
    builder = PythonPipDependencyBuilder(runtime, config)
    return builder.build_dependencies(artifacts_dir_path, requirements_path, ui)
