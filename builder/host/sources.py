"""Copying a user's source tree without what never belongs in a Lambda bundle."""

from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path

from builder.replacing import copy_replacing

# Version control, caches, virtual environments and tool state: never part of a function.
IGNORED_NAMES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".idea",
        ".vscode",
        ".DS_Store",
        ".aws-sam",
        "node_modules",
        ".eggs",
        ".ipynb_checkpoints",
    }
)
IGNORED_PATTERNS = ("*.pyc", "*.pyo", "*.egg-info")


def is_ignored(name: str, path: Path | None = None) -> bool:
    if name in IGNORED_NAMES or any(fnmatch.fnmatch(name, p) for p in IGNORED_PATTERNS):
        return True
    # Any virtual environment, whatever it is called, carries a pyvenv.cfg at its root.
    return path is not None and (path / "pyvenv.cfg").is_file()


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {name for name in names if is_ignored(name, Path(directory) / name)}


def copy_tree(source: Path, destination: Path, exclude: tuple[Path, ...] = ()) -> None:
    """Copy ``source`` over ``destination``; paths in ``exclude`` (e.g. the output) are skipped."""
    excluded = {os.path.realpath(path) for path in exclude}

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = _ignore(directory, names)
        skipped |= {n for n in names if os.path.realpath(os.path.join(directory, n)) in excluded}
        return skipped

    shutil.copytree(
        source,
        destination,
        ignore=ignore,
        dirs_exist_ok=True,
        symlinks=True,
        copy_function=copy_replacing,  # never through a dependency's (cache-linked) inode
    )


def list_files(source: Path, exclude: tuple[Path, ...] = ()) -> set[str]:
    """The POSIX paths ``copy_tree`` copies from ``source``: files and links, no directories."""
    excluded = {os.path.realpath(path) for path in exclude}
    found: set[str] = set()
    for directory, dirs, files in os.walk(source):
        skipped = _ignore(directory, [*dirs, *files])
        skipped |= {
            n for n in dirs + files if os.path.realpath(os.path.join(directory, n)) in excluded
        }
        dirs[:] = sorted(d for d in dirs if d not in skipped)
        relative = Path(directory).relative_to(source)
        for name in files:
            if name not in skipped:
                found.add((relative / name).as_posix())
        for name in dirs:
            if os.path.islink(os.path.join(directory, name)):
                found.add((relative / name).as_posix())
    return found
