"""Real PyPI packages built on this host (python3.11 x86_64) and imported from the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.package_index import hermetic_pip_env

pytestmark = pytest.mark.network


def pypi_env() -> dict[str, str]:
    env = hermetic_pip_env({"PIP_INDEX_URL": "https://pypi.org/simple/"})
    for variable in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        if os.environ.get(variable):
            env["PIP_CERT"] = os.environ[variable]
    if "PIP_CERT" not in env and Path("/etc/ssl/certs/ca-certificates.crt").is_file():
        env["PIP_CERT"] = "/etc/ssl/certs/ca-certificates.crt"
    return env


def test_real_packages_build_and_import_in_a_fresh_interpreter(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    # numpy: binary wheel; wrapt and markupsafe: C speedups; an sdist-only pure package.
    requirements.write_text("numpy==2.1.3\nwrapt==1.17.2\nmarkupsafe==3.0.2\n--no-binary=wrapt\n")
    report = tmp_path / "report.json"
    result = run_cli(
        [
            "build",
            "-r",
            str(requirements),
            "--runtime",
            "python3.11",
            "--no-container",
            "--no-cache",
            "-o",
            str(tmp_path / "out"),
            "--report",
            str(report),
        ],
        pypi_env(),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    hows = {p["name"]: p["how"] for p in json.loads(report.read_text())["targets"][0]["packages"]}
    assert hows["numpy"] == "wheel" and hows["markupsafe"] == "wheel"
    assert hows["wrapt"] == "built-from-sdist"
    code = (
        "import numpy, wrapt, markupsafe; "
        "print(numpy.arange(3).sum(), markupsafe.escape('<'), wrapt.__name__)"
    )
    imported = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path / 'out')!r}); " + code,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ["3", "&lt;", "wrapt"]
