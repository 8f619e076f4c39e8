"""A container created and started on the engine socket: the same request the SDK sends, a
runc flake started again, and nothing left behind when the start fails or is abandoned.

The real engine runs these paths in tests/integration/docker/test_early_start.py; the fake
one here can be made to fail at a chosen step and records what it was asked.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from docker.api.client import APIClient
from docker.models.containers import _create_container_args

from builder.docker.early_start import (
    LABEL,
    ContainerSpec,
    EarlyStart,
    build_spec,
    discard_pending,
)
from builder.docker.engine_socket import EngineRefusal

RUNC_FLAKE = (
    "failed to create task for container: failed to create shim task: OCI runtime create "
    "failed: runc create failed: unable to start container process: read init-p: "
    "connection reset by peer: unknown"
)


def spec(**changes: Any) -> ContainerSpec:
    settings: dict[str, Any] = {
        "environment": {"PIP_INDEX_URL": "http://127.0.0.1:1/simple", "EMPTY": ""},
        "network_mode": "host",
        "volumes": {"lb-cache": {"bind": "/lambda-builder-cache", "mode": "rw"}},
        "target": "python3.11/arm64",
        "first_process": ["/var/lang/bin/python3", "-c", "print('x')", "/tmp/s.sock"],
    }
    settings.update(changes)
    platform = settings.pop("platform", "linux/arm64")
    return build_spec("lambda-builder/builder:abc", platform, **settings)


def sdk_body(container: ContainerSpec) -> dict[str, Any]:
    """What docker-py posts to /containers/create for the same arguments (nulls dropped)."""
    arguments = _create_container_args({**container.sdk_arguments(), "version": "1.45"})
    arguments.pop("platform", None)
    api = APIClient(base_url="unix:///nonexistent.sock", version="1.45")
    config = api.create_container_config(**arguments)
    return {key: value for key, value in config.items() if value is not None}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"network_mode": None, "volumes": {}},
        {"platform": None, "first_process": None, "environment": {}},
        {"volumes": {"/host/out": {"bind": "/out", "mode": "ro"}, "v2": {"bind": "/w"}}},
    ],
    ids=["host-network-and-cache", "default-network", "sleep-no-platform", "binds"],
)
def test_the_request_is_the_one_the_sdk_sends(changes: dict[str, Any]) -> None:
    container = spec(**changes)
    endpoint, body = container.create_request()
    assert body == sdk_body(container)
    assert body["Labels"] == {LABEL: "python3.11/arm64"}
    expected = "/containers/create" + (
        f"?platform={container.platform.replace('/', '%2F')}" if container.platform else ""
    )
    assert endpoint == expected


class FakeEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Answers create, start and delete; ``failures`` are the start's answers, in turn."""

    daemon_threads = True

    def __init__(self, path: str):
        super().__init__(path, _Handler)
        self.asked: list[tuple[str, str, Any]] = []
        self.start_failures: list[tuple[int, str]] = []
        self.create_failure: tuple[int, str] | None = None


class _Handler(BaseHTTPRequestHandler):
    server: FakeEngine

    def _answer(self, status: int, body: object = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.asked.append(("POST", self.path, body))
        if self.path.startswith("/containers/create"):
            failure = self.server.create_failure
            if failure:
                self._answer(failure[0], {"message": failure[1]})
            else:
                self._answer(201, {"Id": "c0ffee", "Warnings": []})
        elif self.server.start_failures:
            status, message = self.server.start_failures.pop(0)
            self._answer(status, {"message": message})
        else:
            self._answer(204)

    def do_DELETE(self) -> None:
        self.server.asked.append(("DELETE", self.path, None))
        self._answer(204)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def address_string(self) -> str:
        return "local"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    server = FakeEngine(str(tmp_path / "docker.sock"))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def calls(engine: FakeEngine) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _ in engine.asked]


def test_a_container_is_created_started_and_handed_over(engine: FakeEngine) -> None:
    early = EarlyStart(engine.server_address, spec())  # type: ignore[arg-type]
    assert early.wait() == "c0ffee"
    early.release()
    discard_pending()  # it is no longer this module's: nothing is removed
    assert calls(engine) == [
        ("POST", "/containers/create?platform=linux%2Farm64"),
        ("POST", "/containers/c0ffee/start"),
    ]
    assert engine.asked[0][2] == spec().create_request()[1]


def test_a_runc_flake_is_started_once_more(engine: FakeEngine) -> None:
    engine.start_failures = [(500, RUNC_FLAKE)]
    early = EarlyStart(engine.server_address, spec(), pause=0)  # type: ignore[arg-type]
    assert early.wait() == "c0ffee"
    assert calls(engine)[1:] == [("POST", "/containers/c0ffee/start")] * 2


@pytest.mark.parametrize(
    "failures",
    [
        [(500, "OCI runtime create failed: exec /var/lang/bin/python3: exec format error")],
        [(500, RUNC_FLAKE), (500, RUNC_FLAKE)],
        [(404, "No such container: c0ffee")],
    ],
    ids=["exec-format", "flake-twice", "other"],
)
def test_a_failed_start_removes_the_container_and_says_why(
    engine: FakeEngine, failures: list[tuple[int, str]]
) -> None:
    engine.start_failures = list(failures)
    early = EarlyStart(engine.server_address, spec(), pause=0)  # type: ignore[arg-type]
    with pytest.raises(EngineRefusal) as caught:
        early.wait()
    assert caught.value.message == failures[-1][1]
    assert calls(engine)[-1] == ("DELETE", "/containers/c0ffee?force=1&v=1")
    starts = [("POST", "/containers/c0ffee/start")] * len(failures)  # a flake: once more
    assert calls(engine)[1:-1] == starts


def test_a_refused_create_leaves_nothing_to_remove(engine: FakeEngine) -> None:
    engine.create_failure = (404, "No such image: lambda-builder/builder:abc")
    early = EarlyStart(engine.server_address, spec())  # type: ignore[arg-type]
    with pytest.raises(EngineRefusal, match="No such image"):
        early.wait()
    assert calls(engine) == [("POST", "/containers/create?platform=linux%2Farm64")]


def test_ctrl_c_before_the_handover_removes_the_container(engine: FakeEngine) -> None:
    early = EarlyStart(engine.server_address, spec())  # type: ignore[arg-type]
    early.wait()  # started, never released
    discard_pending()
    assert calls(engine)[-1] == ("DELETE", "/containers/c0ffee?force=1&v=1")
    discard_pending()  # once
    assert [c for c in calls(engine) if c[0] == "DELETE"] == [
        ("DELETE", "/containers/c0ffee?force=1&v=1")
    ]


def test_no_engine_on_the_socket_is_an_os_error(tmp_path: Path) -> None:
    early = EarlyStart(str(tmp_path / "absent.sock"), spec())
    with pytest.raises(OSError):
        early.wait()
