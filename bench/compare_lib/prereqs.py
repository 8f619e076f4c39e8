"""What the comparison needs before it starts, each gap with the command that closes it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

STANDIN_REPOSITORY = "lambda-builder-standin/python"
BASE_IMAGE_TEMPLATE = STANDIN_REPOSITORY + ":{version}{suffix}"
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}
PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}
BRIDGE_FIX = (
    "ip link add name docker0 type bridge && ip addr add 172.17.0.1/16 dev docker0 && "
    "ip link set docker0 up"
)


def standin_image(arch: str, version: str = "3.11") -> str:
    return f"{STANDIN_REPOSITORY}:{version}{'-arm64' if arch == 'arm64' else ''}"


def _run(command: Sequence[str], timeout: float = 120) -> tuple[int, str, str]:
    """Exit code, stdout, and stdout plus stderr (for messages)."""
    try:
        result = subprocess.run(
            list(command), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return 1, "", str(error)
    return result.returncode, result.stdout.strip(), (result.stdout + result.stderr).strip()


def _last_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _docker_problems() -> list[str]:
    if shutil.which("docker") is None:
        return ["no `docker` client on PATH: install Docker (`make docker` on Debian)"]
    code, _, output = _run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=30)
    if code != 0:
        return [f"no Docker engine answers ({_last_line(output)}): start it (`make docker`)"]
    if _run(["docker", "buildx", "version"], timeout=30)[0] != 0:
        return ["docker buildx is missing: install the buildx plugin (`make docker` on Debian)"]
    return []


def _image_problems(archs: Sequence[str]) -> list[str]:
    missing = [
        standin_image(arch)
        for arch in archs
        if _run(["docker", "image", "inspect", standin_image(arch)], timeout=30)[0] != 0
    ]
    if not missing:
        return []
    specs = " ".join(f"python3.11:{arch}" for arch in archs)
    return [
        f"stand-in image(s) missing: {', '.join(missing)}: run "
        f"`scripts/build-standin-images {specs}`"
    ]


def _emulation_problems(archs: Sequence[str]) -> list[str]:
    problems = []
    for arch in archs:
        command = ["docker", "run", "--rm", "--network", "none", "--platform", PLATFORMS[arch]]
        code, machine, output = _run([*command, "--entrypoint", "uname", standin_image(arch), "-m"])
        if code != 0 or machine != MACHINES[arch]:
            problems.append(
                f"{standin_image(arch)} does not run as {MACHINES[arch]} ({_last_line(output)})"
                + (
                    ": enable QEMU (`update-binfmts --enable qemu-aarch64`)"
                    if arch == "arm64"
                    else ""
                )
            )
    return problems


def _bridge_problems(arch: str) -> list[str]:
    """SAM always puts its build container on the default bridge network: it must work."""
    code, _, output = _run(["docker", "run", "--rm", "--entrypoint", "true", standin_image(arch)])
    if code == 0:
        return []
    hint = f": recreate the bridge (`{BRIDGE_FIX}`)" if "docker0" in output else ""
    return [f"containers cannot start on Docker's default bridge ({_last_line(output)}){hint}"]


def problems(
    archs: Sequence[str], tools: Sequence[str], ca_bundle: Path, ours: Path | None, uv: Path | None
) -> list[str]:
    """Every missing prerequisite, in the order they should be fixed; empty when ready."""
    found = []
    if not ca_bundle.is_file():
        found.append(f"CA bundle {ca_bundle} not found: pass --ca-bundle FILE")
    if "ours" in tools and ours is None:
        found.append("lambda-builder not installed: run `make install`")
    if "uv" in tools and uv is None:
        found.append("uv not found: run `make install` (lambda-builder depends on it)")
    needs_docker = "ours" in tools or "sam" in tools
    if not needs_docker:
        return found
    docker = _docker_problems()
    if docker:
        return found + docker
    images = _image_problems(archs)
    if images:
        return found + images
    found += _emulation_problems(archs)
    if "sam" in tools and not found:
        found += _bridge_problems(archs[0])
    return found
