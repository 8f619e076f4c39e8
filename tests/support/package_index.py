"""A PEP 503 simple package index served over HTTP on 127.0.0.1 for tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "SETUPTOOLS_VERSION",
    "WHEEL_VERSION",
    "AccessRecord",
    "PackageIndex",
    "build_tools_wheels",
    "hermetic_pip_env",
    "project_of",
]

SETUPTOOLS_VERSION = "80.9.0"
"""Requires-Python >=3.9, has bdist_wheel built in, works up to Python 3.14."""

WHEEL_VERSION = "0.45.1"
"""Requires-Python >=3.8 and has no dependencies (0.46+ needs ``packaging``)."""

_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_of(filename: str) -> str:
    """Return the canonical project name of a wheel or sdist file name."""
    if filename.endswith(".whl"):
        return _canonical(filename.split("-")[0])
    for suffix in _SDIST_SUFFIXES:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            if "-" in stem:
                return _canonical(stem.rsplit("-", 1)[0])
    raise ValueError(f"cannot tell the project of {filename!r}; pass project= explicitly")


@dataclass(frozen=True)
class AccessRecord:
    """One request the index answered."""

    method: str
    path: str
    status: int
    authenticated: bool
    user_agent: str


class _IndexServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], index: PackageIndex) -> None:
        self.index = index
        super().__init__(address, _IndexHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients dropping connections must not print tracebacks on stderr.
        self.index._record_error(traceback.format_exc())


class _IndexHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lambda-builder-test-index/1"
    timeout = 60  # idle keep-alive connections are closed after this

    @property
    def _index(self) -> PackageIndex:
        server = self.server
        assert isinstance(server, _IndexServer)
        return server.index

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: requests are recorded in the index's access log instead."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        headers = getattr(self, "headers", None)
        self._index._record(
            AccessRecord(
                method=getattr(self, "command", None) or "",
                path=unquote(urlsplit(getattr(self, "path", "")).path),
                status=int(code) if str(code).isdigit() else 0,
                authenticated=self._authenticated(),
                user_agent=headers.get("User-Agent", "") if headers is not None else "",
            )
        )

    def _authenticated(self) -> bool:
        expected = self._index._expected_authorization
        if expected is None:
            return True
        headers = getattr(self, "headers", None)
        given = headers.get("Authorization", "") if headers is not None else ""
        return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        index = self._index
        path = unquote(urlsplit(self.path).path)
        if not self._authenticated():
            self._respond(
                HTTPStatus.UNAUTHORIZED,
                b"authentication required\n",
                "text/plain; charset=utf-8",
                send_body,
                {"WWW-Authenticate": 'Basic realm="lambda-builder test index"'},
            )
            return
        parts = [part for part in path.split("/") if part]
        if path in ("/", "/simple"):
            self._redirect("/simple/", send_body)
        elif parts == ["simple"]:
            self._html(index._root_page(), send_body)
        elif len(parts) == 2 and parts[0] == "simple":
            canonical = _canonical(parts[1])
            if canonical != parts[1] or not path.endswith("/"):
                self._redirect(f"/simple/{quote(canonical)}/", send_body)
                return
            page = index._project_page(canonical)
            if page is None or index._fails_once(canonical):
                self._not_found(send_body)
            else:
                self._html(page, send_body)
        elif len(parts) == 3 and parts[0] == "files":
            time.sleep(index.file_delay)
            file = index._lookup(parts[1], parts[2])
            if file is None:
                self._not_found(send_body)
            else:
                self._file(file, send_body)
        else:
            self._not_found(send_body)

    def _respond(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        send_body: bool,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _html(self, page: str, send_body: bool) -> None:
        self._respond(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8", send_body)

    def _redirect(self, location: str, send_body: bool) -> None:
        body = f"see {location}\n".encode()
        self._respond(
            HTTPStatus.MOVED_PERMANENTLY,
            body,
            "text/plain; charset=utf-8",
            send_body,
            {"Location": location},
        )

    def _not_found(self, send_body: bool) -> None:
        self._respond(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", send_body)

    def _file(self, file: Path, send_body: bool) -> None:
        try:
            stream = file.open("rb")
        except FileNotFoundError:
            self._not_found(send_body)
            return
        with stream:
            size = os.fstat(stream.fileno()).st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if send_body:
                shutil.copyfileobj(stream, self.wfile)


class PackageIndex:
    """A PEP 503 "simple" index over ``root/files/<project>/<file>``, served in a thread.

    Project pages are ``/simple/<canonical-name>/`` and link to ``/files/<project>/<file>``
    with ``#sha256=`` fragments.  Responses carry ``Cache-Control: no-store`` so pip's HTTP
    cache never keeps them (ports get reused between runs).  With ``username`` and
    ``password`` every request without matching HTTP basic credentials gets a 401 with a
    ``WWW-Authenticate`` header.  Files already under ``root/files`` are served too.
    """

    def __init__(
        self,
        root: Path,
        *,
        username: str | None = None,
        password: str | None = None,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
        file_delay: float = 0.0,
    ) -> None:
        """``file_delay``: seconds each file download waits first (a slow index)."""
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.root = Path(root)
        self.files_dir = self.root / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.tls = tls
        self.file_delay = file_delay
        self.missing_once: set[str] = set()  # projects whose next page request gets a 404
        self.username = username
        self.password = password
        self._expected_authorization: str | None = None
        if username is not None and password is not None:
            token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
            self._expected_authorization = f"Basic {token}"
        self._lock = threading.Lock()
        self._projects: dict[str, dict[str, str]] = {}  # project -> file name -> sha256 hex
        self._log: list[AccessRecord] = []
        self._errors: list[str] = []
        self._server: _IndexServer | None = None
        self._thread: threading.Thread | None = None
        for project_dir in sorted(self.files_dir.iterdir()):
            if project_dir.is_dir():
                for file in sorted(project_dir.iterdir()):
                    if file.is_file():
                        self._register(project_dir.name, file)

    # -- content -----------------------------------------------------------------------------

    def add(self, path: Path, *, project: str | None = None) -> Path:
        """Copy a distribution file into the index (works while serving); return the copy."""
        path = Path(path)
        name = _canonical(project) if project is not None else project_of(path.name)
        target = self.files_dir / name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.resolve() != target.resolve():
            shutil.copyfile(path, target)
        self._register(name, target)
        return target

    def add_all(self, paths: Iterable[Path]) -> list[Path]:
        """Add several distribution files; return their copies."""
        return [self.add(path) for path in paths]

    def remove(self, filename: str) -> None:
        """Stop serving (and delete) the file called ``filename``."""
        project = project_of(filename)
        with self._lock:
            files = self._projects.get(project)
            if files is not None:
                files.pop(filename, None)
                if not files:
                    del self._projects[project]
        (self.files_dir / project / filename).unlink(missing_ok=True)

    def _fails_once(self, project: str) -> bool:
        with self._lock:
            if project in self.missing_once:
                self.missing_once.discard(project)
                return True
            return False

    def projects(self) -> dict[str, list[str]]:
        """Return canonical project name -> sorted file names."""
        with self._lock:
            return {name: sorted(files) for name, files in sorted(self._projects.items())}

    def _register(self, project: str, file: Path) -> None:
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        with self._lock:
            self._projects.setdefault(project, {})[file.name] = digest

    def _lookup(self, project: str, filename: str) -> Path | None:
        with self._lock:
            if filename not in self._projects.get(project, {}):
                return None
        return self.files_dir / project / filename

    def _root_page(self) -> str:
        with self._lock:
            names = sorted(self._projects)
        links = "".join(
            f'    <a href="/simple/{quote(name)}/">{html.escape(name)}</a><br/>\n' for name in names
        )
        return _page("Simple index", links)

    def _project_page(self, project: str) -> str | None:
        with self._lock:
            files = self._projects.get(project)
            entries = sorted(files.items()) if files is not None else None
        if entries is None:
            return None
        links = "".join(
            f'    <a href="/files/{quote(project)}/{quote(filename)}#sha256={digest}">'
            f"{html.escape(filename)}</a><br/>\n"
            for filename, digest in entries
        )
        return _page(f"Links for {project}", links)

    # -- serving -----------------------------------------------------------------------------

    def start(self) -> PackageIndex:
        """Start serving on an ephemeral port; return self."""
        if self._server is not None:
            return self
        server = _IndexServer((self.host, 0), self)
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"package-index-{server.server_address[1]}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def __enter__(self) -> PackageIndex:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The TCP port (only while running)."""
        if self._server is None:
            raise RuntimeError("the package index is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` without a trailing slash."""
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The ``--index-url``: ``http://127.0.0.1:PORT/simple/`` (no credentials)."""
        return f"{self.base_url}/simple/"

    def url_with_credentials(self, username: str | None = None, password: str | None = None) -> str:
        """The index URL with (by default this index's) credentials: ``http://u:p@host/...``."""
        user = self.username if username is None else username
        secret = self.password if password is None else password
        if user is None or secret is None:
            raise ValueError("this index has no credentials; pass username and password")
        credentials = f"{quote(user, safe='')}:{quote(secret, safe='')}"
        return f"http://{credentials}@{self.host}:{self.port}/simple/"

    def file_url(self, filename: str) -> str:
        """The direct download URL of a file in the index."""
        return f"{self.base_url}/files/{quote(project_of(filename))}/{quote(filename)}"

    # -- access log --------------------------------------------------------------------------

    @property
    def requests(self) -> list[str]:
        """Paths of all requests answered so far (any status), oldest first."""
        with self._lock:
            return [record.path for record in self._log]

    @property
    def access_log(self) -> list[AccessRecord]:
        """All requests answered so far, oldest first."""
        with self._lock:
            return list(self._log)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of exceptions raised while handling requests (usually disconnects)."""
        with self._lock:
            return list(self._errors)

    def clear_log(self) -> None:
        """Forget recorded requests and errors."""
        with self._lock:
            self._log.clear()
            self._errors.clear()

    def downloads(self) -> list[str]:
        """File names fetched with a successful GET, oldest first."""
        return [
            record.path.rsplit("/", 1)[-1]
            for record in self.access_log
            if record.method == "GET" and record.status == 200 and record.path.startswith("/files/")
        ]

    def _record(self, record: AccessRecord) -> None:
        with self._lock:
            self._log.append(record)

    def _record_error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)


def _page(title: str, links: str) -> str:
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.0">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{html.escape(title)}</h1>\n{links}  </body>\n</html>\n"
    )


def hermetic_pip_env(
    overrides: Mapping[str, str] | None = None, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return ``base`` (default ``os.environ``) without ``PIP_*``, plus ``overrides``.

    ``--isolated`` is not enough on its own: pip's build-isolation subprocess (which installs
    build requirements) does not get ``--isolated`` and still reads ``PIP_*`` variables and
    config files, and ``PIP_CONFIG_FILE`` is honoured even in isolated mode.  So this sets
    ``PIP_CONFIG_FILE=/dev/null`` (skips every config file), drops the other ``PIP_*``
    variables, and disables pip's cache and version check in that subprocess too.
    """
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith("PIP_")
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_NO_CACHE_DIR"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.update(overrides or {})
    return env


def build_tools_wheels(
    cache_dir: Path,
    *,
    setuptools_version: str = SETUPTOOLS_VERSION,
    wheel_version: str = WHEEL_VERSION,
) -> list[Path]:
    """Return real ``setuptools`` and ``wheel`` py3-none-any wheels, cached in ``cache_dir``.

    Missing ones are fetched with the host's pip and its normal configuration (PyPI), then
    moved into the cache atomically, so concurrent callers are safe.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    wanted = {"setuptools": setuptools_version, "wheel": wheel_version}

    def cached(name: str, version: str) -> Path | None:
        path = cache_dir / f"{name}-{version}-py3-none-any.whl"
        return path if path.is_file() else None

    missing = [f"{name}=={ver}" for name, ver in wanted.items() if cached(name, ver) is None]
    if missing:
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as tmp:
            command = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--disable-pip-version-check",
                "--no-input",
                "--only-binary=:all:",
                "--no-deps",
                "-d",
                tmp,
                *missing,
            ]
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"{' '.join(command)} failed ({result.returncode}):\n"
                    f"{result.stdout}\n{result.stderr}"
                )
            for file in Path(tmp).glob("*.whl"):
                os.replace(file, cache_dir / file.name)
    paths = []
    for name, version in wanted.items():
        path = cached(name, version)
        if path is None:
            raise RuntimeError(f"pip did not produce {name}-{version}-py3-none-any.whl")
        paths.append(path)
    return paths


def credential_forms(user: str, password: str) -> tuple[str, ...]:
    """Every spelling of an index password a leak could take: raw, percent-encoded (in a
    URL) and inside a Basic authorization header."""
    return (
        password,
        quote(password, safe=""),
        base64.b64encode(f"{user}:{password}".encode()).decode(),
    )
