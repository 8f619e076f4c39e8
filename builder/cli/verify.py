"""``lambda-builder verify``: check a bundle directory or zip against a runtime and architecture."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from builder.architectures import parse_architecture
from builder.artifacts.verify import VerifyOptions, describe, verify_bundle
from builder.artifacts.zips import extract_zip
from builder.cli.options import add_target_arguments
from builder.errors import ArtifactError, UsageError
from builder.redact import redact
from builder.report import write_atomic
from builder.runtimes import get_runtime
from builder.ui import TerminalUI


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", metavar="PATH", help="a bundle directory, function zip or layer zip"
    )
    add_target_arguments(parser, several=False)
    parser.add_argument(
        "--base-image",
        metavar="IMAGE",
        help="run the imports in this image instead of "
        "public.ecr.aws/lambda/python:<version>[-arm64]; {version}, "
        "{suffix} and {arch} are filled in as for build",
    )
    parser.add_argument(
        "--handler",
        metavar="MODULE.FUNCTION",
        help="call this handler in the runtime image and print its result",
    )
    parser.add_argument(
        "--event", metavar="FILE", help="a JSON file with the event for --handler (default: {})"
    )
    parser.add_argument("--report", metavar="FILE", help="write the JSON verification report")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="show the runtime's output")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")


def read_event(path: str | None, handler: str | None) -> Any:
    if path is None:
        return {}
    if handler is None:
        raise UsageError(
            "--event needs --handler", hint="e.g. --handler app.handler --event event.json"
        )
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read the event file {path}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"the event file {path} is not JSON: {error}") from None


def options_from_args(args: argparse.Namespace) -> VerifyOptions:
    if not args.runtime:
        raise UsageError("--runtime is required", hint="e.g. --runtime python3.12")
    runtime = get_runtime(args.runtime)
    architecture = parse_architecture(args.arch)
    event = read_event(args.event, args.handler)
    image = runtime.base_image(architecture, args.base_image)
    return VerifyOptions(runtime, architecture, image, handler=args.handler, event=event)


def run_verify(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"{path} does not exist", hint="pass a bundle directory or a zip")
    target = f"{options.runtime.name}/{options.architecture.value}"
    ui = TerminalUI(verbose=args.verbose, quiet=args.quiet)
    with tempfile.TemporaryDirectory(prefix="lambda-builder-verify-") as temporary:
        root = path
        if path.is_file():
            root = Path(temporary) / "bundle"
            root.mkdir()
            extract_zip(path, root)
        report = verify_bundle(root, options, target, ui)
    if args.report:
        write_atomic(Path(args.report), report.model_dump_json(indent=2) + "\n")
    sys.stdout.write(redact("\n".join(describe(report))) + "\n")
    if not report.ok:
        raise ArtifactError(
            f"{path} failed verification ({len(report.failures)} problems)",
            target=target,
            hint="each FAIL line names the file and its package; rebuild for this runtime "
            "and architecture, or pin versions that have wheels for it",
        )
    return 0
