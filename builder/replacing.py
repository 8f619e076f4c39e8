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
    another file system, a link limit), keeping symlinks as symlinks.

    Plain strings and the directory entries' own types: a warm build links 3,700 files, and
    pathlib objects or a stat per file would cost more than the links themselves.
    """
    if not source.is_dir():
        raise FileNotFoundError(f"no such directory: {source}")
    _link_directory(os.fspath(source), os.fspath(destination))


def _link_directory(source: str, destination: str) -> None:
    os.makedirs(destination, exist_ok=True)
    shutil.copystat(source, destination)
    with os.scandir(source) as entries:
        for entry in entries:
            target = os.path.join(destination, entry.name)
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), target)
            elif entry.is_dir(follow_symlinks=False):
                _link_directory(entry.path, target)
            else:
                try:
                    os.link(entry.path, target)
                except OSError:
                    shutil.copy2(entry.path, target)
