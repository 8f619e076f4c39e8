"""``--backend buildx``: the pipeline for one target as a BuildKit build on a buildx builder.

The same workspace the docker backend uploads becomes the build context, minus the job file:
the job and the container environment (both may hold index credentials) and the CA bundle
reach the RUN step as build secrets, so they are never in a layer, the cache key or an
exported cache. A credential-free copy of both stands in the context as the cache key. The
result comes back through ``--output type=local``; BuildKit's own cache (a cached RUN step is
reported as a ``hit``) replaces the whole-build cache, so ``--cache-to/--cache-from`` carry it
between machines.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path, PurePosixPath

from builder.architectures import Architecture
from builder.config import BuildConfig
from builder.credentials import complete_pip_env
from builder.docker import buildx_plan as plan
from builder.docker import bundled_pip
from builder.docker.builders import BuilderInfo
from builder.docker.buildx import BuildOutcome, inspect_builder, run_build
from builder.docker.emulation import emulation_error, is_exec_format_error
from builder.docker.engine import connect
from builder.docker.image import definition_files, image_tag
from builder.docker.image_facts import check_result_facts
from builder.docker.runner import (
    CA_NAME,
    CACHE_MOUNT,
    cache_volume,
    container_environment,
)
from builder.docker.runtime_python import PYTHON
from builder.errors import DockerError, PipelineError, UsageError
from builder.events import relay_line
from builder.host import keyrings
from builder.host import workspace as ws
from builder.host.build_cache import (
    build_identity,
    build_key,
    normalized_environment,
    normalized_job,
)
from builder.incontainer.protocol import EVENT_PREFIX
from builder.job import PipelineResult
from builder.requirements_file import ParsedRequirements
from builder.runtimes import Runtime
from builder.ui import BuildUI


def run_with_buildx(
    runtime: Runtime,
    architecture: Architecture,
    config: BuildConfig,
    parsed: ParsedRequirements | None,
    scratch: Path,
    ui: BuildUI,
) -> tuple[PipelineResult, Path, str, str, str | None]:
    """The result, the dependency tree, the base image, the cache outcome (hit/miss/off) and
    the dependency set's key (see ``_dependency_key``)."""
    target = f"{runtime.name}/{architecture.value}"
    if config.ssh:
        raise UsageError(
            "--ssh is not supported with --backend buildx", hint="use the docker backend"
        )
    keyring = keyrings.index_keyring(config.keyring_provider)
    builder = _usable_builder(config.builder, architecture, target)
    base_image = runtime.base_image(architecture, config.base_image)
    context, secrets = scratch / "context", scratch / "secrets"
    workspace = ws.Workspace(context / "workspace", plan.RUN_ROOT)
    ws.prepare(
        workspace,
        runtime=runtime,
        architecture=architecture,
        config=config,
        parsed=parsed,
        copy_inputs=True,
        cache_dir=CACHE_MOUNT if config.use_cache else None,
        keyring=keyring,
        runs_on="native" if builder.runs_natively(architecture) else "emulated",
    )
    environment = complete_pip_env(container_environment(config, workspace), os.environ, keyring)
    for message in keyrings.take_warnings(keyring):
        ui.warning(target, message)
    output = scratch / "output"
    key = _dependency_key(runtime, architecture, base_image, workspace, environment)
    try:
        secret_files = _move_secrets(workspace, environment, secrets)
        job = secret_files[plan.JOB_SECRET].read_text(encoding="utf-8")
        step = _pipeline_step(runtime, architecture, config, workspace, secret_files)
        _write_context(context, workspace, architecture, step, job, environment)
        options = _options(config, builder, architecture, base_image)
        ui.step(target, f"building with buildx (builder {builder.name}, {options.platform})")
        argv = plan.buildx_argv(options, context, secret_files, output)
        outcome, reported = _run(argv, target, ui)
    finally:
        shutil.rmtree(secrets, ignore_errors=True)
    result = _result(outcome, reported, output, architecture, target)
    check_result_facts(result, runtime, architecture, base_image)  # what the step ran on
    tree = output / "target"
    tree.mkdir(parents=True, exist_ok=True)
    _normalise_modes(tree)
    return result, tree, base_image, _cache_state(config, outcome), key


def _dependency_key(
    runtime: Runtime,
    architecture: Architecture,
    base_image: str,
    workspace: ws.Workspace,
    environment: dict[str, str],
) -> str | None:
    """The docker backend's whole-build key for the same inputs, so reports agree and build-all
    groups by it. BuildKit keeps its own cache, so this is only a name; None when this
    machine's engine does not have the base image (a remote builder pulls its own)."""
    try:
        engine = connect()
        base_id = engine.image_id(base_image)
    except DockerError:
        return None
    files = definition_files(architecture)
    tag = image_tag(files, base_image, base_id, bundled_pip.identity())
    identity = build_identity(runtime, architecture, tag, environment)
    return build_key(workspace.host_dir, workspace.run_root, identity)


def _usable_builder(name: str | None, architecture: Architecture, target: str) -> BuilderInfo:
    builder = inspect_builder(name)
    if not builder.supports(architecture):
        raise DockerError(
            f"buildx builder {builder.name} cannot build {architecture.docker_platform} "
            f"(it offers {', '.join(builder.platforms()) or 'no platforms'})",
            target=target,
            hint="pick another with --builder, or enable QEMU emulation for it",
        )
    return builder


def _options(
    config: BuildConfig, builder: BuilderInfo, architecture: Architecture, base_image: str
) -> plan.BuildxOptions:
    return plan.BuildxOptions(
        platform=architecture.docker_platform,
        base_image=base_image,
        builder=config.builder,
        docker_context=builder.driver == "docker",
        cache_to=config.cache_to,
        cache_from=config.cache_from,
        no_cache=not config.use_cache,
        # As the docker backend on a local engine: indexes on 127.0.0.1 stay reachable, and an
        # engine without a bridge network still runs the step.
        network_host=_uses_host_network(config, builder),
        allow_host_network=builder.driver != "docker",
    )


