"""Bundles share inodes with the build cache: rewrites must replace, never write through."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path

import pytest

from builder.replacing import copy_replacing, link_or_copy_tree, replace_bytes


def linked_pair(tmp_path: Path) -> tuple[Path, Path]:
    original = tmp_path / "cache" / "mod.so"
    original.parent.mkdir()
    original.write_bytes(b"cached")
    os.chmod(original, 0o755)
    linked = tmp_path / "bundle.so"
    os.link(original, linked)
    return original, linked


def test_replace_bytes_gives_the_file_a_new_inode_with_its_mode(tmp_path: Path) -> None:
    original, linked = linked_pair(tmp_path)
    replace_bytes(linked, b"stripped")
    assert original.read_bytes() == b"cached"
    assert linked.read_bytes() == b"stripped"
    assert stat.S_IMODE(linked.stat().st_mode) == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.so", "cache"]


def test_copy_replacing_unlinks_the_destination_first(tmp_path: Path) -> None:
    original, linked = linked_pair(tmp_path)
    mine = tmp_path / "mine.so"
    mine.write_bytes(b"source wins")
    copy_replacing(mine, linked)
    assert original.read_bytes() == b"cached" and linked.read_bytes() == b"source wins"


def test_link_or_copy_tree_links_files_and_keeps_symlinks(tmp_path: Path) -> None:
    source = tmp_path / "deps"
    (source / "pkg" / "sub").mkdir(parents=True)
    (source / "pkg" / "sub" / "a.py").write_text("a")
    (source / "pkg" / "alias.py").symlink_to("sub/a.py")
    (source / "linkdir").symlink_to("pkg")
    destination = tmp_path / "staged"
    destination.mkdir()
    link_or_copy_tree(source, destination)
    copied = destination / "pkg" / "sub" / "a.py"
    assert copied.stat().st_ino == (source / "pkg" / "sub" / "a.py").stat().st_ino
    assert os.readlink(destination / "pkg" / "alias.py") == "sub/a.py"
    assert os.readlink(destination / "linkdir") == "pkg"


def test_link_or_copy_tree_copies_where_links_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "deps"
    source.mkdir()
    (source / "a.py").write_text("a")

    def cross_device(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    link_or_copy_tree(source, tmp_path / "staged")
    copied = tmp_path / "staged" / "a.py"
    assert copied.read_text() == "a"
    assert copied.stat().st_ino != (source / "a.py").stat().st_ino
    shutil.rmtree(tmp_path / "staged")
    with pytest.raises(FileNotFoundError):
        link_or_copy_tree(tmp_path / "absent", tmp_path / "staged")
