"""The ``docker buildx`` command line: builders, and one build run with its progress read.

The only place the buildx backend starts processes; what it runs and how the output is read
live in the pure modules ``buildx_plan``, ``buildx_progress`` and ``builders``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from builder.docker.builders import BuilderInfo, parse_inspect, parse_ls_json
from builder.docker.buildx_progress import LineSink, ProgressReader
from builder.errors import DockerError

# Set to a file path, every build appends buildx's progress there exactly as buildx sent it
# (rawjson: step logs base64-encoded): for debugging, and for tests that prove no secret
# reaches it.
LOG_VARIABLE = "LAMBDA_BUILDER_BUILDX_LOG"
_ACTIVE: set[subprocess.Popen[str]] = set()
_ACTIVE_LOCK = threading.Lock()
BUILDX_HINT = (
    "install the buildx plugin (Debian: apt-get install docker-buildx; Docker Desktop ships it)"
)


def _docker() -> str:
    found = shutil.which("docker")
    if found is None:
        raise DockerError(
            "the docker command is not on PATH (--backend buildx needs it)", hint=BUILDX_HINT
        )
    return found


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([_docker(), *argv[1:]], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DockerError(f"{' '.join(argv[:3])} failed: {error}", hint=BUILDX_HINT) from None


def has_buildx() -> bool:
    return (
        shutil.which("docker") is not None and _run(["docker", "buildx", "version"]).returncode == 0
    )


def list_builders() -> list[BuilderInfo]:
    process = _run(["docker", "buildx", "ls", "--format", "json"])
    if process.returncode != 0:
        raise DockerError(
            f"docker buildx ls failed: {process.stderr.strip()[-500:]}", hint=BUILDX_HINT
        )
    return parse_ls_json(process.stdout)


def inspect_builder(name: str | None) -> BuilderInfo:
    """The builder a build will use (``None``: the current one), started if it is not."""
    argv = ["docker", "buildx", "inspect", "--bootstrap", *([name] if name else [])]
    process = _run(argv)
    if process.returncode != 0:
        raise DockerError(
            f"buildx builder {name or '(current)'} is not usable: {process.stderr.strip()[-500:]}",
            hint="`docker buildx ls` lists the builders; `docker buildx create` makes one",
        )
    return parse_inspect(process.stdout)


@dataclass(frozen=True)
class BuildOutcome:
    returncode: int
    reader: ProgressReader

    @property
    def failure_text(self) -> str:
        lines = self.reader.errors() + [line for line in self.reader.other if line.strip()]
        return "\n".join(lines[-15:])


def run_build(argv: list[str], on_line: LineSink) -> BuildOutcome:
    """Run ``docker buildx build``, streaming its step logs to ``on_line`` as they come."""
    reader = ProgressReader(on_line)
    log_path = os.environ.get(LOG_VARIABLE)
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(Path(log_path).open("a", encoding="utf-8")) if log_path else None
        try:
            process = subprocess.Popen(
                [_docker(), *argv[1:]],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except OSError as error:
            raise DockerError(
                f"cannot run docker buildx build: {error}", hint=BUILDX_HINT
            ) from None
        assert process.stdout is not None
        with _ACTIVE_LOCK:
            _ACTIVE.add(process)
        with process:  # its exit waits for the process: terminate first when interrupted
            try:
                for chunk in process.stdout:
                    if log is not None:
                        log.write(chunk)
                    reader.feed(chunk)
            except BaseException:
                process.terminate()  # buildx cancels the build on SIGTERM
                raise
            finally:
                with _ACTIVE_LOCK:
                    _ACTIVE.discard(process)
        reader.close()
    return BuildOutcome(process.returncode, reader)


def stop_active_builds() -> None:
    """On Ctrl-C or SIGTERM, cancel every build of this process, whichever thread runs it."""
    with _ACTIVE_LOCK:
        active = list(_ACTIVE)
    for process in active:
        with contextlib.suppress(OSError):
            process.terminate()
