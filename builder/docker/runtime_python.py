"""Running a stdlib-only script with the target's Python: in the runtime image, or on this host.

The bundle sits where Lambda puts it (``/var/task``, or ``/opt/python`` for a layer), the
environment is a Lambda-like one without credentials, and results come back as files in the
work directory, never scraped from output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from builder.architectures import Architecture
from builder.runtimes import Runtime
from builder.ui import BuildUI

RUN_ROOT = PurePosixPath("/lambda-builder")
TASK_ROOT = "/var/task"
OPT_ROOT = "/opt"
PYTHON = "/var/lang/bin/python3"
FUNCTION_NAME = "lambda-builder-verify"

Layout = Literal["function", "layer"]


@dataclass(frozen=True)
class ScriptRun:
    """A program file run with arguments relative to a work directory that comes back."""

    script: Path
    arguments: tuple[str, ...] = ()
    bundle: Path | None = None
    layout: Layout = "function"


def sys_path(layout: Layout, runtime: Runtime, task_root: str, opt_root: str) -> list[str]:
    """Where Lambda looks for a function's code, or a layer's (``/opt/python`` and below)."""
    if layout == "function":
        return [task_root]
    return [f"{opt_root}/python/lib/python{runtime.version}/site-packages", f"{opt_root}/python"]


# Limits the probe applies to each import and to the handler call (seconds).
TIMEOUT_VARIABLES = ("LAMBDA_BUILDER_IMPORT_TIMEOUT", "LAMBDA_BUILDER_HANDLER_TIMEOUT")


def lambda_environment(runtime: Runtime, python_path: list[str]) -> dict[str, str]:
    """What Lambda sets for a function, minus credentials: no secret leaves this machine."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    limits = {key: os.environ[key] for key in TIMEOUT_VARIABLES if os.environ.get(key)}
    return {
        **limits,
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": TASK_ROOT,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime.name}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
    }


def run_on_host(run: ScriptRun, work: Path, *, runtime: Runtime) -> tuple[int, list[str]]:
    """This machine's interpreter for the runtime, without its site-packages (``-S``)."""
    from builder.host.runner import find_python

    shutil.copyfile(run.script, work / run.script.name)
    paths = sys_path(run.layout, runtime, str(run.bundle), str(run.bundle)) if run.bundle else []
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(work),
        **lambda_environment(runtime, paths),
    }
    process = subprocess.run(
        [find_python(runtime), "-S", run.script.name, *run.arguments],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    return process.returncode, (process.stdout + process.stderr).splitlines()


def run_in_image(
    run: ScriptRun,
    work: Path,
    *,
    image: str,
    runtime: Runtime,
    architecture: Architecture,
    target: str,
    ui: BuildUI,
) -> tuple[int, list[str]]:
    """A throwaway container of ``image`` (entrypoint overridden, no network), then removed."""
    from builder.docker.container import BuildContainer
    from builder.docker.engine import connect, ensure_image
    from builder.docker.image_facts import probe

    engine = connect()
    ensure_image(engine, image, architecture)
    shutil.copyfile(run.script, work / run.script.name)
    env = lambda_environment(runtime, sys_path(run.layout, runtime, TASK_ROOT, OPT_ROOT))
    with BuildContainer(
        engine,
        image,
        architecture,
        environment=env,
        network_mode="none",
        volumes={},
        target=target,
        ui=ui,
    ) as box:
        probe(box, runtime, architecture)
        box.copy_in(work, RUN_ROOT)
        if run.bundle is not None and run.layout == "function":
            box.copy_in(run.bundle, PurePosixPath(TASK_ROOT))
        elif run.bundle is not None:
            box.copy_in(run.bundle / "python", PurePosixPath(OPT_ROOT, "python"))
        code, lines = box.run([PYTHON, str(RUN_ROOT / run.script.name), *run.arguments])
        box.copy_out(RUN_ROOT, work)
    return code, lines


def run_script(
    run: ScriptRun,
    work: Path,
    *,
    image: str | None,
    runtime: Runtime,
    architecture: Architecture,
    target: str,
    ui: BuildUI,
) -> tuple[int, list[str]]:
    """In ``image`` when there is one, else with this host's interpreter (host mode)."""
    if image is None:
        return run_on_host(run, work, runtime=runtime)
    return run_in_image(
        run, work, image=image, runtime=runtime, architecture=architecture, target=target, ui=ui
    )
