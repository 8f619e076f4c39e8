"""Progress and status events: the interface the API reports through, and a terminal for it."""

from __future__ import annotations

import sys
import threading
import time
from typing import Protocol, TextIO


class BuildUI(Protocol):
    """What a build tells its caller while it runs; ``target`` reads ``python3.12/arm64``."""

    def step(self, target: str, message: str) -> None: ...

    def log(self, target: str, line: str) -> None: ...

    def warning(self, target: str, message: str) -> None: ...


class NullUI:
    def step(self, target: str, message: str) -> None:
        pass

    def log(self, target: str, line: str) -> None:
        pass

    def warning(self, target: str, message: str) -> None:
        pass


class TerminalUI:
    """Steps with elapsed time on stderr; tool output only with ``verbose``; ``quiet`` for CI."""

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False,
                 quiet: bool = False):
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.quiet = quiet
        self.started = time.monotonic()
        self.lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def step(self, target: str, message: str) -> None:
        if not self.quiet:
            elapsed = time.monotonic() - self.started
            self._write(f"[{elapsed:6.1f}s] {target}: {message}")

    def log(self, target: str, line: str) -> None:
        if self.verbose:
            self._write(f"    {target} | {line}")

    def warning(self, target: str, message: str) -> None:
        self._write(f"warning: {target}: {message}")
