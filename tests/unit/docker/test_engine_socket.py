"""Asking a local engine over its socket, against a small HTTP server on a real unix socket.

The real engine answers the same questions in every integration test; this one can be made
to refuse, to be absent, or to record what it was asked.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from builder.docker.engine import ENGINE_HINT, connect
from builder.errors import DockerError

IMAGE = "public.ecr.aws/lambda/python:3.12-arm64"


class FakeEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, answers: dict[str, tuple[int, object]]):
        super().__init__(path, _Handler)
        self.answers = answers
        self.asked: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: FakeEngine

    def do_GET(self) -> None:
        self.server.asked.append(self.path)
        status, body = self.server.answers.get(self.path, (404, {"message": "page not found"}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def address_string(self) -> str:  # a unix socket's peer has no host and port
        return "local"


@pytest.fixture
def engine_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:
    path = tmp_path / "docker.sock"
    answers: dict[str, tuple[int, object]] = {
        "/info": (
            200,
            {
                "Architecture": "x86_64",
                "OperatingSystem": "Debian",
                "SecurityOptions": ["name=rootless"],
            },
        ),
    }
    server = FakeEngine(str(path), answers)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_connect_reads_the_engine_facts_from_info(engine_socket: FakeEngine) -> None:
    engine = connect()
    assert (engine.machine, engine.desktop, engine.security_options) == (
        "x86_64",
        False,
        ("name=rootless",),
    )
    assert engine.sdk is None  # nothing has needed the SDK yet
    assert engine_socket.asked == ["/info"]


def test_an_image_is_inspected_by_its_reference_as_written(engine_socket: FakeEngine) -> None:
    engine_socket.answers[f"/images/{IMAGE}/json"] = (
        200,
        {"Id": "sha256:abc", "Architecture": "arm64"},
    )
    engine = connect()
    assert engine.inspect_image(IMAGE) == {"Id": "sha256:abc", "Architecture": "arm64"}
    assert engine.image_id(IMAGE) == "sha256:abc"


def test_an_absent_image_is_none_and_its_id_an_error_naming_it(engine_socket: FakeEngine) -> None:
    engine = connect()
    assert engine.inspect_image("missing:1") is None
    with pytest.raises(DockerError, match="no image missing:1 in the engine at unix://"):
        engine.image_id("missing:1")


def test_an_engine_error_while_inspecting_says_what_the_engine_said(
    engine_socket: FakeEngine,
) -> None:
    engine_socket.answers[f"/images/{IMAGE}/json"] = (500, {"message": "layer store broken"})
    with pytest.raises(DockerError, match=f"cannot inspect image {IMAGE}: 500: layer store broken"):
        connect().inspect_image(IMAGE)


def test_no_engine_on_the_socket_is_an_error_with_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/absent.sock")
    with pytest.raises(DockerError) as caught:
        connect()
    assert f"no Docker engine answers at unix://{tmp_path}/absent.sock" in caught.value.message
    assert caught.value.hint == ENGINE_HINT


def test_a_socket_that_does_not_speak_http_is_no_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Silent(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(1024)
            self.request.sendall(b"SSH-2.0-OpenSSH\r\n")

    path = tmp_path / "other.sock"
    server = socketserver.UnixStreamServer(str(path), Silent)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    try:
        with pytest.raises(DockerError, match="no Docker engine answers"):
            connect()
    finally:
        server.shutdown()
        server.server_close()
