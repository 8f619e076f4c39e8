"""Running the pipeline inside the builder image for a runtime and architecture."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from builder.architectures import Architecture
from builder.config import BuildConfig
from builder.credentials import complete_pip_env, ssh_forwarding
from builder.docker.early_start import (
    EarlyStart,
    build_spec,
    create_volume,
    remove_volume,
    work_volume_name,
)
from builder.docker.engine import Engine, connect
from builder.docker.engine_socket import EngineRefusal, socket_path
from builder.docker.image import builder_image_tag, ensure_builder_image
from builder.docker.image_facts import check_image_facts
from builder.docker.output_mount import collect_output, container_target, plan_output_mount
from builder.docker.runtime_python import PYTHON
from builder.docker.target_facts import (
    allows_cross,
    cross_platforms,
    native_architecture,
    target_probe,
)
from builder.errors import DockerError
from builder.host import keyrings
from builder.host import workspace as ws
from builder.host.build_cache import (
    build_identity,
    build_key,
    default_cache_dir,
    open_store,
    run_cached,
)
from builder.incontainer.pip_server import SOCKET_VARIABLE
from builder.job import PipelineResult
from builder.pip_settings import forwarded_settings
from builder.requirements_file import ParsedRequirements
from builder.runtimes import Runtime
from builder.ui import BuildUI

if TYPE_CHECKING:
    from builder.docker.container import BuildContainer

RUN_ROOT = PurePosixPath("/lambda-builder")
CACHE_MOUNT = "/lambda-builder-cache"
CA_NAME = "ca-bundle.pem"


def cache_volume(runtime: Runtime, architecture: Architecture) -> str:
    """The named volume caching one target's downloads and built wheels (prefix overridable)."""
    prefix = os.environ.get("LAMBDA_BUILDER_CACHE_VOLUME") or "lambda-builder-cache"
    return f"{prefix}-{runtime.name}-{architecture.value}"


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
) -> tuple[PipelineResult, Path, str, str, str | None]:
    target = f"{runtime.name}/{architecture.value}"
    keyring = keyrings.index_keyring(config.keyring_provider)  # a missing one fails first
    engine = connect()
    ssh = ssh_forwarding(os.environ, engine_is_local=engine.is_local) if config.ssh else None
    base_image = runtime.base_image(architecture, config.base_image)
    store_root = config.cache_dir or default_cache_dir()
    # Even with --no-cache: an image's markers are a fact of that image id, not a cached build.
    plan = plan_images(engine, runtime, architecture, config, store_root, ui)
    workspace = ws.Workspace(scratch / "workspace", str(RUN_ROOT))
    use_cache = config.use_cache
    network_mode, loopback_alias = network_plan(config, engine)
    output = scratch / "output"
    mount = plan_output_mount(engine, output)
    installs_to = container_target(mount, workspace.run("target"))
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
        cross_markers=plan.markers,
        cross_platforms=plan.platforms,
        runs_on=plan.runs_on,
        target_dir=installs_to,
        output_owner=mount.owner if mount is not None else None,
    )
    environment = container_environment(config, workspace)
    volumes = (
        {cache_volume(runtime, architecture): {"bind": CACHE_MOUNT, "mode": "rw"}}
        if use_cache
        else {}
    )
    if mount is not None:
        volumes.update(mount.volumes)
    # pip configuration forwarded from this host gets the same credentials (host, netrc, keyring).
    environment = ws.rewrite_loopback(
        complete_pip_env(environment, os.environ, keyring), loopback_alias
    )
    for message in keyrings.take_warnings(keyring):
        ui.warning(target, message)
    identity = build_identity(runtime, architecture, plan.identity, environment)  # before ssh
    if ssh is not None:  # --ssh: the agent's socket is mounted, never a key
        volumes.update(ssh.volumes)
        environment.update(ssh.environment)
        for message in ssh.warnings:
            ui.warning(target, message)
    store = open_store(config)

    def container_settings(
        machine: Architecture, extra: dict[str, dict[str, str]]
    ) -> dict[str, Any]:
        """What BuildContainer and an early start both make the container from."""
        # A split build's emulated side only compiles: pip there, if at all, on demand.
        compiles_only = plan.native is not None and machine is not plan.native
        return {
            "environment": {**environment, SOCKET_VARIABLE: ws.PIP_SERVER_SOCKET},
            "network_mode": network_mode,
            "volumes": {**volumes, **extra},
            "target": target,
            "first_process": ws.pip_server_process(PYTHON, lazy=compiles_only),
        }

    def start_early(path: str) -> tuple[EarlyStart, str | None]:
        """The first container, made while the SDK is imported; for a split build with its
        work volume (OSError, EngineRefusal: made as before, through the SDK)."""
        image, machine, volume, extra = plan.image, architecture, None, {}
        if plan.native is not None:
            machine, volume = plan.native, work_volume_name()
            create_volume(path, volume, target)
            extra = workspace.work_mount(volume)
        ui.step(target, f"starting a build container ({machine.value})")
        spec = build_spec(image, machine.docker_platform, **container_settings(machine, extra))
        return EarlyStart(path, spec), volume

    @contextmanager
    def start(
        image: str,
        machine: Architecture,
        extra: dict[str, dict[str, str]],
        early: EarlyStart | None = None,
    ) -> Iterator[BuildContainer]:
        from builder.docker.container import BuildContainer  # the SDK: not on a cache hit

        if early is None:
            ui.step(target, f"starting a build container ({machine.value})")
        with BuildContainer(
            engine,
            image,
            machine,
            ui=ui,
            runtime=runtime,
            remove_in_background=True,
            early=early,
            **container_settings(machine, extra),
        ) as box:
            # No probe: each pipeline run checks its machine and Python first (image_facts).
            box.copy_in(workspace.host_dir, RUN_ROOT)
            yield box

    def target_image() -> str:
        return ensure_builder_image(engine, base_image, architecture, ui, target)

    def collect(box: BuildContainer) -> None:
        collect_output(box, mount, installs_to, output, ui, target)

    def run() -> tuple[PipelineResult, Path]:
        path = socket_path(engine.url)
        early, volume = None, None
        if path is not None:
            with contextlib.suppress(EngineRefusal, OSError):
                early, volume = start_early(path)
        try:
            from builder.docker.cross import run_phase, run_split
        except BaseException:
            if early is not None:
                early.discard()
            if path is not None and volume is not None:
                remove_volume(path, volume)
            raise

        if plan.native is not None:
            native = (plan.image, plan.native)
            foreign = (target_image, architecture)
            result = run_split(
                engine, start, native, foreign, workspace, collect, target, ui, volume, early
            )
        else:
            with start(plan.image, architecture, {}, early) as box:
                result = run_phase(box, workspace, "all", target, ui)
                if result.status == "ok":
                    collect(box)
        output.mkdir(exist_ok=True)
        return result, output

    cached = run_cached(
        store, lambda: build_key(workspace.host_dir, workspace.run_root, identity), run, target, ui
    )
    return cached.result, cached.tree, base_image, cached.state, cached.key


