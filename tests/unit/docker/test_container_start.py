"""A container start that runc fails to set up is tried once more; other failures are not."""

from __future__ import annotations

import docker.errors
import pytest

from builder.docker.container import start_container

RUNC_FLAKE = (
    "failed to create task for container: failed to create shim task: OCI runtime create "
    "failed: runc create failed: unable to start container process: waiting for init "
    "preliminary setup: read init-p: connection reset by peer: unknown"
)


class FakeContainer:
    def __init__(self, *failures: str) -> None:
        self.failures = list(failures)
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        if self.failures:
            raise docker.errors.APIError(self.failures.pop(0))


def test_a_runc_setup_failure_is_started_again() -> None:
    container = FakeContainer(RUNC_FLAKE)
    start_container(container, pause=0)
    assert container.starts == 2


def test_it_is_tried_only_once_more() -> None:
    container = FakeContainer(RUNC_FLAKE, RUNC_FLAKE)
    with pytest.raises(docker.errors.APIError):
        start_container(container, pause=0)
    assert container.starts == 2


@pytest.mark.parametrize(
    "failure",
    ["No such image: x", "OCI runtime create failed: exec format error"],
)
def test_other_failures_are_not_retried(failure: str) -> None:
    container = FakeContainer(failure)
    with pytest.raises(docker.errors.APIError):
        start_container(container, pause=0)
    assert container.starts == 1
