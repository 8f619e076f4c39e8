"""The generated build definition, its launcher and the buildx command line (pure)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from builder.architectures import Architecture
from builder.docker import buildx_plan as plan
from builder.docker.image import definition_files
from builder.incontainer.protocol import EVENT_PREFIX

STEP = plan.PipelineStep(
    command=["/var/lang/bin/python3", "-m", "prog", "/run/secrets/lambda-builder-job", "/r.json"],
    python="/var/lang/bin/python3",
    result_file="/lambda-builder/result.json",
    event_prefix=EVENT_PREFIX,
    cache_id="lambda-builder-cache-python3.12-arm64",
    cache_target="/lambda-builder-cache",
    ca_target="/lambda-builder/ca-bundle.pem",
)


def _definition(step: plan.PipelineStep = STEP) -> str:
    files = definition_files(Architecture.ARM64)
    return plan.dockerfile(files["Dockerfile.arm64"].decode(), "Dockerfile.arm64", step)


def test_definition_starts_with_the_builder_stage_of_the_same_dockerfile() -> None:
    stage = definition_files(Architecture.ARM64)["Dockerfile.arm64"].decode().rstrip("\n")
    text = _definition()
    assert stage in text
    assert "FROM --platform=linux/arm64 ${BASE_IMAGE} AS builder" in text
    assert "FROM builder AS pipeline" in text and "standalone" not in text.split("#", 3)[-1]


def test_job_environment_and_ca_are_secret_mounts_never_args_or_env() -> None:
    text = _definition()
    run = text[text.index("RUN --mount") :].split("\n\n")[0]
    assert "--mount=type=secret,id=lambda-builder-job,required=true" in run
    assert "--mount=type=secret,id=lambda-builder-env,required=true" in run
    assert "--mount=type=secret,id=lambda-builder-ca,target=/lambda-builder/ca-bundle.pem" in run
    assert "--mount=type=cache,id=lambda-builder-cache-python3.12-arm64" in run
    assert "type=bind" not in text  # nothing of the client's disk but the context and secrets
    after_builder = text.split("FROM builder AS pipeline", 1)[1]
    assert "\nARG " not in after_builder and "\nENV " not in after_builder


def test_without_cache_or_ca_there_is_no_such_mount() -> None:
    step = plan.PipelineStep(**{**STEP.__dict__, "cache_id": None, "ca_target": None})
    text = _definition(step)
    assert "type=cache" not in text and "lambda-builder-ca" not in text


def test_only_result_and_target_are_exported() -> None:
    tail = _definition().split(f"FROM scratch AS {plan.RESULT_STAGE}", 1)[1]
    copies = [line for line in tail.splitlines() if line.startswith("COPY")]
    assert copies == [
        "COPY --from=pipeline /lambda-builder/result.json /result.json",
        "COPY --from=pipeline /lambda-builder/target/ /target/",
    ]


def test_run_step_is_recognised_in_progress_by_its_name() -> None:
    run = _definition().split("RUN --mount", 1)[1].split("\n\n")[0]
    argv = json.loads(run.splitlines()[-1].strip())
    name = "[pipeline 2/2] RUN --mount=... " + " ".join(argv)
    assert plan.is_pipeline_vertex(name)
    assert not plan.is_pipeline_vertex("[builder 2/2] RUN sh /opt/install-toolchain.sh")


def test_argv_selects_builder_platform_secrets_caches_and_local_output(tmp_path: Path) -> None:
    options = plan.BuildxOptions(
        platform="linux/arm64",
        base_image="example/python:3.12-arm64",
        builder="pool",
        cache_to=("type=gha,mode=max",),
        cache_from=("type=gha", "type=registry,ref=r/c"),
        network_host=True,
        allow_host_network=True,
    )
    secrets = {"b": tmp_path / "b.json", "a": tmp_path / "a.json"}
    argv = plan.buildx_argv(options, tmp_path / "ctx", secrets, tmp_path / "out")
    assert argv[:5] == ["docker", "buildx", "build", "--builder", "pool"]
    joined = " ".join(argv)
    assert "--platform linux/arm64" in joined and "--progress rawjson" in joined
    assert f"--secret id=a,src={tmp_path / 'a.json'} --secret id=b,src=" in joined
    assert "--network host --allow network.host" in joined
    assert "--cache-from type=gha --cache-from type=registry,ref=r/c" in joined
    assert "--cache-to type=gha,mode=max" in joined
    assert "--build-arg BASE_IMAGE=example/python:3.12-arm64" in joined
    assert argv[-3:] == ["--output", f"type=local,dest={tmp_path / 'out'}", str(tmp_path / "ctx")]
    assert "--no-cache" not in argv


def test_docker_driver_builders_are_chosen_as_contexts(tmp_path: Path) -> None:
    options = plan.BuildxOptions(
        "linux/amd64", "b", builder="remote", docker_context=True, no_cache=True
    )
    argv = plan.buildx_argv(options, tmp_path, {}, tmp_path / "o")
    assert argv[:5] == ["docker", "--context", "remote", "buildx", "build"]
    assert "--builder" not in argv and "--no-cache" in argv and "--network" not in argv


def _launch(tmp_path: Path, status: str, code: int) -> subprocess.CompletedProcess[str]:
    launcher = tmp_path / "launch.py"
    launcher.write_text(plan.LAUNCHER_SOURCE)
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"LB_PROBE": "from-secret"}))
    result = tmp_path / "result.json"
    program = (
        "import json, os, sys; "
        f"json.dump({{'status': {status!r}, 'seen': os.environ['LB_PROBE']}}, "
        f"open({str(result)!r}, 'w')); sys.exit({code})"
    )
    argv = [sys.executable, str(launcher), str(env_file), str(result), EVENT_PREFIX]
    return subprocess.run([*argv, sys.executable, "-c", program], capture_output=True, text=True)


def test_launcher_passes_the_secret_environment_and_succeeds_on_ok(tmp_path: Path) -> None:
    done = _launch(tmp_path, "ok", 0)
    assert done.returncode == 0 and done.stdout == ""
    assert json.loads((tmp_path / "result.json").read_text())["seen"] == "from-secret"


def test_launcher_fails_the_step_and_prints_the_result_when_not_ok(tmp_path: Path) -> None:
    done = _launch(tmp_path, "missing", 1)
    assert done.returncode == 1
    [line] = done.stdout.splitlines()
    assert line.startswith(EVENT_PREFIX)
    event = json.loads(line[len(EVENT_PREFIX) :])
    assert event["event"] == plan.RESULT_EVENT and event["result"]["status"] == "missing"
