"""Tar streams in and out of containers; extraction refuses anything that escapes its root."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from builder.errors import PipelineError


def tar_directory(source: Path, arcname: str) -> bytes:
    """``source`` as a tar whose members sit under ``arcname``, readable by any user."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(str(source), arcname=arcname, filter=_normalise_owner)
    return buffer.getvalue()


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
    data = b"".join(chunks)
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive.getmembers():
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
