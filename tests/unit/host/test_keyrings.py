"""Index credentials from keyring: which provider, how each is asked, what is kept and said."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from builder.credentials import Credentials
from builder.errors import UsageError
from builder.host import keyrings
from builder.host.keyrings import (
    CACHE_SECONDS,
    BrokenBackend,
    ExecutableBackend,
    IndexKeyring,
    KeyringFailure,
    LibraryBackend,
    open_keyring,
    resolve_provider,
)
from tests.support.json_keyring import VARIABLE, JsonKeyring, asked, write_keyring

REPO_ROOT = Path(__file__).resolve().parents[3]
URL = "https://corp.example:8443/pypi/simple/"
# Beside this interpreter in a virtualenv; wherever pip put scripts for a system Python.
KEYRING_EXECUTABLE = next(
    (str(p) for p in [Path(sys.executable).parent / "keyring"] if p.is_file()),
    shutil.which("keyring") or "keyring",
)


class FakeBackend:
    """Answers from a dict keyed by (service, username); counts the questions."""

    name = "fake keyring"

    def __init__(self, answers: dict[tuple[str, str | None], Credentials], fail: str = ""):
        self.answers = answers
        self.fail = fail
        self.questions: list[tuple[str, str | None]] = []

    def get(self, service: str, username: str | None) -> Credentials | None:
        self.questions.append((service, username))
        if self.fail:
            raise KeyringFailure(self.fail, no_backend=self.fail == "no backend")
        return self.answers.get((service, username))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# Which provider


def test_the_option_wins_over_pips_variable_and_configuration(tmp_path: Path) -> None:
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nkeyring-provider = import\n")
    environ = {"PIP_CONFIG_FILE": str(config), "PIP_KEYRING_PROVIDER": "subprocess"}
    assert resolve_provider("disabled", environ) == "disabled"
    assert resolve_provider(None, environ) == "subprocess"
    assert resolve_provider(None, {"PIP_CONFIG_FILE": str(config)}) == "import"
    assert resolve_provider(None, {"PIP_CONFIG_FILE": os.devnull}) == "auto"


def test_pips_install_section_is_read_like_global(tmp_path: Path) -> None:
    config = tmp_path / "pip.conf"
    config.write_text(
        "[global]\nkeyring-provider = import\n[install]\nkeyring-provider = disabled\n"
    )
    assert resolve_provider(None, {"PIP_CONFIG_FILE": str(config)}) == "disabled"


def test_an_unknown_provider_names_where_it_came_from() -> None:
    with pytest.raises(UsageError, match="PIP_KEYRING_PROVIDER: unknown keyring provider 'yes'"):
        resolve_provider(None, {"PIP_KEYRING_PROVIDER": "yes", "PIP_CONFIG_FILE": os.devnull})


def _no_keyring(name: str) -> ModuleType:
    raise ImportError(f"No module named {name!r}")


def test_import_without_the_library_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="keyring library is not installed") as caught:
        open_keyring("import", {}, import_module=_no_keyring)
    assert "lambda-builder[keyring]" in (caught.value.hint or "")


def test_subprocess_without_an_executable_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no keyring executable on PATH"):
        open_keyring("subprocess", {}, which=lambda name: None)


def test_auto_without_either_says_nothing() -> None:
    assert open_keyring("auto", {}, which=lambda name: None, import_module=_no_keyring) is None


def test_auto_prefers_the_library_then_the_executable() -> None:
    library = open_keyring("auto", {}, which=lambda name: "/bin/keyring", import_module=ModuleType)
    assert library is not None and isinstance(library.backend, LibraryBackend)
    executable = open_keyring(
        "auto", {}, which=lambda name: "/opt/bin/keyring", import_module=_no_keyring
    )
    assert executable is not None and isinstance(executable.backend, ExecutableBackend)
    assert executable.backend.path == "/opt/bin/keyring"


def test_a_library_that_fails_to_load_is_a_warning_at_the_first_question() -> None:
    def broken(name: str) -> ModuleType:
        raise RuntimeError("backend plugin is incompatible")

    keyring = open_keyring("import", {}, import_module=broken)
    assert keyring is not None and isinstance(keyring.backend, BrokenBackend)
    assert keyring(URL, None) is None
    assert keyring.take_warnings() == [
        f"keyring (library) failed for {URL}: RuntimeError: backend plugin is incompatible; "
        "building without credentials from keyring"
    ]


def test_disabled_opens_nothing_and_keyrings_are_shared_by_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keyrings, "_OPENED", {})
    environ = {"PIP_CONFIG_FILE": os.devnull}
    assert keyrings.index_keyring("disabled", environ) is None
    first = keyrings.index_keyring("import", environ)
    assert first is not None and keyrings.index_keyring("import", environ) is first


def test_auto_opens_keyring_at_the_first_question_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyrings, "_OPENED", {})
    opened: list[str] = []
    backend = FakeBackend({(URL, None): Credentials("aws", "token")})

    def fake_open(provider: str, environ: object) -> IndexKeyring:
        opened.append(provider)
        return IndexKeyring(backend)

    monkeypatch.setattr(keyrings, "open_keyring", fake_open)
    keyring = keyrings.index_keyring("auto", {"PIP_CONFIG_FILE": os.devnull})
    assert keyring is not None and opened == [] and keyrings.take_warnings(keyring) == []
    assert keyring(URL, None) == Credentials("aws", "token")
    assert keyring("https://other.example/simple/", None) is None
    assert opened == ["auto"]  # once, for every question after it too


# How an index is asked


def test_the_index_url_is_asked_before_its_host() -> None:
    backend = FakeBackend({("corp.example:8443", None): Credentials("aws", "t0ken")})
    assert IndexKeyring(backend)(URL, None) == Credentials("aws", "t0ken")
    assert backend.questions == [(URL, None), ("corp.example:8443", None)]


def test_answers_are_kept_for_the_build_then_asked_again() -> None:
    clock = Clock()
    backend = FakeBackend({(URL, "aws"): Credentials("aws", "t0ken")})
    keyring = IndexKeyring(backend, clock=clock)
    for _ in range(3):
        assert keyring(URL, "aws") == Credentials("aws", "t0ken")
        assert keyring("https://other.example/simple/", None) is None
    assert len(backend.questions) == 3  # URL; other's URL and host, misses included
    clock.now += CACHE_SECONDS + 1
    keyring(URL, "aws")
    assert len(backend.questions) == 4


def test_targets_built_side_by_side_ask_once() -> None:
    backend = FakeBackend({(URL, None): Credentials("aws", "t0ken")})
    keyring = IndexKeyring(backend)
    threads = [threading.Thread(target=keyring, args=(URL, None)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert backend.questions == [(URL, None)]


def test_a_failing_backend_is_one_warning_and_not_asked_again() -> None:
    backend = FakeBackend({}, fail="the vault is locked")
    keyring = IndexKeyring(backend)
    assert keyring(URL, None) is None
    assert keyring("https://other.example/simple/", None) is None
    assert backend.questions == [(URL, None)]
    assert keyring.take_warnings() == [
        f"fake keyring failed for {URL}: the vault is locked; "
        "building without credentials from keyring"
    ]
    assert keyring.take_warnings() == []


def test_auto_says_nothing_when_keyring_has_no_backend() -> None:
    keyring = IndexKeyring(FakeBackend({}, fail="no backend"), quiet=True)
    assert keyring(URL, None) is None
    assert keyring.take_warnings() == []
    explicit = IndexKeyring(FakeBackend({}, fail="no backend"))
    explicit(URL, None)
    assert len(explicit.take_warnings()) == 1


# The library (import)


@pytest.fixture
def keyring_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_keyring(
        tmp_path / "keyring.json",
        [{"service": URL, "username": "aws", "password": "k3yring:pa55"}],
    )
    monkeypatch.setenv(VARIABLE, str(path))
    return path


@pytest.fixture
def library(keyring_file: Path) -> Iterator[Any]:
    """The real keyring library with the test's backend in place of the session's null one."""
    import keyring

    previous = keyring.get_keyring()
    keyring.set_keyring(JsonKeyring())
    yield keyring
    keyring.set_keyring(previous)


def test_the_library_is_asked_with_get_credential(library: Any, keyring_file: Path) -> None:
    backend = LibraryBackend(library)
    assert backend.get(URL, None) == Credentials("aws", "k3yring:pa55")
    assert backend.get("corp.example:8443", None) is None
    assert asked(keyring_file) == [[URL, None], ["corp.example:8443", None]]


def test_a_raising_library_backend_is_a_failure(library: Any, keyring_file: Path) -> None:
    write_keyring(keyring_file, [], fail="the vault is locked")
    with pytest.raises(KeyringFailure, match="KeyringError: the vault is locked"):
        LibraryBackend(library).get(URL, None)


def test_a_library_without_get_credential_answers() -> None:
    module = SimpleNamespace(get_credential=lambda service, username: None)
    assert LibraryBackend(module).get(URL, "aws") is None


# The executable (subprocess)


def executable_environ(keyring_file: Path) -> dict[str, str]:
    """The test's backend selected as a user selects one: a variable and PYTHONPATH."""
    return {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "tests.support.json_keyring.JsonKeyring",
        "PYTHONPATH": str(REPO_ROOT),
        VARIABLE: str(keyring_file),
    }


