"""Build containers created and started on the engine's socket while the SDK is imported:
through a real engine they are the containers the SDK makes, and a failed start leaves none."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest

from builder.architectures import Architecture
from builder.docker.container import LABEL, BuildContainer
from builder.docker.early_start import EarlyStart, build_spec, discard_pending
from builder.docker.engine import connect
from builder.docker.engine_socket import EngineRefusal, socket_path
from builder.errors import DockerError
from builder.ui import NullUI
from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker
TARGET = "early-start-test"


def containers() -> list[Any]:
    return docker.from_env().containers.list(all=True, filters={"label": f"{LABEL}={TARGET}"})


@pytest.fixture
def volume() -> Iterator[str]:
    made = docker.from_env().volumes.create(labels={"org.lambda-builder.test": TARGET})
    yield str(made.name)
    for container in containers():
        container.remove(force=True)
    made.remove(force=True)


def settings(volume: str, first_process: list[str] | None = None) -> dict[str, Any]:
    return {
        "environment": {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "EMPTY": ""},
        "network_mode": "host",
        "volumes": {volume: {"bind": "/lambda-builder-cache", "mode": "rw"}},
        "target": TARGET,
        "first_process": first_process,
    }


def engine_socket() -> str:
    path = socket_path(connect().url)
    assert path is not None, "these tests need the local engine's socket"
    return path


def shape(container: Any) -> dict[str, Any]:
    """What a build container is made of, as the engine reports it."""
    attrs = container.attrs
    config, host = attrs["Config"], attrs["HostConfig"]
    return {
        "image": config["Image"],
        "entrypoint": config["Entrypoint"],
        "cmd": config["Cmd"],
        "env": sorted(e for e in config["Env"] if e.split("=")[0] in ("PIP_INDEX_URL", "EMPTY")),
        "labels": config["Labels"].get(LABEL),
        "working_dir": config["WorkingDir"],
        "binds": host["Binds"],
        "network": host["NetworkMode"],
        "platform": attrs.get("Platform"),
        "status": attrs["State"]["Status"],
    }


def test_an_early_container_is_the_one_the_sdk_makes(volume: str) -> None:
    image = ensure_standin("python3.11", "x86_64")
    engine = connect()
    spec = build_spec(image, Architecture.X86_64.docker_platform, **settings(volume))
    early = EarlyStart(engine_socket(), spec)
    with (
        BuildContainer(
            engine, image, Architecture.X86_64, ui=NullUI(), early=early, **settings(volume)
        ) as adopted,
        BuildContainer(engine, image, Architecture.X86_64, ui=NullUI(), **settings(volume)) as made,
    ):
        adopted.container.reload()
        made.container.reload()
        assert shape(adopted.container) == shape(made.container)
        assert shape(adopted.container)["status"] == "running"
        code, lines = adopted.run(["sh", "-c", "echo $PIP_INDEX_URL; ls -d /lambda-builder-cache"])
    assert (code, lines) == (0, ["http://127.0.0.1:9/simple", "/lambda-builder-cache"])
    assert containers() == []


def test_a_first_process_that_cannot_start_leaves_no_container(volume: str) -> None:
    image = ensure_standin("python3.11", "x86_64")
    missing = ["/nonexistent/python3", "-c", "pass"]
    spec = build_spec(image, Architecture.X86_64.docker_platform, **settings(volume, missing))
    with pytest.raises(EngineRefusal, match="nonexistent"):
        EarlyStart(engine_socket(), spec).wait()
    assert containers() == []

    box = BuildContainer(
        connect(),
        image,
        Architecture.X86_64,
        ui=NullUI(),
        early=EarlyStart(engine_socket(), spec),
        **settings(volume, missing),
    )
    with (
        pytest.raises(DockerError, match=f"cannot start a container from {image}: .*nonexistent"),
        box,
    ):
        pass
    assert containers() == []


def test_an_early_container_never_adopted_is_removed_on_ctrl_c(volume: str) -> None:
    image = ensure_standin("python3.11", "x86_64")
    spec = build_spec(image, Architecture.X86_64.docker_platform, **settings(volume))
    early = EarlyStart(engine_socket(), spec)
    early.wait()
    assert len(containers()) == 1
    discard_pending()  # what the CLI's Ctrl-C handler does (remove_active_containers)
    assert containers() == []
