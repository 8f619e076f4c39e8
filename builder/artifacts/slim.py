"""Making a bundle smaller and reproducible: --slim and --exclude rules, metadata clean-up."""

from __future__ import annotations

import base64
import contextlib
import csv
import dataclasses
import filecmp
import fnmatch
import hashlib
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from builder.artifacts.elf import MAGIC, ElfError, strip_unneeded
from builder.artifacts.zips import BundleFile, Collected, collect_files
from builder.replacing import replace_bytes

TEST_DIRS = frozenset({"tests", "test"})
DOC_DIRS = frozenset({"docs", "doc"})
DOC_SUFFIXES = (".md", ".rst")
DOC_STEMS = frozenset({"README", "CHANGELOG", "CHANGES", "HISTORY", "NEWS"})
# Licences often require their text to travel with the code, whatever the file is called.
LEGAL_PREFIXES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS", "COPYRIGHT")
Rehashed = dict[str, tuple[str, int]]  # path -> (RECORD hash, size) of a rewritten file
# Written by installers and different from one machine or run to the next; nothing reads them.
VARYING_METADATA = frozenset({"INSTALLER", "REQUESTED", "direct_url.json"})


@dataclass
class SlimResult:
    removed_files: int = 0  # from the function bundle
    removed_bytes: int = 0
    stripped: list[str] = field(default_factory=list)  # shared objects made smaller
    stripped_bytes: int = 0


def matches_exclude(relative: str, patterns: Iterable[str]) -> bool:
    """Whether ``--exclude`` rules leave ``relative`` out.

    A pattern without ``/`` names a file or directory anywhere (``*.md``, ``tests``); one with
    ``/`` is anchored at the bundle's root (``botocore/data/ec2``, ``app/fixtures/*``) and
    leaves out whatever is below a matching directory.
    """
    parts = relative.split("/")
    for raw in patterns:
        pattern = _normalise_pattern(raw)
        if not pattern:
            continue
        if "/" not in pattern:
            if any(fnmatch.fnmatchcase(part, pattern) for part in parts):
                return True
        elif any(
            fnmatch.fnmatchcase("/".join(parts[:end]), pattern) for end in range(1, len(parts) + 1)
        ):
            return True
    return False


def _normalise_pattern(raw: str) -> str:
    pattern = raw.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern.strip("/")


def _is_doc_file(name: str) -> bool:
    stem, _dot, suffix = name.partition(".")
    return name.endswith(DOC_SUFFIXES) or (stem.upper() in DOC_STEMS and suffix in ("", "txt"))


def slim_reason(relative: str, python_dirs: frozenset[str], compile_bytecode: bool) -> str | None:
    """Why ``--slim`` drops a dependency's file, or None to keep it.

    Nothing inside ``*.dist-info`` goes (``importlib.metadata`` reads it), no licence or notice
    file goes, and a ``docs`` directory that holds Python code is a package someone may import,
    so it stays.
    """
    parts = relative.split("/")
    if parts[0].endswith(".dist-info") or parts[-1].upper().startswith(LEGAL_PREFIXES):
        return None
    directories = parts[:-1]
    if TEST_DIRS & set(directories):
        return "tests"
    if "__pycache__" in directories and not compile_bytecode:
        return "bytecode"
    if parts[-1].endswith(".pyi"):
        return "type stubs"
    for end, name in enumerate(directories, start=1):
        if name in DOC_DIRS and "/".join(parts[:end]) not in python_dirs:
            return "docs"
    return "docs" if _is_doc_file(parts[-1]) else None


def python_directories(relatives: Iterable[str]) -> frozenset[str]:
    """Every directory that holds a .py file somewhere below it."""
    found: set[str] = set()
    for relative in relatives:
        if relative.endswith(".py"):
            parts = relative.split("/")[:-1]
            found.update("/".join(parts[:end]) for end in range(1, len(parts) + 1))
    return frozenset(found)


def plan_slim(relatives: Sequence[str], compile_bytecode: bool) -> list[str]:
    python_dirs = python_directories(relatives)
    return [r for r in relatives if slim_reason(r, python_dirs, compile_bytecode) is not None]


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def normalise_record(
    text: str,
    record_path: str,
    is_present: Callable[[str], bool],
    rehashed: Mapping[str, tuple[str, int]],
) -> str:
    """RECORD without lines for removed files, new hashes for changed ones, sorted."""
    if _already_normal(text, record_path, is_present, rehashed):
        return text
    return rebuilt_record(text, record_path, is_present, rehashed)


def rebuilt_record(
    text: str,
    record_path: str,
    is_present: Callable[[str], bool],
    rehashed: Mapping[str, tuple[str, int]],
) -> str:
    """``normalise_record`` the long way: every row through the csv module."""
    rows = []
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0] or row[0] == record_path or not is_present(row[0]):
            continue
        if row[0] in rehashed:
            digest, size = rehashed[row[0]]
            row = [row[0], digest, str(size)]
        rows.append(row)
    rows.sort(key=lambda row: row[0])
    rows.append([record_path, "", ""])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _already_normal(
    text: str,
    record_path: str,
    is_present: Callable[[str], bool],
    rehashed: Mapping[str, tuple[str, int]],
) -> bool:
    """Whether ``normalise_record`` would give ``text`` back, decided without the csv module:
    our installer writes RECORDs this way, and a warm build reads 3,700 rows of them.

    Only plain rows qualify (no quoting, three fields), sorted by path, every file present
    and none rehashed, RECORD's own row last.
    """
    if '"' in text or "\r" in text or not text.endswith(f"\n{record_path},,\n"):
        return False
    previous = ""
    for line in text.split("\n")[:-2]:
        path, comma, rest = line.partition(",")
        if not comma or rest.count(",") != 1 or not path or path < previous:
            return False
        if path == record_path or path in rehashed or not is_present(path):
            return False
        previous = path
    return True


