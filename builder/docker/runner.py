"""Running the pipeline inside the builder image for a runtime and architecture."""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from builder.architectures import Architecture
from builder.config import BuildConfig
from builder.credentials import complete_pip_env, ssh_forwarding
from builder.docker.container import BuildContainer
from builder.docker.emulation import emulation_error, is_exec_format_error
from builder.docker.engine import Engine, connect
from builder.docker.image import ensure_builder_image
from builder.errors import DockerError
from builder.events import relay_line
from builder.host import keyrings
from builder.host import workspace as ws
from builder.host.build_cache import (
    BuildStore,
    build_key,
    default_cache_dir,
    normalized_environment,
    run_cached,
)
from builder.job import PipelineResult
from builder.pip_settings import forwarded_settings
from builder.requirements_file import ParsedRequirements
from builder.runtimes import Runtime
from builder.ui import BuildUI
from builder.version import __version__

RUN_ROOT = PurePosixPath("/lambda-builder")
CACHE_MOUNT = "/lambda-builder-cache"
PYTHON = "/var/lang/bin/python3"
CA_NAME = "ca-bundle.pem"


def cache_volume(runtime: Runtime, architecture: Architecture) -> str:
    """The named volume caching one target's downloads and built wheels (prefix overridable)."""
    prefix = os.environ.get("LAMBDA_BUILDER_CACHE_VOLUME") or "lambda-builder-cache"
    return f"{prefix}-{runtime.name}-{architecture.value}"


def probe(box: BuildContainer, runtime: Runtime, architecture: Architecture) -> None:
    """Check, not assume, that the container is the architecture and Python asked for."""
    script = f"uname -m; {PYTHON} -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'"
    code, lines = box.run(["sh", "-c", script])
    output = "\n".join(lines)
    if code != 0 and is_exec_format_error(output):
        raise emulation_error(architecture)
    if code != 0 or len(lines) < 2:
        raise DockerError(
            f"probing the build container failed:\n{output}",
            target=box.target,
            hint="the image needs sh, uname and /var/lang/bin/python3",
        )
    machine, version = lines[0].strip(), lines[-1].strip()
    if machine != architecture.machine:
        raise DockerError(
            f"the container runs on {machine}, not {architecture.machine}",
            target=box.target,
            hint="check --base-image and emulation settings",
        )
    if version != runtime.version:
        raise DockerError(
            f"image {box.image} has Python {version}, but {runtime.name} needs {runtime.version}",
            target=box.target,
            hint=f"pass --base-image with a Python {runtime.version} image, or pick "
            f"--runtime python{version}",
        )


def container_environment(config: BuildConfig, workspace: ws.Workspace) -> dict[str, str]:
    settings = forwarded_settings(os.environ)
    environment = dict(settings.environment)
    ca_bundle = config.ca_bundle or (
        settings.cert if settings.cert and settings.cert.is_file() else None
    )
    if ca_bundle is not None:
        shutil.copyfile(ca_bundle, workspace.host_dir / CA_NAME)
        path = workspace.run(CA_NAME)
        environment.update(PIP_CERT=path, SSL_CERT_FILE=path, REQUESTS_CA_BUNDLE=path)
    return environment


LOOPBACK_ALIAS = "host.docker.internal"


def network_plan(config: BuildConfig, engine: Engine) -> tuple[str | None, str | None]:
    """The container's network mode, and the name that replaces 127.0.0.1 in index URLs.

    A local Linux engine shares the host network, so 127.0.0.1 indexes just work. Docker
    Desktop runs containers in a VM: there the host is host.docker.internal.
    """
    if config.docker_host_network is not None:
        return ("host" if config.docker_host_network else None), None
    if engine.desktop:
        return None, LOOPBACK_ALIAS
    return ("host" if engine.is_local else None), None


def run_in_container(
    runtime: Runtime,
    architecture: Architecture,
    config: BuildConfig,
    parsed: ParsedRequirements | None,
    scratch: Path,
    ui: BuildUI,
) -> tuple[PipelineResult, Path, str, str]:
    target = f"{runtime.name}/{architecture.value}"
    keyring = keyrings.index_keyring(config.keyring_provider)  # a missing one fails first
    engine = connect()
    ssh = ssh_forwarding(os.environ, engine_is_local=engine.is_local) if config.ssh else None
    base_image = runtime.base_image(architecture, config.base_image)
    image = ensure_builder_image(engine, base_image, architecture, ui, target)
    workspace = ws.Workspace(scratch / "workspace", str(RUN_ROOT))
    use_cache = config.use_cache
    network_mode, loopback_alias = network_plan(config, engine)
    ws.prepare(
        workspace,
        runtime=runtime,
        architecture=architecture,
        config=config,
        parsed=parsed,
        copy_inputs=True,
        cache_dir=CACHE_MOUNT if use_cache else None,
        loopback_alias=loopback_alias,
        keyring=keyring,
    )
    environment = container_environment(config, workspace)
    volumes = (
        {cache_volume(runtime, architecture): {"bind": CACHE_MOUNT, "mode": "rw"}}
        if use_cache
        else {}
    )
    # pip configuration forwarded from this host gets the same credentials (host, netrc, keyring).
    environment = ws.rewrite_loopback(
        complete_pip_env(environment, os.environ, keyring), loopback_alias
    )
    for message in keyrings.take_warnings(keyring):
        ui.warning(target, message)
    key_environment = normalized_environment(environment)  # before the agent's socket path
    if ssh is not None:  # --ssh: the agent's socket is mounted, never a key
        volumes.update(ssh.volumes)
        environment.update(ssh.environment)
        for message in ssh.warnings:
            ui.warning(target, message)
    store = BuildStore(config.cache_dir or default_cache_dir()) if use_cache else None
    identity = {
        "tool": __version__,
        "runtime": runtime.name,
        "architecture": architecture.value,
        "glibc": runtime.glibc_text,
        "image": image,
        "environment": key_environment,
    }

    def run() -> tuple[PipelineResult, Path]:
        return _run_job(
            engine,
            image,
            runtime,
            architecture,
            workspace,
            environment,
            network_mode,
            volumes,
            scratch,
            ui,
        )

    cached = run_cached(
        store, lambda: build_key(workspace.host_dir, workspace.run_root, identity), run, target, ui
    )
    return cached.result, cached.tree, base_image, cached.state


def _run_job(
    engine: Engine,
    image: str,
    runtime: Runtime,
    architecture: Architecture,
    workspace: ws.Workspace,
    environment: dict[str, str],
    network_mode: str | None,
    volumes: dict[str, dict[str, str]],
    scratch: Path,
    ui: BuildUI,
) -> tuple[PipelineResult, Path]:
    target = f"{runtime.name}/{architecture.value}"
    output = scratch / "output"
    ui.step(target, "starting a build container")
    with BuildContainer(
        engine,
        image,
        architecture,
        environment=environment,
        network_mode=network_mode,
        volumes=volumes,
        target=target,
        ui=ui,
    ) as box:
        probe(box, runtime, architecture)
        box.copy_in(workspace.host_dir, RUN_ROOT)
        box.run(
            workspace.command(PYTHON),
            workspace.environment(),
            on_line=lambda line: relay_line(line, target, ui),
        )
        box.copy_out(RUN_ROOT / "result.json", workspace.host_dir)
        result = ws.read_result(workspace, target)
        if result.status == "ok":
            ui.step(target, "copying the dependencies out of the container")
            box.copy_out(RUN_ROOT / "target", output)
    output.mkdir(exist_ok=True)
    return result, output
