"""Tar streams in and out of containers; extraction refuses anything that escapes its root."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import IO, Any

from builder.errors import PipelineError

SPOOL_BYTES = 32 << 20  # uploads larger than this go through a temporary file, not memory


def tar_directory(source: Path, arcname: str) -> IO[bytes]:
    """``source`` as a tar whose members sit under ``arcname``, readable by any user.

    The archive is spooled (memory, then a temporary file) and returned rewound, ready to be
    streamed to the engine.
    """
    # Returned open on purpose: the caller streams it and closes it (a context manager).
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    with tarfile.open(fileobj=spool, mode="w") as archive:
        archive.add(str(source), arcname=arcname, filter=_normalise_owner)
    spool.seek(0)
    return spool


class _ChunkStream(io.RawIOBase):
    """The engine's chunk iterator as a readable stream, so tarfile never holds it all."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _normalise_owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _is_within(root: Path, candidate: Path) -> bool:
    try:
        candidate.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _check_member(member: tarfile.TarInfo, root: Path) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts:
        raise PipelineError(f"refusing to extract {member.name!r}: it leaves the output")
    if member.issym() or member.islnk():
        link = PurePosixPath(member.linkname)
        base = name.parent if member.issym() else PurePosixPath()
        if link.is_absolute() or not _is_within(root, root / base / link):
            raise PipelineError(
                f"refusing to extract link {member.name!r} -> {member.linkname!r}: it points "
                "outside the output"
            )
    elif not (member.isfile() or member.isdir()):
        raise PipelineError(f"refusing to extract {member.name!r}: not a file or directory")


def extract_safely(chunks: Iterable[bytes], destination: Path, strip: int = 1) -> None:
    """Extract a tar stream, dropping ``strip`` leading components, owned by the caller.

    Modes keep only the permission bits (no setuid), so nothing extracted can do more than
    what the calling user could have written by hand.
    """
    destination.mkdir(parents=True, exist_ok=True)
    stream = io.BufferedReader(_ChunkStream(chunks), buffer_size=1 << 20)
    with tarfile.open(fileobj=stream, mode="r|*") as archive:
        for member in archive:
            parts = PurePosixPath(member.name).parts[strip:]
            if not parts:
                continue
            member.name = str(PurePosixPath(*parts))
            if member.islnk():
                member.linkname = str(PurePosixPath(*PurePosixPath(member.linkname).parts[strip:]))
            _check_member(member, destination)
            _extract_member(archive, member, destination)


def _extract_member(archive: tarfile.TarFile, member: tarfile.TarInfo, root: Path) -> None:
    target = root / member.name
    if member.isdir():
        target.mkdir(parents=True, exist_ok=True)
        os.chmod(target, 0o755)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if member.issym():
        target.unlink(missing_ok=True)
        os.symlink(member.linkname, target)
        return
    if member.islnk():
        source = root / member.linkname
        target.write_bytes(source.read_bytes())
        os.chmod(target, stat.S_IMODE(source.stat().st_mode))
        return
    stream = archive.extractfile(member)
    assert stream is not None
    with open(target, "wb") as out:
        while block := stream.read(1 << 20):
            out.write(block)
    os.chmod(target, 0o755 if member.mode & 0o111 else 0o644)
