"""The construct's build without an engine: one clear error before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cdk.artifact import DOCKER_REQUIRED, LabelledUI, _request, build_function_zip
from builder.cdk.options import FunctionBuild
from builder.errors import DockerError


@pytest.fixture
def no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")


def function_dir(root: Path) -> Path:
    root.mkdir()
    (root / "requirements.txt").write_text("purepkg==1.0\n")
    (root / "app.py").write_text("def handler(event, context):\n    return 1\n")
    return root


@pytest.mark.usefixtures("no_engine")
def test_missing_docker_fails_clearly_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "cdk.out"
    build = FunctionBuild(function_dir(tmp_path / "fn"), runtime="python3.12")
    with pytest.raises(DockerError) as caught:
        build_function_zip(build, out)
    assert DOCKER_REQUIRED in caught.value.message
    assert "no-engine.sock" in caught.value.message
    assert caught.value.hint and "start Docker" in caught.value.hint
    assert caught.value.target == "python3.12/x86_64"
    assert not out.exists()


@pytest.mark.usefixtures("no_engine")
def test_missing_docker_fails_when_the_function_binds_its_code(tmp_path: Path) -> None:
    import aws_cdk as cdk

    from builder.cdk import LambdaBuilderFunction

    stack = cdk.Stack(cdk.App(outdir=str(tmp_path / "cdk.out")), "Stack")
    with pytest.raises(DockerError, match="needs a Docker engine"):
        LambdaBuilderFunction(
            stack, "Fn", project_dir=function_dir(tmp_path / "fn"), handler="app.handler"
        )
    assert not list((tmp_path / "cdk.out").glob("asset.*"))


@pytest.mark.usefixtures("no_engine")
def test_missing_docker_through_a_plain_function_keeps_the_hint(tmp_path: Path) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_lambda

    from builder.cdk import LambdaBuilderCode

    stack = cdk.Stack(cdk.App(outdir=str(tmp_path / "cdk.out")), "Stack")
    # jsii calls bind() back and re-raises whatever it raised as a RuntimeError of its text.
    with pytest.raises(RuntimeError) as caught:
        aws_lambda.Function(
            stack,
            "Fn",
            code=LambdaBuilderCode.from_project(function_dir(tmp_path / "fn")),
            handler="app.handler",
            runtime=aws_lambda.Runtime.PYTHON_3_12,
        )
    assert DOCKER_REQUIRED in str(caught.value)
    assert "hint: start Docker" in str(caught.value)


def test_request_is_the_one_the_cli_makes_for_a_function_directory(tmp_path: Path) -> None:
    project = function_dir(tmp_path / "fn")
    build = FunctionBuild(project, runtime="python3.11", architecture="arm64", slim=True)
    request = _request(build, tmp_path / "scratch", tmp_path / "f.zip")
    assert request.requirements == project.resolve() / "requirements.txt"
    assert request.input_kind == "requirements.txt"
    assert request.source_dir == project.resolve()
    assert request.target == "python3.11/arm64"
    assert request.output == tmp_path / "scratch" / "bundle"
    assert request.config.artifacts.zip_path == tmp_path / "f.zip"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def step(self, target: str, message: str) -> None:
        self.events.append(("step", target, message))

    def log(self, target: str, line: str) -> None:
        self.events.append(("log", target, line))

    def warning(self, target: str, message: str) -> None:
        self.events.append(("warning", target, message))


def test_progress_names_the_construct_before_the_target() -> None:
    recorder = Recorder()
    ui = LabelledUI("Shop/Orders", recorder)
    ui.step("python3.12/arm64", "resolving")
    ui.log("python3.12/arm64", "pip says")
    ui.warning("python3.12/arm64", "careful")
    assert recorder.events == [
        ("step", "Shop/Orders python3.12/arm64", "resolving"),
        ("log", "Shop/Orders python3.12/arm64", "pip says"),
        ("warning", "Shop/Orders python3.12/arm64", "careful"),
    ]
