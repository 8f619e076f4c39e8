"""``lambda-builder build-all``: every function and layer of a manifest, built concurrently.

Each target is one ``build_target`` call, the same path as ``build``. Of the targets that would
build the same dependency set, the first runs alone and fills the cache, then the rest hit it;
everything else runs at once within ``--jobs``. A failing target fails alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.api import BuildRequest, build_target
from builder.architectures import Architecture
from builder.batch import (
    BatchReport,
    BatchTarget,
    dependency_fingerprint,
    dependency_state,
    share_groups,
    shared_builds,
    summary_table,
)
from builder.cli.build import config_from_args
from builder.config import BuildConfig, ImageOptions
from builder.errors import BuilderError, UsageError
from builder.inputs import select_input
from builder.inputs.manifest import (
    ManifestTarget,
    find_manifest,
    image_tag,
    load_manifest,
    selected,
)
from builder.inputs.selection import LOCK_KINDS
from builder.redact import redact
from builder.report import TargetReport, write_atomic
from builder.runtimes import Runtime
from builder.ui import BuildUI, TerminalUI

SOME_FAILED = 1  # the exit code when the run finished and at least one target failed


def add_build_all_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--manifest",
        metavar="FILE",
        help="lambda-builder.toml, or a pyproject.toml with [tool.lambda-builder] (default: "
        "whichever of the two is in the current directory)",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=os.cpu_count() or 2,
        metavar="N",
        help="targets built at once (default: the number of CPUs)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="build",
        metavar="DIR",
        help="outputs go to DIR/<target>/<runtime>-<arch>[.zip|-layer.zip] (default: build)",
    )
    parser.add_argument("--report", metavar="FILE", help="write the combined JSON report here")
    parser.add_argument(
        "--only",
        metavar="NAME",
        nargs="+",
        action="extend",
        default=[],
        help="build only these functions or layers",
    )
    # What config_from_args reads that build-all sets per target from the manifest instead.
    parser.set_defaults(
        zip=None,
        layer_zip=None,
        layer_layout="python",
        slim=False,
        exclude=[],
        verify=False,
        compile_bytecode=False,
        ssh=False,
        image=None,
        handler=None,
        push=False,
    )


@dataclass(frozen=True)
class Job:
    """One target for one runtime and architecture, ready to build."""

    target: ManifestTarget
    request: BuildRequest
    keep_directory: bool
    fingerprint: str | None  # the others of one fingerprint wait for the first

    @property
    def id(self) -> str:
        return f"{self.target.name}/{self.request.target}"


class _NamedUI:
    """Progress lines prefixed by the target's name: ``api/python3.12/arm64: ...``."""

    def __init__(self, ui: BuildUI, name: str):
        self.ui, self.name = ui, name

    def step(self, target: str, message: str) -> None:
        self.ui.step(f"{self.name}/{target}", message)

    def log(self, target: str, line: str) -> None:
        self.ui.log(f"{self.name}/{target}", line)

    def warning(self, target: str, message: str) -> None:
        self.ui.warning(f"{self.name}/{target}", message)


def _target_config(
    config: BuildConfig, target: ManifestTarget, out: Path, runtime: Runtime, arch: Architecture
) -> BuildConfig:
    suffix = f"{runtime.name}-{arch.value}"
    image = None
    if "image" in target.outputs and target.image and target.handler:
        image = ImageOptions(tag=image_tag(target.image, runtime, arch), handler=target.handler)
    artifacts = config.artifacts.model_copy(
        update={
            "image": image,
            "zip_path": out / f"{suffix}.zip" if "zip" in target.outputs else None,
            "layer_zip_path": out / f"{suffix}-layer.zip" if "layer" in target.outputs else None,
            "layer_layout": target.layer_layout,
            "slim": target.slim,
            "excludes": target.exclude,
            "verify": target.verify,
        }
    )
    return config.model_copy(
        update={"compile_bytecode": target.compile_bytecode, "artifacts": artifacts}
    )


def plan_jobs(
    targets: list[ManifestTarget], root: Path, config: BuildConfig, output: Path, scratch: Path
) -> list[Job]:
    """Every target, runtime and architecture as a build request (inputs selected once each)."""
    jobs = []
    for target in targets:
        selection = select_input(
            target.source or root,
            requirements=target.requirements,
            input_file=target.input,
            groups=target.groups,
            extras=target.extras,
            package=target.package,
            scratch=scratch / "inputs" / target.name,
        )
        # As build does: a project built into a wheel is not copied too; a member that is no
        # package is copied alone; a layer ships dependencies only.
        copied = None
        if target.kind == "function" and selection.copy_source:
            copied = selection.application_dir or target.source
        keep = "dir" in target.outputs
        for runtime in target.runtimes:
            for arch in target.architectures:
                suffix = f"{runtime.name}-{arch.value}"
                out = output.resolve() / target.name
                request = BuildRequest(
                    runtime=runtime,
                    architecture=arch,
                    requirements=selection.requirements,
                    output=(out if keep else scratch / "dirs" / target.name) / suffix,
                    source_dir=copied,
                    input_kind=selection.kind,
                    input_source=selection.source,
                    input_warnings=selection.warnings,
                    config=_target_config(config, target, out, runtime, arch).model_copy(
                        update={"architecture": arch}
                    ),
                )
                fingerprint = dependency_fingerprint(
                    runtime,
                    arch,
                    request.config,
                    request.requirements,
                    is_complete=selection.kind in LOCK_KINDS,
                )
                jobs.append(Job(target, request, keep, fingerprint))
    return jobs


