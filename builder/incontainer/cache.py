"""A cache keyed by content: built wheels by the sha256 of their sdist, downloads by file name.

pip's HTTP cache depends on caching headers that some networks strip, so it cannot be relied on;
what this cache returns is decided only by the bytes that went in. Downloads are kept per set of
package sources (index URLs and find-links, without credentials): they are offered back to pip
as find-links, and a file one index served must never become a candidate, or replace a file of
the same name, in a build that asks another index.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

SOURCE_VARIABLES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX")


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def sources_scope(env: Mapping[str, str]) -> str:
    """A short name for where packages come from: the same sources, the same downloads."""
    described = "\0".join(
        f"{name}=" + " ".join(_without_userinfo(part) for part in env.get(name, "").split())
        for name in SOURCE_VARIABLES
    )
    return hashlib.sha256(described.encode()).hexdigest()[:16]


# Changes when the same sdist would build differently (compiler flags): older entries are
# then never reused.
BUILD_RECIPE = "g0"


class BuildCache:
    def __init__(self, root: str | None, scope: str = "default"):
        self.root = root
        self.scope = scope
        if root:
            os.makedirs(self.files_dir, exist_ok=True)

    @property
    def files_dir(self) -> str:
        return os.path.join(self.root or "", "files", self.scope)

    @property
    def enabled(self) -> bool:
        return bool(self.root)

    def _built_dir(self, sdist: str, variant: str) -> str:
        name = f"{file_sha256(sdist)}-{variant}-{BUILD_RECIPE}"
        return os.path.join(self.root or "", "built", name)

    def lookup_built(self, sdist: str, variant: str) -> list[str]:
        """Wheels built earlier from exactly these sdist bytes, in the same variant."""
        if not self.root:
            return []
        directory = self._built_dir(sdist, variant)
        if not os.path.isdir(directory):
            return []
        return [
            os.path.join(directory, n) for n in sorted(os.listdir(directory)) if n.endswith(".whl")
        ]

    def store_built(self, sdist: str, variant: str, wheels: list[str]) -> None:
        if not self.root or not wheels:
            return
        final = self._built_dir(sdist, variant)
        # Concurrent builds (build-all, several containers on one volume) each write their own
        # temporary name: pids repeat across containers, so the name is random.
        temp = f"{final}.{uuid.uuid4().hex}.tmp"
        os.makedirs(temp)
        for wheel in wheels:
            shutil.copy2(wheel, temp)
        shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(temp, final)
        except OSError:
            if not os.path.isdir(final):
                raise
            shutil.rmtree(temp, ignore_errors=True)  # another build stored the same wheels

    def store_downloads(self, directory: str) -> None:
        """Keep downloaded files so later runs find them through ``--find-links``."""
        if not self.root or not os.path.isdir(directory):
            return
        for name in os.listdir(directory):
            cached = os.path.join(self.files_dir, name)
            if not os.path.exists(cached):
                temp = f"{cached}.{uuid.uuid4().hex}.tmp"
                shutil.copy2(os.path.join(directory, name), temp)
                os.replace(temp, cached)
