"""Install wheels flat at the top of a Lambda bundle, deterministically and without surprises."""

from __future__ import annotations

import base64
import calendar
import contextlib
import csv
import hashlib
import io
import os
import re
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

# `<name>-<version>.data/<scheme>/...` for whatever spelling the wheel uses for its name.
_DATA_DIR = re.compile(r"^[^/]+\.data/([^/]+)/(.+)$")
_FLAT_SCHEMES = ("purelib", "platlib")


class InstallError(Exception):
    """A wheel that cannot be installed as asked: a clash, an unsafe path, a broken archive."""


@dataclass
class InstallPlan:
    """Where each archive member lands; what was dropped and why."""

    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # dest -> (wheel, member)
    dropped: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)  # dest -> uncompressed bytes


def destination(member: str) -> str | None:
    """Where a wheel member goes relative to the bundle root, or None when Lambda needs none.

    Scripts, headers and data files have nowhere to go in a Lambda bundle: a function has no
    ``bin/`` on its PATH, so they are dropped instead of cluttering the top level.
    """
    if member.endswith("/"):
        return None
    match = _DATA_DIR.match(member)
    if match:
        scheme, rest = match.groups()
        return rest if scheme in _FLAT_SCHEMES else None
    return member


def _check_safe(member: str, wheel: str) -> None:
    # Any ".." component is refused, not only a leading one: the ``.data/<scheme>/`` prefix is
    # cut off later, so ``x.data/purelib/../../evil.py`` would otherwise land outside the bundle.
    if member.startswith("/") or ".." in member.split("/") or "\\" in member:
        raise InstallError(f"{wheel}: unsafe path {member!r} in the archive")


def plan_install(wheels: list[str]) -> InstallPlan:
    """Map every member of every wheel to its destination; a clash between two wheels fails.

    Two wheels may carry the same file with the same bytes (legacy namespace ``__init__.py``);
    different bytes at one path mean one package would silently break the other. Only such
    shared paths are read here: everything else is read once, when it is written.
    """
    plan = InstallPlan()
    claims: dict[str, list[tuple[str, zipfile.ZipInfo]]] = {}
    for wheel in sorted(wheels, key=os.path.basename):
        for info in sorted(_members(wheel), key=lambda item: item.filename):
            _check_safe(info.filename, wheel)
            dest = destination(info.filename)
            if dest is None:
                if not info.filename.endswith("/"):
                    plan.dropped.append(f"{os.path.basename(wheel)}:{info.filename}")
                continue
            owners = claims.setdefault(dest, [])
            if not owners or all(owner != wheel for owner, _info in owners):
                owners.append((wheel, info))
    for dest, owners in claims.items():
        first, info = owners[0]
        if len(owners) > 1:
            _check_same_content(dest, owners)
        plan.files[dest] = (first, info.filename)
        plan.sizes[dest] = info.file_size
    return plan


def _members(wheel: str) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.infolist()
    except zipfile.BadZipFile as error:
        raise InstallError(f"{os.path.basename(wheel)} is not a readable wheel: {error}") from None


def _check_same_content(dest: str, owners: list[tuple[str, zipfile.ZipInfo]]) -> None:
    first, first_info = owners[0]
    expected = _read_member(first, first_info)
    for wheel, info in owners[1:]:
        if _read_member(wheel, info) != expected:
            raise InstallError(
                f"{os.path.basename(first)} and {os.path.basename(wheel)} both "
                f"write {dest} with different content"
            )


def _read_member(wheel: str, info: zipfile.ZipInfo) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(info)


def _mode(info: zipfile.ZipInfo) -> int:
    return 0o755 if (info.external_attr >> 16) & 0o111 else 0o644


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def _record_line(path: str, data: bytes | None) -> str:
    """One RECORD row, CSV-quoted so a file name with a comma cannot break the file."""
    buffer = io.StringIO()
    row = [path, "", ""] if data is None else [path, _record_hash(data), str(len(data))]
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue()


# Planted by the host in an output directory it mounts: removing it proves the mount reached
# the container (builder/docker/output_mount.py).
OUTPUT_TOKEN = ".lambda-builder-output-token"


def claim_target(target_dir: str) -> None:
    os.makedirs(target_dir, exist_ok=True)
    token = os.path.join(target_dir, OUTPUT_TOKEN)
    if os.path.exists(token):
        os.remove(token)


def hand_over(target_dir: str, owner: str) -> None:
    """Give the tree to the host user who mounted it (a rootful engine wrote it as root)."""
    uid, _, gid = owner.partition(":")
    ids = int(uid), int(gid)
    os.lchown(target_dir, *ids)
    for directory, subdirectories, files in os.walk(target_dir):
        for name in subdirectories + files:
            os.lchown(os.path.join(directory, name), *ids)


