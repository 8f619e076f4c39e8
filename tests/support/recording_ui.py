"""A build UI that keeps what it was told, for tests of in-process builds."""

from __future__ import annotations


class RecordingUI:
    def __init__(self) -> None:
        self.steps: list[str] = []  # "target: message"
        self.warnings: list[str] = []

    def step(self, target: str, message: str) -> None:
        self.steps.append(f"{target}: {message}")

    def log(self, target: str, line: str) -> None:
        pass

    def warning(self, target: str, message: str) -> None:
        self.warnings.append(message)
