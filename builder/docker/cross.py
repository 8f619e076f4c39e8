"""Foreign-architecture builds that emulate only compilation.

pip under QEMU is slow (starting it takes about 2 s, and a resolve starts it many times), yet
resolving, downloading, sorting and installing wheels need nothing of the target but its
marker environment and wheel tags. So a native container of the same Python resolves for the
target (``incontainer/pip_shim``) with markers probed once from the target image
(target_facts.py), and only
the sources that must be compiled go to an emulated container. A wheel-only build starts no
emulated process at all. Both containers share the pipeline's work directory on a volume.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import PurePosixPath
from typing import Protocol

import docker.errors

from builder import background
from builder.architectures import Architecture
from builder.docker.container import BuildContainer
from builder.docker.early_start import WORK_LABEL, EarlyStart, work_volume_name
from builder.docker.emulation import emulation_error, is_exec_format_error
from builder.docker.engine import Engine
from builder.docker.image_facts import check_result_facts, expectation, probe
from builder.docker.runtime_python import PYTHON
from builder.errors import DockerError
from builder.events import relay_line
from builder.host import workspace as ws
from builder.job import PipelineResult
from builder.ui import BuildUI

__all__ = ["WORK_LABEL", "leftover_work_volumes", "remove_volume", "run_phase", "run_split"]


class Starter(Protocol):
    """Starts a container from an image for an architecture, with extra volumes (``early``:
    the same container, already starting), with the workspace copied in; removed when the
    context ends."""

    def __call__(
        self,
        image: str,
        machine: Architecture,
        extra: dict[str, dict[str, str]],
        early: EarlyStart | None = None,
    ) -> AbstractContextManager[BuildContainer]: ...


def run_phase(
    box: BuildContainer, workspace: ws.Workspace, phase: str, target: str, ui: BuildUI
) -> PipelineResult:
    last: deque[str] = deque(maxlen=5)

    def on_line(line: str) -> None:
        last.append(line)
        relay_line(line, target, ui)

    environment = workspace.environment()
    if box.runtime is not None:
        environment.update(expectation(box.runtime, box.architecture))
    background.while_waiting()  # on the container
    code, _ = box.run([*workspace.command(PYTHON), phase], environment, on_line)
    if code != 0 and is_exec_format_error("\n".join(last)):
        raise emulation_error(box.architecture)  # gone since the image was last probed
    try:
        box.copy_out(PurePosixPath(workspace.run_root) / "result.json", workspace.host_dir)
    except DockerError:
        if box.runtime is not None:  # no Python, or one the pipeline cannot run on: say so
            probe(box, box.runtime, box.architecture)
        raise
    result = ws.read_result(workspace, target)
    if box.runtime is not None:
        check_result_facts(result, box.runtime, box.architecture, box.image)
    return result


def run_split(
    engine: Engine,
    start: Starter,
    native: tuple[str, Architecture],
    foreign: tuple[Callable[[], str], Architecture],
    workspace: ws.Workspace,
    collect: Callable[[BuildContainer], None],
    target: str,
    ui: BuildUI,
    work_volume: str | None = None,
    early: EarlyStart | None = None,
) -> PipelineResult:
    """Resolve natively, compile what must be compiled in the target's image, install natively.

    ``foreign`` makes the target's builder image only when something needs compiling;
    ``collect`` brings the installed tree out of the native container. ``work_volume`` and
    ``early``: the shared volume, made already, and the native container, already starting
    with it (removed here like one made here).
    """
    volume = work_volume or work_volume_name()
    if work_volume is None:
        engine.client.volumes.create(name=volume, labels={WORK_LABEL: target})
    shared = workspace.work_mount(volume)
    try:
        with start(native[0], native[1], shared, early) as box:
            result = run_phase(box, workspace, "resolve", target, ui)
            if result.status == "build-needed":
                ui.step(
                    target,
                    f"compiling {', '.join(result.pending)} in the {foreign[1].value} image "
                    "(emulated); everything else runs natively",
                )
                with start(foreign[0](), foreign[1], shared) as emulated:
                    built = run_phase(emulated, workspace, "build", target, ui)
                if built.status == "error":
                    return built
                result = run_phase(box, workspace, "finish", target, ui)
            if result.status == "ok":
                collect(box)
        return result
    finally:
        # In the background too, once the containers using it are gone: the host meanwhile
        # stores and writes the result (build_target waits for both before it returns).
        using = background.pending()

        def remove_once_unused() -> None:
            for removal in using:
                removal.join()
            try:
                engine.client.api.remove_volume(volume, force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.DockerException as error:
                ui.warning(target, f"could not remove volume {volume}: {error}")

        background.start(remove_once_unused, f"remove {volume}")


def leftover_work_volumes(engine: Engine) -> list[str]:
    """Work volumes no container uses: left by a split build that was killed (SIGKILL)."""
    try:
        volumes = engine.client.volumes.list(filters={"label": WORK_LABEL, "dangling": True})
    except docker.errors.DockerException as error:
        raise DockerError(f"cannot list volumes: {error}") from None
    return sorted(str(volume.name) for volume in volumes)


def remove_volume(engine: Engine, name: str) -> None:
    try:
        engine.client.volumes.get(name).remove()
    except docker.errors.DockerException as error:
        raise DockerError(f"cannot remove volume {name}: {error}") from None