def _unbuilt_report(request: BuildRequest, **outcome: Any) -> TargetReport:
    """The report of a target that produced none itself."""
    return TargetReport(
        runtime=request.runtime.name,
        architecture=request.architecture.value,
        glibc=request.runtime.glibc_text,
        mode="container" if request.config.use_container else "host",
        **outcome,
    )


def _failed_report(request: BuildRequest, error: BuilderError) -> TargetReport:
    """An input or engine error of one target, as a report, so the others still finish."""
    message = error.message + (f"\nhint: {error.hint}" if error.hint else "")
    return _unbuilt_report(
        request, status="error", error=redact(message), error_kind=type(error).__name__
    )


def _unsatisfiable_like(job: Job, first: Job, report: TargetReport) -> TargetReport:
    """A target whose dependency set the first of its group could not satisfy: not run again,
    since the same requirements against the same index miss the same packages."""
    why = f"not built: {first.id} has the same dependency set and could not satisfy it"
    return _unbuilt_report(job.request, status="missing", missing=report.missing, warnings=[why])


def _run_job(job: Job, ui: BuildUI) -> tuple[TargetReport, float]:
    started = time.monotonic()
    try:
        report = build_target(job.request, _NamedUI(ui, job.target.name))
    except BuilderError as error:
        report = _failed_report(job.request, error)
        ui.warning(job.id, f"failed: {redact(error.message).splitlines()[0]}")
    if not job.keep_directory and report.output is not None:
        shutil.rmtree(job.request.output, ignore_errors=True)
        report = report.model_copy(update={"output": None})
    return report, time.monotonic() - started


def run_jobs(jobs: list[Job], workers: int, ui: BuildUI) -> list[tuple[TargetReport, float]]:
    """Everything at once within ``workers``, except that the targets of one dependency set
    start only when the first of them is done (they then reuse its build, all at once), and
    do not start when it found packages missing.

    The results come back in ``jobs`` order.
    """
    groups = share_groups([job.fingerprint for job in jobs])
    waiting = {group[0]: group[1:] for group in groups}
    results: list[tuple[TargetReport, float] | None] = [None] * len(jobs)
    running: dict[Future[tuple[TargetReport, float]], int] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        for first in waiting:
            running[pool.submit(_run_job, jobs[first], ui)] = first
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)
                results[index] = result = future.result()
                for follower in waiting.pop(index, []):
                    if result[0].status == "missing":
                        skipped = _unsatisfiable_like(jobs[follower], jobs[index], result[0])
                        ui.warning(jobs[follower].id, skipped.warnings[0])
                        results[follower] = skipped, 0.0
                        continue
                    running[pool.submit(_run_job, jobs[follower], ui)] = follower
    except KeyboardInterrupt:
        from builder.docker.container import remove_active_containers

        pool.shutdown(wait=False, cancel_futures=True)
        remove_active_containers()
        raise
    finally:
        pool.shutdown(wait=True)
    return [result for result in results if result is not None]


def batch_report(
    jobs: list[Job], results: list[tuple[TargetReport, float]], manifest: Path, seconds: float
) -> BatchReport:
    shared = shared_builds(
        [(job.id, report, job.fingerprint) for job, (report, _) in zip(jobs, results)]
    )
    targets = [
        BatchTarget(
            id=job.id,
            name=job.target.name,
            kind=job.target.kind,
            handler=job.target.handler,
            seconds=round(elapsed, 3),
            dependencies=dependency_state(report, job.id, shared),
            report=report,
        )
        for job, (report, elapsed) in zip(jobs, results)
    ]
    return BatchReport(
        manifest=str(manifest),
        ok=all(t.report.status == "ok" for t in targets),
        seconds=round(seconds, 3),
        targets=targets,
        shared_dependency_builds=shared,
    )


def run_build_all(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: needs at least 1")
    manifest = find_manifest(Path.cwd(), Path(args.manifest) if args.manifest else None).resolve()
    targets = selected(load_manifest(manifest), args.only)
    config = config_from_args(args)
    ui = TerminalUI(verbose=config.verbose, quiet=config.quiet)
    with tempfile.TemporaryDirectory(prefix="lambda-builder-all-") as scratch:
        jobs = plan_jobs(targets, manifest.parent, config, Path(args.output), Path(scratch))
        results = run_jobs(jobs, args.jobs, ui)
    report = batch_report(jobs, results, manifest, time.monotonic() - started)
    if args.report:
        write_atomic(Path(args.report), report.model_dump_json(indent=2) + "\n")
    sys.stdout.write(redact(summary_table(report)) + "\n")
    return 0 if report.ok else SOME_FAILED
