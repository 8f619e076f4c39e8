"""The one module that writes zips: byte-identical archives of a bundle, and safe extraction."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from builder.errors import ArtifactError

# DOS timestamps start in 1980 and have no time zone. 1980-01-01 00:00 in a zone west of UTC
# reads back as 1979 (a negative time) in some unzip tools, so the default is a month later.
DEFAULT_DATE_TIME = (1980, 2, 1, 0, 0, 0)
MIN_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest a zip can say
MAX_EPOCH = 4354819198  # 2107-12-31T23:59:58Z, the latest
COMPRESSION = zipfile.ZIP_DEFLATED
COMPRESS_LEVEL = 6  # zlib's default: within ~1% of level 9 on Python trees, far faster
FILE_MODE, EXECUTABLE_MODE = 0o644, 0o755
_UNIX = 3


@dataclass(frozen=True)
class BundleFile:
    """A regular file of a bundle: its POSIX path inside the bundle and where it is on disk."""

    relative: str
    location: str | os.PathLike[str]  # a string from the walk: a Path per file costs more
    size: int
    executable: bool = False

    @property
    def path(self) -> Path:
        return Path(self.location)


@dataclass
class Collected:
    files: list[BundleFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # links leading out, dangling or looping
    directories: list[str] = field(default_factory=list)  # every directory walked into


@dataclass(frozen=True)
class ZipSummary:
    sha256: str
    size: int
    unzipped_size: int
    entries: int


def zip_date_time(environ: Mapping[str, str]) -> tuple[int, int, int, int, int, int]:
    """The one timestamp of every entry: ``SOURCE_DATE_EPOCH`` clamped to what a zip can hold.

    https://reproducible-builds.org/specs/source-date-epoch/ ; a value that is not an integer
    is refused instead of ignored, so a typo cannot silently change every zip's hash.
    """
    text = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not text:
        return DEFAULT_DATE_TIME
    try:
        epoch = int(text)
    except ValueError:
        raise ArtifactError(
            f"SOURCE_DATE_EPOCH={text!r} is not a whole number of seconds",
            hint="set it to e.g. $(git log -1 --format=%ct), or unset it",
        ) from None
    moment = time.gmtime(min(max(epoch, MIN_EPOCH), MAX_EPOCH))
    return (
        moment.tm_year,
        moment.tm_mon,
        moment.tm_mday,
        moment.tm_hour,
        moment.tm_min,
        moment.tm_sec,
    )


def _is_inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def collect_files(root: Path) -> Collected:
    """Every regular file under ``root``, sorted by path, following links that stay inside."""
    collected = Collected()
    real_root = root.resolve()
    _walk(root, "", str(real_root), real_root, frozenset({str(real_root)}), collected)
    collected.files.sort(key=lambda item: item.relative)
    return collected


def _walk(
    directory: str | Path,
    prefix: str,
    real_directory: str,
    real_root: Path,
    active: frozenset[str],
    collected: Collected,
) -> None:
    """``active``: the real paths of the directories being walked, so a link loop stops."""
    with os.scandir(directory) as entries:
        ordered = sorted(entries, key=lambda entry: entry.name)
    for entry in ordered:
        relative = f"{prefix}{entry.name}"
        # A link out of the bundle would copy e.g. ~/.aws/credentials into a deployed zip.
        if entry.is_symlink() and not _stays_inside(entry.path, real_root):
            collected.skipped.append(relative)
        elif entry.is_dir():
            linked = entry.is_symlink()
            real = os.path.realpath(entry.path) if linked else f"{real_directory}/{entry.name}"
            if real in active:
                collected.skipped.append(relative)
                continue
            collected.directories.append(relative)
            inner = active | {real}
            _walk(entry.path, f"{relative}/", real, real_root, inner, collected)
        elif entry.is_file():
            info = entry.stat()
            collected.files.append(
                BundleFile(relative, entry.path, info.st_size, bool(info.st_mode & 0o111))
            )
        else:
            collected.skipped.append(relative)


def _stays_inside(link: str, real_root: Path) -> bool:
    path = Path(link)
    return path.exists() and _is_inside(path.resolve(), real_root)


def member_info(
    arcname: str, size: int, executable: bool, date_time: tuple[int, int, int, int, int, int]
) -> zipfile.ZipInfo:
    """An entry header that depends only on its name, size and executable bit."""
    info = zipfile.ZipInfo(arcname, date_time=date_time)
    info.compress_type = COMPRESSION
    # Python 3.13 renamed the attribute; both spellings accept the level.
    setattr(
        info,
        "compress_level" if hasattr(info, "compress_level") else "_compresslevel",
        COMPRESS_LEVEL,
    )
    info.create_system = _UNIX
    mode = EXECUTABLE_MODE if executable else FILE_MODE
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.file_size = size
    return info


def write_zip(
    files: Sequence[BundleFile],
    destination: Path,
    *,
    prefix: str = "",
    date_time: tuple[int, int, int, int, int, int] = DEFAULT_DATE_TIME,
) -> ZipSummary:
    """Write ``files`` (under ``prefix``) to ``destination``: sorted, fixed time, fixed modes."""
    members = sorted(((prefix + item.relative, item) for item in files), key=lambda m: m[0])
    with zipfile.ZipFile(destination, "w", allowZip64=True) as archive:
        for arcname, item in members:
            info = member_info(arcname, item.size, item.executable, date_time)
            with item.path.open("rb") as source, archive.open(info, "w") as target:
                shutil.copyfileobj(source, target, 1 << 20)
    digest = hashlib.sha256()
    with destination.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return ZipSummary(
        digest.hexdigest(),
        destination.stat().st_size,
        sum(item.size for item in files),
        len(members),
    )


def _check_entry(info: zipfile.ZipInfo, archive: Path) -> PurePosixPath:
    name = PurePosixPath(info.filename)
    if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
        raise ArtifactError(
            f"{archive}: refusing the entry {info.filename!r}: it leaves the bundle",
            hint="rebuild the zip with relative paths only",
        )
    return name


def extract_zip(archive_path: Path, destination: Path) -> None:
    """Unpack a bundle zip for checking; links inside it must stay inside it."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except (OSError, zipfile.BadZipFile) as error:
        raise ArtifactError(f"cannot read {archive_path} as a zip: {error}") from None
    with archive:
        for info in archive.infolist():
            name = _check_entry(info, archive_path)
            target = destination.joinpath(*name.parts)
            mode = info.external_attr >> 16
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISLNK(mode):
                link = archive.read(info).decode("utf-8")
                if not _is_inside((target.parent / link).resolve(), destination.resolve()):
                    raise ArtifactError(
                        f"{archive_path}: link {info.filename} -> {link} points outside the bundle"
                    )
                os.symlink(link, target)
                continue
            with archive.open(info) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            os.chmod(target, EXECUTABLE_MODE if mode & 0o111 else FILE_MODE)
