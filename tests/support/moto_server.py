"""A real S3 and Lambda API on 127.0.0.1: moto in server mode, in its own process.

Tests point boto3 at it with ``AWS_ENDPOINT_URL`` and dummy credentials, so the code under test
runs its real HTTP calls, signing and error parsing. Its request log (one line per call) lets a
test prove what was, and was not, written.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

REGION = "us-east-1"
ACCESS_KEY = "AKIAMOTOTESTKEY00001"
SECRET_KEY = "moto-test-secret-key-not-real"
WRITE_METHODS = ('"PUT ', '"POST ', '"DELETE ')
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours the lines of non-200 answers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MotoServer:
    """``python -m moto.server`` on a free loopback port, stopped on exit."""

    def __init__(self, log: Path, timeout: float = 60):
        self.log, self.timeout = log, timeout
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        with self.log.open("wb") as stream:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=stream,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited early:\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"moto server did not answer on {self.url} in {self.timeout:.0f}s")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def environment(self) -> dict[str, str]:
        """What a client needs to reach this server with credentials it accepts."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }

    def require_known_credentials(self, enabled: bool) -> None:
        """Make the server check access keys (as AWS does) or accept any, moto's default."""
        request = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth",
            data=b"0" if enabled else b"inf",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def log_size(self) -> int:
        return self.log.stat().st_size

    def writes_since(self, offset: int) -> list[str]:
        """The request lines that changed something (PUT, POST, DELETE) after ``offset``."""
        with self.log.open("rb") as stream:
            stream.seek(offset)
            text = _COLOUR.sub("", stream.read().decode("utf-8", "replace"))
        return [line for line in text.splitlines() if any(m in line for m in WRITE_METHODS)]
