"""Writes that replace a file rather than change it in place.

A bundle's dependency files are hard links into the build cache (host/output.py), so anything
that rewrites a file of a bundle must give it a new inode; writing through the old one would
change the cached entry too (the cache would notice and rebuild, but the next build is slow).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def replace_bytes(path: Path, data: bytes) -> None:
    """``path`` gets ``data`` as a new file (same mode), atomically."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def copy_replacing(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> str:
    """shutil.copy2 that never writes into an existing destination file (a copytree copier)."""
    if os.path.lexists(destination) and not os.path.isdir(destination):
        os.unlink(destination)
    return str(shutil.copy2(source, destination))


def link_or_copy_tree(source: Path, destination: Path) -> None:
    """Hard-link every file of ``source`` into ``destination`` (copying where links fail:
    another file system, a link limit), keeping symlinks as symlinks."""
    if not source.is_dir():
        raise FileNotFoundError(f"no such directory: {source}")
    for directory, subdirs, names in os.walk(source):
        relative = os.path.relpath(directory, source)
        target_dir = destination if relative == "." else destination / relative
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copystat(directory, target_dir)
        for name in [*names, *(d for d in subdirs if os.path.islink(os.path.join(directory, d)))]:
            origin = os.path.join(directory, name)
            target = target_dir / name
            if os.path.islink(origin):
                os.symlink(os.readlink(origin), target)
                continue
            try:
                os.link(origin, target)
            except OSError:
                shutil.copy2(origin, target)
