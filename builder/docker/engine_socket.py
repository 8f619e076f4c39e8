"""Requests to an engine on a local socket, without the docker SDK.

A warm build asks the engine half a dozen questions (``/info``, image inspects) and runs
nothing. Importing the SDK and requests for them costs about 70 ms, more than the answers.
A cold build creates and starts its container here while the SDK is imported
(early_start.py); the SDK runs everything after that (engine.Engine.client).
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import quote

SCHEME = "unix://"


class EngineRefusal(Exception):
    """The engine answered with an HTTP error; ``message`` is what it said."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def socket_path(url: str) -> str | None:
    """The socket of a ``unix://`` engine URL; None for any other kind of engine."""
    return url[len(SCHEME) :] if url.startswith(SCHEME) else None


def get_json(path: str, endpoint: str, timeout: float = 60) -> Any:
    """GET ``endpoint`` (e.g. ``/info``); OSError when nothing answers on the socket."""
    return call(path, "GET", endpoint, timeout=timeout)


def call(path: str, method: str, endpoint: str, body: Any = None, timeout: float = 60) -> Any:
    """``body`` (if any) sent as JSON; the JSON answer, or None for an empty one (204)."""
    connection = _UnixConnection(path, timeout)
    try:
        if body is None:
            connection.request(method, endpoint)
        else:
            data = json.dumps(body).encode("utf-8")
            headers = {"Content-Type": "application/json"}
            connection.request(method, endpoint, body=data, headers=headers)
        response = connection.getresponse()
        answer = response.read()
    except http.client.HTTPException as error:  # not HTTP at all: another kind of socket
        raise OSError(f"no HTTP answer on {path}: {error!r}") from None
    finally:
        connection.close()
    if response.status >= 400:
        raise EngineRefusal(response.status, _message(answer) or response.reason)
    return json.loads(answer) if answer.strip() else None


def image_endpoint(reference: str) -> str:
    """Slashes and the tag's colon stay as they are, as the docker CLI sends them."""
    return f"/images/{quote(reference, safe='/:')}/json"


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace").strip()
