"""The content-keyed build cache: built wheels by sdist bytes and variant, downloads by name."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from builder.incontainer.cache import BuildCache, file_sha256, sources_scope


def _file(path: Path, content: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return str(path)


def test_file_sha256_is_the_hex_digest_of_the_bytes(tmp_path: Path) -> None:
    data = b"x" * (3 << 20)  # more than one read block
    assert file_sha256(_file(tmp_path / "big", data)) == hashlib.sha256(data).hexdigest()


def test_disabled_cache_finds_nothing_stores_nothing_and_creates_nothing(tmp_path: Path) -> None:
    cache = BuildCache(None)
    sdist = _file(tmp_path / "a-1.0.tar.gz", b"a")
    wheel = _file(tmp_path / "a-1.0-py3-none-any.whl", b"w")
    cache.store_built(sdist, "native", [wheel])
    cache.store_downloads(str(tmp_path))
    assert not cache.enabled
    assert cache.lookup_built(sdist, "native") == []
    assert sorted(os.listdir(tmp_path)) == ["a-1.0-py3-none-any.whl", "a-1.0.tar.gz"]


def test_enabled_cache_creates_its_files_directory(tmp_path: Path) -> None:
    cache = BuildCache(str(tmp_path / "cache"))
    assert cache.enabled
    assert cache.files_dir == str(tmp_path / "cache" / "files" / "default")
    assert os.path.isdir(cache.files_dir)


def test_built_wheels_are_found_again_by_sdist_bytes_and_variant(tmp_path: Path) -> None:
    cache = BuildCache(str(tmp_path / "cache"))
    sdist = _file(tmp_path / "src" / "a-1.0.tar.gz", b"sdist bytes")
    wheels = [
        _file(tmp_path / "out" / "b-1.0-py3-none-any.whl", b"b"),
        _file(tmp_path / "out" / "a-1.0-py3-none-any.whl", b"a"),
    ]
    cache.store_built(sdist, "native", wheels)
    found = cache.lookup_built(sdist, "native")
    assert [os.path.basename(path) for path in found] == [
        "a-1.0-py3-none-any.whl",
        "b-1.0-py3-none-any.whl",
    ]
    assert Path(found[0]).read_bytes() == b"a"
    assert cache.lookup_built(sdist, "no-c") == []


def test_same_bytes_under_another_path_hit_and_other_bytes_miss(tmp_path: Path) -> None:
    cache = BuildCache(str(tmp_path / "cache"))
    sdist = _file(tmp_path / "one" / "a-1.0.tar.gz", b"same")
    cache.store_built(sdist, "native", [_file(tmp_path / "a-1.0-py3-none-any.whl", b"w")])
    elsewhere = _file(tmp_path / "two" / "a-1.0.tar.gz", b"same")
    changed = _file(tmp_path / "three" / "a-1.0.tar.gz", b"changed")
    assert len(cache.lookup_built(elsewhere, "native")) == 1
    assert cache.lookup_built(changed, "native") == []


def test_storing_again_replaces_the_previous_build_and_leaves_no_temporary(
    tmp_path: Path,
) -> None:
    cache = BuildCache(str(tmp_path / "cache"))
    sdist = _file(tmp_path / "a-1.0.tar.gz", b"s")
    cache.store_built(sdist, "native", [_file(tmp_path / "old" / "a-1.0-cp311-x.whl", b"o")])
    cache.store_built(sdist, "native", [_file(tmp_path / "new" / "a-1.0-py3-none-any.whl", b"n")])
    found = cache.lookup_built(sdist, "native")
    assert [os.path.basename(path) for path in found] == ["a-1.0-py3-none-any.whl"]
    built = tmp_path / "cache" / "built"
    assert not [name for name in os.listdir(built) if name.endswith(".tmp")]


def test_storing_no_wheels_records_nothing(tmp_path: Path) -> None:
    cache = BuildCache(str(tmp_path / "cache"))
    sdist = _file(tmp_path / "a-1.0.tar.gz", b"s")
    cache.store_built(sdist, "native", [])
    assert not (tmp_path / "cache" / "built").exists()


def test_downloads_are_kept_and_an_existing_copy_is_never_overwritten(tmp_path: Path) -> None:
    cache = BuildCache(str(tmp_path / "cache"))
    _file(Path(cache.files_dir) / "a-1.0.tar.gz", b"first")
    _file(tmp_path / "dl" / "a-1.0.tar.gz", b"second")
    _file(tmp_path / "dl" / "b-1.0-py3-none-any.whl", b"b")
    cache.store_downloads(str(tmp_path / "dl"))
    files = Path(cache.files_dir)
    assert sorted(os.listdir(files)) == ["a-1.0.tar.gz", "b-1.0-py3-none-any.whl"]
    assert (files / "a-1.0.tar.gz").read_bytes() == b"first"
    assert (files / "b-1.0-py3-none-any.whl").read_bytes() == b"b"


def test_missing_download_directory_is_ignored(tmp_path: Path) -> None:
    cache = BuildCache(str(tmp_path / "cache"))
    cache.store_downloads(str(tmp_path / "never-created"))
    assert os.listdir(cache.files_dir) == []


def test_another_container_storing_the_same_build_meanwhile_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """build-all runs several containers on one cache volume: their writes may cross."""
    cache = BuildCache(str(tmp_path / "cache"))
    sdist = _file(tmp_path / "a-1.0.tar.gz", b"s")
    wheel = _file(tmp_path / "a-1.0-py3-none-any.whl", b"w")
    real_rmtree = shutil.rmtree

    def other_writer_lands(path: str, ignore_errors: bool = False) -> None:
        real_rmtree(path, ignore_errors=ignore_errors)
        if not path.endswith(".tmp"):  # between our rmtree and our rename, theirs arrives
            os.makedirs(path)
            shutil.copy(wheel, path)

    monkeypatch.setattr(shutil, "rmtree", other_writer_lands)
    cache.store_built(sdist, "native", [wheel])
    monkeypatch.undo()
    assert [os.path.basename(p) for p in cache.lookup_built(sdist, "native")] == [
        "a-1.0-py3-none-any.whl"
    ]
    assert not [n for n in os.listdir(tmp_path / "cache" / "built") if n.endswith(".tmp")]


def test_downloads_are_stored_under_a_private_temporary_name(tmp_path: Path) -> None:
    cache = BuildCache(str(tmp_path / "cache"))
    _file(tmp_path / "dl" / "a-1.0.tar.gz", b"s")
    # Another container copying the same file right now (the old shared name ``NAME.tmp``).
    stale = _file(Path(cache.files_dir) / "a-1.0.tar.gz.tmp", b"another writer's")
    cache.store_downloads(str(tmp_path / "dl"))
    assert (Path(cache.files_dir) / "a-1.0.tar.gz").read_bytes() == b"s"
    assert Path(stale).read_bytes() == b"another writer's"  # never taken over or removed


def test_downloads_are_kept_apart_per_package_sources() -> None:
    # A file one index served must never be offered to a build that asks another index.
    private = {"PIP_INDEX_URL": "https://user:token@private.example/simple"}
    rotated = {"PIP_INDEX_URL": "https://user:other@private.example/simple"}
    public = {"PIP_INDEX_URL": "https://pypi.org/simple"}
    assert sources_scope(private) == sources_scope(rotated)  # credentials are not a source
    assert sources_scope(private) != sources_scope(public)
    assert sources_scope(public) != sources_scope({**public, "PIP_FIND_LINKS": "/wheels"})
    assert sources_scope(public) != sources_scope({**public, "PIP_EXTRA_INDEX_URL": "https://x"})
    assert sources_scope({}) == sources_scope({"PIP_INDEX_URL": ""})
