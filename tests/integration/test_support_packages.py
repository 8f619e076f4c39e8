"""Tests of the fixture package builders and the local package index, driven by real pip."""

from __future__ import annotations

import base64
import csv
import io
import os
import stat
import subprocess
import sys
import sysconfig
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.support.fixture_packages import (
    BROKEN_MARKER,
    MISSING_HEADER,
    SDIST_KINDS,
    executable,
    expand_tag,
    pure_wheel,
    record_hash,
    sdist,
    sha256_of,
    tagged_wheel,
)
from tests.support.package_index import (
    SETUPTOOLS_VERSION,
    PackageIndex,
    build_tools_wheels,
    hermetic_pip_env,
)

ARM_ONLY = 'armonly>=1.0; platform_machine == "aarch64"'
COMPRESSED_TAG = "cp311-cp311-manylinux_2_24_x86_64.manylinux_2_24_aarch64"
PIP_TIMEOUT = 180

# The project name used for each sdist kind.
SDIST_NAMES = {
    "pure": "puresrc",
    "c-extension": "cextpkg",
    "optional-c": "optcpkg",
    "broken": "brokenpkg",
}


def host_wheel_tag() -> str:
    """The tag setuptools gives a C extension wheel built by this interpreter."""
    interpreter = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{interpreter}-{interpreter}-{platform}"


