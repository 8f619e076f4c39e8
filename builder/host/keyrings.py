"""Index credentials from this machine's keyring, asked the way pip's ``--keyring-provider`` asks.

``import`` uses the keyring library installed beside lambda-builder; ``subprocess`` runs the
``keyring`` executable on PATH; ``auto`` takes the first of the two that is here and says
nothing when neither is. Each index is asked by its URL, then by its host (``host:port``), as
pip does. Answers are kept for the build, so targets built side by side ask once per index.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from builder.config import KEYRING_PROVIDERS
from builder.credentials import Credentials
from builder.errors import UsageError
from builder.pip_settings import pip_config_value
from builder.redact import redact

# Long enough for every target of one build; short enough that a process running builds for
# hours (an API user) does not hand pip a token its backend has since replaced.
CACHE_SECONDS = 600.0
TIMEOUT_SECONDS = 120.0
_BACKEND_HINT = (
    "install keyring with your index's backend, e.g. pip install 'lambda-builder[keyring]' "
    "keyrings.codeartifact (or keyrings.google-artifactregistry-auth)"
)


class KeyringFailure(Exception):
    """A backend that raised, an executable that failed: the build goes on without keyring."""

    def __init__(self, message: str, *, no_backend: bool = False):
        super().__init__(message)
        self.no_backend = no_backend  # keyring is here, but found no backend to ask


class Backend(Protocol):
    name: str

    def get(self, service: str, username: str | None) -> Credentials | None: ...


def _credentials(username: str | None, password: str | None) -> Credentials | None:
    return Credentials(username or "", password or "") if username or password else None


def _failure(error: BaseException) -> KeyringFailure:
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return KeyringFailure(text, no_backend=type(error).__name__ == "NoKeyringError")


class LibraryBackend:
    """``import``: ``keyring.get_credential(service, username)`` in this Python."""

    name = "keyring (library)"

    def __init__(self, module: Any):
        self.module = module

    def get(self, service: str, username: str | None) -> Credentials | None:
        try:
            found = self.module.get_credential(service, username)
        except Exception as error:
            raise _failure(error) from None
        if found is None:
            return None
        return _credentials(found.username or username, found.password)


Run = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


class ExecutableBackend:
    """``subprocess``: ``keyring --mode=creds --output=json get SERVICE [USERNAME]``, like pip.

    A keyring without ``--mode`` (pip wants 25.2.1 or later) is asked as pip once asked it,
    ``keyring get SERVICE USERNAME``, which needs the user name in the index URL.
    """

    def __init__(self, path: str, environ: Mapping[str, str], run: Run | None = None):
        self.name = f"keyring ({path})"
        self.path = path
        self.environ = {**environ, "PYTHONIOENCODING": "utf-8"}
        self.run = run or self._run
        self.old = False

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=self.environ,
            timeout=TIMEOUT_SECONDS,
        )

    def get(self, service: str, username: str | None) -> Credentials | None:
        if not self.old:
            user = [username] if username is not None else []
            done = self._call(["--mode=creds", "--output=json", "get", service, *user])
            if not (done.returncode == 2 and "unrecognized arguments" in done.stderr):
                return self._read_json(done, username)
            self.old = True
        if username is None:
            return None
        done = self._call(["get", service, username])
        if done.returncode != 0:
            _raise_for_stderr(done)
            return None
        return _credentials(username, done.stdout.rstrip("\r\n"))

    def _read_json(
        self, done: subprocess.CompletedProcess[str], username: str | None
    ) -> Credentials | None:
        if done.returncode != 0:
            _raise_for_stderr(done)
            return None
        try:
            data = json.loads(done.stdout)
            return _credentials(data.get("username") or username, data.get("password"))
        except (ValueError, AttributeError):
            raise KeyringFailure("it printed something other than JSON credentials") from None

    def _call(self, arguments: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            return self.run([self.path, *arguments])
        except subprocess.TimeoutExpired:
            raise KeyringFailure(f"no answer in {TIMEOUT_SECONDS:.0f} s") from None
        except OSError as error:
            raise _failure(error) from None


def _raise_for_stderr(done: subprocess.CompletedProcess[str]) -> None:
    """Exit 1 is keyring's "not found", unless a backend's traceback says it raised."""
    lines = done.stderr.strip().splitlines()
    if done.returncode == 1 and not any(line.startswith("Traceback") for line in lines):
        return
    reason = lines[-1] if lines else f"exit status {done.returncode}"
    raise KeyringFailure(reason, no_backend="NoKeyringError" in done.stderr)


class BrokenBackend:
    """A keyring library that failed to import: said once, at the first question."""

    name = "keyring (library)"

    def __init__(self, error: BaseException):
        self.error = error

    def get(self, service: str, username: str | None) -> Credentials | None:
        raise _failure(self.error)


class IndexKeyring:
    """One backend's answers for index URLs, asked once per service and user for the build."""

    def __init__(
        self,
        backend: Backend,
        *,
        quiet: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.backend = backend
        self.quiet = quiet  # auto: a keyring with no backend at all is not worth a warning
        self.clock = clock
        self._answers: dict[tuple[str, str | None], tuple[float, Credentials | None]] = {}
        self._failed_at: float | None = None
        self._warnings: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, url: str, username: str | None) -> Credentials | None:
        """The index URL is more specific than its host, so it is asked first (as pip does)."""
        netloc = urlsplit(url).netloc.rpartition("@")[2]
        with self._lock:
            for service in dict.fromkeys([url, netloc]):
                found = self._ask(service, username) if service else None
                if found is not None:
                    return found
        return None

    def _ask(self, service: str, username: str | None) -> Credentials | None:
        now = self.clock()
        known = self._answers.get((service, username))
        if known is not None and now - known[0] < CACHE_SECONDS:
            return known[1]
        # A failing backend (locked, logged out) is not asked again for the build, as in pip.
        if self._failed_at is not None and now - self._failed_at < CACHE_SECONDS:
            return None
        try:
            found = self.backend.get(service, username)
        except KeyringFailure as failure:
            self._failed_at = now
            if not (self.quiet and failure.no_backend):
                self._warnings.append(
                    redact(
                        f"{self.backend.name} failed for {service}: {failure}; building "
                        "without credentials from keyring"
                    )
                )
            return None
        self._answers[(service, username)] = (now, found)
        return found

    def take_warnings(self) -> list[str]:
        """What went wrong since the last call (one target shows it, not every target)."""
        with self._lock:
            taken, self._warnings = self._warnings, []
        return taken


