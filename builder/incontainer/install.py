"""Install wheels flat at the top of a Lambda bundle, deterministically and without surprises."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import zipfile
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
    different bytes at one path mean one package would silently break the other.
    """
    plan = InstallPlan()
    digests: dict[str, str] = {}
    for wheel in sorted(wheels, key=os.path.basename):
        try:
            archive = zipfile.ZipFile(wheel)
        except zipfile.BadZipFile as error:
            raise InstallError(
                f"{os.path.basename(wheel)} is not a readable wheel: {error}"
            ) from None
        with archive:
            for info in sorted(archive.infolist(), key=lambda item: item.filename):
                _check_safe(info.filename, wheel)
                dest = destination(info.filename)
                if dest is None:
                    if not info.filename.endswith("/"):
                        plan.dropped.append(f"{os.path.basename(wheel)}:{info.filename}")
                    continue
                digest = hashlib.sha256(archive.read(info)).hexdigest()
                if dest in plan.files:
                    other = plan.files[dest][0]
                    if other != wheel and digests[dest] != digest:
                        raise InstallError(
                            f"{os.path.basename(other)} and {os.path.basename(wheel)} both "
                            f"write {dest} with different content"
                        )
                    continue
                plan.files[dest] = (wheel, info.filename)
                digests[dest] = digest
    return plan


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


def install_wheels(wheels: list[str], target_dir: str) -> InstallPlan:
    """Write the planned files, keep exec bits, and rewrite each RECORD to match the layout."""
    plan = plan_install(wheels)
    records: dict[str, list[str]] = {}
    archives: dict[str, zipfile.ZipFile] = {}
    try:
        for dest in sorted(plan.files):
            wheel, member = plan.files[dest]
            archive = archives.get(wheel) or archives.setdefault(wheel, zipfile.ZipFile(wheel))
            info = archive.getinfo(member)
            data = archive.read(info)
            path = os.path.join(target_dir, *dest.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as stream:
                stream.write(data)
            os.chmod(path, _mode(info))
            if not dest.endswith(".dist-info/RECORD"):
                records.setdefault(wheel, []).append(_record_line(dest, data))
    finally:
        for archive in archives.values():
            archive.close()
    _rewrite_records(plan, records, target_dir)
    return plan


def _rewrite_records(plan: InstallPlan, records: dict[str, list[str]], target_dir: str) -> None:
    for dest, (wheel, _member) in plan.files.items():
        if not dest.endswith(".dist-info/RECORD") or dest.count("/") != 1:
            continue
        lines = [*sorted(records.get(wheel, [])), _record_line(dest, None)]
        path = os.path.join(target_dir, *dest.split("/"))
        with open(path, "w", encoding="utf-8", newline="\n") as stream:
            stream.write("".join(lines))
