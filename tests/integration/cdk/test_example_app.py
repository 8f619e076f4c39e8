"""examples/cdk-app/app.py's stack, synthesized for real against the fixture workspace."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker

APP = Path(__file__).resolve().parents[3] / "examples" / "cdk-app" / "app.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lambda_builder_example_cdk_app", APP)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_stack_builds_slim_compiled_functions(
    workspace: Path, cache_dir: Path, tmp_path: Path
) -> None:
    import aws_cdk as cdk

    example = load_example()
    outdir = tmp_path / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    # The example's own services/ is locked against PyPI; the fixture workspace has the same
    # members and handlers and resolves from the local index. python3.11/x86_64: the stand-in.
    example.ShopStack(
        app,
        "Shop",
        project_dir=workspace,
        runtime="python3.11",
        architecture="x86_64",
        base_image=ensure_standin("python3.11", "x86_64"),
    )
    app.synth()
    template = json.loads((outdir / "Shop.template.json").read_text())
    functions = {
        props["Handler"]: props
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        for props in [resource["Properties"]]
    }
    assert set(functions) == {"orders.handler.handler", "payments.handler.handler"}
    for handler, props in functions.items():
        member = handler.split(".")[0]
        assert props["Runtime"] == "python3.11" and props["MemorySize"] == 256
        assert props["Architectures"] == ["x86_64"]
        staged = outdir / f"asset.{props['Code']['S3Key']}"
        assert hashlib.sha256(staged.read_bytes()).hexdigest() + ".zip" == props["Code"]["S3Key"]
        with zipfile.ZipFile(staged) as archive:
            names = set(archive.namelist())
        # compile_bytecode=True reached the build: the handler ships compiled by python3.11.
        assert f"{member}/__pycache__/handler.cpython-311.pyc" in names
        assert f"{member}/handler.py" in names
