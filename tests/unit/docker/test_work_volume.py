"""A split build's work volume goes even when a container still held it a moment ago."""

from __future__ import annotations

import docker.errors
import pytest
from requests import Response

from builder.docker.container import KEEP_VARIABLE
from builder.docker.cross import remove_work_volume
from tests.support.recording_ui import RecordingUI


def _error(status: int) -> docker.errors.APIError:
    response = Response()
    response.status_code = status
    return docker.errors.APIError("volume is in use", response=response)


class Volume:
    name = "lambda-builder-work-test"

    def __init__(self, failures: list[Exception]):
        self.failures = failures
        self.calls = 0

    def remove(self, force: bool) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)


def test_in_use_is_retried_until_the_container_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEEP_VARIABLE, raising=False)
    volume, ui = Volume([_error(409), _error(409)]), RecordingUI()
    remove_work_volume(volume, "t", ui, wait=5)
    assert volume.calls == 3 and ui.warnings == []


def test_other_errors_and_a_kept_container_are_one_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    volume, ui = Volume([_error(500)]), RecordingUI()
    remove_work_volume(volume, "t", ui, wait=5)
    assert volume.calls == 1 and len(ui.warnings) == 1
    monkeypatch.setenv(KEEP_VARIABLE, "1")  # its container is kept on purpose: no waiting
    volume, ui = Volume([_error(409)]), RecordingUI()
    remove_work_volume(volume, "t", ui, wait=5)
    assert volume.calls == 1 and "could not remove volume" in ui.warnings[0]