def run_pip(
    args: Sequence[str], *, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the host's pip ignoring the host's pip configuration; capture its output."""
    command = [
        sys.executable,
        "-m",
        "pip",
        *args[:1],
        "--isolated",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--no-input",
        *args[1:],
    ]
    return subprocess.run(
        command,
        cwd=cwd,
        env=hermetic_pip_env(extra_env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
        check=False,
    )


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit code {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


def run_python(code: str, pythonpath: Path, cwd: Path) -> str:
    """Run ``code`` in a fresh interpreter that can import from ``pythonpath``."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, output_of(result)
    return result.stdout.strip()


def install_to_target(wheel: Path, target: Path, cwd: Path) -> None:
    result = run_pip(
        ["install", "--no-index", "--no-deps", "--target", str(target), str(wheel)], cwd=cwd
    )
    assert result.returncode == 0, output_of(result)


def built_wheel(out: Path) -> Path:
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="session")
def tools_wheels(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        cache_dir = Path(cache.mkdir("lambda-builder-tool-wheels"))
    else:
        cache_dir = tmp_path_factory.mktemp("tool-wheels")
    return build_tools_wheels(cache_dir)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    dest = tmp_path_factory.mktemp("dists")
    built = {
        "pure-wheel": pure_wheel(dest),
        "tagged-wheel": tagged_wheel(dest, "tagpkg", "2.0", COMPRESSED_TAG, requires=[ARM_ONLY]),
    }
    for kind in SDIST_KINDS:
        requires = ["purepkg>=1.0", ARM_ONLY] if kind == "pure" else []
        built[kind] = sdist(dest, SDIST_NAMES[kind], "1.0", kind, requires=requires)
    return built


@pytest.fixture(scope="module")
def index(
    tmp_path_factory: pytest.TempPathFactory, dists: dict[str, Path], tools_wheels: list[Path]
) -> Iterator[PackageIndex]:
    with PackageIndex(tmp_path_factory.mktemp("index")) as served:
        served.add_all(dists.values())
        served.add_all(tools_wheels)
        yield served


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# -- the files themselves ------------------------------------------------------------------------


def test_pure_wheel_has_metadata_and_a_valid_record(tmp_path: Path) -> None:
    wheel = pure_wheel(tmp_path, requires=["six>=1.0", ARM_ONLY])

    assert wheel.name == "purepkg-1.0-py3-none-any.whl"
    members = zip_members(wheel)
    assert members["purepkg/__init__.py"].decode().endswith("VALUE = 'purepkg 1.0'\n")
    metadata = members["purepkg-1.0.dist-info/METADATA"].decode().splitlines()
    assert "Name: purepkg" in metadata
    assert "Version: 1.0" in metadata
    assert f"Requires-Dist: {ARM_ONLY}" in metadata
    wheel_file = members["purepkg-1.0.dist-info/WHEEL"].decode().splitlines()
    assert "Root-Is-Purelib: true" in wheel_file
    assert "Tag: py3-none-any" in wheel_file
    rows = list(csv.reader(io.StringIO(members["purepkg-1.0.dist-info/RECORD"].decode())))
    assert {row[0] for row in rows} == set(members)
    for path, digest, size in rows:
        if path.endswith("/RECORD"):
            assert (digest, size) == ("", "")
        else:
            assert digest == record_hash(members[path])
            assert int(size) == len(members[path])


def test_record_hash_is_urlsafe_base64_without_padding() -> None:
    expected = (
        base64.urlsafe_b64encode(
            bytes.fromhex("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        )
        .rstrip(b"=")
        .decode()
    )
    assert record_hash(b"hello") == f"sha256={expected}"


def test_sha256_of_gives_a_hash_option_value(tmp_path: Path) -> None:
    file = tmp_path / "f"
    file.write_bytes(b"hello")
    assert sha256_of(file) == (
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    )


def test_tagged_wheel_expands_compressed_tags(tmp_path: Path) -> None:
    wheel = tagged_wheel(tmp_path, "Tag.Pkg", "2.0", COMPRESSED_TAG)

    assert wheel.name == f"tag_pkg-2.0-{COMPRESSED_TAG}.whl"
    members = zip_members(wheel)
    wheel_file = members["tag_pkg-2.0.dist-info/WHEEL"].decode().splitlines()
    assert "Root-Is-Purelib: false" in wheel_file
    assert [line for line in wheel_file if line.startswith("Tag: ")] == [
        "Tag: cp311-cp311-manylinux_2_24_x86_64",
        "Tag: cp311-cp311-manylinux_2_24_aarch64",
    ]
    assert f"TAG = {COMPRESSED_TAG!r}" in members["tag_pkg/__init__.py"].decode()


def test_expand_tag() -> None:
    assert expand_tag("py2.py3-none-any") == ["py2-none-any", "py3-none-any"]
    for bad in ("py3-none", "py3--any", "py3-none-any.", "a-b-c-d"):
        with pytest.raises(ValueError):
            expand_tag(bad)


def test_wheel_data_files_and_modes(tmp_path: Path) -> None:
    wheel = pure_wheel(
        tmp_path / "dist",
        extra_files={"purepkg/cli.py": executable("print('cli')\n")},
        data_files={
            "purelib/purepkg_extra.py": "EXTRA = 1\n",
            "platlib/purepkg_plat.py": "PLAT = 1\n",
            "scripts/purepkg-tool": "#!/bin/sh\necho tool\n",
            "data/share/purepkg.txt": b"data\n",
        },
    )

    with zipfile.ZipFile(wheel) as archive:
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert stat.S_ISREG(modes["purepkg-1.0.data/scripts/purepkg-tool"])
    assert stat.S_IMODE(modes["purepkg-1.0.data/scripts/purepkg-tool"]) == 0o755
    assert stat.S_IMODE(modes["purepkg/cli.py"]) == 0o755
    assert stat.S_IMODE(modes["purepkg-1.0.data/purelib/purepkg_extra.py"]) == 0o644
    with pytest.raises(ValueError):
        pure_wheel(tmp_path, data_files={"lib/x.py": "x"})

    # pip itself installs it: the .data directories land in their schemes.
    target = tmp_path / "target"
    install_to_target(wheel, target, tmp_path)
    assert (target / "purepkg_extra.py").is_file()
    assert (target / "purepkg_plat.py").is_file()
    tool = target / "bin" / "purepkg-tool"
    assert tool.stat().st_mode & 0o111
    out = run_python(
        "import purepkg, purepkg_extra; print(purepkg.VALUE, purepkg_extra.EXTRA)", target, tmp_path
    )
    assert out == "purepkg 1.0 1"


def test_sdists_are_reproducible_setuptools_projects(tmp_path: Path) -> None:
    first = sdist(tmp_path / "a", "My.Pkg", "1.0", "pure", requires=[ARM_ONLY])
    second = sdist(tmp_path / "b", "My.Pkg", "1.0", "pure", requires=[ARM_ONLY])

    assert first.name == "my_pkg-1.0.tar.gz"
    assert sha256_of(first) == sha256_of(second)
    with tarfile.open(first) as archive:
        names = set(archive.getnames())
        assert {
            "my_pkg-1.0/PKG-INFO",
            "my_pkg-1.0/setup.py",
            "my_pkg-1.0/pyproject.toml",
            "my_pkg-1.0/my_pkg/__init__.py",
        } <= names
        member = archive.extractfile("my_pkg-1.0/PKG-INFO")
        assert member is not None
        pkg_info = member.read().decode()
        member = archive.extractfile("my_pkg-1.0/pyproject.toml")
        assert member is not None
        pyproject = member.read().decode()
    assert f"Requires-Dist: {ARM_ONLY}" in pkg_info.splitlines()
    assert 'build-backend = "setuptools.build_meta"' in pyproject
    with pytest.raises(ValueError):
        sdist(tmp_path, "x", "1.0", "nonsense")  # type: ignore[arg-type]


# -- the index -----------------------------------------------------------------------------------


def test_index_pages_link_files_with_hashes(index: PackageIndex, dists: dict[str, Path]) -> None:
    with urllib.request.urlopen(index.url, timeout=10) as response:
        root = response.read().decode()
    assert '<a href="/simple/purepkg/">purepkg</a>' in root
    assert '<a href="/simple/setuptools/">setuptools</a>' in root

    with urllib.request.urlopen(index.url + "PurePkg", timeout=10) as response:
        assert response.url == index.url + "purepkg/"  # redirected to the canonical name
        page = response.read().decode()
    wheel = dists["pure-wheel"]
    digest = sha256_of(wheel).split(":", 1)[1]
    assert f'href="/files/purepkg/{wheel.name}#sha256={digest}"' in page

    with urllib.request.urlopen(index.file_url(wheel.name), timeout=10) as response:
        assert response.read() == wheel.read_bytes()
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(index.url + "no-such-project/", timeout=10)
    assert missing.value.code == 404
    assert "/simple/no-such-project/" in index.requests


def test_pip_download_from_the_index(
    index: PackageIndex, dists: dict[str, Path], tmp_path: Path
) -> None:
    index.clear_log()
    result = run_pip(
        ["download", "--index-url", index.url, "-d", str(tmp_path / "d"), "purepkg==1.0"],
        cwd=tmp_path,
    )

    assert result.returncode == 0, output_of(result)
    downloaded = tmp_path / "d" / "purepkg-1.0-py3-none-any.whl"
    assert downloaded.read_bytes() == dists["pure-wheel"].read_bytes()
    assert index.requests == [
        "/simple/purepkg/",
        "/files/purepkg/purepkg-1.0-py3-none-any.whl",
    ]
    assert index.downloads() == ["purepkg-1.0-py3-none-any.whl"]


def test_pip_download_sdist_prepares_metadata_with_markers(
    index: PackageIndex, tmp_path: Path
) -> None:
    # Downloading an sdist needs its metadata (a PEP 517 build with build isolation, served
    # setuptools), and its dependencies: purepkg, but not the aarch64-only one on this host.
    result = run_pip(
        ["download", "--index-url", index.url, "-d", str(tmp_path / "d"), "puresrc==1.0"],
        cwd=tmp_path,
    )

    assert result.returncode == 0, output_of(result)
    assert sorted(path.name for path in (tmp_path / "d").iterdir()) == [
        "purepkg-1.0-py3-none-any.whl",
        "puresrc-1.0.tar.gz",
    ]
    setuptools = f"setuptools-{SETUPTOOLS_VERSION}-py3-none-any.whl"
    assert f"/files/setuptools/{setuptools}" in index.requests
    assert "/simple/armonly/" not in index.requests


@pytest.mark.parametrize("kind", ["c-extension", "broken"])
def test_c_sdist_metadata_needs_no_compiler(index: PackageIndex, tmp_path: Path, kind: str) -> None:
    name = SDIST_NAMES[kind]
    result = run_pip(
        ["download", "--index-url", index.url, "--no-deps", "-d", str(tmp_path), f"{name}==1.0"],
        cwd=tmp_path,
        extra_env={"CC": "/nonexistent/cc"},
    )

    assert result.returncode == 0, output_of(result)
    assert (tmp_path / f"{name}-1.0.tar.gz").is_file()


def test_pip_wheel_builds_the_c_extension(index: PackageIndex, tmp_path: Path) -> None:
    result = run_pip(
        ["wheel", "--index-url", index.url, "--no-deps", "-w", str(tmp_path / "w"), "cextpkg==1.0"],
        cwd=tmp_path,
    )

    assert result.returncode == 0, output_of(result)
    wheel = built_wheel(tmp_path / "w")
    assert wheel.name == f"cextpkg-1.0-{host_wheel_tag()}.whl"
    assert any(name.startswith("cextpkg/_native.") for name in zip_members(wheel))
    target = tmp_path / "target"
    install_to_target(wheel, target, tmp_path)
    assert run_python("import cextpkg; print(cextpkg.answer())", target, tmp_path) == "42"


def test_c_extension_package_needs_its_extension(dists: dict[str, Path], tmp_path: Path) -> None:
    with tarfile.open(dists["c-extension"]) as archive:
        member = archive.extractfile("cextpkg-1.0/cextpkg/__init__.py")
        assert member is not None
        init = member.read()
    (tmp_path / "cextpkg").mkdir()
    (tmp_path / "cextpkg" / "__init__.py").write_bytes(init)
    code = "import cextpkg"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "ImportError" in result.stderr or "ModuleNotFoundError" in result.stderr


def test_optional_c_fails_hard_with_a_compiler(index: PackageIndex, tmp_path: Path) -> None:
    result = run_pip(
        ["wheel", "--index-url", index.url, "--no-deps", "-w", str(tmp_path / "w"), "optcpkg==1.0"],
        cwd=tmp_path,
    )

    assert result.returncode != 0, output_of(result)
    assert MISSING_HEADER in result.stdout + result.stderr
    assert not list((tmp_path / "w").glob("*.whl"))


def test_optional_c_builds_pure_without_a_compiler(index: PackageIndex, tmp_path: Path) -> None:
    result = run_pip(
        ["wheel", "--index-url", index.url, "--no-deps", "-w", str(tmp_path / "w"), "optcpkg==1.0"],
        cwd=tmp_path,
        extra_env={"CC": "/nonexistent/cc"},
    )

    assert result.returncode == 0, output_of(result)
    wheel = built_wheel(tmp_path / "w")
    assert wheel.name == "optcpkg-1.0-py3-none-any.whl"
    target = tmp_path / "target"
    install_to_target(wheel, target, tmp_path)
    code = "import optcpkg; print(optcpkg.HAS_SPEEDUPS is False, optcpkg.answer(), optcpkg.VALUE)"
    assert run_python(code, target, tmp_path) == "True 42 optcpkg 1.0"


def test_broken_sdist_fails_with_a_compiler_error(index: PackageIndex, tmp_path: Path) -> None:
    result = run_pip(
        [
            "wheel",
            "--index-url",
            index.url,
            "--no-deps",
            "-w",
            str(tmp_path / "w"),
            "brokenpkg==1.0",
        ],
        cwd=tmp_path,
    )

    assert result.returncode != 0, output_of(result)
    output = result.stdout + result.stderr
    assert "brokenpkg/_native.c" in output
    assert BROKEN_MARKER in output
    assert "error" in output


# -- basic auth ----------------------------------------------------------------------------------


def test_basic_auth_index(dists: dict[str, Path], tmp_path: Path) -> None:
    with PackageIndex(tmp_path / "index", username="u", password="p") as index:
        index.add(dists["pure-wheel"])

        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(index.url, timeout=10)
        assert denied.value.code == 401
        assert denied.value.headers["WWW-Authenticate"].startswith("Basic ")

        without = run_pip(
            ["download", "--index-url", index.url, "-d", str(tmp_path / "a"), "purepkg==1.0"],
            cwd=tmp_path,
        )
        assert without.returncode != 0, output_of(without)
        assert not (tmp_path / "a" / "purepkg-1.0-py3-none-any.whl").exists()

        wrong = index.url_with_credentials("u", "wrong")
        rejected = run_pip(
            ["download", "--index-url", wrong, "-d", str(tmp_path / "b"), "purepkg==1.0"],
            cwd=tmp_path,
        )
        assert rejected.returncode != 0, output_of(rejected)

        index.clear_log()
        url = index.url_with_credentials()
        assert url == f"http://u:p@127.0.0.1:{index.port}/simple/"
        allowed = run_pip(
            ["download", "--index-url", url, "-d", str(tmp_path / "c"), "purepkg==1.0"],
            cwd=tmp_path,
        )
        assert allowed.returncode == 0, output_of(allowed)
        assert (tmp_path / "c" / "purepkg-1.0-py3-none-any.whl").is_file()
        assert all(record.authenticated for record in index.access_log)
        assert index.downloads() == ["purepkg-1.0-py3-none-any.whl"]
