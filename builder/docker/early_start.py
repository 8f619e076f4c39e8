"""A build container created and started on a local engine socket while the SDK is imported.

Importing the docker SDK (requests, urllib3, docker's models) takes 60-110 ms, and the engine
takes about as long to create and start a container, whose first process (the pip server)
then needs ~0.2 s to import pip: the longest wait of a cold wheel-only build. On a local
socket they overlap: a thread asks the engine while the caller imports the SDK, and
BuildContainer adopts the running container. Remote engines use the SDK alone.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from builder.docker.emulation import is_exec_format_error
from builder.docker.engine_socket import EngineRefusal, call

ENGINE_TIMEOUT = 120.0  # seconds for one create or start (an emulated start is slow)

LABEL = "org.lambda-builder.build"
WORK_LABEL = "org.lambda-builder.work"  # a split build's shared work volume
WORKING_DIR = "/lambda-builder"

_PENDING: set[EarlyStart] = set()
_PENDING_LOCK = threading.Lock()


@dataclass(frozen=True)
class ContainerSpec:
    """What a build container is made of, in the SDK's terms and in the engine's."""

    image: str
    first_process: list[str]
    platform: str | None
    environment: dict[str, str]
    network_mode: str | None
    volumes: dict[str, dict[str, str]]  # name or host path -> {"bind": path, "mode": "rw"}
    labels: dict[str, str]
    working_dir: str

    def sdk_arguments(self) -> dict[str, Any]:
        """For ``client.containers.create``."""
        return {
            "image": self.image,
            "entrypoint": self.first_process[:1],
            "command": self.first_process[1:],
            "platform": self.platform,
            "environment": self.environment,
            "network_mode": self.network_mode,
            "volumes": self.volumes,
            "labels": self.labels,
            "detach": True,
            "working_dir": self.working_dir,
        }

    def create_request(self) -> tuple[str, dict[str, Any]]:
        """``POST /containers/create``'s endpoint and body: what the SDK sends for
        ``sdk_arguments`` (a unit test compares the two)."""
        query = urlencode({"platform": self.platform}) if self.platform else ""
        host_config: dict[str, Any] = {"NetworkMode": self.network_mode or "default"}
        if self.volumes:
            host_config["Binds"] = [
                f"{source}:{mount['bind']}:{mount.get('mode', 'rw')}"
                for source, mount in self.volumes.items()
            ]
        body: dict[str, Any] = {
            "Image": self.image,
            "Entrypoint": self.first_process[:1],
            "Cmd": self.first_process[1:],
            "Env": [f"{name}={value}" for name, value in self.environment.items()],
            "Labels": self.labels,
            "WorkingDir": self.working_dir,
            "HostConfig": host_config,
            "Tty": False,
            "OpenStdin": False,
            "StdinOnce": False,
            "AttachStdin": False,
            "AttachStdout": False,
            "AttachStderr": False,
            "NetworkDisabled": False,
        }
        if self.volumes:
            body["Volumes"] = {mount["bind"]: {} for mount in self.volumes.values()}
        return "/containers/create" + (f"?{query}" if query else ""), body


def worth_starting_again(message: str) -> bool:
    """runc now and then fails to set a container up under load ("read init-p: connection
    reset by peer"), and a second start works; a binary the machine cannot run never will."""
    return "OCI runtime create failed" in message and not is_exec_format_error(message)


def build_spec(
    image: str,
    platform: str | None,
    *,
    environment: dict[str, str],
    network_mode: str | None,
    volumes: dict[str, dict[str, str]],
    target: str,
    first_process: list[str] | None = None,
) -> ContainerSpec:
    """A build container: labelled for its target (cleanup finds it), kept alive by
    ``first_process`` (``sleep infinity`` if not given), working in the job's directory."""
    return ContainerSpec(
        image=image,
        first_process=first_process or ["sleep", "infinity"],
        platform=platform,
        environment=environment,
        network_mode=network_mode,
        volumes=volumes,
        labels={LABEL: target},
        working_dir=WORKING_DIR,
    )


class EarlyStart:
    """A container being created and started in a thread; ``wait`` gives its id."""

    def __init__(self, socket_path: str, spec: ContainerSpec, pause: float = 1.0):
        self.socket_path = socket_path
        self.spec = spec
        self.container_id: str | None = None
        self.error: EngineRefusal | OSError | ValueError | None = None
        self._pause = pause
        self._thread = threading.Thread(target=self._run, name="early start", daemon=True)
        with _PENDING_LOCK:
            _PENDING.add(self)
        self._thread.start()

    def _run(self) -> None:
        endpoint, body = self.spec.create_request()
        try:
            created = call(self.socket_path, "POST", endpoint, body, ENGINE_TIMEOUT)
            self.container_id = str(created["Id"])
            self._start(self.container_id)
        except (EngineRefusal, OSError, ValueError, KeyError, TypeError) as error:
            self.error = error if isinstance(error, (EngineRefusal, OSError)) else ValueError(error)
            self._remove()

    def _start(self, container_id: str) -> None:
        endpoint = f"/containers/{quote(container_id)}/start"
        try:
            call(self.socket_path, "POST", endpoint, timeout=ENGINE_TIMEOUT)
        except EngineRefusal as refusal:
            if not worth_starting_again(refusal.message):
                raise
            time.sleep(self._pause)
            call(self.socket_path, "POST", endpoint, timeout=ENGINE_TIMEOUT)

    def wait(self) -> str:
        """The running container's id; the engine's refusal else (the container, if made,
        already removed). It stays this object's to remove until ``release``."""
        self._thread.join()
        if self.error is not None or self.container_id is None:
            raise self.error or OSError("the engine gave no container id")
        return self.container_id

    def release(self) -> None:
        """Its container is someone else's to remove now."""
        with _PENDING_LOCK:
            _PENDING.discard(self)
        self.container_id = None

    def discard(self) -> None:
        """The container is not wanted after all (Ctrl-C, a failure before it was adopted)."""
        self._thread.join()
        with _PENDING_LOCK:
            _PENDING.discard(self)
        self._remove()

    def _remove(self) -> None:
        container_id, self.container_id = self.container_id, None
        if container_id is None:
            return
        with contextlib.suppress(EngineRefusal, OSError):  # gone already, or the engine is
            call(self.socket_path, "DELETE", f"/containers/{quote(container_id)}?force=1&v=1")


def work_volume_name() -> str:
    return f"lambda-builder-work-{uuid.uuid4().hex[:12]}"


def create_volume(socket_path: str, name: str, target: str) -> None:
    """A split build's work volume, made before its first container (EngineRefusal, OSError)."""
    body = {"Name": name, "Labels": {WORK_LABEL: target}}
    call(socket_path, "POST", "/volumes/create", body, ENGINE_TIMEOUT)


def remove_volume(socket_path: str, name: str) -> None:
    with contextlib.suppress(EngineRefusal, OSError):  # cache info lists a leftover one
        call(socket_path, "DELETE", f"/volumes/{quote(name)}?force=1", timeout=ENGINE_TIMEOUT)


def discard_pending() -> None:
    """On Ctrl-C: containers started but not yet adopted by a build."""
    with _PENDING_LOCK:
        pending = list(_PENDING)
    for start in pending:
        start.discard()
