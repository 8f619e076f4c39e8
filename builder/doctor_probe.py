"""The Docker calls ``doctor`` makes: is an image here, and what machine does it run as."""

from __future__ import annotations

from typing import Any

import docker.errors

from builder.architectures import Architecture


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
