"""The two layers of a Lambda container image, written as byte-identical tars.

The engine would stamp build times and the state of the directories it copied into; writing the
tars here makes a layer depend only on its files, so the same inputs give the same layer digest
and an unchanged dependency layer is reused by the engine and by registries.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from builder.artifacts.zips import EXECUTABLE_MODE, FILE_MODE, BundleFile
from builder.errors import ArtifactError

DIRECTORY_MODE = 0o755
DEFAULT_EPOCH = 0  # every entry's mtime unless SOURCE_DATE_EPOCH says otherwise
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LayerFile:
    """A layer tar on disk: its digest is the image's ``diff_id`` for it."""

    kind: str  # "dependencies" or "source"
    path: Path
    digest: str  # sha256:<hex> of the uncompressed tar
    size: int
    files: int


def layer_epoch(environ: Mapping[str, str]) -> int:
    """Every entry's mtime: ``SOURCE_DATE_EPOCH`` when set (refused when not a number), else 0."""
    text = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not text:
        return DEFAULT_EPOCH
    try:
        return max(int(text), 0)
    except ValueError:
        raise ArtifactError(
            f"SOURCE_DATE_EPOCH={text!r} is not a whole number of seconds",
            hint="set it to e.g. $(git log -1 --format=%ct), or unset it",
        ) from None


def is_source_file(relative: str, source_paths: Collection[str]) -> bool:
    """Whether a bundle file came from the user's source: copied, or its compiled bytecode."""
    if relative in source_paths:
        return True
    path = PurePosixPath(relative)
    if path.parent.name != "__pycache__" or path.suffix != ".pyc":
        return False
    module = path.name.split(".", 1)[0]
    return str(path.parent.parent / f"{module}.py") in source_paths


def split_bundle(
    files: Sequence[BundleFile], source_paths: Collection[str]
) -> tuple[list[BundleFile], list[BundleFile]]:
    """The bundle's files as (dependencies, source): what changes rarely goes in the lower layer."""
    dependencies = [item for item in files if not is_source_file(item.relative, source_paths)]
    source = [item for item in files if is_source_file(item.relative, source_paths)]
    return dependencies, source


def _directories(files: Sequence[BundleFile]) -> list[str]:
    found: set[str] = set()
    for item in files:
        for parent in PurePosixPath(item.relative).parents:
            if str(parent) != ".":
                found.add(str(parent))
    return sorted(found)


def _entry(name: str, kind: bytes, mode: int, size: int, epoch: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = epoch
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_layer(
    kind: str, files: Sequence[BundleFile], root: PurePosixPath, destination: Path, epoch: int
) -> LayerFile:
    """``files`` under ``root`` (the task root), sorted, with fixed owner, modes and times.

    GNU format: long names become ``././@LongLink`` entries instead of pax headers, which
    would carry times of their own.
    """
    base = str(root).strip("/")
    entries: list[tuple[str, BundleFile | None]] = [(f"{base}/", None)]
    entries += [(f"{base}/{directory}/", None) for directory in _directories(files)]
    entries += [(f"{base}/{item.relative}", item) for item in files]
    entries.sort(key=lambda entry: entry[0])
    with tarfile.open(destination, "w", format=tarfile.GNU_FORMAT) as archive:
        for name, item in entries:
            if item is None:
                archive.addfile(_entry(name, tarfile.DIRTYPE, DIRECTORY_MODE, 0, epoch))
                continue
            mode = EXECUTABLE_MODE if item.executable else FILE_MODE
            size = item.path.stat().st_size
            with item.path.open("rb") as stream:
                archive.addfile(_entry(name, tarfile.REGTYPE, mode, size, epoch), stream)
    return LayerFile(
        kind, destination, _sha256(destination), destination.stat().st_size, len(files)
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def find_secret(path: Path, secrets: Collection[str]) -> bool:
    """Whether any of ``secrets`` occurs in the file (read in chunks that overlap)."""
    needles = [secret.encode() for secret in secrets if secret]
    if not needles:
        return False
    overlap = max(len(needle) for needle in needles) - 1
    tail = b""
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(_CHUNK), b""):
            window = tail + block
            if any(needle in window for needle in needles):
                return True
            tail = window[-overlap:] if overlap else b""
    return False
