"""Relaying the pipeline's output: step events to the UI, everything else as redacted log."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from builder import redact as redact_module
from builder.events import relay_line
from builder.incontainer.protocol import EVENT_PREFIX
from builder.redact import register_secret

TARGET = "python3.12/arm64"


class RecordingUI:
    """A BuildUI that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def step(self, target: str, message: str) -> None:
        self.calls.append(("step", target, message))

    def log(self, target: str, line: str) -> None:
        self.calls.append(("log", target, line))

    def warning(self, target: str, message: str) -> None:
        self.calls.append(("warning", target, message))


@pytest.fixture(autouse=True)
def no_registered_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(redact_module, "_SECRETS", set())
    yield


def _event(**fields: str) -> str:
    return EVENT_PREFIX + json.dumps(fields) + "\n"


def test_step_event_becomes_a_ui_step() -> None:
    ui = RecordingUI()
    relay_line(_event(event="step", step="download", message="downloading"), TARGET, ui)
    assert ui.calls == [("step", TARGET, "downloading")]


def test_other_events_are_not_shown() -> None:
    ui = RecordingUI()
    relay_line(_event(event="done", status="ok"), TARGET, ui)
    assert ui.calls == []


def test_plain_line_is_logged_stripped() -> None:
    ui = RecordingUI()
    relay_line("  Collecting six==1.16.0\r\n", TARGET, ui)
    assert ui.calls == [("log", TARGET, "Collecting six==1.16.0")]


def test_prefixed_line_that_is_not_json_is_logged_whole() -> None:
    ui = RecordingUI()
    relay_line(EVENT_PREFIX + "{broken\n", TARGET, ui)
    assert ui.calls == [("log", TARGET, EVENT_PREFIX + "{broken")]


def test_credentials_are_redacted_from_log_lines_and_steps() -> None:
    register_secret("reg1stered-token")
    ui = RecordingUI()
    relay_line("Looking in indexes: https://bob:pa55word@index.example/simple\n", TARGET, ui)
    relay_line("header: reg1stered-token\n", TARGET, ui)
    relay_line(_event(event="step", message="fetching with reg1stered-token"), TARGET, ui)
    assert ui.calls == [
        ("log", TARGET, "Looking in indexes: https://bob:****@index.example/simple"),
        ("log", TARGET, "header: ****"),
        ("step", TARGET, "fetching with ****"),
    ]
