"""The ``lambda-builder`` command: argument parsing, and every error turned into a message."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence

from builder.cli.options import ENV_PREFIX, add_target_arguments
from builder.errors import BuilderError
from builder.redact import redact
from builder.version import __version__


def _keyring_provider(value: str) -> str:
    from builder.config import KEYRING_PROVIDERS

    if value not in KEYRING_PROVIDERS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not one of {', '.join(KEYRING_PROVIDERS)} "
            f"(from the option or {ENV_PREFIX}KEYRING_PROVIDER)"
        )
    return value


def _add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source_dir",
        nargs="?",
        metavar="SOURCE_DIR",
        help="your function's source (copied over the dependencies)",
    )
    parser.add_argument(
        "-r",
        "--requirements",
        metavar="FILE",
        help="requirements file (default: SOURCE_DIR/requirements.txt)",
    )
    add_target_arguments(parser, several=True)
    parser.add_argument(
        "-o", "--output", default="build", metavar="DIR", help="output directory (default: build)"
    )
    parser.add_argument("--report", metavar="FILE", help="write the JSON build report here")
    add_engine_arguments(parser)
    _add_input_and_artifact_arguments(parser)


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Where and how builds run, and which indexes they use: build and build-all share them."""
    parser.add_argument(
        "--no-container",
        action="store_true",
        default=os.environ.get(f"{ENV_PREFIX}NO_CONTAINER") == "1",
        help="run pip on this host (it must match the target); the default "
        "inside the standalone image",
    )
    parser.add_argument(
        "--base-image",
        metavar="IMAGE",
        help="replace public.ecr.aws/lambda/python:<version>[-arm64] (mirrors, pinned "
        "digests); {version}, {suffix} and {arch} are filled in per target",
    )
    parser.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="CA certificates for pip in the container (default: SSL_CERT_FILE,"
        " REQUESTS_CA_BUNDLE or PIP_CERT when set)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="ignore and do not fill the caches (downloads, built wheels, finished builds)",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where finished builds (and --no-container downloads) are cached (default: "
        "LAMBDA_BUILDER_CACHE_DIR or ~/.cache/lambda-builder); container downloads are "
        "cached in a named volume",
    )
    indexes = parser.add_argument_group("package indexes (credentials in URLs are never shown)")
    indexes.add_argument(
        "--index-url", metavar="URL", help="the main index (default: pip's configuration, PyPI)"
    )
    indexes.add_argument(
        "--extra-index-url", metavar="URL", action="append", default=[], help="repeatable"
    )
    indexes.add_argument(
        "--find-links",
        metavar="PATH_OR_URL",
        action="append",
        default=[],
        help="a directory (uploaded into the container) or URL of distributions; repeatable",
    )
    indexes.add_argument(
        "--trusted-host",
        metavar="HOST",
        action="append",
        default=[],
        help="allow plain HTTP or an unverified certificate for HOST; repeatable",
    )
    indexes.add_argument(
        "--keyring-provider",
        type=_keyring_provider,
        default=os.environ.get(f"{ENV_PREFIX}KEYRING_PROVIDER") or None,
        metavar="{auto,disabled,import,subprocess}",
        help="ask keyring for index credentials that URLs, variables and netrc do not give, "
        "as pip does (default: PIP_KEYRING_PROVIDER or pip's keyring-provider, else auto: the "
        "keyring library if importable, else a keyring executable on PATH, else none)",
    )
    _add_backend_arguments(parser)
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="show pip's output")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")


def _add_input_and_artifact_arguments(parser: argparse.ArgumentParser) -> None:
    inputs = parser.add_argument_group("project inputs")
    inputs.add_argument(
        "--input",
        metavar="FILE",
        help="use this lock/requirements/pyproject file instead of detecting one",
    )
    inputs.add_argument(
        "--group",
        metavar="NAME",
        action="append",
        default=[],
        help="include a dependency group (lock files); repeatable",
    )
    inputs.add_argument(
        "--extra",
        metavar="NAME",
        action="append",
        default=[],
        help="include an optional-dependency extra; repeatable",
    )
    inputs.add_argument(
        "--package", metavar="NAME", help="build one workspace member with only its dependencies"
    )
    inputs.add_argument(
        "--ssh",
        action="store_true",
        help="forward the SSH agent into the container for git+ssh dependencies",
    )
    artifacts = parser.add_argument_group("artifacts")
    artifacts.add_argument("--zip", metavar="FILE", help="write the function zip here")
    artifacts.add_argument("--layer-zip", metavar="FILE", help="write a layer zip here")
    artifacts.add_argument(
        "--layer-layout",
        choices=("python", "site-packages"),
        default="python",
        help="python/ (default) or python/lib/python3.X/site-packages/ inside the layer zip",
    )
    artifacts.add_argument(
        "--compile-bytecode",
        action="store_true",
        help="ship .pyc compiled by the target's Python (hash-checked)",
    )
    artifacts.add_argument(
        "--slim",
        action="store_true",
        help="drop tests, docs, type stubs and debug symbols of dependencies",
    )
    artifacts.add_argument(
        "--exclude",
        metavar="PATTERN",
        action="append",
        default=[],
        help="leave matching paths out of the bundle; repeatable",
    )
    artifacts.add_argument(
        "--verify",
        action="store_true",
        help="check ELF machine, glibc symbols and imports after building",
    )
    image = parser.add_argument_group("container image (one runtime and architecture)")
    image.add_argument(
        "--image",
        metavar="TAG",
        help="also build a Lambda container image of the output on the runtime base image",
    )
    image.add_argument(
        "--handler", metavar="MODULE.FUNCTION", help="the image's CMD, e.g. app.handler"
    )
    image.add_argument(
        "--push", action="store_true", help="push the image with the engine's credentials"
    )


