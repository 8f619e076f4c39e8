"""Cross resolution: resolve natively for another machine, compile in its image, then finish."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

from builder.incontainer.builds import has_native_sources
from builder.incontainer.pip_shim import MARKERS_VARIABLE
from builder.incontainer.pipeline import Pipeline
from builder.incontainer.protocol import Job
from builder.incontainer.tags import Target, explicit_platforms
from tests.support.fixture_packages import pure_wheel, tagged_wheel
from tests.unit.incontainer.test_pipeline import FakePip, _job, _sdist, _value_after

ARM = Target(3, 11, "aarch64", (2, 26))
MARKERS = {"platform_machine": "aarch64", "python_version": "3.11"}
ARM_WHEEL = "cp311-cp311-manylinux_2_17_aarch64"
X86_WHEEL = "cp311-cp311-linux_x86_64"


def cross_job(tmp_path: Path) -> Job:
    return _job(
        tmp_path, target=ARM, cross_markers=MARKERS, cross_platforms=explicit_platforms(ARM)
    )


def where(result: object) -> dict[str, tuple[str, str]]:
    return {p.name: (p.how, p.built_on) for p in result.packages}  # type: ignore[attr-defined]


def test_wheel_only_resolution_finishes_natively_through_the_markers_shim(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on(
        "download-all",
        "*",
        pure_wheel(stock, "purepkg", "1.0"),
        tagged_wheel(stock, "fastc", "3.0", ARM_WHEEL),
    )
    result = Pipeline(cross_job(tmp_path), pip).execute("resolve")
    assert result.status == "ok" and result.pending == []
    assert where(result) == {"purepkg": ("wheel", "native"), "fastc": ("wheel", "native")}
    [call] = pip.calls
    assert call.argv[2] == "builder.incontainer.pip_shim"
    assert _value_after(call.argv, "--python-version") == "3.11"
    assert "manylinux_2_17_aarch64" in call.argv and "manylinux_2_17_x86_64" not in call.argv
    assert json.loads(call.env[MARKERS_VARIABLE]) == MARKERS
    assert (tmp_path / "target" / "fastc" / "__init__.py").is_file()


def test_pure_sdists_build_here_and_only_compiled_ones_wait_for_the_target(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", _sdist(stock, "fastc", "3.0"), _sdist(stock, "puresrc", "2.0"))
    pip.on("build-native", "fastc", tagged_wheel(stock / "x86", "fastc", "3.0", X86_WHEEL))
    pip.on("build-native", "puresrc", pure_wheel(stock, "puresrc", "2.0"))
    job = cross_job(tmp_path)
    resolved = Pipeline(job, pip).execute("resolve")
    assert resolved.status == "build-needed" and resolved.pending == ["fastc"]
    assert not (tmp_path / "target").exists()
    assert (tmp_path / "work" / "state.json").is_file()

    target_pip = FakePip()  # in the target's image: it compiles fastc for aarch64
    target_pip.on("build-native", "fastc", tagged_wheel(stock / "arm", "fastc", "3.0", ARM_WHEEL))
    built = Pipeline(job, target_pip).execute("build")
    assert built.status == "ok" and target_pip.passes() == [("build-native", "fastc")]

    finished = Pipeline(job, FakePip()).execute("finish")
    assert finished.status == "ok"
    assert where(finished) == {
        "fastc": ("built-from-sdist", "emulated"),
        "puresrc": ("built-from-sdist", "native"),
    }
    assert (tmp_path / "target" / "fastc" / "__init__.py").is_file()


def test_a_failed_build_in_the_target_is_reported_missing_when_finishing(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", _sdist(stock, "fastc", "3.0"))
    pip.on("build-native", "fastc", returncode=1, tail=["error: no compiler here"])
    job = cross_job(tmp_path)
    assert Pipeline(job, pip).execute("resolve").status == "build-needed"
    target_pip = FakePip()
    target_pip.on("build-native", "fastc", returncode=1, tail=["fastc.c:1: error: nope"])
    target_pip.on("build-no-c", "fastc", returncode=1, tail=["no compiler"])
    Pipeline(job, target_pip).execute("build")
    finished = Pipeline(job, FakePip()).execute("finish")
    assert finished.status == "missing"
    [missing] = finished.missing
    assert (missing.name, missing.reason) == ("fastc", "sdist build failed")
    assert "fastc.c:1: error: nope" in missing.detail  # the target's error, not this machine's


def _real_sdist(stock: Path, name: str, members: dict[str, str]) -> Path:
    stock.mkdir(parents=True, exist_ok=True)
    path = stock / f"{name}-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-1.0/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_sdists_with_c_sources_go_to_the_target_without_a_native_attempt(
    tmp_path: Path, stock: Path
) -> None:
    cext = _real_sdist(stock, "cext", {"setup.py": "", "src/speedups.c": "int x;"})
    rusty = _real_sdist(stock, "rusty", {"pyproject.toml": "", "Cargo.toml": ""})
    pure = _real_sdist(stock, "puresrc", {"setup.py": "", "puresrc/__init__.py": ""})
    pip = FakePip()
    pip.on("download-all", "*", cext, rusty, pure)
    pip.on("build-native", "puresrc", pure_wheel(stock, "puresrc", "1.0"))
    resolved = Pipeline(cross_job(tmp_path), pip).execute("resolve")
    assert resolved.status == "build-needed" and resolved.pending == ["cext", "rusty"]
    assert [c for c in pip.passes() if c[0] == "build-native"] == [("build-native", "puresrc")]


def test_native_sources_are_recognised_in_tar_and_zip_sdists(tmp_path: Path) -> None:
    assert has_native_sources(str(_real_sdist(tmp_path, "a", {"x/mod.pyx": ""})))
    assert not has_native_sources(str(_real_sdist(tmp_path, "b", {"x/mod.py": "", "x.h": ""})))
    zipped = tmp_path / "c-1.0.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("c-1.0/ext/fast.CPP", "")
    assert has_native_sources(str(zipped))
    (tmp_path / "broken.tar.gz").write_bytes(b"not an archive")
    assert not has_native_sources(str(tmp_path / "broken.tar.gz"))
