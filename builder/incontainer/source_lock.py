"""One build at a time in a local project's directory.

pip builds a local project in place, and setuptools writes ``build/`` and ``*.egg-info`` into
it. On a host (``--no-container``), two targets of one ``build-all`` that share a workspace
library would build it at the same moment in the same directory and break each other's
files. In a container the project is a private copy, and the lock costs nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator


def lock_path(project: str) -> str:
    digest = hashlib.sha256(os.path.realpath(project).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"lambda-builder-project-{digest}.lock")


@contextlib.contextmanager
def building_in(project: str) -> Iterator[None]:
    """Held while ``project`` is built, by every process of this machine (an flock)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no concurrent host builds to keep apart
        yield
        return
    with open(lock_path(project), "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
