"""Connecting to a Docker engine (DOCKER_HOST or the active context) and asking it about images.

Questions go straight to a local socket (engine_socket.py); the docker SDK is imported only
when a build needs it for more: pulling, building, running containers, or a remote engine.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from builder.architectures import Architecture
from builder.docker.engine_socket import EngineRefusal, get_json, image_endpoint, socket_path
from builder.errors import DockerError

if TYPE_CHECKING:
    from docker import DockerClient

ENGINE_HINT = (
    "start Docker (Docker Desktop, colima, or `sudo systemctl start docker`), or point "
    "DOCKER_HOST / `docker context use` at a running engine"
)
DEFAULT_URL = "unix:///var/run/docker.sock"


@dataclass
class Engine:
    url: str
    desktop: bool = False  # Docker Desktop: containers live in a VM, not on this network
    machine: str = ""  # what the engine runs natively: x86_64, aarch64 (`docker info`)
    security_options: tuple[str, ...] = ()  # `docker info`: name=rootless, name=userns, ...
    sdk: DockerClient | None = field(default=None, repr=False)  # see ``client``

    @property
    def is_local(self) -> bool:
        """Whether containers share this machine's network (and 127.0.0.1 indexes)."""
        return self.url.startswith(("unix://", "npipe://"))

    @property
    def client(self) -> DockerClient:
        """The docker SDK's client, made at first use: a warm build never needs one."""
        if self.sdk is None:
            self.sdk = sdk_client(self.url)
        return self.sdk

    def inspect_image(self, reference: str) -> dict[str, Any] | None:
        """What the engine knows of an image; None when it has no such image."""
        path = socket_path(self.url)
        if path is not None:
            try:
                return dict(get_json(path, image_endpoint(reference)))
            except EngineRefusal as refusal:
                if refusal.status == 404:
                    return None
                raise DockerError(f"cannot inspect image {reference}: {refusal}") from None
            except (OSError, ValueError) as error:
                raise DockerError(f"cannot inspect image {reference}: {error}") from None
        import docker.errors

        try:
            return dict(self.client.images.get(reference).attrs)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as error:
            raise DockerError(f"cannot inspect image {reference}: {error}") from None

    def image_id(self, reference: str) -> str:
        """The id of an image the engine has (DockerError when it has none)."""
        found = self.inspect_image(reference)
        if found is None:
            raise DockerError(f"no image {reference} in the engine at {self.url}")
        return str(found.get("Id", ""))


def sdk_client(url: str) -> DockerClient:
    import docker

    try:
        if os.environ.get("DOCKER_HOST"):
            return docker.from_env()  # with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH
        return docker.DockerClient(base_url=url)
    except docker.errors.DockerException as error:
        raise DockerError(f"no Docker engine answers at {url}: {error}", hint=ENGINE_HINT) from None


def engine_url() -> str:
    """DOCKER_HOST, else the host of the context DOCKER_CONTEXT or ``docker context use`` chose."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    try:
        host = context_host(os.environ.get("DOCKER_CONTEXT") or current_context())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        host = None  # a broken context file must not hide the real question
    return host or DEFAULT_URL


def docker_config_dir() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def current_context() -> str:
    try:
        text = (docker_config_dir() / "config.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        return "default"
    return str(json.loads(text).get("currentContext") or "default")


def context_host(name: str) -> str | None:
    """A context's engine, from the docker CLI's store (its meta directory is named by the
    sha256 of the context's name)."""
    if name == "default":
        return None
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = docker_config_dir() / "contexts" / "meta" / digest / "meta.json"
    data = json.loads(meta.read_text(encoding="utf-8"))
    host = data["Endpoints"]["docker"].get("Host")
    return str(host) if host else None


def connect() -> Engine:
    url = engine_url()
    path = socket_path(url)
    sdk = None
    if path is not None:
        try:
            info = get_json(path, "/info")
        except (OSError, ValueError, EngineRefusal) as error:
            raise DockerError(
                f"no Docker engine answers at {url}: {error}", hint=ENGINE_HINT
            ) from None
    else:
        import docker.errors

        sdk = sdk_client(url)
        try:
            info = sdk.info()
        except docker.errors.DockerException as error:
            raise DockerError(
                f"no Docker engine answers at {url}: {error}", hint=ENGINE_HINT
            ) from None
    desktop = "Docker Desktop" in str(info.get("OperatingSystem", ""))
    options = tuple(str(option) for option in info.get("SecurityOptions") or ())
    return Engine(url, desktop, str(info.get("Architecture", "")), options, sdk)


def image_architecture(engine: Engine, reference: str) -> str | None:
    return _architecture_of(engine.inspect_image(reference))


def _architecture_of(inspection: dict[str, Any] | None) -> str | None:
    return None if inspection is None else str(inspection.get("Architecture", ""))


def ensure_image(engine: Engine, reference: str, architecture: Architecture) -> str:
    """Have ``reference`` locally for ``architecture``: pull it if absent, check what it is.

    Returns the image's id, from the same inspection (callers key on it).
    """
    found = engine.inspect_image(reference)
    if found is None:
        import docker.errors

        try:
            engine.client.images.pull(reference, platform=architecture.docker_platform)
        except docker.errors.DockerException as error:
            raise DockerError(
                f"cannot pull {reference} for {architecture.docker_platform}: {error}",
                hint="check the network and `docker login`; --base-image IMAGE uses a mirror "
                "or an image you already have",
            ) from None
        found = engine.inspect_image(reference)
    machine = _architecture_of(found)
    if found is None or machine != architecture.docker_arch:
        raise DockerError(
            f"image {reference} is for {machine}, not {architecture.docker_arch} "
            f"({architecture.value})",
            hint=f"pass a {architecture.value} image with --base-image, or pull it with "
            f"`docker pull --platform {architecture.docker_platform} {reference}`",
        )
    return str(found.get("Id", ""))
