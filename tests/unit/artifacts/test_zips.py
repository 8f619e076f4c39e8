"""The deterministic zip writer: same bytes whatever the disk, clock or umask say."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from pathlib import Path

import pytest

from builder.artifacts.bundle import layer_prefix
from builder.artifacts.zips import (
    DEFAULT_DATE_TIME,
    collect_files,
    extract_zip,
    write_zip,
    zip_date_time,
)
from builder.errors import ArtifactError
from builder.runtimes import get_runtime

TREE = {
    "app.py": b"def handler(event, context):\n    return 1\n",
    "pkg/__init__.py": b"",
    "pkg/data/table.csv": b"a,b\n1,2\n" * 100,
    "pkg/tool": b"#!/bin/sh\necho hi\n",
    "pkg-1.0.dist-info/RECORD": b"pkg/__init__.py,,\n",
    "z\u00e9bra.py": b"VALUE = 1\n",
}


def make_tree(root: Path, order: list[str], mtime: int, umask: int) -> Path:
    old = os.umask(umask)
    try:
        for name in order:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(TREE[name])
            if name == "pkg/tool":
                path.chmod(0o777 & ~umask | 0o100)
            os.utime(path, (mtime, mtime))
    finally:
        os.umask(old)
    return root


def zip_bytes(root: Path, destination: Path, **kwargs: object) -> bytes:
    write_zip(collect_files(root).files, destination, **kwargs)  # type: ignore[arg-type]
    return destination.read_bytes()


def test_zip_is_byte_identical_across_runs(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree", list(TREE), 1_700_000_000, 0o022)
    assert zip_bytes(tree, tmp_path / "a.zip") == zip_bytes(tree, tmp_path / "b.zip")


def test_zip_ignores_directory_file_order_mtime_and_umask(tmp_path: Path) -> None:
    first = make_tree(tmp_path / "checkout-one", list(TREE), 1_600_000_000, 0o022)
    second = make_tree(
        tmp_path / "elsewhere" / "checkout-two", list(reversed(TREE)), 1_700_000_123, 0o077
    )
    assert zip_bytes(first, tmp_path / "1.zip") == zip_bytes(second, tmp_path / "2.zip")


def test_entries_are_sorted_with_fixed_time_normalised_modes_and_no_extra_fields(
    tmp_path: Path,
) -> None:
    tree = make_tree(tmp_path / "tree", list(TREE), 1_700_000_000, 0o077)
    summary = write_zip(collect_files(tree).files, tmp_path / "out.zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        assert names == sorted(TREE)
        for info in infos:
            assert info.date_time == DEFAULT_DATE_TIME
            assert info.extra == b"" and info.comment == b""
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.create_system == 3
            mode = info.external_attr >> 16
            assert stat.S_ISREG(mode)
            assert stat.S_IMODE(mode) == (0o755 if info.filename == "pkg/tool" else 0o644)
            assert archive.read(info) == TREE[info.filename]
        assert not any(info.is_dir() for info in infos)
    data = (tmp_path / "out.zip").read_bytes()
    assert summary.sha256 == hashlib.sha256(data).hexdigest()
    assert summary.size == len(data)
    assert summary.unzipped_size == sum(len(content) for content in TREE.values())
    assert summary.entries == len(TREE)


def test_prefix_puts_every_entry_below_it(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree", list(TREE), 0, 0o022)
    write_zip(collect_files(tree).files, tmp_path / "layer.zip", prefix="python/")
    with zipfile.ZipFile(tmp_path / "layer.zip") as archive:
        assert all(name.startswith("python/") for name in archive.namelist())


def test_layer_prefixes_follow_the_layer_layout() -> None:
    runtime = get_runtime("python3.12")
    assert layer_prefix("python", runtime) == "python/"
    assert layer_prefix("site-packages", runtime) == "python/lib/python3.12/site-packages/"


def test_source_date_epoch_sets_the_time_and_is_clamped_to_what_zips_hold() -> None:
    assert zip_date_time({}) == DEFAULT_DATE_TIME
    assert zip_date_time({"SOURCE_DATE_EPOCH": ""}) == DEFAULT_DATE_TIME
    assert zip_date_time({"SOURCE_DATE_EPOCH": "1700000000"}) == (2023, 11, 14, 22, 13, 20)
    assert zip_date_time({"SOURCE_DATE_EPOCH": "0"}) == (1980, 1, 1, 0, 0, 0)
    assert zip_date_time({"SOURCE_DATE_EPOCH": "99999999999"})[0] == 2107
    with pytest.raises(ArtifactError, match="SOURCE_DATE_EPOCH"):
        zip_date_time({"SOURCE_DATE_EPOCH": "yesterday"})


def test_source_date_epoch_changes_the_bytes_and_is_stable(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree", list(TREE), 0, 0o022)
    moment = zip_date_time({"SOURCE_DATE_EPOCH": "1700000000"})
    one = zip_bytes(tree, tmp_path / "1.zip", date_time=moment)
    two = zip_bytes(tree, tmp_path / "2.zip", date_time=moment)
    assert one == two != zip_bytes(tree, tmp_path / "3.zip")


def test_links_inside_are_followed_and_links_leaving_or_dangling_are_skipped(
    tmp_path: Path,
) -> None:
    root = tmp_path / "bundle"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "real.py").write_text("X = 1\n")
    (root / "pkg" / "alias.py").symlink_to("real.py")
    (root / "shared").symlink_to("pkg")
    (root / "secret").symlink_to(tmp_path / "outside.txt")
    (tmp_path / "outside.txt").write_text("aws_secret_access_key=...\n")
    (root / ".#lock").symlink_to("user@host.1234")
    (root / "pkg" / "loop").symlink_to("..")
    collected = collect_files(root)
    assert [item.relative for item in collected.files] == [
        "pkg/alias.py",
        "pkg/real.py",
        "shared/alias.py",
        "shared/real.py",
    ]
    assert sorted(collected.skipped) == [".#lock", "pkg/loop", "secret", "shared/loop"]


def test_extracting_refuses_entries_that_leave_the_directory(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as archive:
        archive.writestr("../escape.py", "X = 1\n")
    with pytest.raises(ArtifactError, match="leaves the bundle"):
        extract_zip(tmp_path / "evil.zip", tmp_path / "out")
    assert not (tmp_path / "escape.py").exists()


def test_extracting_keeps_executable_bits_and_content(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree", list(TREE), 0, 0o022)
    write_zip(collect_files(tree).files, tmp_path / "out.zip")
    extract_zip(tmp_path / "out.zip", tmp_path / "copy")
    for name, content in TREE.items():
        assert (tmp_path / "copy" / name).read_bytes() == content
    assert os.access(tmp_path / "copy" / "pkg" / "tool", os.X_OK)
    assert not os.access(tmp_path / "copy" / "app.py", os.X_OK)


def test_unreadable_zip_is_an_artifact_error(tmp_path: Path) -> None:
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match="cannot read"):
        extract_zip(tmp_path / "broken.zip", tmp_path / "out")
