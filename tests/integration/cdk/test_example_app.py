"""examples/cdk-app as shipped: its own uv workspace and lock, real PyPI, a real synth."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.integration.host.test_pypi_host import pypi_env
from tests.support.standins import ensure_standin

pytestmark = [pytest.mark.docker, pytest.mark.network]

APP = Path(__file__).resolve().parents[3] / "examples" / "cdk-app" / "app.py"
EVENT = {"order_id": "A1", "amount_cents": 500}
EXPECTED = {"orders": "{'accepted': 'A1'}", "payments": "{'charged': 500, 'client': 'httpx "}


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lambda_builder_example_cdk_app", APP)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call_handler(image: str, bundle: Path, member: str) -> str:
    code = (
        "import sys; sys.path.insert(0, '/var/task'); "
        f"from {member}.handler import handler; print(handler({EVENT!r}, None))"
    )
    python = ["--entrypoint", "/var/lang/bin/python3", image, "-c", code]
    run = subprocess.run(
        ["docker", "run", "--rm", "-v", f"{bundle}:/var/task:ro", *python],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_example_app_synthesizes_working_slim_compiled_functions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aws_cdk as cdk

    # pip in the build container reaches PyPI through this network's TLS interception.
    if "PIP_CERT" in pypi_env():
        monkeypatch.setenv("PIP_CERT", pypi_env()["PIP_CERT"])
    image = ensure_standin("python3.11", "x86_64")
    outdir = tmp_path / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    # The example's arm64/python3.12 becomes the stand-in's python3.11/x86_64: no emulation.
    load_example().ShopStack(
        app, "Shop", runtime="python3.11", architecture="x86_64", base_image=image
    )
    app.synth()
    template = json.loads((outdir / "Shop.template.json").read_text())
    functions = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]
    assert sorted(props["Handler"] for props in functions) == [
        "orders.handler.handler",
        "payments.handler.handler",
    ]
    for props in functions:
        member = props["Handler"].split(".")[0]
        assert props["Runtime"] == "python3.11" and props["MemorySize"] == 256
        assert props["Architectures"] == ["x86_64"]
        key = props["Code"]["S3Key"]
        staged = outdir / f"asset.{key}"
        assert hashlib.sha256(staged.read_bytes()).hexdigest() + ".zip" == key
        bundle = tmp_path / member
        with zipfile.ZipFile(staged) as archive:
            archive.extractall(bundle)
        # compile_bytecode=True reached the build: the handler ships compiled by python3.11.
        assert (bundle / member / "__pycache__" / "handler.cpython-311.pyc").is_file()
        assert (bundle / "pydantic_core").is_dir() and (bundle / "shop_common").is_dir()
        assert (bundle / "httpx").is_dir() == (member == "payments")
        assert call_handler(image, bundle, member).startswith(EXPECTED[member])
