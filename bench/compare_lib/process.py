"""Timed child processes: wall clock, exit code and peak memory, output logged to a file."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Variables that would point a tool at this machine's pip or uv configuration (local wheel
# directories, file:// indexes) instead of PyPI alone: every tool gets the same clean view.
_SCRUBBED_PREFIXES = ("PIP_", "UV_")


class SetupError(Exception):
    """Something a comparison needs before timing (a tool, an image) failed; names the log."""


@dataclass(frozen=True)
class Timed:
    seconds: float
    returncode: int
    max_rss_kib: int
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def clean_environment(ca_bundle: Path, **extra: str) -> dict[str, str]:
    """The host environment without pip/uv settings, with the CA bundle for host-side clients."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(_SCRUBBED_PREFIXES)
    }
    environment.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        SSL_CERT_FILE=str(ca_bundle),
        REQUESTS_CA_BUNDLE=str(ca_bundle),
    )
    environment.update(extra)
    return environment


def run_timed(
    command: Sequence[str],
    log: Path,
    environment: Mapping[str, str],
    cwd: Path | None = None,
) -> Timed:
    """Run ``command`` with its output in ``log``; peak RSS is the largest of its process tree.

    ``wait4`` reports the child's own resource usage including every descendant it waited for,
    so the figure covers the CLI and the helpers it starts on this host (not the processes a
    Docker engine runs in containers).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    # The last run's dirty pages (SAM writes hundreds of MB) are flushed now, untimed: the
    # kernel would otherwise write them back during this run and charge it for them.
    os.sync()
    with log.open("w") as stream:
        stream.write(f"$ {shlex.join(command)}\n")
        if cwd is not None:
            stream.write(f"# in {cwd}\n")
        stream.flush()
        start = time.perf_counter()
        child = subprocess.Popen(
            list(command), stdout=stream, stderr=subprocess.STDOUT, env=dict(environment), cwd=cwd
        )
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except BaseException:
            child.kill()
            child.wait()
            raise
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        stream.write(f"\n# exit {child.returncode} after {seconds:.2f}s\n")
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return Timed(seconds, child.returncode, rss, log)


def check_output(command: Sequence[str], environment: Mapping[str, str] | None = None) -> str:
    """A quick query (versions, inspections); raises ``CalledProcessError`` with its output."""
    result = subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        env=None if environment is None else dict(environment),
        check=True,
    )
    return result.stdout.strip()
