"""A Lambda container image loaded into the engine from layer tars we wrote, and pushed.

The image is handed to ``docker load`` as an archive holding only the new config and our
layers: the engine already has the base image's layers (``ensure_image``), and a layer it
already has (an unchanged dependency layer) is not read again.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from builder.architectures import Architecture
from builder.docker.engine import Engine, ensure_image
from builder.docker.image_config import (
    AddedLayer,
    config_digest,
    image_config,
    serialise,
    split_tag,
)
from builder.errors import DockerError
from builder.redact import redact
from builder.ui import BuildUI


@dataclass(frozen=True)
class BaseImage:
    name: str
    attrs: dict[str, Any]  # the engine's inspect data
    history: list[dict[str, Any]]  # newest first, as the engine gives it

    @property
    def layers(self) -> list[str]:
        return list((self.attrs.get("RootFS") or {}).get("Layers") or [])


@dataclass(frozen=True)
class LoadedImage:
    tag: str
    id: str
    config: dict[str, Any]


def base_image(engine: Engine, name: str, architecture: Architecture) -> BaseImage:
    """The base image, pulled if absent and checked to be ``architecture``."""
    ensure_image(engine, name, architecture)
    try:
        image = engine.client.images.get(name)
        history = image.history()
    except docker.errors.APIError as error:
        raise DockerError(f"cannot inspect the base image {name}: {error}") from None
    return BaseImage(name, dict(image.attrs), [dict(item) for item in history])


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def write_archive(
    destination: Path, tag: str, config: bytes, base_layers: Sequence[str], layers: Sequence[Path]
) -> None:
    """A ``docker save`` archive with the config and ``layers``; base layers are only named."""
    digest = config_digest(config).split(":", 1)[1]
    added = [f"{path.stem}/layer.tar" for path in layers]
    manifest = [
        {
            "Config": f"{digest}.json",
            "RepoTags": [tag],
            "Layers": [*(f"{d.split(':', 1)[1]}/layer.tar" for d in base_layers), *added],
        }
    ]
    with tarfile.open(destination, "w", format=tarfile.GNU_FORMAT) as archive:
        _add(archive, f"{digest}.json", config)
        for name, path in zip(added, layers):
            archive.add(path, arcname=name, recursive=False)
        _add(archive, "manifest.json", json.dumps(manifest).encode())


def load_image(
    engine: Engine,
    base: BaseImage,
    *,
    tag: str,
    handler: str,
    layers: Sequence[tuple[AddedLayer, Path]],
    created: int,
    scratch: Path,
) -> LoadedImage:
    """Load the image made of ``base`` and ``layers`` under ``tag``; its id is checked."""
    config = image_config(
        base.attrs,
        base.history,
        base_name=base.name,
        layers=[layer for layer, _path in layers],
        handler=handler,
        created=created,
    )
    data = serialise(config)
    archive = scratch / "image.tar"
    write_archive(archive, tag, data, base.layers, [path for _layer, path in layers])
    try:
        with archive.open("rb") as stream:
            engine.client.images.load(stream)
        loaded = engine.client.images.get(tag)
    except docker.errors.DockerException as error:
        raise DockerError(
            f"the engine refused the image {tag}: {redact(str(error))}",
            hint="the engine must keep images itself (`docker info`: a containerd image "
            "store is not supported yet)",
        ) from None
    expected = config_digest(data)
    if loaded.id != expected:
        raise DockerError(
            f"the engine loaded {tag} as {loaded.id}, not {expected}",
            hint="the engine rewrote the image (a containerd image store?); "
            "`docker info` shows which store it uses",
        )
    return LoadedImage(tag, expected, config)


def push_image(engine: Engine, tag: str, ui: BuildUI, target: str) -> str:
    """Push ``tag`` with the credentials ``docker login`` stored; the pushed manifest's digest."""
    repository, version = split_tag(tag)
    ui.step(target, f"pushing {tag}")
    digest = ""
    try:
        for line in engine.client.api.push(repository, tag=version, stream=True, decode=True):
            if line.get("error") or line.get("errorDetail"):
                message = line.get("errorDetail", {}).get("message") or line.get("error")
                raise DockerError(
                    f"pushing {tag} failed: {redact(str(message))}",
                    hint="check the registry's address, log in with `docker login REGISTRY` "
                    "(ECR: `aws ecr get-login-password | docker login --username AWS "
                    "--password-stdin REGISTRY`) and check the repository exists",
                )
            if isinstance(line.get("aux"), dict) and line["aux"].get("Digest"):
                digest = str(line["aux"]["Digest"])
            if line.get("status"):
                ui.log(target, redact(f"{line.get('id', '')} {line['status']}".strip()))
    except docker.errors.DockerException as error:
        raise DockerError(f"pushing {tag} failed: {redact(str(error))}") from None
    if not digest:
        raise DockerError(f"pushing {tag} ended without a manifest digest from the registry")
    return digest
