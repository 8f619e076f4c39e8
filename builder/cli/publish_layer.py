"""``lambda-builder publish-layer``: ``build --layer-zip``, then publish only what changed."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from builder.cli.build import build_requests, config_from_args, exit_code, requests_from_args
from builder.layer_manifest import (
    LayerKeys,
    check_description,
    check_layer_name,
    describe_changes,
    parse_s3_uri,
)
from builder.layer_publication import (
    LayerStore,
    assemble_layer,
    check_layer_inputs,
    publish_layer,
    read_previous,
)
from builder.redact import redact
from builder.report import BuildReport, LayerPublicationReport, summarize, write_report
from builder.ui import TerminalUI

AWS_EXTRA_HINT = "pip install 'lambda-builder[aws]'"


def add_publish_layer_arguments(
    parser: argparse.ArgumentParser, add_build_arguments: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Every ``build`` option (the same inputs make the same zip), plus where to publish."""
    add_build_arguments(parser)
    parser.set_defaults(output=None)  # the bundle directory is kept only when -o asks for it
    for action in parser._actions:  # the shared options, described for this command
        if action.dest == "source_dir":
            action.metavar, action.help = "PROJECT_DIR", "the project whose dependencies to publish"
        elif action.dest == "output":
            action.help = "also keep the built bundle directory here"
        elif action.dest == "layer_zip":
            action.help = "also keep the published layer zip here"
    group = parser.add_argument_group(
        "publication (credentials, region and AWS_ENDPOINT_URL are found as boto3 finds them)"
    )
    group.add_argument("--layer-name", required=True, metavar="NAME", help="the Lambda layer")
    group.add_argument(
        "--s3-uri",
        required=True,
        metavar="s3://BUCKET/PREFIX",
        help="where the zip is staged and the manifests kept (PREFIX/NAME/...)",
    )
    group.add_argument("--description", default="", help="the new layer version's description")
    group.add_argument(
        "--dry-run", action="store_true", help="build and compare, then say what would happen"
    )


def _connect(bucket: str, prefix: str) -> LayerStore:
    try:
        from builder.aws.layer_store import LayerStore as AwsLayerStore
    except ImportError as error:  # boto3 is an extra
        from builder.errors import UsageError

        raise UsageError(
            f"publish-layer needs boto3, which is not installed ({error.name})",
            hint=AWS_EXTRA_HINT,
        ) from None
    return AwsLayerStore(bucket, prefix)


def run_publish_layer(args: argparse.Namespace) -> int:
    location = parse_s3_uri(args.s3_uri)
    check_layer_name(args.layer_name)
    check_description(args.description)
    keys = LayerKeys(location, args.layer_name)
    ui = TerminalUI(verbose=args.verbose, quiet=args.quiet)
    store = _connect(location.bucket, location.prefix)
    previous = read_previous(store, keys, ui)  # bad credentials or bucket fail before a build
    final = Path(args.layer_zip).resolve() if args.layer_zip else None
    with tempfile.TemporaryDirectory(prefix="lambda-builder-publish-") as scratch:
        work = Path(scratch)
        build_args = argparse.Namespace(
            **{
                **vars(args),
                "layer_zip": str(final or work / "layer.zip"),
                "output": args.output or str(work / "bundle"),
            }
        )
        config = config_from_args(build_args)
        requests = requests_from_args(build_args, config, work / "input")
        check_layer_inputs(requests)
        reports = build_requests(requests, ui)
        failed = exit_code(reports)
        if failed:
            _finish(args, BuildReport(targets=reports))
            return failed
        build = assemble_layer(
            requests,
            reports,
            work / "layer-merged.zip",
            layer_name=args.layer_name,
            description=args.description,
        )
        outcome = publish_layer(store, keys, build, previous, dry_run=args.dry_run, ui=ui)
        if final is not None and build.zip_path != final:
            _place(build.zip_path, final)
    _finish(args, BuildReport(targets=reports, layer_publication=outcome))
    return 0


def _place(source: Path, final: Path) -> None:
    """Copy beside ``final``, then rename: a reader never sees half a zip."""
    final.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(descriptor)
    try:
        shutil.copyfile(source, name)
        os.chmod(name, 0o644)
        os.replace(name, final)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _finish(args: argparse.Namespace, report: BuildReport) -> None:
    if args.report:
        write_report(report, Path(args.report))
    lines = [summarize(report)]
    if report.layer_publication is not None:
        lines += describe(report.layer_publication)
    sys.stdout.write(redact("\n".join(lines)) + "\n")


def describe(outcome: LayerPublicationReport) -> list[str]:
    """The publication in a few lines; the last is the layer version ARN alone, for scripts."""
    what = {
        "published": f"published version {outcome.version}",
        "reused": f"unchanged: reusing version {outcome.version}",
        "would-publish": "dry run: would publish a new version",
        "would-reuse": f"dry run: unchanged, would reuse version {outcome.version}",
    }[outcome.action]
    lines = [f"layer {outcome.layer_name}: {what}"]
    if outcome.changes and not outcome.reused:
        lines.append(f"  {describe_changes(outcome.changes)}")
    lines.append(
        f"  runtimes {', '.join(outcome.runtimes)}; architectures "
        f"{', '.join(outcome.architectures)}; layout {outcome.layout}"
    )
    lines.append(
        f"  zip {outcome.zip_size:,} bytes ({outcome.unzipped_size:,} unzipped), "
        f"sha256 {outcome.sha256}"
    )
    for key in outcome.manifest_keys:
        lines.append(f"  manifest s3://{outcome.bucket}/{key}")
    if outcome.arn:
        lines.append(outcome.arn)
    return lines