def test_the_executable_is_asked_for_credentials_as_json(keyring_file: Path) -> None:
    backend = ExecutableBackend(KEYRING_EXECUTABLE, executable_environ(keyring_file))
    assert backend.get(URL, None) == Credentials("aws", "k3yring:pa55")
    assert backend.get(URL, "aws") == Credentials("aws", "k3yring:pa55")
    assert backend.get("corp.example:8443", None) is None
    assert asked(keyring_file) == [[URL, None], [URL, "aws"], ["corp.example:8443", None]]


def test_a_raising_backend_behind_the_executable_is_a_failure(keyring_file: Path) -> None:
    write_keyring(keyring_file, [], fail="the vault is locked")
    backend = ExecutableBackend(KEYRING_EXECUTABLE, executable_environ(keyring_file))
    with pytest.raises(KeyringFailure, match=r"^keyring\.errors\.KeyringError: the vault is"):
        backend.get(URL, None)


def _completed(code: int, stdout: str = "", stderr: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, stdout, stderr)


def test_an_old_executable_is_asked_for_a_password_with_the_urls_user() -> None:
    commands: list[list[str]] = []

    def old_keyring(command: list[str]) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        if "--mode=creds" in command:
            return _completed(2, stderr="keyring: error: unrecognized arguments: --mode=creds")
        return _completed(0, stdout="s3cret\n")

    backend = ExecutableBackend("/bin/keyring", {}, run=old_keyring)
    assert backend.get(URL, None) is None  # pip's old way cannot ask without a user name
    assert backend.get(URL, "aws") == Credentials("aws", "s3cret")
    assert commands == [
        ["/bin/keyring", "--mode=creds", "--output=json", "get", URL],
        ["/bin/keyring", "get", URL, "aws"],
    ]


@pytest.mark.parametrize(
    ("done", "no_backend"),
    [
        (_completed(1, stderr="Traceback (most recent call last):\nNoKeyringError: none"), True),
        (_completed(3, stderr="gcloud: not logged in"), False),
        (_completed(0, stdout="not json"), False),
    ],
)
def test_executable_failures(done: subprocess.CompletedProcess[str], no_backend: bool) -> None:
    backend = ExecutableBackend("/bin/keyring", {}, run=lambda command: done)
    with pytest.raises(KeyringFailure) as caught:
        backend.get(URL, None)
    assert caught.value.no_backend is no_backend


def test_exit_one_without_a_traceback_is_not_found() -> None:
    done = _completed(1, stderr="DeprecationWarning: something unrelated")
    assert ExecutableBackend("/bin/keyring", {}, run=lambda command: done).get(URL, None) is None


def test_an_executable_that_hangs_is_a_failure() -> None:
    def hang(command: list[str]) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(command, 1)

    with pytest.raises(KeyringFailure, match="no answer"):
        ExecutableBackend("/bin/keyring", {}, run=hang).get(URL, None)
