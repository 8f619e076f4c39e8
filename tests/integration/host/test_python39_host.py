"""The host side runs on Python 3.9 (macOS's system Python): installed and used in a 3.9 image."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.catalog import Catalog
from tests.support.standins import ensure_standin

pytestmark = [pytest.mark.docker, pytest.mark.network]

SCRIPT = """
set -e
cp -r /src /tmp/src && rm -rf /tmp/src/.venv
PIP_CERT=/ca.pem python3 -m pip install -q '/tmp/src[aws]' pytest keyring pyyaml
# The CDK construct's tests need Node.js and aws-cdk-lib: the main suite runs them, not this one.
cd /tmp/src && python3 -m pytest tests/unit -q -p no:cacheprovider -x --ignore=tests/unit/cdk
mkdir /tmp/project && echo needspure==1.0 > /tmp/project/requirements.txt
PIP_INDEX_URL="$INDEX" python3 -m builder build /tmp/project --runtime python3.9 \\
    --no-container --no-cache -o /tmp/out --report /tmp/report.json
python3 -c "import sys; sys.path.insert(0, '/tmp/out'); import purepkg; print(purepkg.VALUE)"
"""


def test_host_side_installs_and_builds_on_python39(catalog: Catalog) -> None:
    image = ensure_standin("python3.9", "x86_64")
    ca = os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
    assert Path(ca).is_file(), "PyPI is reached through this CA bundle"
    result = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "host",
            "-e",
            f"INDEX={catalog.index.url}",
            "-v",
            f"{REPO_ROOT}:/src:ro",
            "-v",
            f"{ca}:/ca.pem:ro",
            "--entrypoint",
            "sh",
            image,
            "-c",
            SCRIPT,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "passed" in result.stdout
    assert result.stdout.strip().endswith("purepkg 1.0")
