"""Connecting to a Docker engine (DOCKER_HOST or the active context) and asking it about images."""

from __future__ import annotations

import os
from dataclasses import dataclass

import docker
import docker.errors
from docker.context import ContextAPI

from builder.architectures import Architecture
from builder.errors import DockerError

ENGINE_HINT = (
    "start Docker (Docker Desktop, colima, or `sudo systemctl start docker`), or point "
    "DOCKER_HOST / `docker context use` at a running engine"
)


@dataclass(frozen=True)
class Engine:
    client: docker.DockerClient
    url: str
    desktop: bool = False  # Docker Desktop: containers live in a VM, not on this network
    machine: str = ""  # what the engine runs natively: x86_64, aarch64 (`docker info`)
    security_options: tuple[str, ...] = ()  # `docker info`: name=rootless, name=userns, ...

    @property
    def is_local(self) -> bool:
        """Whether containers share this machine's network (and 127.0.0.1 indexes)."""
        return self.url.startswith(("unix://", "npipe://"))


def engine_url() -> str:
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    try:
        context = ContextAPI.get_current_context()
    except Exception:  # a broken context file must not hide the real question
        context = None
    host = getattr(context, "Host", None) if context is not None else None
    return host or "unix:///var/run/docker.sock"


def connect() -> Engine:
    url = engine_url()
    try:
        client = (
            docker.DockerClient(base_url=url)
            if not os.environ.get("DOCKER_HOST")
            else docker.from_env()
        )
        info = client.info()  # fails as a ping would, one round trip fewer
    except docker.errors.DockerException as error:
        raise DockerError(f"no Docker engine answers at {url}: {error}", hint=ENGINE_HINT) from None
    desktop = "Docker Desktop" in str(info.get("OperatingSystem", ""))
    options = tuple(str(option) for option in info.get("SecurityOptions") or ())
    return Engine(client, url, desktop, str(info.get("Architecture", "")), options)


def image_architecture(engine: Engine, reference: str) -> str | None:
    try:
        image = engine.client.images.get(reference)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as error:
        raise DockerError(f"cannot inspect image {reference}: {error}") from None
    return str(image.attrs.get("Architecture", ""))


def ensure_image(engine: Engine, reference: str, architecture: Architecture) -> None:
    """Have ``reference`` locally for ``architecture``: pull it if absent, check what it is."""
    found = image_architecture(engine, reference)
    if found is None:
        try:
            engine.client.images.pull(reference, platform=architecture.docker_platform)
        except docker.errors.DockerException as error:
            raise DockerError(
                f"cannot pull {reference} for {architecture.docker_platform}: {error}",
                hint="check the network and `docker login`; --base-image IMAGE uses a mirror "
                "or an image you already have",
            ) from None
        found = image_architecture(engine, reference)
    if found != architecture.docker_arch:
        raise DockerError(
            f"image {reference} is for {found}, not {architecture.docker_arch} "
            f"({architecture.value})",
            hint=f"pass a {architecture.value} image with --base-image, or pull it with "
            f"`docker pull --platform {architecture.docker_platform} {reference}`",
        )
