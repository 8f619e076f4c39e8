"""Lambda stand-in images for tests: tag names, and on-demand builds through the build script.

``public.ecr.aws/lambda/python:*`` cannot be pulled on the test machines, so tests run against
images built locally from Debian packages by ``scripts/build-standin-images``. They are tagged
like the real images: ``lambda-builder-standin/python:3.11`` (x86_64) and
``lambda-builder-standin/python:3.11-arm64``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-standin-images"

STANDIN_REPOSITORY = "lambda-builder-standin/python"
STANDIN_LABEL = "org.lambda-builder.standin"

# Lambda runtime name -> the Python version of its stand-in image (one per Debian suite).
STANDIN_PYTHON: dict[str, str] = {
    "python3.9": "3.9",  # Debian bullseye
    "python3.11": "3.11",  # Debian bookworm
    "python3.13": "3.13",  # Debian trixie
}

# Lambda architecture name -> Docker platform.
STANDIN_PLATFORM: dict[str, str] = {
    "x86_64": "linux/amd64",
    "arm64": "linux/arm64",
}

# Lambda architecture name -> `docker image inspect` .Architecture of the image.
_DOCKER_ARCH: dict[str, str] = {"x86_64": "amd64", "arm64": "arm64"}

# Tags ensure_standin has had the build script check in this process.
_ensured: set[str] = set()


def _python(python_version: str) -> str:
    """Return the ``3.X`` of a runtime given as ``python3.X`` or ``3.X``."""
    runtime = python_version if python_version.startswith("python") else f"python{python_version}"
    try:
        return STANDIN_PYTHON[runtime]
    except KeyError:
        known = ", ".join(STANDIN_PYTHON)
        raise ValueError(f"no stand-in image for {python_version!r} (have {known})") from None


def _check_arch(arch: str) -> None:
    if arch not in STANDIN_PLATFORM:
        known = ", ".join(STANDIN_PLATFORM)
        raise ValueError(f"unknown Lambda architecture {arch!r} (have {known})")


def standin_spec(python_version: str, arch: str) -> str:
    """Return the build script's spec, e.g. ``python3.11:arm64``."""
    _check_arch(arch)
    return f"python{_python(python_version)}:{arch}"


def standin_tag(python_version: str, arch: str) -> str:
    """Return the image tag, e.g. ``lambda-builder-standin/python:3.11-arm64``.

    ``python_version`` is ``python3.11`` or ``3.11``; ``arch`` is ``x86_64`` or ``arm64``.
    """
    _check_arch(arch)
    suffix = "-arm64" if arch == "arm64" else ""
    return f"{STANDIN_REPOSITORY}:{_python(python_version)}{suffix}"


def docker_available() -> bool:
    """Return whether a Docker CLI is installed and its engine answers."""
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return result.returncode == 0


def standin_exists(python_version: str, arch: str) -> bool:
    """Return whether the stand-in image is in the engine, built for the right architecture.

    It may still be out of date (built by an older recipe); ``ensure_standin`` takes care of that.
    """
    result = subprocess.run(
        [
            "docker",
            "image",
            "inspect",
            "--format",
            f'{{{{.Architecture}}}} {{{{index .Config.Labels "{STANDIN_LABEL}"}}}}',
            standin_tag(python_version, arch),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and result.stdout.split() == [_DOCKER_ARCH[arch], "1"]


def ensure_standin(python_version: str, arch: str, *, timeout: float = 1800) -> str:
    """Build the stand-in image unless it is already there and up to date, and return its tag.

    Runs ``scripts/build-standin-images SPEC`` once per tag and process: the script skips an
    image that exists and was built by the current recipe (in about 0.1 s), rebuilds one made by
    an older recipe, and holds a lock, so parallel test workers wait for a single build. A first
    build takes about a minute for x86_64 and several minutes for arm64 under QEMU; later ones
    reuse a cached rootfs. Raises ``RuntimeError`` when the build fails or times out.
    """
    tag = standin_tag(python_version, arch)
    if tag in _ensured:
        return tag
    spec = standin_spec(python_version, arch)
    with subprocess.Popen(
        [str(BUILD_SCRIPT), spec],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # SIGTERM first: the script then stops debootstrap and removes its temporary files.
            proc.terminate()
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
            raise RuntimeError(
                f"building stand-in image {tag} timed out after {timeout:.0f}s"
            ) from None
    if proc.returncode != 0:
        tail = "\n".join(stderr.splitlines()[-40:])
        raise RuntimeError(
            f"{BUILD_SCRIPT.name} {spec} failed with exit code {proc.returncode}:\n{tail}"
        )
    _ensured.add(tag)
    return tag
