"""Whether a container runs the machine and Python its target needs, and saying so when not.

Build containers check themselves: the pipeline compares what it runs on with the
``EXPECT_VARIABLE`` it is given and stops at once on a mismatch, so no separate probe runs
per build. ``probe`` asks a container directly: for the verify containers, and to explain a
pipeline that could not start at all (no Python, a Python too old for the pipeline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from builder.architectures import Architecture
from builder.docker.emulation import emulation_error, is_exec_format_error
from builder.docker.runtime_python import PYTHON
from builder.errors import DockerError
from builder.incontainer.protocol import EXPECT_VARIABLE
from builder.job import PipelineResult
from builder.runtimes import Runtime

if TYPE_CHECKING:
    from builder.docker.container import BuildContainer


def expectation(runtime: Runtime, architecture: Architecture) -> dict[str, str]:
    """The pipeline's environment entry that makes it check its container first."""
    return {EXPECT_VARIABLE: f"{architecture.machine} {runtime.version}"}


def check_result_facts(
    result: PipelineResult, runtime: Runtime, architecture: Architecture, image: str
) -> None:
    """What the pipeline reported it ran on (docker and buildx backends alike)."""
    if result.machine and result.python:
        version = ".".join(result.python.split(".")[:2])
        check_image_facts(result.machine, version, runtime, architecture, image)


def probe(box: BuildContainer, runtime: Runtime, architecture: Architecture) -> None:
    """Check, not assume, that the container is the architecture and Python asked for."""
    script = f"uname -m; {PYTHON} -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'"
    code, lines = box.run(["sh", "-c", script])
    output = "\n".join(lines)
    if code != 0 and is_exec_format_error(output):
        raise emulation_error(architecture)
    if code != 0 or len(lines) < 2:
        raise DockerError(
            f"probing the build container failed:\n{output}",
            target=box.target,
            hint="the image needs sh, uname and /var/lang/bin/python3",
        )
    check_image_facts(lines[0].strip(), lines[-1].strip(), runtime, architecture, box.image)


def check_image_facts(
    machine: str, version: str, runtime: Runtime, architecture: Architecture, image: str
) -> None:
    """The machine and Python an image reported are the ones the target needs."""
    target = f"{runtime.name}/{architecture.value}"
    if machine != architecture.machine:
        raise DockerError(
            f"the container runs on {machine}, not {architecture.machine}",
            target=target,
            hint="check --base-image and emulation settings",
        )
    if version != runtime.version:
        raise DockerError(
            f"image {image} has Python {version}, but {runtime.name} needs {runtime.version}",
            target=target,
            hint=f"pass --base-image with a Python {runtime.version} image, or pick "
            f"--runtime python{version}",
        )