def _add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    backend = parser.add_argument_group("backend (where the pipeline runs)")
    backend.add_argument(
        "--backend",
        choices=("docker", "buildx"),
        default=os.environ.get(f"{ENV_PREFIX}BACKEND") or "docker",
        help="docker (default): containers through the engine's API; buildx: a BuildKit "
        "build on a buildx builder (remote builders, CI caches)",
    )
    backend.add_argument(
        "--builder", metavar="NAME", help="the buildx builder (default: the current one)"
    )
    backend.add_argument(
        "--cache-to",
        metavar="SPEC",
        action="append",
        default=[],
        help="passed to `docker buildx build --cache-to` (e.g. type=gha,mode=max); repeatable",
    )
    backend.add_argument(
        "--cache-from",
        metavar="SPEC",
        action="append",
        default=[],
        help="passed to `docker buildx build --cache-from` (e.g. type=gha); repeatable",
    )


def _add_build_all(parser: argparse.ArgumentParser) -> None:
    from builder.cli.build_all import add_build_all_arguments

    add_build_all_arguments(parser)
    add_engine_arguments(parser)


def _add_doctor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtime",
        default="python3.12",
        help="runtimes whose base images to look for (comma-separated)",
    )
    parser.add_argument("--base-image", metavar="IMAGE", help="as for build")
    parser.add_argument(
        "--builder", metavar="NAME", help="the buildx builder --backend buildx will use"
    )


def _add_verify(parser: argparse.ArgumentParser) -> None:
    from builder.cli.verify import add_verify_arguments

    add_verify_arguments(parser)


def _add_cache(parser: argparse.ArgumentParser) -> None:
    from builder.cli.cache import add_cache_arguments

    add_cache_arguments(parser)


def _add_publish_layer(parser: argparse.ArgumentParser) -> None:
    from builder.cli.publish_layer import add_publish_layer_arguments

    add_publish_layer_arguments(parser, _add_build_arguments)


# name: (help, what adds its arguments). Each command's module is imported only when that
# command runs (or for a full parser): a warm build should not pay for publish-layer's imports.
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "build": ("build dependencies (and bundles) for Lambda", _add_build_arguments),
    "build-all": (
        "build every function and layer of a manifest (lambda-builder.toml)",
        _add_build_all,
    ),
    "doctor": ("check Docker, emulation, images, CA bundle and proxy", _add_doctor_arguments),
    "verify": ("check a bundle or zip: ELF machine, glibc, imports, a handler call", _add_verify),
    "cache": ("show or trim the cache of finished dependency sets", _add_cache),
    "publish-layer": (
        "build the layer zip, publish it to Lambda only when its manifest changed",
        _add_publish_layer,
    ),
}


def make_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI, or with ``command`` only that command's arguments (the others are
    listed, so ``--help`` and "invalid choice" errors read the same)."""
    parser = argparse.ArgumentParser(
        prog="lambda-builder",
        description="Build Python dependencies for AWS Lambda inside the Lambda images.",
    )
    parser.add_argument("--version", action="version", version=f"lambda-builder {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (text, add_arguments) in COMMANDS.items():
        subparser = commands.add_parser(name, help=text)
        if command is None or command == name:
            add_arguments(subparser)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The command word (the first argument that is not an option), if it names a command."""
    word = next((argument for argument in argv if not argument.startswith("-")), None)
    return word if word in COMMANDS else None


def _print_error(error: BuilderError) -> None:
    sys.stderr.write(f"error: {redact(str(error))}\n")
    if error.hint:
        sys.stderr.write(f"hint: {redact(error.hint)}\n")


def _interrupt_on_sigterm() -> None:
    """A terminated build (CI cancel, `docker stop`, kill) cleans up like Ctrl-C does."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread (embedded use): leave it be
        signal.signal(signal.SIGTERM, handler)


def entry() -> int:
    """The console script: ``main``, then an exit that leaves memory to the operating system.

    Without the freeze, the interpreter's last garbage collection walks every object that
    pydantic, the docker SDK and the build created: about 60 ms, a tenth of a warm build.
    Finalizers, atexit handlers and thread joins still run.
    """
    code = main()
    gc.freeze()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = make_parser(_command_in(argv)).parse_args(argv)
    _interrupt_on_sigterm()
    try:
        if args.command == "build":
            from builder.cli.build import run_build

            return run_build(args)
        if args.command == "build-all":
            from builder.cli.build_all import run_build_all

            return run_build_all(args)
        if args.command == "doctor":
            from builder.cli.doctor import run_doctor

            return run_doctor(
                [r.strip() for r in args.runtime.split(",") if r.strip()],
                args.base_image,
                args.builder,
            )
        if args.command == "cache":
            from builder.cli.cache import run_cache

            return run_cache(args)
        if args.command == "publish-layer":
            from builder.cli.publish_layer import run_publish_layer

            return run_publish_layer(args)
        if args.command == "verify":
            from builder.cli.verify import run_verify

            return run_verify(args)
        return 2
    except BuilderError as error:
        _print_error(error)
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: containers removed, previous output left untouched\n")
        return 130
    except Exception:  # an unexpected failure is a bug: show it all, but without secrets
        sys.stderr.write(redact(traceback.format_exc()))
        sys.stderr.write("error: internal error in lambda-builder; please report it\n")
        return 70
