"""LambdaBuilderBundling as CDK calls it: without an engine it fails, it never declines."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cdk.artifact import DOCKER_REQUIRED


def test_missing_docker_fails_instead_of_falling_back_to_cdk_docker_bundling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_lambda

    from builder.cdk import FunctionBuild, LambdaBuilderBundling

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    project = tmp_path / "fn"
    project.mkdir()
    (project / "requirements.txt").write_text("purepkg==1.0\n")
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path / "cdk.out")), "Stack")
    with pytest.raises(RuntimeError) as caught:
        aws_lambda.Function(
            stack,
            "Fn",
            code=aws_lambda.Code.from_asset(
                str(project), bundling=LambdaBuilderBundling.options(FunctionBuild(project))
            ),
            handler="app.handler",
            runtime=aws_lambda.Runtime.PYTHON_3_12,
        )
    # Our error, with its hint: CDK did not go on to `docker run` its placeholder image.
    assert DOCKER_REQUIRED in str(caught.value) and "hint: start Docker" in str(caught.value)
    assert "local-bundling-only" not in str(caught.value)
