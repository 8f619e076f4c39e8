"""The pip that build containers run: the one lambda-builder was installed with.

A Lambda image ships whatever pip its release had (23.0 in the python3.11 stand-ins), and an
old pip spends most of a cold build evaluating index pages: measured here on the ``web``
workload, pip 23.0 took 2.4 s to download what pip 26.3 fetched in 1.4 s, both in the same
container. So the builder image carries a copy of this installation's pip, byte-compiled once
when the image is built (images/install-pip.sh), and the pipeline puts it first on
``PYTHONPATH``. The image keeps its own pip untouched, and uses it when its Python is older
than the copy supports or its pip is already as new.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from builder.errors import DockerError

CONTEXT_DIR = "images/pip"  # in the build context only; install-pip.sh moves it into place


def _distribution() -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution("pip")
    except importlib.metadata.PackageNotFoundError:
        raise DockerError(
            "pip is not installed beside lambda-builder",
            hint="reinstall lambda-builder (pip is one of its dependencies)",
        ) from None


def identity() -> str:
    """What defines the copy, cheaply: its version and RECORD (every file's hash)."""
    dist = _distribution()
    return f"pip {dist.version}\0{dist.read_text('RECORD') or _package_digest()}"


def _package_dir() -> Path:
    spec = importlib.util.find_spec("pip")
    if spec is None or not spec.submodule_search_locations:
        raise DockerError("pip cannot be found beside lambda-builder", hint="reinstall it")
    return Path(next(iter(spec.submodule_search_locations)))


def _package_digest() -> str:
    import hashlib

    digest = hashlib.sha256()
    for name, data in sorted(context_files().items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def context_files() -> dict[str, bytes]:
    """The pip package and its METADATA (for Requires-Python), as build-context files."""
    package = _package_dir()
    files = {f"{CONTEXT_DIR}/METADATA": (_distribution().read_text("METADATA") or "").encode()}
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[f"{CONTEXT_DIR}/pip/{path.relative_to(package).as_posix()}"] = path.read_bytes()
    return files
