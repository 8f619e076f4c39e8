"""Index pages trimmed of wheels no Linux of the target's machine can install, inside pip."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from pip._internal.index.collector import IndexContent, parse_links
from pip._internal.models.link import Link

from builder.incontainer.pip_shim import patch_links, target_python
from builder.incontainer.tags import could_run_on

KEPT_ON_X86_64 = [
    "pydantic_core-2.27.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-2.2.1-cp311-cp311-manylinux_2_28_x86_64.whl",  # newer glibc: sorted later, not here
    "netifaces-0.11.0-cp311-cp311-linux_x86_64.whl",
    "idna-3.10-py3-none-any.whl",
    "pkg-1.0-1build-py3-none-any.whl",  # a build tag
    "PKG-1.0-CP311-CP311-MANYLINUX2014_X86_64.WHL",
    "netifaces-0.11.0.tar.gz",
    "odd.whl",  # not a wheel name pip understands: pip decides
]
DROPPED_ON_X86_64 = [
    "pydantic_core-2.27.2-cp311-cp311-win_amd64.whl",
    "pydantic_core-2.27.2-cp311-cp311-macosx_10_12_x86_64.macosx_11_0_arm64.whl",
    "pydantic_core-2.27.2-cp311-cp311-musllinux_1_1_x86_64.whl",
    "pydantic_core-2.27.2-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "pydantic_core-2.27.2-pp310-pypy310_pp73-manylinux_2_17_i686.whl",
]


@pytest.mark.parametrize("filename", KEPT_ON_X86_64)
def test_linux_wheels_of_the_machine_and_everything_else_are_kept(filename: str) -> None:
    assert could_run_on(filename, "x86_64")


@pytest.mark.parametrize("filename", DROPPED_ON_X86_64)
def test_wheels_for_other_systems_and_machines_are_dropped(filename: str) -> None:
    assert not could_run_on(filename, "x86_64")


def test_the_machine_decides_which_linux_wheels_stay() -> None:
    arm = "pydantic_core-2.27.2-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    assert could_run_on(arm, "aarch64") and not could_run_on(arm, "x86_64")


ON_CPYTHON_3_11 = {
    "pydantic_core-2.27.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl": True,
    "cryptography-44.0.0-cp39-abi3-manylinux_2_28_x86_64.whl": True,  # the stable ABI
    "cryptography-44.0.0-cp37-abi3.abi4-manylinux_2_28_x86_64.whl": True,
    "six-1.17.0-py2.py3-none-any.whl": True,
    "pkg-1.0-py311-none-manylinux_2_17_x86_64.whl": True,
    "pkg-1.0-cp310.cp311-cp310.cp311-manylinux_2_17_x86_64.whl": True,
    "pydantic_core-2.27.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl": False,
    "pydantic_core-2.27.2-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl": False,
    "pydantic_core-2.27.2-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl": False,
    "cryptography-44.0.0-cp312-abi3-manylinux_2_28_x86_64.whl": False,  # abi3 from 3.12 on
    "pkg-1.0-cp27-cp27mu-manylinux1_x86_64.whl": False,
    "pkg-1.0-cp39-none-manylinux_2_17_x86_64.whl": False,
}


@pytest.mark.parametrize(("filename", "kept"), ON_CPYTHON_3_11.items())
def test_wheels_for_other_pythons_are_dropped_when_the_target_python_is_known(
    filename: str, kept: bool
) -> None:
    assert could_run_on(filename, "x86_64", (3, 11)) is kept
    assert could_run_on(filename, "x86_64")  # without a Python, only the machine counts


@pytest.mark.parametrize("filename", ON_CPYTHON_3_11)
def test_a_dropped_wheel_is_one_pip_on_that_python_would_reject(filename: str) -> None:
    from pip._internal.models.wheel import Wheel
    from pip._internal.utils.compatibility_tags import get_supported

    supported = get_supported(
        version="311", platforms=["manylinux_2_28_x86_64", "manylinux1_x86_64"], impl="cp"
    )
    if not could_run_on(filename, "x86_64", (3, 11)):
        assert not Wheel(filename).supported(supported)


def test_the_target_python_comes_from_the_markers_when_resolving_for_another_machine() -> None:
    assert target_python({"python_version": "3.12", "platform_machine": "aarch64"}) == (3, 12)
    assert target_python(None) == sys.version_info[:2]
    assert target_python({"platform_machine": "aarch64"}) is None  # unknown: machine only


@pytest.fixture
def patched() -> Iterator[None]:
    saved = Link.__dict__["from_json"], Link.__dict__["from_element"]
    patch_links("x86_64")
    try:
        yield
    finally:
        Link.from_json, Link.from_element = saved  # type: ignore[method-assign]


def _page(names: list[str]) -> tuple[IndexContent, IndexContent]:
    """One project page as PEP 691 JSON and as PEP 503 HTML."""
    files = ",".join(f'{{"filename": "{n}", "url": "../../f/{n}", "hashes": {{}}}}' for n in names)
    anchors = "".join(f'<a href="../../f/{n}#sha256=00">{n}</a>' for n in names)
    bodies = {
        "application/vnd.pypi.simple.v1+json": (
            f'{{"meta": {{"api-version": "1.0"}}, "name": "pkg", "files": [{files}]}}'
        ),
        "text/html": f"<html><body>{anchors}</body></html>",
    }
    as_json, as_html = (
        # pip memoises parsed pages: each test parses afresh.
        IndexContent(body.encode(), kind, "utf-8", URL, cache_link_parsing=False)
        for kind, body in bodies.items()
    )
    return as_json, as_html


URL = "https://index.example/simple/pkg/"


def test_pip_reads_only_the_kept_entries_of_json_and_html_pages(patched: None) -> None:
    names = KEPT_ON_X86_64[:4] + DROPPED_ON_X86_64
    for page in _page(names):
        assert [link.filename for link in parse_links(page)] == KEPT_ON_X86_64[:4]


def test_an_unpatched_pip_reads_every_entry() -> None:
    names = KEPT_ON_X86_64[:4] + DROPPED_ON_X86_64
    for page in _page(names):
        assert len(list(parse_links(page))) == len(names)


def test_the_shim_runs_pip_with_its_arguments() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "builder.incontainer.pip_shim", "--version"],
        capture_output=True,
        text=True,
        env={"LAMBDA_BUILDER_WHEEL_MACHINE": "x86_64", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pip ")
