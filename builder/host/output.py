"""Putting a finished bundle in place: assembled beside the destination, then swapped in."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from builder.host import sources
from builder.replacing import link_or_copy_tree


def staging_dir(destination: Path) -> Path:
    """A fresh directory on the destination's file system, so the final move is a rename."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}.tmp-"))


def assemble(
    dependencies: Path, source_dir: Path | None, staged: Path, exclude: tuple[Path, ...] = ()
) -> None:
    """Dependencies at the top level, the user's source copied over them (source wins).

    The dependencies are hard links (as uv installs from its cache), so a warm build does not
    copy 100 MB of numpy and pandas again; whatever rewrites a bundle file replaces it
    (builder.replacing), and the build cache rechecks any file whose stat changed.
    """
    link_or_copy_tree(dependencies, staged)
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
