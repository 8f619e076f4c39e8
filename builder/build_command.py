"""``lambda-builder build``: from arguments to one request per target, run concurrently."""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from builder.api import BuildRequest, build_target
from builder.architectures import parse_architecture
from builder.config import BuildConfig, IndexConfig
from builder.errors import BuilderError, UsageError
from builder.redact import redact, register_secret, secrets_in_url
from builder.report import BuildReport, TargetReport, summarize, write_report
from builder.runtimes import get_runtime
from builder.ui import TerminalUI

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


def default_cache_dir() -> Path:
    base = os.environ.get("LAMBDA_BUILDER_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "lambda-builder" if base and "LAMBDA" not in base else \
        Path(base) if base else Path.home() / ".cache" / "lambda-builder"


def config_from_args(args: argparse.Namespace) -> BuildConfig:
    index = IndexConfig(
        index_url=args.index_url, extra_index_urls=tuple(args.extra_index_url),
        find_links=tuple(str(Path(link).resolve()) if os.path.exists(link) else link
                         for link in args.find_links),
        trusted_hosts=tuple(args.trusted_host))
    for url in [args.index_url or "", *args.extra_index_url]:
        for secret in secrets_in_url(url):
            register_secret(secret)
    return BuildConfig(
        index=index, use_container=not args.no_container, base_image=args.base_image,
        ca_bundle=default_ca_bundle(args.ca_bundle), use_cache=not args.no_cache,
        cache_dir=Path(args.cache_dir) if args.cache_dir else default_cache_dir(),
        verbose=args.verbose, quiet=args.quiet)


def requests_from_args(args: argparse.Namespace, config: BuildConfig) -> list[BuildRequest]:
    if not args.runtime:
        raise UsageError("--runtime is required", hint="e.g. --runtime python3.12")
    runtimes = [get_runtime(name) for name in _split(args.runtime)]
    architectures = [parse_architecture(name) for name in _split(args.arch)]
    source = Path(args.source_dir) if args.source_dir else None
    requirements = Path(args.requirements) if args.requirements else None
    if requirements is None and source is not None and (source / "requirements.txt").is_file():
        requirements = source / "requirements.txt"
    output = Path(args.output)
    several = len(runtimes) * len(architectures) > 1
    return [
        BuildRequest(
            runtime=runtime, architecture=arch, requirements=requirements,
            output=output / f"{runtime.name}-{arch.value}" if several else output,
            source_dir=source,
            config=config.model_copy(update={"architecture": arch}))
        for runtime in runtimes for arch in dict.fromkeys(architectures)
    ]


def _build_one(request: BuildRequest, ui: TerminalUI) -> TargetReport:
    try:
        return build_target(request, ui)
    except BuilderError as error:
        if len(error.args) and not error.target:
            error.target = request.target
        raise


def run_build(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    requests = requests_from_args(args, config)
    ui = TerminalUI(verbose=config.verbose, quiet=config.quiet)
    if len(requests) == 1:
        reports = [_build_one(requests[0], ui)]
    else:
        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            reports = list(pool.map(lambda request: _build_one(request, ui), requests))
    report = BuildReport(targets=reports)
    if args.report:
        write_report(report, Path(args.report))
    sys.stdout.write(redact(summarize(report)) + "\n")
    if report.ok:
        return 0
    return 4 if any(target.status == "missing" for target in reports) else 5