@dataclass(frozen=True)
class ImagePlan:
    """Which builder image runs the pipeline; for a split build also the native machine."""

    image: str
    identity: str  # what of the images defines the result, for the build cache
    runs_on: Literal["native", "emulated"]
    native: Architecture | None = None  # set: resolve natively, emulate only compilation
    markers: dict[str, str] | None = None
    platforms: list[str] = field(default_factory=list)


def plan_images(
    engine: Engine,
    runtime: Runtime,
    architecture: Architecture,
    config: BuildConfig,
    probe_cache: Path | None,
    ui: BuildUI,
) -> ImagePlan:
    target = f"{runtime.name}/{architecture.value}"
    base_image = runtime.base_image(architecture, config.base_image)
    native = native_architecture(engine)
    foreign = native is not None and native is not architecture
    if native is not None and foreign and allows_cross(config):
        try:
            native_base = runtime.base_image(native, config.base_image)
            native_image = ensure_builder_image(engine, native_base, native, ui, target)
        except DockerError as error:
            reason = error.message.splitlines()[0]
            ui.warning(
                target,
                f"no native {native.value} image of {runtime.name} ({reason}); "
                "emulating the whole build",
            )
        else:
            target_tag = builder_image_tag(engine, base_image, architecture)
            probed = target_probe(
                engine, base_image, architecture, probe_cache, ui, target, target_tag
            )
            markers = probed["markers"]
            assert isinstance(markers, dict)
            machine, version = markers.get("platform_machine"), markers.get("python_version")
            check_image_facts(str(machine), str(version), runtime, architecture, base_image)
            return ImagePlan(
                image=native_image,
                identity=f"{native_image} for {target_tag}",
                runs_on="native",
                native=native,
                markers={str(k): str(v) for k, v in markers.items()},
                platforms=cross_platforms(runtime, architecture, str(probed["glibc"])),
            )
    image = ensure_builder_image(engine, base_image, architecture, ui, target)
    return ImagePlan(image, image, "emulated" if foreign else "native")
