"""The files of a build-cache entry: listing, hashing, and checking them against the manifest.

As git does with its index, a file whose size, mtime and inode are what they were at the last
check (and not so recent that a change could hide in the same clock tick) is not read again: a
warm build of numpy and pandas would otherwise hash 100 MB every time.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

_CHUNK = 1 << 20
VERIFIED_FILE = "verified.json"  # per entry: each file's stat when its hash last matched
_RACY_NS = 2_000_000_000  # changed this close to the last check: hash it again


def tree_files(root: Path, *, bytecode: bool = True) -> Iterator[tuple[str, Path]]:
    """Every file below ``root``, sorted; key material leaves out the bytecode a local run may
    leave, but an entry keeps it (--compile-bytecode ships it), so it is verified like the rest.
    """
    for relative, path, _stat in tree_stats(root, bytecode=bytecode):
        yield relative, Path(path)


def tree_stats(root: Path, *, bytecode: bool = True) -> list[tuple[str, str, os.stat_result]]:
    """(relative path, path, stat) of every file below ``root``, sorted by relative path.

    Plain strings and one stat per file: a warm build walks 3,700 files of numpy and pandas,
    and pathlib objects cost more than the system calls.
    """
    found: list[tuple[str, str, os.stat_result]] = []
    pending = [(os.fspath(root), "")]
    while pending:
        directory, prefix = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir():  # a linked directory is not walked, as os.walk does not
                    if entry.is_symlink() or (not bytecode and entry.name == "__pycache__"):
                        continue
                    pending.append((entry.path, f"{prefix}{entry.name}/"))
                    continue
                try:
                    info = os.stat(entry.path)
                except OSError:
                    continue  # a dangling link is not a file
                if stat.S_ISREG(info.st_mode):
                    found.append((f"{prefix}{entry.name}", entry.path, info))
    found.sort(key=lambda item: item[0])
    return found


def file_digest(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


class CorruptEntryError(Exception):
    """A stored entry does not match its manifest."""


def digest_settled(tree: Path) -> tuple[dict[str, str], dict[str, object]]:
    """Every file's sha256, and the verified record of this very check.

    The files were written a moment ago, inside the racy window, so the first lookup would
    hash them all again (100 MB for numpy and pandas). Their mtime is first set a few seconds
    into the past (files the installer wrote are there already: they carry their wheel's
    times): a write after that (even during the hashing) gives a new mtime, which the next
    lookup sees as a change, so the record stays as safe as one made later.

    Files the installer wrote are not read at all: it hashed each one as it wrote it, into
    the RECORD it rewrites (``installed_digests``).
    """
    settled_ns = time.time_ns() - 2 * _RACY_NS
    installed = installed_digests(tree)
    files, stamps = {}, {}
    for relative, path, info in tree_stats(tree):
        if info.st_mtime_ns > settled_ns:
            # A file not ours to touch is simply hashed again on the first lookup.
            with contextlib.suppress(OSError):
                os.utime(path, ns=(settled_ns, settled_ns), follow_symlinks=False)
            info = os.stat(path)
        recorded = installed.get(relative)
        if recorded is not None and recorded[1] == info.st_size:
            files[relative] = recorded[0]
        else:
            files[relative] = file_digest(path)
        stamps[relative] = _stamp(info)
    return files, {"at": time.time_ns(), "files": stamps}


def installed_digests(tree: Path) -> dict[str, tuple[str, int]]:
    """(sha256 hex, size) of each file listed in the top-level RECORD files of ``tree``.

    Only for trees our installer wrote: it rewrites every top-level RECORD from the bytes it
    wrote (incontainer/install.py), so a wheel cannot plant its own hashes there. A file whose
    size differs from its row changed afterwards and is hashed by the caller.
    """
    found: dict[str, tuple[str, int]] = {}
    try:
        records = sorted(
            os.path.join(entry.path, "RECORD")
            for entry in os.scandir(tree)
            if entry.name.endswith(".dist-info") and entry.is_dir(follow_symlinks=False)
        )
    except OSError:
        return found
    for record in records:
        try:
            with open(record, encoding="utf-8", newline="") as stream:
                rows = list(csv.reader(stream))
        except (OSError, UnicodeDecodeError, csv.Error):
            continue
        for row in rows:
            if len(row) != 3 or not row[1].startswith("sha256="):
                continue
            try:
                digest = base64.urlsafe_b64decode(row[1][len("sha256=") :] + "==")
                size = int(row[2])
            except ValueError:  # binascii.Error is one
                continue
            if len(digest) == 32:
                found[row[0]] = (digest.hex(), size)
    return found


def _stamp(info: os.stat_result) -> list[int]:
    # Not ctime: bundles hard-link these files, and every link and unlink changes it.
    return [info.st_size, info.st_mtime_ns, info.st_ino]


def verify(tree: Path, files: Mapping[str, str], record: Path | None = None) -> None:
    """Check every file against the manifest; ``record`` keeps the stats of a passing check."""
    present = {relative: (path, info) for relative, path, info in tree_stats(tree)}
    if set(present) != set(files):
        extra = sorted(set(present) ^ set(files))[:3]
        raise CorruptEntryError(f"files differ from its manifest: {', '.join(extra)}")
    checked_at, stamps = 0, {}
    if record is not None:
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            checked_at, stamps = int(data["at"]), dict(data["files"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    fresh: dict[str, list[int]] = {}
    hashed = False
    for relative, expected in files.items():
        path, info = present[relative]
        fresh[relative] = _stamp(info)
        unchanged = stamps.get(relative) == fresh[relative]
        if unchanged and info.st_mtime_ns < checked_at - _RACY_NS:
            continue
        hashed = True
        if file_digest(path) != expected:
            raise CorruptEntryError(f"{relative} does not match its sha256")
    if record is not None and hashed:
        _write_atomically(record, json.dumps({"at": time.time_ns(), "files": fresh}))


def _write_atomically(path: Path, text: str) -> None:
    """Best effort: a check that cannot be recorded is simply done again next time."""
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError:
        pass
