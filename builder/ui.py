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


HEARTBEAT_SECONDS = 20.0


class TerminalUI:
    """Steps with elapsed time on stderr; tool output only with ``verbose``; ``quiet`` for CI.

    A step that runs long (an sdist compiling under QEMU can take minutes) gets a "still
    working" line every ``HEARTBEAT_SECONDS``, so a silent terminal never looks hung.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        verbose: bool = False,
        quiet: bool = False,
        heartbeat: float = HEARTBEAT_SECONDS,
    ):
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.quiet = quiet
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.current: dict[str, tuple[str, float]] = {}
        self.heartbeat = heartbeat
        if not quiet and heartbeat > 0:
            threading.Thread(target=self._beat, daemon=True).start()

    def _beat(self) -> None:
        while True:
            time.sleep(self.heartbeat / 4)
            now = time.monotonic()
            with self.lock:
                due = [(t, m, s) for t, (m, s) in self.current.items() if now - s >= self.heartbeat]
                for target, message, _since in due:
                    self.current[target] = (message, now)
            for target, message, _since in due:
                self._write(f"[{now - self.started:6.1f}s] {target}: still {message}")

    def _write(self, text: str) -> None:
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def step(self, target: str, message: str) -> None:
        if not self.quiet:
            now = time.monotonic()
            with self.lock:
                self.current[target] = (message, now)
            self._write(f"[{now - self.started:6.1f}s] {target}: {message}")

    def log(self, target: str, line: str) -> None:
        if self.verbose:
            self._write(f"    {target} | {line}")

    def warning(self, target: str, message: str) -> None:
        self._write(f"warning: {target}: {message}")