def resolve_provider(explicit: str | None, environ: Mapping[str, str]) -> str:
    """The option (or LAMBDA_BUILDER_KEYRING_PROVIDER), else pip's own settings, else auto."""
    for source, value in (
        ("--keyring-provider", explicit),
        ("PIP_KEYRING_PROVIDER", environ.get("PIP_KEYRING_PROVIDER")),
        ("pip's configuration (keyring-provider)", pip_config_value("keyring-provider", environ)),
    ):
        if value:
            if value not in KEYRING_PROVIDERS:
                raise UsageError(
                    f"{source}: unknown keyring provider {value!r}",
                    hint=f"use one of {', '.join(KEYRING_PROVIDERS)}",
                )
            return value
    return "auto"


def open_keyring(
    provider: str,
    environ: Mapping[str, str],
    *,
    which: Callable[[str], str | None] = shutil.which,
    import_module: Callable[[str], Any] = importlib.import_module,
) -> IndexKeyring | None:
    """The backend ``provider`` names; an explicit one that is missing is a usage error."""
    broken = None
    if provider in ("import", "auto"):
        try:
            return IndexKeyring(LibraryBackend(import_module("keyring")), quiet=provider == "auto")
        except ImportError:
            if provider == "import":
                raise UsageError(
                    "--keyring-provider import: the keyring library is not installed in the "
                    "Python that runs lambda-builder",
                    hint=f"{_BACKEND_HINT}, or use --keyring-provider subprocess",
                ) from None
        except Exception as error:  # installed but broken: pip warns and tries the executable
            broken = IndexKeyring(BrokenBackend(error))
    if provider in ("subprocess", "auto"):
        path = which("keyring")
        if path is not None:
            return IndexKeyring(ExecutableBackend(path, environ), quiet=provider == "auto")
        if provider == "subprocess":
            raise UsageError(
                "--keyring-provider subprocess: no keyring executable on PATH",
                hint="pipx install keyring, then pipx inject keyring with your index's "
                "backend (keyrings.codeartifact, keyrings.google-artifactregistry-auth)",
            )
    return broken


class DeferredKeyring:
    """``auto``'s keyring, opened at the first question: most builds ask none (no private
    index), and importing keyring and its backends costs a warm build a noticeable share."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ
        self._opened: IndexKeyring | None = None
        self._tried = False
        self._lock = threading.Lock()

    def _keyring(self) -> IndexKeyring | None:
        with self._lock:
            if not self._tried:
                self._opened = open_keyring("auto", self.environ)
                self._tried = True
            return self._opened

    def __call__(self, url: str, username: str | None) -> Credentials | None:
        keyring = self._keyring()
        return keyring(url, username) if keyring is not None else None

    def take_warnings(self) -> list[str]:
        return self._opened.take_warnings() if self._opened is not None else []


_OPENED: dict[str, IndexKeyring | DeferredKeyring | None] = {}
_OPENING = threading.Lock()


def index_keyring(
    explicit: str | None, environ: Mapping[str, str] | None = None
) -> IndexKeyring | DeferredKeyring | None:
    """The keyring every target of this process's builds shares (None: keyring is not used).

    An explicit provider is opened now, so a missing one fails before anything starts.
    """
    environ = os.environ if environ is None else environ
    provider = resolve_provider(explicit, environ)
    if provider == "disabled":
        return None
    with _OPENING:
        if provider not in _OPENED:
            _OPENED[provider] = (
                DeferredKeyring(environ) if provider == "auto" else open_keyring(provider, environ)
            )
        return _OPENED[provider]


def take_warnings(keyring: IndexKeyring | DeferredKeyring | None) -> list[str]:
    return keyring.take_warnings() if keyring is not None else []
