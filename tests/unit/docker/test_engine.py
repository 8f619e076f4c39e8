"""Finding the Docker engine and checking images, against a fake client."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import docker
import docker.errors
import pytest

from builder.architectures import Architecture
from builder.docker.engine import Engine, engine_url, ensure_image, image_architecture
from builder.errors import DockerError

IMAGE = "public.ecr.aws/lambda/python:3.12-arm64"


@dataclass
class FakeImage:
    attrs: dict[str, Any]


@dataclass
class FakeImages:
    """``client.images``: a dict of reference -> architecture; pulls come from ``registry``."""

    local: dict[str, str] = field(default_factory=dict)
    registry: dict[str, str] = field(default_factory=dict)
    pulls: list[tuple[str, str]] = field(default_factory=list)
    get_error: Exception | None = None

    def get(self, reference: str) -> FakeImage:
        if self.get_error is not None:
            raise self.get_error
        if reference not in self.local:
            raise docker.errors.ImageNotFound(f"No such image: {reference}")
        return FakeImage({"Id": f"sha256:{reference}", "Architecture": self.local[reference]})

    def pull(self, reference: str, platform: str) -> None:
        self.pulls.append((reference, platform))
        if reference not in self.registry:
            raise docker.errors.APIError("manifest unknown")
        self.local[reference] = self.registry[reference]


@dataclass
class FakeClient:
    images: FakeImages


def _engine(images: FakeImages, url: str = "tcp://docker:2375") -> Engine:
    """An engine whose questions go through the SDK client (any URL but a unix socket)."""
    return Engine(url, sdk=cast(docker.DockerClient, FakeClient(images)))


# --- where the engine is ---------------------------------------------------------------------


def _plant_context(config: Path, name: str, host: str, current: bool = True) -> None:
    """A context as `docker context create` stores it: meta/<sha256 of the name>/meta.json."""
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    endpoint = {"Host": host, "SkipTLSVerify": False}
    (meta / "meta.json").write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}})
    )
    if current:
        (config / "config.json").write_text(json.dumps({"currentContext": name}))


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "docker-config"
    config.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return config


def test_engine_url_prefers_docker_host_over_the_context(
    docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plant_context(docker_config, "colima", "unix:///home/me/.colima/docker.sock")
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
    assert engine_url() == "tcp://10.0.0.5:2376"


def test_engine_url_comes_from_the_active_context(docker_config: Path) -> None:
    _plant_context(docker_config, "colima", "unix:///home/me/.colima/docker.sock")
    assert engine_url() == "unix:///home/me/.colima/docker.sock"


def test_docker_context_variable_chooses_the_context_as_the_docker_cli_does(
    docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plant_context(docker_config, "colima", "unix:///home/me/.colima/docker.sock")
    _plant_context(docker_config, "remote", "ssh://me@build-host", current=False)
    monkeypatch.setenv("DOCKER_CONTEXT", "remote")
    assert engine_url() == "ssh://me@build-host"


@pytest.mark.parametrize(
    "config_text",
    [None, "{}", '{"currentContext": "default"}', '{"currentContext": "gone"}', "not json"],
)
def test_engine_url_falls_back_to_the_default_socket(
    docker_config: Path, config_text: str | None
) -> None:
    if config_text is not None:
        (docker_config / "config.json").write_text(config_text)
    assert engine_url() == "unix:///var/run/docker.sock"


def test_a_broken_context_store_falls_back_to_the_default_socket(docker_config: Path) -> None:
    _plant_context(docker_config, "broken", "unix:///x.sock")
    meta = next((docker_config / "contexts" / "meta").iterdir()) / "meta.json"
    meta.write_text('{"Endpoints": {}}')
    assert engine_url() == "unix:///var/run/docker.sock"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("unix:///var/run/docker.sock", True),
        ("npipe:////./pipe/docker_engine", True),
        ("tcp://docker:2376", False),
        ("ssh://me@build-host", False),
    ],
)
def test_only_socket_engines_share_this_machines_network(url: str, local: bool) -> None:
    assert _engine(FakeImages(), url).is_local is local


# --- images ----------------------------------------------------------------------------------


def test_image_architecture_is_none_when_the_image_is_absent() -> None:
    assert image_architecture(_engine(FakeImages()), IMAGE) is None
    assert image_architecture(_engine(FakeImages(local={IMAGE: "arm64"})), IMAGE) == "arm64"


def test_engine_api_error_while_inspecting_becomes_a_docker_error() -> None:
    images = FakeImages(get_error=docker.errors.APIError("500 Server Error"))
    with pytest.raises(DockerError, match=f"cannot inspect image {IMAGE}"):
        image_architecture(_engine(images), IMAGE)


def test_present_image_of_the_right_architecture_is_not_pulled() -> None:
    images = FakeImages(local={IMAGE: "arm64"})
    assert ensure_image(_engine(images), IMAGE, Architecture.ARM64) == f"sha256:{IMAGE}"
    assert images.pulls == []


def test_absent_image_is_pulled_for_the_target_platform() -> None:
    images = FakeImages(registry={IMAGE: "arm64"})
    assert ensure_image(_engine(images), IMAGE, Architecture.ARM64) == f"sha256:{IMAGE}"
    assert images.pulls == [(IMAGE, "linux/arm64")]


def test_failed_pull_says_what_to_check_and_how_to_use_a_mirror() -> None:
    images = FakeImages()
    with pytest.raises(DockerError) as caught:
        ensure_image(_engine(images), IMAGE, Architecture.ARM64)
    assert f"cannot pull {IMAGE} for linux/arm64" in caught.value.message
    assert "manifest unknown" in caught.value.message
    assert caught.value.hint and "--base-image" in caught.value.hint
    assert "docker login" in caught.value.hint


def test_image_of_another_architecture_is_refused_with_the_pull_command() -> None:
    images = FakeImages(local={IMAGE: "amd64"})
    with pytest.raises(DockerError) as caught:
        ensure_image(_engine(images), IMAGE, Architecture.ARM64)
    assert caught.value.message == f"image {IMAGE} is for amd64, not arm64 (arm64)"
    assert caught.value.hint and f"docker pull --platform linux/arm64 {IMAGE}" in caught.value.hint
    assert images.pulls == []
