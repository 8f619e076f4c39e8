"""A warm pip: imported once when the build container starts, forked for every pip call.

Starting pip costs an interpreter and ~200 ms of imports natively, ~2 s under QEMU, and a build
starts pip at least once, an sdist build once per package. The host makes this module the build
container's first process (``python -c <this source> SOCKET``, in place of ``sleep``), so pip is
imported while the host copies the job in and starts the pipeline. The pipeline's runner asks
it over a unix socket for each pip call (``start``), passing the command, the environment, the
working directory and the write end of its output pipe; a forked child runs the call with that
environment and reports the exit code. The child runs exactly what a new process would: the
same interpreter, the same pip, the pipeline's shim module, the caller's environment.

Anything unexpected means the old way: a server that cannot start (an old Python, no pip) keeps
the container alive as ``sleep`` did, and a call it declines or cannot take is spawned as a
process. Only the standard library: the source runs before the pipeline is copied in.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import importlib
import json
import os
import select
import socket
import sys
import time
import traceback
from typing import Any, BinaryIO, NoReturn, TextIO

SOCKET_VARIABLE = "LAMBDA_BUILDER_PIP_SERVER"
# lambda-builder's own pip, byte-compiled into the builder image (images/install-pip.sh).
BUNDLED_PIP = "/opt/lambda-builder/pip"
SHIM_SUFFIX = ".pip_shim"
LOADING_SUFFIX = ".loading"  # beside the socket while pip is being imported
LOADING_WAIT = 30.0  # seconds a caller waits for that (a few under QEMU) before spawning pip
HANDSHAKE_WAIT = 60.0
LAZY_FLAG = "--lazy"
ACCEPTED = b"accepted\n"

# What a pip download or wheel imports beyond its entry point (measured in a builder image).
PRELOAD = (
    "pip._internal.cli.main",
    "pip._internal.cli.main_parser",
    "pip._internal.cli.autocompletion",
    "pip._internal.commands.download",
    "pip._internal.commands.wheel",
    "pip._internal.commands.index",
    "pip._internal.resolution.resolvelib.resolver",
    "pip._internal.resolution.resolvelib.factory",
    "pip._internal.resolution.resolvelib.provider",
    "pip._internal.resolution.resolvelib.reporter",
    "pip._internal.metadata.importlib",
    "pip._internal.utils.wheel",
    "pip._vendor.distro",
    "pip._vendor.truststore",
    "netrc",
)


# --- server (the container's first process) ----------------------------------------------


def serve(path: str, lazy: bool = False) -> None:
    """Never returns and never raises: the container lives as long as this process.

    ``lazy``: pip is imported at the first call, not at once (an emulated container that may
    never run pip should not spend seconds of emulated CPU beside the builds it runs).
    """
    loading = path + LOADING_SUFFIX
    try:
        if not lazy:
            with open(loading, "w"):
                pass
            _preload()
        listener = _listen(path)
    except BaseException:  # any failure: stay alive as `sleep` would, callers spawn pip
        _log("not serving: " + _last_error())
        listener = None
    with contextlib.suppress(OSError):
        os.remove(loading)
    if listener is None:
        _sleep_forever()
    _log(f"serving on {path}, " + ("pip imported at the first call" if lazy else _pip_version()))
    imported: bool | None = None if lazy else True
    while True:
        try:
            ready, _, _ = select.select([listener], [], [], 5.0)
            _reap()
            if ready and imported is None:
                imported = _preloaded()
            if ready:
                _take(listener, bool(imported))
        except BaseException:  # one bad request must not end the container
            _log("request failed: " + _last_error())


def _preloaded() -> bool:
    try:
        _preload()
    except BaseException:  # every call is then declined: its caller spawns pip
        _log("cannot import pip: " + _last_error())
        return False
    _log(_pip_version())
    return True


def _last_error() -> str:
    return traceback.format_exc(limit=1).strip().replace("\n", " | ")


def _listen(path: str) -> socket.socket:
    """Listening only once pip is imported: a caller that finds the socket is served at once."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path + ".new")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".new")
    listener.listen(16)
    os.rename(path + ".new", path)
    return listener


def has_pip(directory: str) -> bool:
    """Whether ``directory`` on sys.path would import a pip package."""
    return os.path.isfile(os.path.join(directory, "pip", "__init__.py"))