def orphan_bytecode(relatives: Iterable[str]) -> list[str]:
    """``__pycache__`` files whose source is gone: Python would never load them."""
    present = set(relatives)
    orphans = []
    for relative in sorted(present):
        parts = relative.split("/")
        if len(parts) >= 2 and parts[-2] == "__pycache__" and parts[-1].endswith(".pyc"):
            source = "/".join([*parts[:-2], parts[-1].split(".")[0] + ".py"])
            if source not in present:
                orphans.append(relative)
    return orphans


# --- applying the rules to the staged bundle and the dependencies (the layer) ----------------


def _unlink(root: Path, relative: str) -> int:
    path = root.joinpath(*relative.split("/"))
    size = path.stat().st_size
    path.unlink()
    return size


def _is_same(staged: Path, dependencies: Path, relative: str) -> bool:
    """The staged file came from the dependencies (the user's source did not replace it)."""
    mine = staged.joinpath(*relative.split("/"))
    theirs = dependencies.joinpath(*relative.split("/"))
    return mine.is_file() and not mine.is_symlink() and filecmp.cmp(mine, theirs, shallow=False)


def exclude(root: Path, patterns: Sequence[str]) -> tuple[int, int]:
    """Remove what ``--exclude`` names; the number of files and bytes removed."""
    if not patterns:
        return 0, 0
    files = [item for item in collect_files(root).files if matches_exclude(item.relative, patterns)]
    return len(files), sum(_unlink(root, item.relative) for item in files)


def _strip(
    staged: Path, dependencies: Path, files: Sequence[BundleFile], result: SlimResult
) -> Rehashed:
    rehashed: Rehashed = {}
    for item in files:
        with item.path.open("rb") as stream:
            if stream.read(4) != MAGIC:
                continue
        data = item.path.read_bytes()
        try:
            stripped = strip_unneeded(data)
        except ElfError:
            stripped = None  # not ours to judge here: `verify` reports unreadable ELF files
        if stripped is None:
            continue
        if _is_same(staged, dependencies, item.relative):
            replace_bytes(staged.joinpath(*item.relative.split("/")), stripped)
            result.stripped.append(item.relative)
            result.stripped_bytes += len(data) - len(stripped)
        item.path.write_bytes(stripped)
        rehashed[item.relative] = (record_hash(stripped), len(stripped))
    return rehashed


def slim(staged: Path, dependencies: Path, compile_bytecode: bool) -> tuple[SlimResult, Rehashed]:
    """Apply ``--slim`` to the dependencies and to the same, unreplaced files in the bundle."""
    result = SlimResult()
    files = collect_files(dependencies).files
    removals = set(plan_slim([item.relative for item in files], compile_bytecode))
    for relative in sorted(removals):
        if _is_same(staged, dependencies, relative):
            result.removed_bytes += _unlink(staged, relative)
            result.removed_files += 1
        _unlink(dependencies, relative)
    kept = [item for item in files if item.relative not in removals]
    return result, _strip(staged, dependencies, kept, result)


def normalise_metadata(root: Path, rehashed: Mapping[str, tuple[str, int]]) -> Collected:
    """Drop run-dependent installer files and orphaned bytecode; make RECORDs tell the truth.

    Returns the bundle's files afterwards: one walk serves both this and the zip.
    """
    collected = collect_files(root)
    varying = [
        item.relative
        for item in collected.files
        if _metadata_name(item.relative) in VARYING_METADATA
    ]
    present = {item.relative for item in collected.files} - set(varying)
    orphans = orphan_bytecode(present)
    for relative in [*varying, *orphans]:
        _unlink(root, relative)
    present.difference_update(orphans)
    sizes: dict[str, int] = {}
    for item in collected.files:
        if item.relative not in present or _metadata_name(item.relative) != "RECORD":
            continue
        text = item.path.read_text(encoding="utf-8")
        fresh = normalise_record(
            text, item.relative, lambda rel: _is_present(present, rel), rehashed
        )
        if fresh != text:
            data = fresh.encode("utf-8")  # "\n" endings everywhere
            replace_bytes(item.path, data)
            sizes[item.relative] = len(data)
    kept = [
        dataclasses.replace(item, size=sizes[item.relative]) if item.relative in sizes else item
        for item in collected.files
        if item.relative in present
    ]
    _remove_empty_directories(root, collected.directories, kept)
    return Collected(kept, collected.skipped, collected.directories)


def _metadata_name(relative: str) -> str:
    """The file's name inside a top-level ``*.dist-info`` directory, else ""."""
    directory, _, name = relative.partition("/")
    return name if directory.endswith(".dist-info") else ""


def _is_present(present: set[str], relative: str) -> bool:
    """A RECORD path among the bundle's files (one set lookup, not a stat per line)."""
    if relative in present:  # the usual, already normal spelling
        return True
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts:
        return False
    return "/".join(pure.parts) in present


def _remove_empty_directories(
    root: Path, directories: Iterable[str], files: Iterable[BundleFile]
) -> None:
    """Directories with no file left beneath them, deepest first (a link or a special file
    inside one keeps it: rmdir refuses)."""
    occupied: set[str] = set()
    for item in files:
        parent = item.relative.rpartition("/")[0]
        while parent and parent not in occupied:  # its own parents were added with it
            occupied.add(parent)
            parent = parent.rpartition("/")[0]
    for relative in sorted(directories, key=lambda name: name.count("/"), reverse=True):
        path = root.joinpath(*relative.split("/"))
        if relative not in occupied and not path.is_symlink():
            with contextlib.suppress(OSError):
                path.rmdir()
