"""Putting a bundle in place: assembled beside the destination, swapped in only when complete."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from builder.host.output import assemble, replace_directory, staging_dir


def _tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def dependencies(tmp_path: Path) -> Path:
    root = tmp_path / "deps"
    (root / "six-1.16.0.dist-info").mkdir(parents=True)
    (root / "six.py").write_text("six")
    (root / "handler.py").write_text("from a dependency")
    (root / "six-1.16.0.dist-info" / "RECORD").write_text("record")
    return root


def test_staging_directory_is_a_hidden_sibling_of_the_destination(tmp_path: Path) -> None:
    destination = tmp_path / "out" / "bundle"
    staged = staging_dir(destination)
    assert staged.parent == destination.parent and staged.is_dir()
    assert staged.name.startswith(".bundle.tmp-")
    assert staging_dir(destination) != staged


def test_source_is_copied_over_dependencies_and_wins_a_clash(
    tmp_path: Path, dependencies: Path
) -> None:
    source = tmp_path / "src"
    (source / ".git").mkdir(parents=True)
    (source / ".git" / "HEAD").write_text("ref")
    (source / "handler.py").write_text("mine")
    staged = tmp_path / "staged"
    assemble(dependencies, source, staged)
    assert _tree(staged) == {
        "handler.py": "mine",
        "six.py": "six",
        "six-1.16.0.dist-info/RECORD": "record",
    }


def test_output_inside_the_source_is_not_copied_into_itself(
    tmp_path: Path, dependencies: Path
) -> None:
    source = tmp_path / "src"
    (source / "build" / "old").mkdir(parents=True)
    (source / "build" / "old" / "stale.py").write_text("stale")
    (source / "app.py").write_text("app")
    staged = tmp_path / "staged"
    assemble(dependencies, source, staged, exclude=(source / "build",))
    assert "app.py" in _tree(staged)
    assert not (staged / "build").exists()


def test_replace_swaps_the_new_bundle_in_and_removes_the_old(tmp_path: Path) -> None:
    destination = tmp_path / "bundle"
    destination.mkdir()
    (destination / "stale.py").write_text("old")
    staged = staging_dir(destination)
    (staged / "fresh.py").write_text("new")
    os.chmod(staged, 0o700)
    replace_directory(staged, destination)
    assert _tree(destination) == {"fresh.py": "new"}
    assert stat.S_IMODE(destination.stat().st_mode) == 0o755
    assert os.listdir(tmp_path) == ["bundle"], "no staging or old directory is left behind"


def test_replace_creates_the_destination_when_there_was_none(tmp_path: Path) -> None:
    destination = tmp_path / "bundle"
    staged = staging_dir(destination)
    (staged / "fresh.py").write_text("new")
    replace_directory(staged, destination)
    assert _tree(destination) == {"fresh.py": "new"}


def test_replace_swaps_out_a_symlink_without_touching_what_it_pointed_to(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.py").write_text("keep")
    destination = tmp_path / "bundle"
    destination.symlink_to(elsewhere)
    staged = staging_dir(destination)
    (staged / "fresh.py").write_text("new")
    replace_directory(staged, destination)
    assert not destination.is_symlink()
    assert _tree(destination) == {"fresh.py": "new"}
    assert _tree(elsewhere) == {"keep.py": "keep"}


def test_previous_output_is_intact_when_assembling_fails(tmp_path: Path) -> None:
    destination = tmp_path / "bundle"
    destination.mkdir()
    (destination / "app.py").write_text("previous build")
    staged = staging_dir(destination)
    with pytest.raises(FileNotFoundError):
        assemble(tmp_path / "no-such-dependencies", None, staged)
    assert _tree(destination) == {"app.py": "previous build"}


def test_dependencies_are_linked_and_the_source_never_writes_through_them(
    tmp_path: Path, dependencies: Path
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "handler.py").write_text("mine")
    staged = tmp_path / "staged"
    assemble(dependencies, source, staged)
    assert (staged / "six.py").stat().st_ino == (dependencies / "six.py").stat().st_ino
    assert (staged / "handler.py").read_text() == "mine"
    assert (dependencies / "handler.py").read_text() == "from a dependency"
