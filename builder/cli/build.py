"""``lambda-builder build``: from arguments to one request per target, run concurrently."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from builder.api import BuildRequest, build_target
from builder.architectures import Architecture, parse_architecture
from builder.config import ArtifactOptions, BuildConfig, ImageOptions, IndexConfig
from builder.errors import BuilderError, UsageError
from builder.host.build_cache import default_cache_dir
from builder.inputs import select_input
from builder.redact import redact, register_secret, secrets_in_url
from builder.runtimes import get_runtime
from builder.ui import TerminalUI

if TYPE_CHECKING:
    from builder.report import TargetReport

_CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def default_ca_bundle(explicit: str | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UsageError(f"CA bundle not found: {path}", hint="pass a PEM file")
        return path
    for variable in _CA_VARIABLES:
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            return Path(value)
    return None


def config_from_args(args: argparse.Namespace) -> BuildConfig:
    index = IndexConfig(
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_url),
        find_links=tuple(
            str(Path(link).resolve()) if os.path.exists(link) else link for link in args.find_links
        ),
        trusted_hosts=tuple(args.trusted_host),
    )
    for url in [args.index_url or "", *args.extra_index_url]:
        for secret in secrets_in_url(url):
            register_secret(secret)
    _check_backend(args)
    return BuildConfig(
        index=index,
        use_container=not args.no_container,
        base_image=args.base_image,
        ca_bundle=default_ca_bundle(args.ca_bundle),
        use_cache=not args.no_cache,
        cache_dir=Path(args.cache_dir) if args.cache_dir else default_cache_dir(),
        verbose=args.verbose,
        quiet=args.quiet,
        compile_bytecode=args.compile_bytecode,
        ssh=args.ssh,
        keyring_provider=args.keyring_provider,
        backend=args.backend,
        builder=args.builder,
        cache_to=tuple(args.cache_to),
        cache_from=tuple(args.cache_from),
        artifacts=ArtifactOptions(
            zip_path=Path(args.zip).resolve() if args.zip else None,
            layer_zip_path=Path(args.layer_zip).resolve() if args.layer_zip else None,
            layer_layout=args.layer_layout,
            slim=args.slim,
            excludes=tuple(args.exclude),
            verify=args.verify,
            image=image_options(args),
        ),
    )


def image_options(args: argparse.Namespace) -> ImageOptions | None:
    """``--image TAG --handler H [--push]``; the other two are refused without ``--image``."""
    if not args.image:
        for flag, value in (("--handler", args.handler), ("--push", args.push)):
            if value:
                raise UsageError(f"{flag} needs --image", hint="e.g. --image my-function:v1")
        return None
    if not args.handler:
        raise UsageError(
            "--image needs --handler (the image's CMD)",
            hint="e.g. --image my-function:v1 --handler app.handler",
        )
    return ImageOptions(tag=args.image, handler=args.handler, push=args.push)


def _check_backend(args: argparse.Namespace) -> None:
    buildx_only = [
        flag
        for flag, value in (
            ("--builder", args.builder),
            ("--cache-to", args.cache_to),
            ("--cache-from", args.cache_from),
        )
        if value
    ]
    if args.backend != "buildx" and buildx_only:
        raise UsageError(
            f"{', '.join(buildx_only)} only apply to --backend buildx",
            hint="add --backend buildx, or drop them",
        )
    if args.backend == "buildx" and args.no_container:
        raise UsageError(
            "--no-container and --backend buildx exclude each other",
            hint="--no-container runs on this machine; buildx runs on a BuildKit builder",
        )


def requests_from_args(
    args: argparse.Namespace, config: BuildConfig, scratch: Path
) -> list[BuildRequest]:
    if not args.runtime:
        raise UsageError("--runtime is required", hint="e.g. --runtime python3.12")
    runtimes = [get_runtime(name) for name in _split(args.runtime)]
    architectures = [parse_architecture(name) for name in _split(args.arch)]
    source = Path(args.source_dir) if args.source_dir else None
    selection = select_input(
        source,
        requirements=Path(args.requirements) if args.requirements else None,
        input_file=Path(args.input) if args.input else None,
        groups=tuple(args.group),
        extras=tuple(args.extra),
        package=args.package,
        scratch=scratch,
    )
    output = Path(args.output)
    several = len(runtimes) * len(architectures) > 1
    if len(runtimes) * len(set(architectures)) > 1 and config.artifacts.image is not None:
        raise UsageError(
            "--image builds one image: give one --runtime and one --arch",
            hint="run build --image once per target, with a tag per target "
            "(e.g. my-function:py312-arm64)",
        )
    # A project built into a wheel is not copied as well; a non-package member is copied alone.
    copied = source if selection.copy_source else None
    if copied is not None and selection.application_dir is not None:
        copied = selection.application_dir
    return [
        BuildRequest(
            runtime=runtime,
            architecture=arch,
            requirements=selection.requirements,
            output=output / f"{runtime.name}-{arch.value}" if several else output,
            source_dir=copied,
            input_kind=selection.kind,
            input_source=selection.source,
            input_warnings=selection.warnings,
            config=_per_target(config, arch, f"{runtime.name}-{arch.value}" if several else ""),
        )
        for runtime in runtimes
        for arch in dict.fromkeys(architectures)
    ]


def _suffixed(path: Path | None, suffix: str) -> Path | None:
    if path is None or not suffix:
        return path
    return path.with_name(f"{path.stem}-{suffix}{path.suffix}")


def _per_target(config: BuildConfig, arch: Architecture, suffix: str) -> BuildConfig:
    """Each target of a multi-target build writes its own zips (``app-python3.12-arm64.zip``)."""
    artifacts = config.artifacts.model_copy(
        update={
            "zip_path": _suffixed(config.artifacts.zip_path, suffix),
            "layer_zip_path": _suffixed(config.artifacts.layer_zip_path, suffix),
        }
    )
    return config.model_copy(update={"architecture": arch, "artifacts": artifacts})


def _build_one(request: BuildRequest, ui: TerminalUI) -> TargetReport:
    try:
        return build_target(request, ui)
    except BuilderError as error:
        if len(error.args) and not error.target:
            error.target = request.target
        raise


def _build_concurrently(requests: list[BuildRequest], ui: TerminalUI) -> list[TargetReport]:
    pool = ThreadPoolExecutor(max_workers=len(requests))
    try:
        futures = [pool.submit(_build_one, request, ui) for request in requests]
        return [future.result() for future in futures]
    except KeyboardInterrupt:
        # Worker threads do not see Ctrl-C: take their containers away so they stop now.
        from builder.docker.buildx import stop_active_builds
        from builder.docker.container import remove_active_containers

        pool.shutdown(wait=False, cancel_futures=True)
        remove_active_containers()
        stop_active_builds()
        raise
    finally:
        pool.shutdown(wait=True)


def build_requests(requests: list[BuildRequest], ui: TerminalUI) -> list[TargetReport]:
    """Every target, concurrently when there are several: ``build``'s path, for publish-layer."""
    if len(requests) == 1:
        return [_build_one(requests[0], ui)]
    return _build_concurrently(requests, ui)


def run_build(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    ui = TerminalUI(verbose=config.verbose, quiet=config.quiet)
    with tempfile.TemporaryDirectory(prefix="lambda-builder-input-") as scratch:
        requests = requests_from_args(args, config, Path(scratch))
        if len(requests) == 1:
            reports = [_build_one(requests[0], ui)]
        else:
            reports = _build_concurrently(requests, ui)
    from builder.report import BuildReport, summarize, write_report  # built beside the build

    report = BuildReport(targets=reports)
    if args.report:
        write_report(report, Path(args.report))
    sys.stdout.write(redact(summarize(report)) + "\n")
    return exit_code(reports)


# The CLI's exit codes for builds that ran and failed (see builder.errors for the rest).
_ERROR_KIND_EXIT = {"artifact": 8, "environment-mismatch": 6}


def exit_code(reports: list[TargetReport]) -> int:
    if all(target.status == "ok" for target in reports):
        return 0
    if any(target.status == "missing" for target in reports):
        return 4
    kinds = [target.error_kind for target in reports if target.status == "error"]
    return next((_ERROR_KIND_EXIT[k] for k in kinds if k in _ERROR_KIND_EXIT), 5)
