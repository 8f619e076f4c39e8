"""Measuring a bundle: who owns each file, the biggest packages, and Lambda's size limits."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from builder.artifacts.zips import BundleFile
from builder.errors import ArtifactError
from builder.report import PackageSize, SizeReport

# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
UNZIPPED_LIMIT = 262_144_000  # "250 MB": function code plus all its layers, unzipped
ZIPPED_LIMIT = 52_428_800  # "50 MB": a zip uploaded directly (larger ones go through S3)
LARGEST_COUNT = 10
_MB = 1024 * 1024


def megabytes(size: int) -> str:
    return f"{size / _MB:.1f} MB"


def package_label(dist_info: str) -> str:
    """``numpy-1.26.4.dist-info`` -> ``numpy 1.26.4``."""
    stem = dist_info[: -len(".dist-info")] if dist_info.endswith(".dist-info") else dist_info
    name, _sep, version = stem.partition("-")
    return f"{name} {version}".strip()


def record_paths(text: str) -> list[str]:
    """The paths a RECORD lists, normalised to POSIX paths inside the bundle."""
    paths = []
    for row in csv.reader(io.StringIO(text)):
        if row and row[0] and not row[0].startswith(("/", "..")):
            path = row[0]
            # Most rows are already normal; PurePosixPath per row cost more than the parse.
            if "//" in path or "/./" in path or path.startswith("./") or path.endswith(("/", "/.")):
                path = PurePosixPath(path).as_posix()
            paths.append(path)
    return paths


def owners_from_records(records: Mapping[str, str]) -> dict[str, str]:
    """Map each recorded path to its package; ``records`` maps dist-info dir -> RECORD text."""
    owners: dict[str, str] = {}
    for dist_info in sorted(records):
        label = package_label(dist_info)
        for path in record_paths(records[dist_info]):
            owners.setdefault(path, label)
    return owners


def read_owners(root: Path) -> dict[str, str]:
    records = {}
    for record in sorted(root.glob("*.dist-info/RECORD")):
        records[record.parent.name] = record.read_text(encoding="utf-8", errors="replace")
    return owners_from_records(records)


def owner_of(relative: str, owners: Mapping[str, str], by_top: Mapping[str, str]) -> str:
    """A package for any file: RECORD, then a .pyc's source, then its top-level directory."""
    parts = relative.split("/")
    if len(parts) >= 2 and parts[-2] == "__pycache__" and parts[-1].endswith(".pyc"):
        parts = [*parts[:-2], parts[-1].split(".")[0] + ".py"]
        relative = "/".join(parts)
    if relative in owners:
        return owners[relative]
    top = parts[0]
    return by_top.get(top) or f"{top} (source)"


def top_level_owners(owners: Mapping[str, str]) -> dict[str, str]:
    by_top: dict[str, str] = {}
    for path in sorted(owners):
        if "/" in path:
            by_top.setdefault(path.split("/", 1)[0], owners[path])
    return by_top


def attribute(files: Iterable[BundleFile], owners: Mapping[str, str]) -> dict[str, str]:
    """Each file's owner (see ``owner_of``), keyed by its path in the bundle."""
    by_top = top_level_owners(owners)
    return {item.relative: owner_of(item.relative, owners, by_top) for item in files}


def largest(
    files: Sequence[BundleFile], owners: Mapping[str, str], count: int = LARGEST_COUNT
) -> list[PackageSize]:
    totals: dict[str, list[int]] = {}
    attributed = attribute(files, owners)
    for item in files:
        total = totals.setdefault(attributed[item.relative], [0, 0])
        total[0] += item.size
        total[1] += 1
    ranked = sorted(totals.items(), key=lambda pair: (-pair[1][0], pair[0]))
    return [
        PackageSize(name=name, size=size, files=number) for name, (size, number) in ranked[:count]
    ]


def measure(
    files: Sequence[BundleFile],
    owners: Mapping[str, str],
    *,
    removed_files: int = 0,
    removed_bytes: int = 0,
    stripped_files: int = 0,
) -> SizeReport:
    return SizeReport(
        unzipped=sum(item.size for item in files),
        files=len(files),
        largest=largest(files, owners),
        unzipped_limit=UNZIPPED_LIMIT,
        zipped_limit=ZIPPED_LIMIT,
        removed_files=removed_files,
        removed_bytes=removed_bytes,
        stripped_files=stripped_files,
    )


def contributors(sizes: Sequence[PackageSize], count: int = 5) -> str:
    return ", ".join(f"{item.name} {megabytes(item.size)}" for item in sizes[:count])


def check_unzipped(report: SizeReport, what: str, target: str) -> None:
    """Fail before Lambda does: the unzipped bundle must fit in 250 MB with its layers."""
    if report.unzipped <= report.unzipped_limit:
        return
    raise ArtifactError(
        f"the {what} is {megabytes(report.unzipped)} ({report.unzipped:,} bytes) unzipped; "
        f"Lambda allows {megabytes(report.unzipped_limit)} ({report.unzipped_limit:,} bytes) "
        f"for a function and all its layers. Largest: {contributors(report.largest)}",
        target=target,
        hint="--slim drops tests, docs, stubs and debug symbols; --exclude PATTERN drops what "
        "the function never imports; beyond that, deploy as a container image "
        "(10 GB limit)",
    )


def zipped_warning(kind: str, path: Path, size: int, limit: int = ZIPPED_LIMIT) -> str | None:
    """Over 50 MB a zip cannot be uploaded directly, only through S3: worth a warning."""
    if size <= limit:
        return None
    return (
        f"{kind} {path} is {megabytes(size)} ({size:,} bytes), over the "
        f"{megabytes(limit)} Lambda accepts in a direct upload: upload it to S3 and point "
        "the function or layer at the object"
    )
