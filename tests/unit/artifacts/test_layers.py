"""Several targets' layer zips as one: shared files merge, differing files are refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from builder.artifacts import layers
from builder.artifacts.layers import LayerPart, check_layer_size, merge_layer_zips
from builder.artifacts.zips import BundleFile, write_zip
from builder.errors import ArtifactError


def layer_zip(path: Path, files: dict[str, bytes]) -> Path:
    tree = path.with_suffix("")
    entries = []
    for name, data in files.items():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        entries.append(BundleFile(name, target, len(data)))
    write_zip(entries, path)
    return path


def test_identical_files_for_two_architectures_merge_into_one_zip(tmp_path: Path) -> None:
    pure = {"python/pure/__init__.py": b"X = 1\n", "python/pure-1.0.dist-info/RECORD": b"r\n"}
    parts = [
        LayerPart("python3.12", "x86_64", layer_zip(tmp_path / "x.zip", pure)),
        LayerPart("python3.12", "arm64", layer_zip(tmp_path / "a.zip", pure)),
    ]
    summary = merge_layer_zips(parts, tmp_path / "merged.zip")
    assert sorted(zipfile.ZipFile(tmp_path / "merged.zip").namelist()) == sorted(pure)
    again = merge_layer_zips(parts, tmp_path / "merged-again.zip")
    assert summary.sha256 == again.sha256  # byte-identical, like every zip we write


def test_each_runtime_under_its_own_site_packages_merges(tmp_path: Path) -> None:
    parts = [
        LayerPart(
            f"python3.{minor}",
            "x86_64",
            layer_zip(
                tmp_path / f"{minor}.zip",
                {f"python/lib/python3.{minor}/site-packages/m.py": f"V = {minor}\n".encode()},
            ),
        )
        for minor in (12, 13)
    ]
    summary = merge_layer_zips(parts, tmp_path / "merged.zip")
    assert summary.entries == 2


def test_native_code_differing_by_architecture_is_refused_with_the_fix(tmp_path: Path) -> None:
    parts = [
        LayerPart("python3.12", "x86_64", layer_zip(tmp_path / "x.zip", {"python/n.so": b"x86"})),
        LayerPart("python3.12", "arm64", layer_zip(tmp_path / "a.zip", {"python/n.so": b"arm"})),
    ]
    with pytest.raises(ArtifactError) as caught:
        merge_layer_zips(parts, tmp_path / "merged.zip")
    assert "python3.12/x86_64 and python3.12/arm64" in caught.value.message
    assert "python/n.so" in caught.value.message
    assert "--arch arm64" in (caught.value.hint or "")
    assert not (tmp_path / "merged.zip").exists()


def test_runtimes_sharing_python_dir_with_different_files_point_to_site_packages(
    tmp_path: Path,
) -> None:
    parts = [
        LayerPart("python3.12", "x86_64", layer_zip(tmp_path / "a.zip", {"python/m.py": b"1"})),
        LayerPart("python3.13", "x86_64", layer_zip(tmp_path / "b.zip", {"python/m.py": b"2"})),
    ]
    with pytest.raises(ArtifactError) as caught:
        merge_layer_zips(parts, tmp_path / "merged.zip")
    assert "--layer-layout site-packages" in (caught.value.hint or "")


def test_a_merged_layer_over_lambdas_unzipped_limit_fails_before_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_layer_size(layers.UNZIPPED_LIMIT)
    with pytest.raises(ArtifactError) as caught:
        check_layer_size(layers.UNZIPPED_LIMIT + 1)
    assert "unzipped" in caught.value.message and caught.value.hint
    monkeypatch.setattr(layers, "UNZIPPED_LIMIT", 3)
    parts = [
        LayerPart("python3.12", "x86_64", layer_zip(tmp_path / "a.zip", {"python/a.py": b"12"})),
        LayerPart("python3.13", "x86_64", layer_zip(tmp_path / "b.zip", {"python/b.py": b"34"})),
    ]
    with pytest.raises(ArtifactError):
        merge_layer_zips(parts, tmp_path / "merged.zip")
