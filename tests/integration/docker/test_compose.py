"""compose.yaml: a build with no Python tooling on the host (the standalone stage)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.catalog import Catalog
from tests.support.standins import ensure_standin

# The standalone image installs lambda-builder's own dependencies from PyPI when it is built.
pytestmark = [pytest.mark.docker, pytest.mark.network]


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "compose", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_compose_service_builds_a_bundle_owned_by_the_chosen_user(
    catalog: Catalog, tmp_path: Path
) -> None:
    image = ensure_standin("python3.11", "x86_64")
    source, output = tmp_path / "src", tmp_path / "out"
    source.mkdir()
    output.mkdir()
    os.chown(output, 1000, 1000)
    (source / "requirements.txt").write_text("needspure==1.0\n")
    (source / "app.py").write_text("import purepkg\n")
    ca = os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
    env = {
        "BASE_IMAGE": image,
        "LAMBDA_BUILDER_RUNTIME": "python3.11",
        "LAMBDA_BUILDER_SOURCE": str(source),
        "LAMBDA_BUILDER_OUTPUT": str(output),
        "LAMBDA_BUILDER_NETWORK": "host",
        "PIP_INDEX_URL": catalog.index.url,
        "LAMBDA_BUILDER_CA_BUNDLE": ca if Path(ca).is_file() else "",
    }
    env = {k: v for k, v in env.items() if v}
    built = compose("build", "x86_64", env=env)
    assert built.returncode == 0, built.stderr[-3000:]
    ran = compose("run", "--rm", "x86_64", env=env)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-3000:]
    bundle = output / "bundle"
    assert (bundle / "purepkg" / "__init__.py").is_file() and (bundle / "app.py").is_file()
    assert {p.stat().st_uid for p in bundle.rglob("*")} == {1000}
