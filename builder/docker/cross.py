"""Foreign-architecture builds that emulate only compilation.

pip under QEMU is slow (starting it takes about 2 s, and a resolve starts it many times), yet
resolving, downloading, sorting and installing wheels need nothing of the target but its
marker environment and wheel tags. So a native container of the same Python resolves for the
target (``incontainer/pip_shim``) with markers probed once from the target image, and only
the sources that must be compiled go to an emulated container. A wheel-only build starts no
emulated process at all. Both containers share the pipeline's work directory on a volume.
"""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path, PurePosixPath

import docker.errors

from builder import background
from builder.architectures import Architecture
from builder.config import BuildConfig
from builder.docker.container import LABEL as BUILD_LABEL
from builder.docker.container import BuildContainer
from builder.docker.emulation import emulation_error, is_exec_format_error
from builder.docker.engine import Engine
from builder.docker.image import definition_dir
from builder.docker.image_facts import check_result_facts, expectation, probe
from builder.docker.runtime_python import PYTHON
from builder.errors import DockerError
from builder.events import relay_line
from builder.host import workspace as ws
from builder.incontainer.tags import Target, explicit_platforms
from builder.job import PipelineResult
from builder.runtimes import Runtime
from builder.ui import BuildUI

WORK_LABEL = "org.lambda-builder.work"
# The script printing the target's markers and glibc (images/target-facts.py), and where the
# builder image keeps its output, computed when that image was built.
FACTS_SCRIPT = "images/target-facts.py"
FACTS_FILE = "/opt/lambda-builder/target-facts.json"


def native_architecture(engine: Engine) -> Architecture | None:
    """The architecture the engine runs without emulation (None when it is neither)."""
    for architecture in Architecture:
        if engine.machine in (architecture.machine, architecture.docker_arch):
            return architecture
    return None


def allows_cross(config: BuildConfig) -> bool:
    """A native image of the same runtime is only known when the base image names the arch."""
    if not config.cross_resolution:
        return False
    template = config.base_image
    return template is None or "{suffix}" in template or "{arch}" in template


def target_probe(
    engine: Engine,
    base_image: str,
    architecture: Architecture,
    cache_root: Path | None,
    ui: BuildUI,
    target: str,
    builder_tag: str | None = None,
) -> dict[str, object]:
    """Markers and glibc of the target image, from the first of: this machine's record, the
    target's builder image (computed when it was built: nothing runs), an emulated probe."""
    image_id = engine.client.images.get(base_image).id or base_image
    name = image_id.replace(":", "-").replace("/", "-") + ".json"
    path = cache_root / "markers" / name if cache_root else None
    try:
        if path is not None:
            return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    data = facts_in_image(engine, builder_tag, architecture) if builder_tag else None
    if data is None:
        data = _probe(engine, base_image, architecture, ui, target)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data), encoding="utf-8")
    return data


def facts_in_image(
    engine: Engine, image: str, architecture: Architecture
) -> dict[str, object] | None:
    """The facts file of a builder image, read from a container that is created, never
    started (no emulation); None when the image or its file is missing."""
    try:
        container = engine.client.containers.create(
            image,
            command=["true"],
            platform=architecture.docker_platform,
            labels={BUILD_LABEL: "target facts"},
        )
    except docker.errors.DockerException:
        return None
    try:
        chunks, _stat = container.get_archive(FACTS_FILE)
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            member = archive.extractfile(archive.getmembers()[0])
            data = dict(json.loads(member.read())) if member is not None else {}
    except (docker.errors.DockerException, tarfile.TarError, IndexError, ValueError):
        return None
    finally:
        with contextlib.suppress(docker.errors.DockerException):
            container.remove(force=True)
    return data if isinstance(data.get("markers"), dict) else None


def _probe(
    engine: Engine, base_image: str, architecture: Architecture, ui: BuildUI, target: str
) -> dict[str, object]:
    script = (definition_dir() / FACTS_SCRIPT).read_text(encoding="utf-8")
    ui.step(target, f"probing {base_image} for its environment markers (once)")
    with BuildContainer(
        engine,
        base_image,
        architecture,
        environment={},
        network_mode=None,
        volumes={},
        target=target,
        ui=ui,
    ) as box:
        # -I -S: no site-packages, no environment; under QEMU each import saved counts.
        code, lines = box.run([PYTHON, "-I", "-S", "-c", script])
    try:
        data = dict(json.loads(lines[-1]))
    except (IndexError, ValueError):
        data = {}
    if code != 0 or "markers" not in data:
        raise DockerError(
            f"probing {base_image} for its marker environment failed:\n" + "\n".join(lines[-5:]),
            target=target,
            hint="the image needs /var/lang/bin/python3",
        )
    return data


def cross_platforms(runtime: Runtime, architecture: Architecture, glibc: str) -> list[str]:
    """The platform tags pip inside the target image would accept (pass 1 sorts them after)."""
    major, _, minor = glibc.partition(".")
    image = Target(runtime.major, runtime.minor, architecture.machine, (int(major), int(minor)))
    return [*explicit_platforms(image), f"linux_{architecture.machine}"]


# Starts a container from an image for an architecture, with extra volumes, probed and with the
# workspace copied in; removed when the context ends.
Starter = Callable[
    [str, Architecture, dict[str, dict[str, str]]], AbstractContextManager[BuildContainer]
]


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
) -> PipelineResult:
    """Resolve natively, compile what must be compiled in the target's image, install natively.

    ``foreign`` makes the target's builder image only when something needs compiling;
    ``collect`` brings the installed tree out of the native container.
    """
    volume = engine.client.volumes.create(
        name=f"lambda-builder-work-{uuid.uuid4().hex[:12]}",
        labels={WORK_LABEL: target},
    )
    shared = {volume.name: {"bind": workspace.run("work"), "mode": "rw"}}
    try:
        with start(native[0], native[1], shared) as box:
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

        def remove_volume() -> None:
            for removal in using:
                removal.join()
            try:
                volume.remove(force=True)
            except docker.errors.DockerException as error:
                ui.warning(target, f"could not remove volume {volume.name}: {error}")

        background.start(remove_volume, f"remove {volume.name}")


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
