"""With the bundled pip, setup.py-only sdists are prepared and built as the image's own pip did:
with the image's setuptools and wheel, not in an isolated environment."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from builder.incontainer import direct_build, passes, pip_commands
from tests.support.fixture_packages import pure_wheel
from tests.unit.incontainer.test_pipeline import FakePip, _execute, _hows, _job

ISOLATION_OFF = "--no-build-isolation"


def unisolated(argv: list[str]) -> bool:
    """pip without isolation, or the direct build that does the same without pip."""
    return ISOLATION_OFF in argv or argv[2] == pip_commands.DIRECT_BUILD


@pytest.fixture
def legacy_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A builder image whose bundled pip may build setup.py-only sdists unisolated."""
    root = tmp_path / "bundled"
    (root / "pip").mkdir(parents=True)
    (root / "pip" / "__init__.py").write_text('__version__ = "26.3"\n')
    (root / "legacy-builds").touch()
    monkeypatch.setattr(passes, "BUNDLED_PIP", str(root))
    return root


def real_sdist(stock: Path, name: str, members: tuple[str, ...]) -> Path:
    stock.mkdir(parents=True, exist_ok=True)
    path = stock / f"{name}-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member in members:
            info = tarfile.TarInfo(f"{name}-1.0/{member}")
            archive.addfile(info, io.BytesIO(b""))
    return path


def test_pass_one_prepares_without_isolation_and_retries_isolated_on_failure(
    tmp_path: Path, stock: Path, legacy_image: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", returncode=1, tail=("BackendUnavailable: hatchling",))
    pip.on("download-all", "*", pure_wheel(stock, "purepkg"))
    result = _execute(_job(tmp_path), pip)
    assert result.status == "ok" and _hows(result) == {"purepkg": "wheel"}
    first, second = (call.argv for call in pip.calls if call.kind == "download-all")
    assert ISOLATION_OFF in first and ISOLATION_OFF not in second


def test_only_setup_py_sdists_build_without_isolation(
    tmp_path: Path, stock: Path, legacy_image: Path
) -> None:
    legacy = real_sdist(stock, "oldstyle", ("setup.py", "oldstyle.py"))
    modern = real_sdist(stock, "newstyle", ("pyproject.toml", "newstyle.py"))
    pip = FakePip()
    pip.on("download-all", "*", legacy, modern)
    pip.on("build-native", "oldstyle", pure_wheel(stock / "w", "oldstyle"))
    pip.on("build-native", "newstyle", pure_wheel(stock / "w", "newstyle"))
    result = _execute(_job(tmp_path), pip)
    assert _hows(result) == {"oldstyle": "built-from-sdist", "newstyle": "built-from-sdist"}
    assert pip.call("build-native", "oldstyle").argv[2] == pip_commands.DIRECT_BUILD
    assert not unisolated(pip.call("build-native", "newstyle").argv)


def test_a_failed_unisolated_build_is_tried_isolated(
    tmp_path: Path, stock: Path, legacy_image: Path
) -> None:
    legacy = real_sdist(stock, "oldstyle", ("setup.py",))
    pip = FakePip()
    pip.on("download-all", "*", legacy)
    pip.on("build-native", "oldstyle", returncode=1, tail=("No module named 'cython'",))
    pip.on("build-native", "oldstyle", pure_wheel(stock / "w", "oldstyle"))
    result = _execute(_job(tmp_path), pip)
    assert _hows(result) == {"oldstyle": "built-from-sdist"}
    builds = [call.argv for call in pip.calls if call.kind == "build-native"]
    assert [unisolated(argv) for argv in builds] == [True, False]


def test_without_the_marker_everything_is_isolated(
    tmp_path: Path, stock: Path, legacy_image: Path
) -> None:
    (legacy_image / "legacy-builds").unlink()  # the image lacks setuptools or wheel
    pip = FakePip()
    pip.on("download-all", "*", real_sdist(stock, "oldstyle", ("setup.py",)))
    pip.on("build-native", "oldstyle", pure_wheel(stock / "w", "oldstyle"))
    _execute(_job(tmp_path), pip)
    assert not [call for call in pip.calls if ISOLATION_OFF in call.argv]


def test_an_sdist_the_direct_build_cannot_take_goes_to_pip_unisolated(
    tmp_path: Path, stock: Path, legacy_image: Path
) -> None:
    """An interpreter without what the direct build needs (or a zip sdist) says so with
    UNSUPPORTED: pip then builds it exactly as before, unisolated first."""
    legacy = real_sdist(stock, "oldstyle", ("setup.py",))
    pip = FakePip()
    pip.on("download-all", "*", legacy)
    pip.on("build-native", "oldstyle", returncode=direct_build.UNSUPPORTED)
    pip.on("build-native", "oldstyle", pure_wheel(stock / "w", "oldstyle"))
    result = _execute(_job(tmp_path), pip)
    assert _hows(result) == {"oldstyle": "built-from-sdist"}
    builds = [call.argv for call in pip.calls if call.kind == "build-native"]
    assert [argv[2] == pip_commands.DIRECT_BUILD for argv in builds] == [True, False]
    assert ISOLATION_OFF in builds[1]