def _run(argv: list[str], target: str, ui: BuildUI) -> tuple[BuildOutcome, list[PipelineResult]]:
    """The build, its step logs relayed; a failed pipeline's result taken from its event."""
    reported: list[PipelineResult] = []

    def on_line(step_name: str, line: str) -> None:
        result = _reported_result(line) if plan.is_pipeline_vertex(step_name) else None
        if result is not None:
            reported.append(result)
        else:
            relay_line(line, target, ui)

    return run_build(argv, on_line), reported


def _uses_host_network(config: BuildConfig, builder: BuilderInfo) -> bool:
    if config.docker_host_network is not None:
        return config.docker_host_network
    return builder.driver == "docker"


def _move_secrets(
    workspace: ws.Workspace, environment: dict[str, str], secrets: Path
) -> dict[str, Path]:
    """Job, environment and CA bundle out of the context, as 0600 files for ``--secret``."""
    secrets.mkdir(mode=0o700)
    files = {plan.JOB_SECRET: secrets / "job.json", plan.ENV_SECRET: secrets / "env.json"}
    os.replace(workspace.job_file, files[plan.JOB_SECRET])
    fd = os.open(files[plan.ENV_SECRET], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump({**environment, **workspace.environment()}, stream)
    ca = workspace.host_dir / CA_NAME
    if ca.is_file():
        files[plan.CA_SECRET] = secrets / CA_NAME
        os.replace(ca, files[plan.CA_SECRET])
    return files


def _pipeline_step(
    runtime: Runtime,
    architecture: Architecture,
    config: BuildConfig,
    workspace: ws.Workspace,
    secret_files: dict[str, Path],
) -> plan.PipelineStep:
    command = workspace.command(PYTHON)
    command[-2] = plan.secret_path(plan.JOB_SECRET)  # the job is read where the secret is
    return plan.PipelineStep(
        command=command,
        python=PYTHON,
        result_file=workspace.run("result.json"),
        event_prefix=EVENT_PREFIX,
        cache_id=cache_volume(runtime, architecture) if config.use_cache else None,
        cache_target=CACHE_MOUNT,
        ca_target=workspace.run(CA_NAME) if plan.CA_SECRET in secret_files else None,
    )


def _write_context(
    context: Path,
    workspace: ws.Workspace,
    architecture: Architecture,
    step: plan.PipelineStep,
    job: str,
    environment: dict[str, str],
) -> None:
    files = definition_files(architecture)
    name = f"Dockerfile.{architecture.value}"
    # The builder stage copies this installation's pip in, as the docker backend's image does.
    for relative, data in {**files, **bundled_pip.context_files()}.items():
        path = context / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    definition = plan.dockerfile(files[name].decode("utf-8"), name, step)
    (context / plan.DEFINITION).write_text(definition, encoding="utf-8")
    (workspace.host_dir / plan.LAUNCHER).write_text(plan.LAUNCHER_SOURCE, encoding="utf-8")
    # What the secrets would change in the result, without credentials: BuildKit's cache key.
    key = {
        "job": json.loads(normalized_job(job, workspace.run_root)),
        "environment": json.loads(normalized_environment(environment)),
    }
    (workspace.host_dir / plan.KEY_FILE).write_text(json.dumps(key, sort_keys=True) + "\n")


def _result(
    outcome: BuildOutcome,
    reported: list[PipelineResult],
    output: Path,
    architecture: Architecture,
    target: str,
) -> PipelineResult:
    if outcome.returncode == 0:
        try:
            data = json.loads((output / "result.json").read_text(encoding="utf-8"))
            return PipelineResult.model_validate(data)
        except (OSError, ValueError) as error:
            raise PipelineError(
                f"the buildx build exported no readable result: {error}", target=target
            ) from None
    if reported:
        return reported[-1]
    text = outcome.failure_text
    if is_exec_format_error(text):
        raise emulation_error(architecture)
    raise DockerError(
        f"docker buildx build failed:\n{text}",
        target=target,
        hint="run with --verbose for the whole build log",
    )


def _reported_result(line: str) -> PipelineResult | None:
    """The result a failed pipeline step prints as an event line (see buildx_plan)."""
    if not line.startswith(EVENT_PREFIX):
        return None
    try:
        event = json.loads(line[len(EVENT_PREFIX) :])
        if isinstance(event, dict) and event.get("event") == plan.RESULT_EVENT:
            return PipelineResult.model_validate(event.get("result"))
    except ValueError:
        pass
    return None


def _cache_state(config: BuildConfig, outcome: BuildOutcome) -> str:
    if not config.use_cache:
        return "off"
    step = outcome.reader.find(plan.is_pipeline_vertex)
    return "hit" if step is not None and step.cached else "miss"


def _normalise_modes(root: Path) -> None:
    """As the docker backend extracts: 0755 directories, 0644 or 0755 files, no special bits.

    The local exporter writes modes as they were in the build; links must stay inside.
    """
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            resolved = path.resolve()
            if not resolved.is_relative_to(root.resolve()):
                raise PipelineError(
                    f"refusing {PurePosixPath(path.relative_to(root))}: it links outside the output"
                )
            continue
        mode = path.stat().st_mode
        if path.is_dir():
            os.chmod(path, 0o755)
        elif stat.S_ISREG(mode):
            os.chmod(path, 0o755 if mode & 0o111 else 0o644)
        else:
            raise PipelineError(f"refusing {path.relative_to(root)}: not a file or directory")
