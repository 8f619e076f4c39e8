"""The Docker calls ``doctor`` makes: is an image here, and what machine does it run as."""

from __future__ import annotations

from typing import Any

import docker.errors

from builder.architectures import Architecture


def pull_problem(engine: Any, image: str, architecture: Architecture) -> str | None:
    """Why ``image`` could not be pulled for ``architecture``, or None when it can be.

    Asks the registry for the image's manifest (no layers are downloaded).
    """
    try:
        data = engine.client.images.get_registry_data(image)
    except docker.errors.DockerException as error:
        # The engine's own explanation ("lookup public.ecr.aws: no such host") is the useful part.
        explanation = getattr(error, "explanation", None) or str(error)
        return str(explanation).splitlines()[0][:300]
    if not data.has_platform(architecture.docker_platform):
        return f"the registry has no {architecture.docker_platform} image for it"
    return None


def binfmt_enabled(architecture: Architecture) -> bool | None:
    """Whether this Linux kernel runs the architecture's binaries through QEMU (None: unknown)."""
    name = "qemu-aarch64" if architecture is Architecture.ARM64 else "qemu-x86_64"
    try:
        with open(f"/proc/sys/fs/binfmt_misc/{name}", encoding="utf-8") as stream:
            return stream.readline().strip() == "enabled"
    except OSError:
        return None


def image_present(engine: Any, image: str, architecture: Architecture) -> bool:
    try:
        found = engine.client.images.get(image)
    except docker.errors.DockerException:
        return False
    return bool(found.attrs.get("Architecture") == architecture.docker_arch)


def probe_machine(engine: Any, image: str, architecture: Architecture) -> str | None:
    """``uname -m`` in a throwaway container, or None when it cannot start at all."""
    try:
        output = engine.client.containers.run(
            image,
            entrypoint=["uname"],
            command=["-m"],
            platform=architecture.docker_platform,
            remove=True,
            stdout=True,
            stderr=True,
        )
    except docker.errors.DockerException:
        return None
    return bytes(output).decode("utf-8", "replace").strip() or None
