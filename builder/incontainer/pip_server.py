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
import ssl
import sys
import threading
import time
import traceback
import weakref
from typing import Any, NoReturn

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
    # OpenSSL reads the CA files without the GIL: beside the imports, not after them.
    imported = threading.Event()
    warming = threading.Thread(target=_warm_certificates, args=(imported,), daemon=True)
    warming.start()
    try:
        for name in PRELOAD:
            # Another pip may lack one: the call that needs it imports it.
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        from pip._internal.commands import create_command

        for command in ("download", "wheel"):
            create_command(command)
    finally:
        imported.set()
        warming.join()  # no thread may run when the server forks


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
        if _ca_settings(env) != _WARMED_FOR:
            _forget_warm_certificates()
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


# --- certificates: each CA file read once ---------------------------------------------------
# pip's TLS context (truststore) adds the system's CA file for every connection it opens, and
# urllib3 loads pip's --cert file into that same context again each time: ~20 ms per load and
# two to four loads per connection here (the bundle of a TLS-intercepting network is as big as
# the system's). Loading a file the context already holds changes nothing, so a repeat load is
# skipped; and the server loads what every call will need once, before it forks them.

# What decides which CA files a call loads (pip, requests, OpenSSL, pip's certifi).
CA_VARIABLES = (
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "_PIP_STANDALONE_CERT",
)
_WARMED_FOR: dict[str, str] | None = None  # the CA settings the preloaded context was made for


def _ca_settings(env: dict[str, str]) -> dict[str, str]:
    return {name: env[name] for name in CA_VARIABLES if name in env}


def _file_identity(path: Any) -> tuple[int, ...] | None:
    """A file that changes is a new file (its certificates are loaded again)."""
    try:
        info = os.stat(path)
    except (OSError, TypeError, ValueError):
        return None
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def load_certificates_once() -> bool:
    """Make repeat CA loads into one TLS context no-ops (False: this pip has no truststore)."""
    try:
        from pip._vendor.truststore import _api as truststore_api
    except ImportError:
        return False
    _api: Any = truststore_api  # patched below: private names of the vendored truststore
    if getattr(_api, "_lambda_builder_once", False):
        return True
    configure = getattr(_api, "_configure_context", None)
    load = getattr(_api.SSLContext, "load_verify_locations", None)
    if configure is None or load is None:
        return False
    configured: weakref.WeakKeyDictionary[Any, tuple[Any, ...]] = weakref.WeakKeyDictionary()
    loaded: weakref.WeakKeyDictionary[Any, set[tuple[Any, ...]]] = weakref.WeakKeyDictionary()

    @contextlib.contextmanager
    def configure_once(context: Any) -> Any:
        paths = ssl.get_default_verify_paths()  # SSL_CERT_FILE / SSL_CERT_DIR as of now
        key = (paths.cafile, paths.capath, _file_identity(paths.cafile))
        if configured.get(context) == key:
            yield
            return
        with configure(context):
            configured[context] = key
            yield

    def load_once(self: Any, cafile: Any = None, capath: Any = None, cadata: Any = None) -> Any:
        if cadata is not None or (cafile is None and capath is None):
            return load(self, cafile, capath, cadata)
        key = (cafile, capath, _file_identity(cafile) if cafile else _file_identity(capath))
        done = loaded.setdefault(self, set())
        if key[2] is not None and key in done:
            return None
        result = load(self, cafile, capath, cadata)
        done.add(key)
        return result

    _api._configure_context = configure_once
    _api.SSLContext.load_verify_locations = load_once
    _api._lambda_builder_once = True
    return True


def _warm_certificates(imported: threading.Event) -> None:
    """Load into pip's shared TLS context what each call's connections would: the system's
    CA file and the file requests verifies with (its variables first, then pip's --cert, then
    certifi, which pip's context holds anyway). A call whose CA settings differ from this
    process's drops this context (``_forget_warm_certificates``): it never trusts more.

    The host copies a --ca-bundle in just after the container starts: waited for while pip
    is imported, then left to each call."""
    global _WARMED_FOR
    try:
        if not load_certificates_once():
            return
        from pip._internal.cli import index_command
        from pip._vendor import certifi
        from pip._vendor.truststore import _api as truststore_api

        _api: Any = truststore_api
        context: Any = index_command._create_truststore_ssl_context()
        if context is None:
            return
        variables = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT")
        verify = next((os.environ[name] for name in variables if os.environ.get(name)), None)
        verify = verify or certifi.where()
        expected = [path for path in (os.environ.get("SSL_CERT_FILE"), verify) if path]
        while not all(os.path.exists(path) for path in expected) and not imported.wait(0.005):
            pass
        with _api._configure_context(context._ctx):
            pass
        if os.path.isfile(verify):
            context.load_verify_locations(verify)
        _WARMED_FOR = _ca_settings(dict(os.environ))
    except Exception:  # each call then reads its certificates itself
        _log("certificates not preloaded: " + _last_error())


def _forget_warm_certificates() -> None:
    if _WARMED_FOR is None:
        return
    from pip._internal.cli import index_command

    index_command._create_truststore_ssl_context.cache_clear()


def is_pip_call(argv: list[str]) -> bool:
    return len(argv) >= 3 and argv[1] == "-m" and argv[2].endswith(SHIM_SUFFIX)


def _declined(argv: list[str], env: dict[str, str]) -> str:
    """Why this process cannot stand in for ``argv`` started with ``env`` (empty: it can)."""
    if not is_pip_call(argv):
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


if __name__ == "__main__":
    serve(sys.argv[1], lazy=LAZY_FLAG in sys.argv[2:])
