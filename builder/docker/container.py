"""A build container with a few verbs (run, copy in, copy out) that is always removed."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any

import docker.errors
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from builder import background
from builder.architectures import Architecture
from builder.docker.archive import extract_safely, tar_directory
from builder.docker.early_start import (
    LABEL,
    EarlyStart,
    build_spec,
    discard_pending,
    worth_starting_again,
)
from builder.docker.emulation import emulation_error, is_exec_format_error, is_foreign
from builder.docker.engine import Engine
from builder.docker.engine_socket import EngineRefusal
from builder.errors import DockerError
from builder.runtimes import Runtime
from builder.ui import BuildUI

KEEP_VARIABLE = "BUILDER_KEEP_CONTAINER"
__all__ = ["LABEL", "BuildContainer", "remove_active_containers", "start_container"]
_GO_MODE_DIR = 1 << 31  # os.ModeDir in the stat header of the archive endpoint
_ACTIVE: set[BuildContainer] = set()
_ACTIVE_LOCK = threading.Lock()


def remove_active_containers() -> None:
    """On Ctrl-C, stop every build of this process at once, whichever thread runs it."""
    discard_pending()
    with _ACTIVE_LOCK:
        active = list(_ACTIVE)
    for box in active:
        box._remove()


# What runc says when an exec reaches a container whose first process has already died.
_DEAD_CONTAINER = "cannot exec in a deleted state"


def start_container(container: Any, pause: float = 1.0) -> None:
    """Start, and once more if runc failed to set the container up (worth_starting_again)."""
    try:
        container.start()
    except docker.errors.APIError as error:
        if not worth_starting_again(str(error)):
            raise
        time.sleep(pause)
        container.start()


class BuildContainer:
    """Started on enter, removed on exit (success, failure or Ctrl-C) unless asked to keep it."""

    def __init__(
        self,
        engine: Engine,
        image: str,
        architecture: Architecture,
        *,
        environment: dict[str, str],
        network_mode: str | None,
        volumes: dict[str, dict[str, str]],
        target: str,
        ui: BuildUI,
        runtime: Runtime | None = None,
        remove_in_background: bool = False,
        first_process: list[str] | None = None,
        early: EarlyStart | None = None,
    ):
        """``runtime``: the Python the container must run, checked by each pipeline run.
        ``remove_in_background``: after a success, removal overlaps what the caller does next
        (whoever passes it calls ``background.wait``, as ``build_target`` does).
        ``early``: the same container, already being created and started (early_start.py).
        ``first_process``: what keeps the container running (``sleep infinity`` if not given);
        it must never exit, or every later ``run`` is refused."""
        self.engine = engine
        self.image = image
        self.architecture = architecture
        self.target = target
        self.ui = ui
        self.runtime = runtime
        self.remove_in_background = remove_in_background
        self.spec = build_spec(
            image,
            architecture.docker_platform,
            environment=environment,
            network_mode=network_mode,
            volumes=volumes,
            target=target,
            first_process=first_process,
        )
        self.early = early
        self.container: Any = None
        self._removal = threading.Lock()

    def __enter__(self) -> BuildContainer:
        try:
            if self.early is not None:
                self._adopt(self.early)
            else:
                self.container = self.engine.client.containers.create(**self.spec.sdk_arguments())
                with _ACTIVE_LOCK:
                    _ACTIVE.add(self)
                start_container(self.container)
            self._check_running(reload=self.early is None)
        except (docker.errors.DockerException, EngineRefusal, OSError) as error:
            self._remove()
            message = error.message if isinstance(error, EngineRefusal) else str(error)
            if is_exec_format_error(message):
                raise emulation_error(self.architecture) from None
            raise DockerError(
                f"cannot start a container from {self.image}: {message}", target=self.target
            ) from None
        return self

    def _adopt(self, early: EarlyStart) -> None:
        """The early start's container becomes this one's (removed by it from then on)."""
        try:
            self.container = self.engine.client.containers.get(early.wait())
        except BaseException:
            early.discard()
            raise
        with _ACTIVE_LOCK:
            _ACTIVE.add(self)
        early.release()

    def _check_running(self, reload: bool = True) -> None:
        """A container whose first process cannot execute exits at once; say why."""
        if self.container is None:  # already removed (Ctrl-C in another thread)
            return
        if reload:
            self.container.reload()
        if self.container.status == "running":
            return
        logs = self.container.logs().decode("utf-8", "replace")
        self._remove()
        if is_exec_format_error(logs) or is_foreign(self.architecture):
            raise emulation_error(self.architecture)
        raise DockerError(
            f"the container from {self.image} stopped at once:\n{logs[-2000:]}", target=self.target
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if os.environ.get(KEEP_VARIABLE) == "1" and self.container is not None:
            name = self.container.name
            self.ui.warning(
                self.target,
                f"{KEEP_VARIABLE}=1: kept container {name}; enter it "
                f"with `docker exec -it {name} sh`, remove it with "
                f"`docker rm -f {name}` (it holds the job file with any index "
                "credentials)",
            )
            return
        if kind is None and self.remove_in_background:
            background.start(self._remove, f"remove {self.target}")
        else:
            self._remove()

    def _remove(self) -> None:
        """Returns once the container is gone, whichever thread removes it: after Ctrl-C the
        main thread does, and the build's own thread must not go on (to remove the work
        volume it used) while that is still under way."""
        with self._removal:
            with _ACTIVE_LOCK:
                _ACTIVE.discard(self)
                container, self.container = self.container, None
            if container is None:
                return
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.DockerException as error:  # must not hide the real error
                self.ui.warning(
                    self.target,
                    f"could not remove container {container.name}: "
                    f"{error}; remove it with `docker rm -f {container.name}`",
                )

    @property
    def id(self) -> str:
        return str(self.container.id)

    def run(
        self,
        argv: list[str],
        environment: dict[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> tuple[int, list[str]]:
        """Run a command; stream its lines to ``on_line`` (or collect them); its exit code."""
        api = self.engine.client.api
        try:
            created = api.exec_create(
                self.container.id, argv, environment=environment or {}, stdout=True, stderr=True
            )
            exec_id = str(created["Id"])
            stream: Iterator[bytes] = api.exec_start(exec_id, stream=True)
            lines = self._relay(stream, on_line)
            code = api.exec_inspect(exec_id)["ExitCode"]
        except docker.errors.DockerException as error:
            self._diagnose_refused_exec(str(error))
            raise DockerError(
                f"running {argv[0]} in the container failed: {error}", target=self.target
            ) from None
        if code != 0 and any(_DEAD_CONTAINER in line for line in lines[-3:]):
            # The runtime refused the exec inside the stream (exit code 126 or 255).
            self._diagnose_refused_exec(_DEAD_CONTAINER)
        return int(code if code is not None else -1), lines

    def _diagnose_refused_exec(self, message: str) -> None:
        """The first process may die a moment after start (no emulation): say that, not 409.

        The engine can refuse the exec before its own state reads "exited": wait for it.
        """
        with contextlib.suppress(
            docker.errors.DockerException, ReadTimeout, RequestsConnectionError
        ):
            dead = "is not running" in message or _DEAD_CONTAINER in message
            if dead and self.container is not None:
                self.container.wait(timeout=10)
            self._check_running()

    @staticmethod
    def _relay(stream: Iterator[bytes], on_line: Callable[[str], None] | None) -> list[str]:
        collected: list[str] = []
        pending = b""
        for chunk in stream:
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                line = raw.decode("utf-8", "replace")
                on_line(line) if on_line else collected.append(line)
        if pending:
            line = pending.decode("utf-8", "replace")
            on_line(line) if on_line else collected.append(line)
        return collected

    def copy_in(self, source: Path, destination: PurePosixPath) -> None:
        """Upload through the engine (works for remote engines, no bind mount needed)."""
        try:
            with tar_directory(source, destination.name) as data:
                self.container.put_archive(str(destination.parent), data)
        except docker.errors.DockerException as error:
            raise DockerError(
                f"cannot copy files into the container: {error}", target=self.target
            ) from None

    def copy_out(self, source: PurePosixPath, destination: Path) -> None:
        try:
            chunks, stat = self.container.get_archive(str(source))
            # A directory comes back as `name/...`: drop `name`. A file comes back as `name`.
            is_directory = bool(int(stat.get("mode", 0)) & _GO_MODE_DIR)
            extract_safely(chunks, destination, strip=1 if is_directory else 0)
        except docker.errors.NotFound:
            raise DockerError(
                f"{source} does not exist in the container", target=self.target
            ) from None
        except docker.errors.DockerException as error:
            raise DockerError(
                f"cannot copy {source} out of the container: {error}", target=self.target
            ) from None
