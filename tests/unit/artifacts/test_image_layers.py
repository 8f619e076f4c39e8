"""Layer tars of a container image: byte-identical for the same files, split by origin."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path, PurePosixPath

import pytest

from builder.artifacts.image_layers import (
    find_secret,
    is_source_file,
    layer_epoch,
    split_bundle,
    write_layer,
)
from builder.artifacts.zips import BundleFile, collect_files
from builder.errors import ArtifactError

ROOT = PurePosixPath("/var/task")


def make_tree(root: Path, mtime: int) -> list[BundleFile]:
    files = {
        "app.py": "def handler(e, c):\n    return 1\n",
        "pkg/__init__.py": "",
        "pkg/tool.sh": "#!/bin/sh\n",
        "pkg/" + "deep/" * 30 + "long_name.py": "x = 1\n",
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(path, 0o700 if relative.endswith(".sh") else 0o600)
        os.utime(path, (mtime, mtime))
    return collect_files(root).files


def test_a_layer_is_byte_identical_whatever_the_files_times_and_modes(tmp_path: Path) -> None:
    one = write_layer("source", make_tree(tmp_path / "a", 1_000), ROOT, tmp_path / "1.tar", 0)
    two = write_layer("source", make_tree(tmp_path / "b", 2_000_000), ROOT, tmp_path / "2.tar", 0)
    assert one.path.read_bytes() == two.path.read_bytes()
    assert one.digest == two.digest and one.digest.startswith("sha256:")
    assert (one.size, one.files) == ((tmp_path / "1.tar").stat().st_size, 4)


def test_entries_are_sorted_owned_by_root_with_fixed_modes_and_no_pax(tmp_path: Path) -> None:
    layer = write_layer("source", make_tree(tmp_path / "t", 5), ROOT, tmp_path / "l.tar", 42)
    with tarfile.open(layer.path) as archive:
        members = archive.getmembers()
        assert archive.pax_headers == {}
    names = [m.name for m in members]
    assert names[:4] == ["var/task", "var/task/app.py", "var/task/pkg", "var/task/pkg/__init__.py"]
    assert all(m.name.startswith("var/task") for m in members)
    assert all((m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "", "", 42) for m in members)
    modes = {m.name: m.mode for m in members}
    assert modes["var/task/pkg/tool.sh"] == 0o755
    assert modes["var/task/app.py"] == 0o644 and modes["var/task/pkg"] == 0o755
    assert any(len(m.name) > 100 for m in members)  # a long name survives without pax headers
    assert b"mtime=" not in layer.path.read_bytes()


def test_an_empty_layer_still_holds_the_task_root(tmp_path: Path) -> None:
    layer = write_layer("dependencies", [], ROOT, tmp_path / "e.tar", 0)
    with tarfile.open(layer.path) as archive:
        assert [m.name for m in archive.getmembers()] == ["var/task"]
    assert layer.files == 0


def test_source_files_and_their_bytecode_go_to_the_source_layer() -> None:
    sources = {"app.py", "lib/util.py", "config.json"}
    assert is_source_file("app.py", sources)
    assert is_source_file("__pycache__/app.cpython-312.pyc", sources)
    assert is_source_file("lib/__pycache__/util.cpython-312.pyc", sources)
    assert not is_source_file("__pycache__/six.cpython-312.pyc", sources)
    assert not is_source_file("lib/__pycache__/other.cpython-312.pyc", sources)
    files = [
        BundleFile(name, Path(name), 1)
        for name in ("app.py", "config.json", "six.py", "__pycache__/app.cpython-312.pyc")
    ]
    dependencies, source = split_bundle(files, sources)
    assert [f.relative for f in dependencies] == ["six.py"]
    assert [f.relative for f in source] == [
        "app.py",
        "config.json",
        "__pycache__/app.cpython-312.pyc",
    ]


def test_layer_epoch_follows_source_date_epoch() -> None:
    assert layer_epoch({}) == 0
    assert layer_epoch({"SOURCE_DATE_EPOCH": " 1700000000 "}) == 1700000000
    with pytest.raises(ArtifactError, match="not a whole number"):
        layer_epoch({"SOURCE_DATE_EPOCH": "yesterday"})


def test_a_secret_is_found_across_read_chunks(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"x" * ((1 << 20) - 3) + b"s3cret-token" + b"y" * 10)
    assert find_secret(path, {"s3cret-token"})
    assert not find_secret(path, {"other-token"})
    assert not find_secret(path, set())
