"""Real PyPI packages for arm64, built in the (stand-in) Lambda image under QEMU and verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.integration.host.test_pypi_host import pypi_env
from tests.support.standins import ensure_standin

pytestmark = [pytest.mark.network, pytest.mark.docker, pytest.mark.emulation]


def test_real_binary_wheels_for_arm64_import_in_the_arm64_image(tmp_path: Path) -> None:
    ensure_standin("python3.11", "arm64")
    source = tmp_path / "src"
    source.mkdir()
    # numpy and pydantic-core: binary wheels; ruamel.yaml.clib: manylinux_2_24-era aarch64 wheels.
    (source / "requirements.txt").write_text(
        "numpy==2.1.3\npydantic==2.10.4\nmarkupsafe==3.0.2\nruamel.yaml==0.18.6\n"
    )
    (source / "app.py").write_text(
        "import numpy, pydantic, markupsafe, ruamel.yaml\n\n"
        "def handler(event, context):\n    return {'sum': int(numpy.arange(4).sum())}\n"
    )
    report = tmp_path / "report.json"
    result = run_cli(
        [
            "build",
            str(source),
            "--runtime",
            "python3.11",
            "--arch",
            "arm64",
            "--no-cache",
            "--base-image",
            "lambda-builder-standin/python:{version}{suffix}",
            "-o",
            str(tmp_path / "out"),
            "--zip",
            str(tmp_path / "app.zip"),
            "--verify",
            "--report",
            str(report),
        ],
        pypi_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [target] = json.loads(report.read_text())["targets"]
    wheels = {p["name"]: p["wheel"] for p in target["packages"]}
    assert wheels["numpy"].endswith("aarch64.whl") and "cp311" in wheels["numpy"]
    assert wheels["pydantic-core"].endswith("aarch64.whl")
    assert target["verification"]["ok"] is True
    assert {i["name"] for i in target["verification"]["imports"]} >= {"numpy", "pydantic", "app"}
