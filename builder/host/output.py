"""Putting a finished bundle in place: assembled beside the destination, then swapped in."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from builder.host import sources


def staging_dir(destination: Path) -> Path:
    """A fresh directory on the destination's file system, so the final move is a rename."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}.tmp-"))


def assemble(
    dependencies: Path, source_dir: Path | None, staged: Path, exclude: tuple[Path, ...] = ()
) -> None:
    """Dependencies at the top level, the user's source copied over them (source wins)."""
    shutil.copytree(dependencies, staged, dirs_exist_ok=True, symlinks=True)
    if source_dir is not None:
        sources.copy_tree(source_dir, staged, exclude=exclude)


def replace_directory(staged: Path, destination: Path) -> None:
    """Swap ``staged`` in for ``destination``; the old one is removed only after the swap."""
    os.chmod(staged, 0o755)
    old = None
    if destination.exists() or destination.is_symlink():
        old = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}.old-"))
        os.rmdir(old)
        os.replace(destination, old)
    os.replace(staged, destination)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
