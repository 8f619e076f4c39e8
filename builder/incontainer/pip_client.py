"""The pipeline's side of the warm pip (``pip_server``): hand it a pip call, read its output.

A call the server is not there for, or declines, returns None: the caller spawns pip itself.
"""

from __future__ import annotations

import array
import json
import os
import socket
import time
from typing import BinaryIO, TextIO

from .pip_server import ACCEPTED, HANDSHAKE_WAIT, LOADING_SUFFIX, LOADING_WAIT, is_pip_call


class ServedCall:
    """A pip call the server took: its merged output as a text stream, then its exit code."""

    def __init__(self, stdout: TextIO, connection: socket.socket, answers: BinaryIO):
        self.stdout = stdout
        self._connection = connection
        self._answers = answers

    def wait(self) -> int:
        self.stdout.close()
        try:
            text = self._answers.read().decode("ascii", "replace").strip()
        finally:
            self._answers.close()
            self._connection.close()
        return int(text) if text.lstrip("-").isdigit() else -1  # -1: the child died unheard


def start(path: str, argv: list[str], env: dict[str, str]) -> ServedCall | None:
    """The call running in a fork of the server, or None when it is not there or declines."""
    if not path or not is_pip_call(argv) or not hasattr(socket, "CMSG_LEN"):
        return None
    if not _listening(path):
        return None
    read_end, write_end = os.pipe()
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # Until the server answers; a timeout leaves the call unrun (its child cannot answer).
        connection.settimeout(HANDSHAKE_WAIT)
        connection.connect(path)
        request = json.dumps({"argv": argv, "env": env, "cwd": os.getcwd()}).encode("utf-8")
        fds = array.array("i", [write_end])
        sent = connection.sendmsg(
            [request[:1]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())]
        )
        connection.sendall(request[sent:])
        connection.shutdown(socket.SHUT_WR)
        answers = connection.makefile("rb")  # the exit code follows this first line
        answer = answers.readline()
        connection.settimeout(None)  # a call takes as long as it takes
    except OSError:
        answer = b""
    finally:
        os.close(write_end)
    if answer != ACCEPTED:
        os.close(read_end)
        connection.close()
        return None
    stdout = open(read_end, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed in wait
    return ServedCall(stdout, connection, answers)


def _listening(path: str) -> bool:
    """Whether the server is up, waiting while it is still importing pip."""
    deadline = time.monotonic() + LOADING_WAIT
    while not os.path.exists(path):
        if not os.path.exists(path + LOADING_SUFFIX) or time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True
