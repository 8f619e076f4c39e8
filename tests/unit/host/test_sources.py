"""Copying a user's source tree without version control, caches and virtual environments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from builder.host.sources import copy_tree, is_ignored


@pytest.mark.parametrize(
    "name",
    [
        ".git",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".mypy_cache",
        ".pytest_cache",
        ".DS_Store",
        ".aws-sam",
        "node_modules",
        "mod.pyc",
        "mod.pyo",
        "pkg.egg-info",
    ],
)
def test_tool_state_and_caches_are_ignored(name: str) -> None:
    assert is_ignored(name)


@pytest.mark.parametrize("name", ["app.py", "git", "venv.py", "templates", ".env", "data.pyc.txt"])
def test_ordinary_names_are_kept(name: str) -> None:
    assert not is_ignored(name)


def test_virtualenv_with_any_name_is_recognised_by_pyvenv_cfg(tmp_path: Path) -> None:
    (tmp_path / "my-env").mkdir()
    (tmp_path / "my-env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "package").mkdir()
    assert is_ignored("my-env", tmp_path / "my-env")
    assert not is_ignored("package", tmp_path / "package")


def _tree(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*"))


def test_copy_tree_leaves_out_ignored_entries_at_every_depth(tmp_path: Path) -> None:
    source = tmp_path / "src"
    for directory in (".git", "pkg/__pycache__", "env", "pkg/sub"):
        (source / directory).mkdir(parents=True)
    (source / "env" / "pyvenv.cfg").write_text("")
    (source / "app.py").write_text("")
    (source / "pkg" / "__init__.py").write_text("")
    (source / "pkg" / "mod.pyc").write_bytes(b"")
    (source / "pkg" / "sub" / "data.json").write_text("{}")
    (source / ".git" / "HEAD").write_text("")
    copy_tree(source, tmp_path / "dest")
    assert _tree(tmp_path / "dest") == [
        "app.py",
        "pkg",
        "pkg/__init__.py",
        "pkg/sub",
        "pkg/sub/data.json",
    ]


def test_output_directory_inside_the_source_is_excluded(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "build" / "python3.12-arm64").mkdir(parents=True)
    (source / "build" / "python3.12-arm64" / "app.py").write_text("")
    (source / "app.py").write_text("")
    copy_tree(source, tmp_path / "dest", exclude=(source / "build",))
    assert _tree(tmp_path / "dest") == ["app.py"]


def test_excluded_output_is_matched_through_symlinks(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "out").mkdir(parents=True)
    (source / "app.py").write_text("")
    os.symlink(source, tmp_path / "alias")
    copy_tree(source, tmp_path / "dest", exclude=(tmp_path / "alias" / "out",))
    assert _tree(tmp_path / "dest") == ["app.py"]


def test_copy_tree_merges_into_an_existing_directory_and_keeps_symlinks(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "real.py").write_text("new")
    os.symlink("real.py", source / "link.py")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "dependency.py").write_text("dep")
    (dest / "real.py").write_text("old")
    copy_tree(source, dest)
    assert (dest / "real.py").read_text() == "new"
    assert (dest / "dependency.py").read_text() == "dep"
    assert os.readlink(dest / "link.py") == "real.py"


def test_list_files_names_what_copy_tree_copies(tmp_path: Path) -> None:
    from builder.host.sources import list_files

    source = tmp_path / "src"
    for relative in ("app.py", "lib/util.py", "__pycache__/app.cpython-312.pyc", ".git/HEAD"):
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text("")
    (source / "build").mkdir()
    (source / "build" / "out.py").write_text("")
    copied = tmp_path / "copied"
    copy_tree(source, copied, exclude=(source / "build",))
    listed = list_files(source, exclude=(source / "build",))
    assert listed == {"app.py", "lib/util.py"}
    assert listed == {p.relative_to(copied).as_posix() for p in copied.rglob("*") if p.is_file()}
