"""Index pages requested ahead of pip's resolver: pip gets the same pages and makes the same
choices, each page is requested once, and the next ones arrive while a slow wheel downloads.

Real pip (the shim's own process) against a local index on 127.0.0.1 whose file downloads are
slow, so the order of requests in its access log shows what was asked ahead.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from builder.incontainer.pip_commands import PIP_SHIM
from tests.support import fixture_packages as fp
from tests.support.package_index import PackageIndex, hermetic_pip_env

DEPENDENCIES = ("dep-a", "dep-b", "dep-c")


@pytest.fixture(scope="module")
def slow_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    dists = tmp_path_factory.mktemp("dists")
    wheels = [fp.pure_wheel(dists, "root-pkg", "1.0", requires=[f"{d}>=1" for d in DEPENDENCIES])]
    wheels += [fp.pure_wheel(dists, name, "1.0") for name in DEPENDENCIES]
    wheels.append(fp.pure_wheel(dists, "dep-c", "0.5"))  # pip must still pick 1.0
    with PackageIndex(tmp_path_factory.mktemp("index"), file_delay=0.3) as index:
        index.add_all(wheels)
        yield index


def download(index: PackageIndex, dest: Path, *extra_env: tuple[str, str]) -> str:
    env = hermetic_pip_env({"PIP_INDEX_URL": index.url, **dict(extra_env)})
    argv = [sys.executable, "-m", PIP_SHIM, "download", "--progress-bar", "off", "-d", str(dest)]
    done = subprocess.run(
        [*argv, "root-pkg==1.0"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_next_pages_arrive_while_a_wheel_downloads(
    slow_index: PackageIndex, tmp_path: Path
) -> None:
    slow_index.clear_log()
    download(slow_index, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dep_a-1.0-py3-none-any.whl",
        "dep_b-1.0-py3-none-any.whl",
        "dep_c-1.0-py3-none-any.whl",
        "root_pkg-1.0-py3-none-any.whl",
    ]
    log = slow_index.requests
    pages = [path for path in log if path.startswith("/simple/")]
    assert sorted(pages) == sorted(set(pages)), log  # each page once: pip used the early ones
    first_dependency_wheel = next(i for i, path in enumerate(log) if "/dep_" in path)
    for name in DEPENDENCIES:
        assert log.index(f"/simple/{name}/") < first_dependency_wheel, log


def test_choices_are_those_of_pip_unpatched(slow_index: PackageIndex, tmp_path: Path) -> None:
    """The same files as a plain pip would download (the shim without its patches)."""
    patched = download(slow_index, tmp_path / "patched")
    plain = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--progress-bar", "off", "-d",
         str(tmp_path / "plain"), "root-pkg==1.0"],
        env=hermetic_pip_env({"PIP_INDEX_URL": slow_index.url}),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    files = sorted(p.name for p in (tmp_path / "patched").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "plain").iterdir())
    assert "Successfully downloaded" in patched and "Successfully downloaded" in plain.stdout


def test_a_page_that_fails_ahead_is_asked_again_by_pip(
    slow_index: PackageIndex, tmp_path: Path
) -> None:
    """dep-b's first page request gets a 404 (the one made ahead): pip asks again itself."""
    slow_index.clear_log()
    slow_index.missing_once.add("dep-b")
    download(slow_index, tmp_path)
    log = slow_index.requests
    assert log.count("/simple/dep-b/") == 2, log
    assert (tmp_path / "dep_b-1.0-py3-none-any.whl").is_file()
