"""``lambda-builder doctor``: what this machine can build, and the command that fixes each gap."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from builder.architectures import Architecture
from builder.docker.emulation import enable_commands, is_foreign
from builder.pip_settings import PROXY_VARIABLES, forwarded_settings
from builder.redact import redact
from builder.runtimes import get_runtime


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _engine_checks() -> tuple[list[Check], object | None]:
    from builder.docker.engine import ENGINE_HINT, connect
    from builder.errors import DockerError

    try:
        engine = connect()
    except DockerError as error:
        return [Check("engine", False, str(error), ENGINE_HINT)], None
    version = engine.client.version()
    where = "local" if engine.is_local else "remote (files move through the API, no bind mounts)"
    detail = f"Docker {version.get('Version', '?')} at {engine.url}, {where}"
    return [Check("engine", True, detail)], engine


def _buildx_check() -> Check:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode == 0
    ):
        return Check("buildx", True, "docker buildx is installed")
    return Check(
        "buildx",
        False,
        "docker buildx not found; the SDK's classic builder is used",
        "install the buildx plugin (Debian: apt-get install docker-buildx; "
        "Docker Desktop ships it)",
        required=False,
    )


def _builder_checks(selected: str | None) -> list[Check]:
    """buildx builders for --backend buildx: platforms (native or emulated), cache exporters."""
    from builder.docker.builders import cache_backends, describe_platforms
    from builder.docker.buildx import list_builders
    from builder.errors import DockerError

    try:
        builders = list_builders()
    except DockerError as error:
        return [Check("builders", False, str(error), error.hint or "", required=False)]
    checks = []
    for builder in builders:
        mark = " (--builder)" if builder.name == selected else ""
        running = builder.status == "running"
        checks.append(
            Check(
                f"builder {builder.name}{mark}",
                running,
                f"{builder.driver} driver, {builder.status}: {describe_platforms(builder)}; "
                f"cache export: {', '.join(cache_backends(builder.driver, os.environ))}",
                "" if running else f"docker buildx inspect --bootstrap {builder.name}",
                required=builder.name == selected,
            )
        )
    if selected and selected not in {builder.name for builder in builders}:
        checks.append(
            Check(
                f"builder {selected} (--builder)",
                False,
                "no such buildx builder",
                f"docker buildx create --name {selected} --driver docker-container, or "
                f"docker context create {selected} --docker host=tcp://HOST:PORT",
            )
        )
    return checks


def _emulation_check(engine: object, architecture: Architecture, image: str | None) -> Check:
    from builder.docker.probes import probe_machine

    name = f"run {architecture.value}"
    if not is_foreign(architecture):
        return Check(name, True, "native architecture")
    if image is None:
        return _binfmt_check(engine, name, architecture)
    machine = probe_machine(engine, image, architecture)
    if machine == architecture.machine:
        return Check(name, True, f"emulated (uname -m in {image}: {machine})")
    return Check(
        name,
        False,
        f"cannot run {architecture.docker_platform} containers ({machine or 'exec format error'})",
        "\n".join(enable_commands(architecture)),
    )


def _binfmt_check(engine: object, name: str, architecture: Architecture) -> Check:
    """Without an image to probe with, a local Linux engine's kernel still tells."""
    from builder.docker.probes import binfmt_enabled

    enabled = binfmt_enabled(architecture) if getattr(engine, "is_local", False) else None
    if enabled:
        return Check(name, True, f"QEMU binfmt for {architecture.value} is enabled (not probed)")
    if enabled is False or (
        enabled is None and sys.platform == "linux" and getattr(engine, "is_local", False)
    ):
        return Check(
            name,
            False,
            f"no QEMU binfmt handler for {architecture.value}",
            "\n".join(enable_commands(architecture)),
        )
    return Check(
        name,
        False,
        "no local image of this architecture to probe with",
        "build once for this architecture, or load a base image, then run doctor again",
        required=False,
    )


def _image_checks(
    engine: object, runtimes: list[str], template: str | None
) -> tuple[list[Check], dict[Architecture, str]]:
    from builder.docker.probes import image_present, pull_problem

    checks: list[Check] = []
    probes: dict[Architecture, str] = {}
    for name in runtimes:
        runtime = get_runtime(name)
        for architecture in Architecture:
            image = runtime.base_image(architecture, template)
            if image_present(engine, image, architecture):
                checks.append(Check(f"image {image}", True, "present"))
                probes.setdefault(architecture, image)
                continue
            problem = pull_problem(engine, image, architecture)
            if problem is None:
                checks.append(Check(f"image {image}", True, "pullable (pulled on first use)"))
                continue
            checks.append(
                Check(
                    f"image {image}",
                    False,
                    f"not present and cannot be pulled: {problem}",
                    "check the network and `docker login`, or pass --base-image with a mirror "
                    "or an image you have",
                    required=False,
                )
            )
    return checks, probes


def _network_checks() -> list[Check]:
    settings = forwarded_settings(os.environ)
    cert = next(
        (
            os.environ[v]
            for v in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT")
            if os.environ.get(v)
        ),
        None,
    ) or (str(settings.cert) if settings.cert else None)
    checks = [
        Check(
            "CA bundle",
            True,
            f"{cert} is passed to pip in the container"
            if cert
            else "none set: pip in the container trusts the image's own CA store",
        )
    ]
    if cert and not os.path.isfile(cert):
        checks[0] = Check(
            "CA bundle",
            False,
            f"{cert} does not exist",
            "point SSL_CERT_FILE/PIP_CERT at a PEM file, or pass --ca-bundle",
        )
    proxies = [v for v in PROXY_VARIABLES if os.environ.get(v)]
    checks.append(
        Check(
            "proxy",
            True,
            "forwarded: " + ", ".join(proxies) if proxies else "no proxy variables set",
        )
    )
    index = {k: redact(v) for k, v in settings.environment.items() if k.startswith("PIP_")}
    checks.append(
        Check(
            "pip index",
            True,
            ", ".join(f"{k}={v}" for k, v in index.items())
            or "PyPI (no index configuration found)",
        )
    )
    if settings.dropped:
        checks.append(
            Check(
                "pip config",
                True,
                "not forwarded (host paths): " + ", ".join(sorted(set(settings.dropped))),
                required=False,
            )
        )
    return checks


def collect_checks(
    runtimes: list[str], template: str | None, builder: str | None = None
) -> list[Check]:
    checks, engine = _engine_checks()
    buildx = _buildx_check()
    checks.append(buildx)
    if buildx.ok:
        checks += _builder_checks(builder)
    if engine is not None:
        image_checks, probes = _image_checks(engine, runtimes, template)
        checks += [_emulation_check(engine, arch, probes.get(arch)) for arch in Architecture]
        checks += image_checks
    return checks + _network_checks()


def run_doctor(
    runtimes: list[str] | None = None, template: str | None = None, builder: str | None = None
) -> int:
    checks = collect_checks(runtimes or ["python3.12"], template, builder)
    for check in checks:
        status = "ok  " if check.ok else ("FAIL" if check.required else "warn")
        sys.stdout.write(f"{status} {check.name}: {check.detail}\n")
        if not check.ok and check.fix:
            for line in check.fix.splitlines():
                sys.stdout.write(f"       fix: {line}\n")
    failed = [c for c in checks if not c.ok and c.required]
    sys.stdout.write(f"\n{len(failed)} problem(s) found\n" if failed else "\nall good\n")
    return 1 if failed else 0
