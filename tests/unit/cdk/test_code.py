"""LambdaBuilderCode in stacks a CDK command does not deploy: nothing is built for them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_stack_outside_the_bundling_selection_builds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `cdk deploy Other` does for Shop: no engine is even asked (there is none here)."""
    import aws_cdk as cdk

    from builder.cdk import LambdaBuilderFunction

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    project = tmp_path / "fn"
    project.mkdir()
    (project / "requirements.txt").write_text("purepkg==1.0\n")
    outdir = tmp_path / "cdk.out"
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": ["Other"]})
    stack = cdk.Stack(app, "Shop")
    LambdaBuilderFunction(stack, "Fn", project_dir=project, handler="app.handler")
    app.synth()
    assets = json.loads((outdir / "Shop.assets.json").read_text())["files"]
    sources = [a["source"] for a in assets.values() if a["source"]["packaging"] == "zip"]
    assert sources == [{"path": str(project.resolve()), "packaging": "zip"}]
    assert not list(outdir.glob("asset.*"))
