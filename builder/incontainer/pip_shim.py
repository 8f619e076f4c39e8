"""pip with four adjustments, run as ``python -m <pipeline>.pip_shim ARGS`` for every pip call.

Trimming index pages (``WHEEL_MACHINE_VARIABLE``): a project page lists every wheel of every
release for every platform (pydantic-core: ~18,000 files), and pip builds and evaluates a link
for each, which is most of a wheel-only resolve's time. Wheels that no pass could ever pick for
a Linux target of this machine (Windows, macOS, musl, other architectures) are dropped as the
page is read. pip would reject each of them anyway, so its choices and messages do not change;
the web workload's resolve went from 1.0 s to 0.6 s.

Resolving for another machine (``MARKERS_VARIABLE``): pip's ``--platform``/``--abi``/
``--python-version`` choose wheels for a target, but pip still evaluates environment markers
for the machine it runs on, and refuses those options unless sdists are excluded. Here the
markers come from the target image (probed once by the host) and the refusal is lifted, so a
native pip resolves exactly what pip inside the target would, and sdists are downloaded (their
metadata prepared natively) to be built in the target later.

Each CA file is also read once per TLS context, not again for every connection (see
``pip_server.load_certificates_once``), and the index pages pip will ask for next are
requested while it works (``pip_prefetch``).

All four patch pip's internals, so each checks that what it replaces exists: a pip that has moved
them runs unpatched (slower, never different).
"""

from __future__ import annotations

import json
import os
import posixpath
import sys
from typing import Any
from urllib.parse import unquote, urlsplit

from .pip_prefetch import patch_prefetch
from .pip_server import load_certificates_once
from .tags import could_run_on

MARKERS_VARIABLE = "LAMBDA_BUILDER_TARGET_MARKERS"
WHEEL_MACHINE_VARIABLE = "LAMBDA_BUILDER_WHEEL_MACHINE"


def patch_markers(markers: dict[str, str]) -> None:
    from pip._internal.cli import cmdoptions
    from pip._vendor.packaging import markers as pip_markers

    def target_environment() -> dict[str, str]:
        return dict(markers)

    # Marker.evaluate looks default_environment up at call time: every marker pip evaluates
    # (requirements files, Requires-Dist of every candidate) sees the target.
    pip_markers.default_environment = target_environment  # type: ignore[assignment]

    def allow_sdists(options: object, check_target: bool = False) -> None:
        return None

    cmdoptions.check_dist_restriction = allow_sdists


def patch_links(machine: str, python: tuple[int, int] | None = None) -> None:
    """Index entries for wheels that cannot run on ``machine``'s Linux (or, given, on CPython
    ``python``) are never made links."""
    try:
        from pip._internal.models.link import Link
    except ImportError:
        return

    def json_filename(file: dict[str, Any]) -> str:
        return str(file.get("filename", ""))

    def anchor_filename(attributes: dict[str, Any]) -> str:
        path = urlsplit(str(attributes.get("href") or "")).path
        return unquote(posixpath.basename(path))

    # PEP 691 JSON pages and PEP 503 HTML pages: pip skips an entry its parser returns None for.
    for name, filename in (("from_json", json_filename), ("from_element", anchor_filename)):
        parser = getattr(Link, name, None)
        if parser is not None:
            trimmed = _trimmed(parser.__func__, filename, machine, python)
            setattr(Link, name, classmethod(trimmed))


def _trimmed(parse: Any, filename: Any, machine: str, python: tuple[int, int] | None) -> Any:
    def trimmed(cls: Any, entry: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if not could_run_on(filename(entry), machine, python):
            return None
        return parse(cls, entry, *args, **kwargs)

    return trimmed


def target_python(markers: dict[str, str] | None) -> tuple[int, int] | None:
    """The CPython pip picks wheels for: the target's (given ``--python-version``) when
    resolving for another machine, else this interpreter."""
    if sys.implementation.name != "cpython":
        return None
    if markers is None:
        return sys.version_info[0], sys.version_info[1]
    try:
        major, minor = markers["python_version"].split(".")[:2]
        return int(major), int(minor)
    except (KeyError, ValueError, AttributeError):
        return None


def main(argv: list[str]) -> int:
    markers = json.loads(os.environ[MARKERS_VARIABLE]) if MARKERS_VARIABLE in os.environ else None
    machine = os.environ.get(WHEEL_MACHINE_VARIABLE)
    if machine:
        patch_links(machine, target_python(markers))
    if markers is not None:
        patch_markers(markers)
    load_certificates_once()
    patch_prefetch()
    from pip._internal.cli.main import main as pip_main

    return int(pip_main(argv) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
