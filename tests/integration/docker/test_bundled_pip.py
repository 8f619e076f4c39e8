"""The builder image carries this installation's pip, compiled, beside the image's own."""

from __future__ import annotations

import importlib.metadata
import re

import docker
import pytest
from packaging.specifiers import SpecifierSet

from builder.architectures import Architecture
from builder.docker.engine import connect
from builder.docker.image import ensure_builder_image
from builder.ui import NullUI
from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker
CHECK = (
    "import os, subprocess, sys\n"
    "root = '/opt/lambda-builder/pip'\n"
    "if not os.path.isdir(root):\n"
    "    print('absent'); sys.exit()\n"
    "env = dict(os.environ, PYTHONPATH=root)\n"
    "out = subprocess.run([sys.executable, '-m', 'pip', '--version'], env=env,\n"
    "                     capture_output=True, text=True, check=True).stdout\n"
    "cached = [f for _d, _s, fs in os.walk(root) for f in fs if f.endswith('.pyc')]\n"
    "print(out.split()[1], len(cached) > 100)\n"
)


def bundled_in(runtime: str) -> str:
    standin = ensure_standin(runtime, "x86_64")
    image = ensure_builder_image(connect(), standin, Architecture.X86_64, NullUI(), runtime)
    output = docker.from_env().containers.run(
        image, ["/var/lang/bin/python3", "-c", CHECK], remove=True
    )
    return output.decode().strip()


def host_pip_runs_on(python: str) -> bool:
    metadata = importlib.metadata.metadata("pip")
    return python in SpecifierSet(metadata.get("Requires-Python") or "")


def test_the_builder_image_runs_this_installations_pip_byte_compiled() -> None:
    assert host_pip_runs_on("3.11"), "the test expects a pip that supports Python 3.11"
    assert bundled_in("python3.11") == f"{importlib.metadata.version('pip')} True"


def test_an_image_whose_python_the_pip_does_not_support_keeps_its_own() -> None:
    found = bundled_in("python3.9")
    if host_pip_runs_on("3.9"):  # an older pip on this host: it is bundled when newer
        assert re.fullmatch(r"(absent|\S+ True)", found), found
    else:
        assert found == "absent"