def install_wheels(wheels: list[str], target_dir: str) -> InstallPlan:
    """Write the planned files, keep exec bits, and rewrite each RECORD to match the layout.

    Batches of members are written by a few threads: inflating, hashing and writing all
    release the GIL, and numpy plus pandas are 100 MB to unpack.
    """
    plan = plan_install(wheels)
    batches = _batches(plan)
    records: dict[str, list[tuple[str, str]]] = {}  # wheel -> (path, RECORD row)
    _make_directories(target_dir, plan.files)
    umask = _current_umask()
    workers = max(1, min(len(batches), os.cpu_count() or 1, MAX_WORKERS))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for wheel, lines in pool.map(
            lambda batch: _write_batch(batch[0], batch[1], target_dir, umask), batches
        ):
            records.setdefault(wheel, []).extend(lines)
    _rewrite_records(plan, records, target_dir)
    return plan


MAX_WORKERS = 4
_BATCH_BYTES = 16 << 20  # uncompressed bytes per batch: a big wheel is split across threads


def _batches(plan: InstallPlan) -> list[tuple[str, list[tuple[str, str]]]]:
    """(wheel, [(dest, member)]) groups of about ``_BATCH_BYTES``, largest first."""
    by_wheel: dict[str, list[tuple[str, str]]] = {}
    for dest in sorted(plan.files):
        wheel, member = plan.files[dest]
        by_wheel.setdefault(wheel, []).append((dest, member))
    batches: list[tuple[int, str, list[tuple[str, str]]]] = []
    for wheel, items in by_wheel.items():
        batch: list[tuple[str, str]] = []
        size = 0
        for dest, member in items:
            batch.append((dest, member))
            size += plan.sizes[dest]
            if size >= _BATCH_BYTES:
                batches.append((size, wheel, batch))
                batch, size = [], 0
        if batch:
            batches.append((size, wheel, batch))
    batches.sort(key=lambda item: (-item[0], item[1]))
    return [(wheel, batch) for _size, wheel, batch in batches]


def _make_directories(target_dir: str, files: Iterable[str]) -> None:
    """Every directory the files need, each made once, parents first (a file written later
    costs its own creation only: no stat of its directory per file)."""
    os.makedirs(target_dir, exist_ok=True)
    needed = set()
    for dest in files:
        parts = dest.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            needed.add("/".join(parts[:depth]))
    for relative in sorted(needed):  # a parent sorts before its children
        with contextlib.suppress(FileExistsError):
            os.mkdir(os.path.join(target_dir, *relative.split("/")))


def _current_umask() -> int:
    """Read before the writer threads start (reading it means setting it for a moment)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _write_batch(
    wheel: str, items: list[tuple[str, str]], target_dir: str, umask: int
) -> tuple[str, list[tuple[str, str]]]:
    lines = []
    with zipfile.ZipFile(wheel) as archive:
        for dest, member in items:
            info = archive.getinfo(member)
            try:
                data = archive.read(info)
            except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                raise InstallError(
                    f"{os.path.basename(wheel)} is damaged: {member}: {error}"
                ) from None
            path = os.path.join(target_dir, *dest.split("/"))
            mode = _mode(info)
            fd, created = _open_for_writing(path, mode)
            try:
                with memoryview(data) as view:
                    written = 0
                    while written < len(view):
                        written += os.write(fd, view[written:])
                if not created or mode & umask:
                    os.fchmod(fd, mode)
                stamp = member_mtime_ns(info)
                os.utime(fd, ns=(stamp, stamp))
            finally:
                os.close(fd)
            if not dest.endswith(".dist-info/RECORD"):
                lines.append((dest, _record_line(dest, data)))
    return wheel, lines


def _open_for_writing(path: str, mode: int) -> tuple[int, bool]:
    """A descriptor, and whether the file is new: it then has ``mode`` less the umask, where
    a file already there keeps its own mode."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
    try:
        return os.open(path, flags | os.O_EXCL, mode), True
    except FileExistsError:
        return os.open(path, flags | os.O_TRUNC, mode), False


def member_mtime_ns(info: zipfile.ZipInfo) -> int:
    """The time the wheel stores for a member (as UTC), so the same wheel always gives the
    same tree; zips cannot say anything before 1980."""
    try:
        seconds = calendar.timegm((*info.date_time, 0, 0, 0))
    except (TypeError, ValueError, OverflowError):
        seconds = _ZIP_EPOCH
    return max(seconds, _ZIP_EPOCH) * 1_000_000_000


_ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z


def _rewrite_records(
    plan: InstallPlan, records: dict[str, list[tuple[str, str]]], target_dir: str
) -> None:
    """Rows sorted by path (not by row: ``GMT`` before ``GMT+0``), RECORD's own last: the
    form the host's metadata clean-up keeps as it is (artifacts/slim.normalise_record)."""
    for dest, (wheel, _member) in plan.files.items():
        if not dest.endswith(".dist-info/RECORD") or dest.count("/") != 1:
            continue
        rows = sorted(records.get(wheel, []))
        lines = [*(line for _path, line in rows), _record_line(dest, None)]
        path = os.path.join(target_dir, *dest.split("/"))
        with open(path, "w", encoding="utf-8", newline="\n") as stream:
            stream.write("".join(lines))
