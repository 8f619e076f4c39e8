"""What a foreign target is, known without emulating it: the engine's native machine, the
target image's marker environment and glibc, and the wheel platforms pip may accept for it.

A split build (cross.py) resolves natively with these. The markers are probed once per image
id and kept on this machine; a warm build reads them from there without starting anything.
"""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
from pathlib import Path

from builder.architectures import Architecture
from builder.config import BuildConfig
from builder.docker.engine import Engine
from builder.docker.image import definition_dir
from builder.docker.runtime_python import PYTHON
from builder.errors import DockerError
from builder.incontainer.tags import Target, explicit_platforms
from builder.runtimes import Runtime
from builder.ui import BuildUI

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
    image_id = engine.image_id(base_image) or base_image
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
    import docker.errors

    from builder.docker.container import LABEL

    try:
        container = engine.client.containers.create(
            image,
            command=["true"],
            platform=architecture.docker_platform,
            labels={LABEL: "target facts"},
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
    from builder.docker.container import BuildContainer

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
