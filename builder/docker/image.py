"""The builder image: a Lambda base image plus a toolchain, tagged by what defines it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

from builder.architectures import Architecture
from builder.docker import bundled_pip
from builder.docker.engine import Engine, ensure_image, image_architecture
from builder.errors import DockerError
from builder.ui import BuildUI

IMAGE_REPOSITORY = "lambda-builder/builder"


def definition_dir() -> Path:
    """Where ``Dockerfile.<arch>`` and ``images/`` are: the checkout, or the installed data."""
    candidates = [
        Path(__file__).resolve().parents[2],
        Path(sysconfig.get_path("data")) / "share" / "lambda-builder",
    ]
    for candidate in candidates:
        if (candidate / "Dockerfile.x86_64").is_file() and (candidate / "images").is_dir():
            return candidate
    raise DockerError(
        "the builder Dockerfiles are missing from this installation",
        hint="reinstall lambda-builder",
    )


STANDALONE_STAGE = b"FROM builder AS standalone"


def builder_stage(dockerfile: bytes) -> bytes:
    """The Dockerfile up to its ``standalone`` stage: what a build container needs.

    Cutting the rest keeps the build context small, keeps the tag stable when only the
    standalone stage changes, and lets the classic builder (no BuildKit) read the file.
    """
    head, _sep, _tail = dockerfile.partition(STANDALONE_STAGE)
    return head


def definition_files(architecture: Architecture) -> dict[str, bytes]:
    root = definition_dir()
    dockerfile = root / f"Dockerfile.{architecture.value}"
    files = {dockerfile.name: builder_stage(dockerfile.read_bytes())}
    for path in sorted((root / "images").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def image_tag(
    files: dict[str, bytes], base_image: str, base_id: str, pip_identity: str = ""
) -> str:
    """The same definition on the same base image always gets the same tag, so it is reused."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    digest.update(base_image.encode() + b"\0" + base_id.encode())
    if pip_identity:
        digest.update(b"\0" + pip_identity.encode())
    return f"{IMAGE_REPOSITORY}:{digest.hexdigest()[:16]}"


def _has_buildx() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode == 0


def _build(
    context: Path,
    dockerfile: str,
    tag: str,
    base_image: str,
    architecture: Architecture,
    engine: Engine,
    ui: BuildUI,
    target: str,
) -> None:
    if _has_buildx():
        command = [
            "docker",
            "buildx",
            "build",
            "--platform",
            architecture.docker_platform,
            "--load",
            "--target",
            "builder",
            "--progress",
            "plain",
            "-t",
            tag,
            "-f",
            str(context / dockerfile),  # buildx reads -f from the working directory
            "--build-arg",
            f"BASE_IMAGE={base_image}",
            str(context),
        ]
        env = {"DOCKER_HOST": engine.url}
        process = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env})
        for line in (process.stdout + process.stderr).splitlines():
            ui.log(target, line)
        if process.returncode != 0:
            raise _build_error(process.stderr, architecture)
        return
    import docker.errors

    try:
        engine.client.images.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=tag,
            platform=architecture.docker_platform,
            rm=True,
            target="builder",
            buildargs={"BASE_IMAGE": base_image},
        )
    except docker.errors.BuildError as error:
        log = "".join(str(item.get("stream", item.get("error", ""))) for item in error.build_log)
        raise _build_error(log, architecture) from None


def _build_error(log: str, architecture: Architecture) -> DockerError:
    from builder.docker.emulation import emulation_error, is_exec_format_error

    if is_exec_format_error(log):
        return emulation_error(architecture)
    tail = "\n".join(log.strip().splitlines()[-15:])
    return DockerError(
        f"building the builder image failed:\n{tail}",
        hint="run with --verbose for the whole build log",
    )


def builder_image_tag(engine: Engine, base_image: str, architecture: Architecture) -> str:
    """The builder image's tag, known without building it (the base image is pulled if absent)."""
    base_id = ensure_image(engine, base_image, architecture)
    return image_tag(definition_files(architecture), base_image, base_id, bundled_pip.identity())


def ensure_builder_image(
    engine: Engine, base_image: str, architecture: Architecture, ui: BuildUI, target: str
) -> str:
    tag = builder_image_tag(engine, base_image, architecture)
    if image_architecture(engine, tag) == architecture.docker_arch:
        return tag
    files = {**definition_files(architecture), **bundled_pip.context_files()}
    ui.step(target, f"building the builder image from {base_image} (once)")
    with tempfile.TemporaryDirectory(prefix="lambda-builder-image-") as context:
        for name, data in files.items():
            path = Path(context) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        _build(
            Path(context),
            f"Dockerfile.{architecture.value}",
            tag,
            base_image,
            architecture,
            engine,
            ui,
            target,
        )
    if image_architecture(engine, tag) != architecture.docker_arch:
        raise DockerError(
            f"the builder image {tag} was not built for {architecture.value}",
            hint="check `docker buildx ls` for a builder that supports "
            f"{architecture.docker_platform}",
        )
    return tag
