"""The examples people copy: the workflow parses and runs real commands; the CDK app compiles."""

from __future__ import annotations

import json
import py_compile
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from builder.cli.main import make_parser
from builder.inputs.project import load_toml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WORKFLOW = EXAMPLES / "github-actions" / "build-and-publish.yml"
CDK_APP = EXAMPLES / "cdk-app"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def commands(workflow: dict[str, Any], program: str) -> list[list[str]]:
    """Each ``run:`` line that starts ``program``, split as the shell would (vars unexpanded)."""
    env = {key: f"${key}" for key in workflow.get("env", {})}
    found = []
    for step in steps(workflow):
        words = shlex.split(step.get("run", ""))
        if words[:1] == [program]:
            found.append([env.get(w.strip("$"), w) for w in words[1:]])
    return found


def test_workflow_sets_up_qemu_and_buildx_before_building(workflow: dict[str, Any]) -> None:
    uses = [step.get("uses", "").split("@")[0] for step in steps(workflow)]
    assert uses.index("docker/setup-qemu-action") < uses.index("docker/setup-buildx-action")
    qemu = next(s for s in steps(workflow) if s.get("uses", "").startswith("docker/setup-qemu"))
    assert qemu["with"]["platforms"] == "arm64"
    assert any("pip install lambda-builder" in step.get("run", "") for step in steps(workflow))


def test_workflow_build_command_is_accepted_by_the_cli(workflow: dict[str, Any]) -> None:
    parser = make_parser()
    builds = [c for c in commands(workflow, "lambda-builder") if c[0] == "build"]
    assert len(builds) == 1
    args = parser.parse_args(builds[0])
    assert workflow["env"]["ARCH"] == "arm64" and args.arch == "$ARCH"
    assert args.layer_zip == "dist/layer.zip" and args.verify
    doctors = [c for c in commands(workflow, "lambda-builder") if c[0] == "doctor"]
    assert all(parser.parse_args(c) for c in doctors)


def test_workflow_publishes_the_layer_with_the_documented_flags(
    workflow: dict[str, Any],
) -> None:
    publish = [c for c in commands(workflow, "lambda-builder") if c[0] == "publish-layer"]
    assert len(publish) == 1
    words = publish[0]
    assert words[1] == "."
    flags = dict(zip(words[2::2], words[3::2]))
    assert set(flags) == {"--layer-name", "--s3-uri", "--runtime", "--arch"}
    assert workflow["env"]["RUNTIME"] == "python3.12"


def test_cdk_example_app_compiles_and_cdk_json_runs_it(tmp_path: Path) -> None:
    py_compile.compile(str(CDK_APP / "app.py"), cfile=str(tmp_path / "app.pyc"), doraise=True)
    assert json.loads((CDK_APP / "cdk.json").read_text())["app"] == "python3 app.py"


def test_cdk_example_workspace_has_the_handlers_the_app_names() -> None:
    services = CDK_APP / "services"
    root = load_toml(services / "pyproject.toml")
    assert root["tool"]["uv"]["workspace"]["members"] == ["packages/*"]
    assert (services / "uv.lock").is_file()
    source = (CDK_APP / "app.py").read_text()
    for member in ("orders", "payments"):
        handlers = list((services / "packages" / member).rglob(f"{member}/handler.py"))
        assert len(handlers) == 1, member
        assert "def handler(event, context)" in handlers[0].read_text()
        assert f'"{member}"' in source
