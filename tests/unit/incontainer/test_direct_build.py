"""setup.py-only sdists built by the legacy backend in one process: the wheel pip would build."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from builder.incontainer import direct_build
from builder.incontainer.direct_build import UNSUPPORTED, Unsupported, unpack
from tests.support import fixture_packages as fp
from tests.support.package_index import build_tools_wheels

REPO_ROOT = Path(__file__).resolve().parents[3]
MTIME = 1_700_000_000


@pytest.fixture(scope="module")
def build_tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """setuptools and wheel importable as a Lambda image's own are (the legacy-builds case)."""
    site = tmp_path_factory.mktemp("site")
    for wheel in build_tools_wheels(
        REPO_ROOT / ".pytest_cache" / "d" / "lambda-builder-tool-wheels"
    ):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    return site


def _run(*argv: str, cwd: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CFLAGS": "-g0", "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _members(wheel: Path) -> dict[str, tuple[bytes, int]]:
    with zipfile.ZipFile(wheel) as archive:
        return {
            info.filename: (archive.read(info), info.external_attr) for info in archive.infolist()
        }


@pytest.mark.parametrize("kind", ["pure", "c-extension"])
def test_the_wheel_is_the_one_pip_builds_without_isolation(
    tmp_path: Path, kind: str, build_tools: Path
) -> None:
    sdist = fp.sdist(tmp_path / "dists", "legacypkg", "1.0", kind, setup_py_only=True)
    direct = _run(
        "-m", "builder.incontainer.direct_build", str(sdist), str(tmp_path / "u"),
        str(tmp_path / "direct"), cwd=tmp_path, site=build_tools,
    )  # fmt: skip
    assert direct.returncode == 0, direct.stdout + direct.stderr
    piped = _run(
        "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
        "--wheel-dir", str(tmp_path / "pip"), str(sdist), cwd=tmp_path, site=build_tools,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stdout + piped.stderr
    [ours] = (tmp_path / "direct").glob("*.whl")
    [theirs] = (tmp_path / "pip").glob("*.whl")
    assert ours.name == theirs.name
    assert _members(ours) == _members(theirs)


def test_a_failing_build_exits_1_with_the_compilers_words(
    tmp_path: Path, build_tools: Path
) -> None:
    sdist = fp.sdist(tmp_path / "dists", "brokenlegacy", "1.0", "broken", setup_py_only=True)
    done = _run(
        "-m", "builder.incontainer.direct_build", str(sdist), str(tmp_path / "u"),
        str(tmp_path / "w"), cwd=tmp_path, site=build_tools,
    )  # fmt: skip
    assert done.returncode == 1
    assert fp.BROKEN_MARKER in done.stdout + done.stderr
    assert not list((tmp_path / "w").glob("*.whl"))


def _tar(path: Path, members: dict[str, tuple[bytes, int]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, (data, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, MTIME
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(params=["filter", "plain"])
def tar_filter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """PEP 706's filter, or a Python without it (Debian's 3.11.2 in the stand-in images)."""
    if request.param == "plain":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    elif not hasattr(tarfile, "data_filter"):  # the 3.9 host check runs these in Debian's 3.9
        pytest.skip("this Python has no PEP 706 filter: only its plain path applies")
    return str(request.param)


def test_unpacking_follows_pips_rules(tmp_path: Path, tar_filter: str) -> None:
    """Modes come from the umask (plus +x where the archive had any x), not the archive;
    times from the archive."""
    sdist = _tar(
        tmp_path / "p-1.0.tar.gz",
        {"p-1.0/setup.py": (b"", 0o600), "p-1.0/bin/tool": (b"", 0o700)},
    )
    umask = os.umask(0o022)
    try:
        project = unpack(str(sdist), str(tmp_path / "u"))
    finally:
        os.umask(umask)
    assert project == str(tmp_path / "u" / "p-1.0")
    assert (Path(project) / "setup.py").stat().st_mode & 0o777 == 0o644
    assert (Path(project) / "bin" / "tool").stat().st_mode & 0o777 == 0o755
    assert (Path(project) / "bin").stat().st_mode & 0o777 == 0o755
    assert int((Path(project) / "setup.py").stat().st_mtime) == MTIME


def test_links_are_left_to_pip_without_the_filter(tmp_path: Path, tar_filter: str) -> None:
    sdist = tmp_path / "l-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        link = tarfile.TarInfo("l-1.0/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    with pytest.raises(Unsupported):
        unpack(str(sdist), str(tmp_path / "u"))
    assert not (tmp_path / "u" / "l-1.0" / "link").exists()


def test_an_archive_reaching_outside_or_a_zip_is_left_to_pip(
    tmp_path: Path, tar_filter: str
) -> None:
    escaping = _tar(tmp_path / "e-1.0.tar.gz", {"../escape.txt": (b"x", 0o644)})
    with pytest.raises(Unsupported):
        unpack(str(escaping), str(tmp_path / "u"))
    assert not (tmp_path / "escape.txt").exists()
    with pytest.raises(Unsupported):
        unpack(str(tmp_path / "z-1.0.zip"), str(tmp_path / "z"))
    assert direct_build.main([str(tmp_path / "z-1.0.zip"), "u", "w"]) == UNSUPPORTED