def _preload() -> None:
    if has_pip(BUNDLED_PIP):
        sys.path.insert(0, BUNDLED_PIP)
    for name in PRELOAD:
        # Another pip may lack one: the call that needs it imports it.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from pip._internal.commands import create_command

    for command in ("download", "wheel"):
        create_command(command)


def _take(listener: socket.socket, serving: bool) -> None:
    connection, _ = listener.accept()
    output = -1
    try:
        connection.settimeout(10.0)
        output, request = _receive(connection)
        if not serving:
            connection.sendall(b"declined pip could not be imported\n")
            return
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child ends in os._exit
            listener.close()
            _child(connection, output, request)
    finally:
        if output >= 0:
            os.close(output)
        connection.close()


def _receive(connection: socket.socket) -> tuple[int, dict[str, Any]]:
    fds = array.array("i")
    data, ancillary, _, _ = connection.recvmsg(1 << 16, socket.CMSG_LEN(fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise ValueError("a request carries exactly one output descriptor")
    chunks = [data]
    while True:
        chunk = connection.recv(1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    return fds[0], json.loads(b"".join(chunks).decode("utf-8"))


def _child(connection: socket.socket, output: int, request: dict[str, Any]) -> None:
    code = 1
    try:
        argv, env, cwd = list(request["argv"]), dict(request["env"]), str(request["cwd"])
        reason = _declined(argv, env)
        if reason:
            connection.sendall(f"declined {reason}\n".encode())
            os._exit(0)
        connection.sendall(ACCEPTED)
        _log(f"pip {' '.join(argv[3:4])} (process {os.getpid()})")
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(null)
        os.close(output)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        for entry in reversed(_python_path(env)):
            if entry not in sys.path:
                sys.path.insert(0, entry)
        module = importlib.import_module(argv[2])
        sys.argv = [str(module.__file__), *argv[3:]]
        code = int(module.main(argv[3:]) or 0)
    except SystemExit as exit:  # as the interpreter would exit with it
        if exit.code is None or isinstance(exit.code, int):
            code = exit.code or 0
        else:
            sys.stderr.write(f"{exit.code}\n")
            code = 1
    except BaseException:  # reported as pip's own crash would be
        traceback.print_exc()
        code = 1
    finally:
        try:
            atexit._run_exitfuncs()  # what the call registered; then no interpreter teardown
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            connection.sendall(f"{code}\n".encode())
        finally:
            os._exit(code & 0xFF)


def _is_pip_call(argv: list[str]) -> bool:
    return len(argv) >= 3 and argv[1] == "-m" and argv[2].endswith(SHIM_SUFFIX)


def _declined(argv: list[str], env: dict[str, str]) -> str:
    """Why this process cannot stand in for ``argv`` started with ``env`` (empty: it can)."""
    if not _is_pip_call(argv):
        return "not a pip call"
    if os.path.realpath(argv[0]) != os.path.realpath(sys.executable):
        return f"another interpreter ({argv[0]})"
    wanted = next((entry for entry in _python_path(env) if has_pip(entry)), None)
    pip = sys.modules.get("pip")
    loaded = os.path.dirname(os.path.dirname(str(getattr(pip, "__file__", "")))) if pip else None
    if wanted is not None and loaded is not None and wanted != loaded:
        return f"another pip ({wanted})"
    if wanted is None and loaded == BUNDLED_PIP:
        return "the image's own pip"
    return ""


def _python_path(env: dict[str, str]) -> list[str]:
    return [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]


def _reap() -> None:
    """Children and orphans the container's first process inherits: never waited for else."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _pip_version() -> str:
    pip = sys.modules.get("pip")
    return f"pip {getattr(pip, '__version__', '?')}"


def _log(message: str) -> None:
    """To the container's log (``docker logs``), for whoever keeps a container to look."""
    sys.stdout.write(f"lambda-builder pip server: {message}\n")
    sys.stdout.flush()


def _sleep_forever() -> NoReturn:
    while True:
        try:
            _reap()
            time.sleep(60)
        except BaseException:  # as unkillable as `sleep infinity`
            pass


# --- client (the pipeline's runner) ------------------------------------------------------


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
    if not path or not _is_pip_call(argv) or not hasattr(socket, "CMSG_LEN"):
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


if __name__ == "__main__":
    serve(sys.argv[1], lazy=LAZY_FLAG in sys.argv[2:])
