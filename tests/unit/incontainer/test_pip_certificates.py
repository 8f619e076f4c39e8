"""Each CA file read once per TLS context (pip re-reads it for every connection), and a
server's preloaded certificates never reach a call whose own settings would not load them."""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from builder.incontainer import pip_client, pip_server
from builder.incontainer.pip_commands import PIP_SHIM
from tests.support.catalog import Catalog
from tests.support.network_peers import PrivateCA, make_private_ca
from tests.support.package_index import PackageIndex, hermetic_pip_env

SOURCE = Path(pip_server.__file__).read_text(encoding="utf-8")
# pip uses truststore (the TLS context whose loads are made once) from Python 3.10 on.
with_truststore = pytest.mark.skipif(
    sys.version_info < (3, 10), reason="pip has no truststore before Python 3.10"
)


def test_without_truststore_pip_runs_unpatched() -> None:
    if sys.version_info >= (3, 10):
        assert pip_server.load_certificates_once()
    else:
        assert not pip_server.load_certificates_once()


def environment(index: PackageIndex, **ca: str) -> dict[str, str]:
    """This machine's CA settings replaced by ``ca`` (it may name an intercepting proxy's)."""
    env = hermetic_pip_env({"PIP_INDEX_URL": index.url})
    return {k: v for k, v in env.items() if k not in pip_server.CA_VARIABLES} | ca


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every CA file OpenSSL is asked to read, in order ("default" for the default paths)."""
    asked: list[str] = []
    load, defaults = ssl.SSLContext.load_verify_locations, ssl.SSLContext.set_default_verify_paths

    def counted_load(self: Any, cafile: Any = None, capath: Any = None, cadata: Any = None) -> Any:
        asked.append(str(cafile))
        return load(self, cafile, capath, cadata)

    def counted_defaults(self: Any) -> Any:
        asked.append("default")
        return defaults(self)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted_load)
    monkeypatch.setattr(ssl.SSLContext, "set_default_verify_paths", counted_defaults)
    return asked


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    return make_private_ca(tmp_path_factory.mktemp("ca"))


@with_truststore
def test_a_file_already_loaded_into_a_context_is_not_read_again(
    reads: list[str], ca: PrivateCA, tmp_path: Path
) -> None:
    from pip._vendor import truststore

    assert pip_server.load_certificates_once()
    assert pip_server.load_certificates_once()  # patched once
    bundle = tmp_path / "bundle.pem"
    shutil.copyfile(ca.ca_pem, bundle)
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for _ in range(3):
        context.load_verify_locations(str(bundle))
    assert reads == [str(bundle)]
    other = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    other.load_verify_locations(str(bundle))  # another context: its own copy
    bundle.write_bytes(bundle.read_bytes() + ca.ca_pem.read_bytes())  # a changed file
    context.load_verify_locations(str(bundle))
    assert reads == [str(bundle)] * 3
    with pytest.raises(FileNotFoundError):  # a missing file still fails every time
        context.load_verify_locations(str(tmp_path / "gone.pem"))
    with pytest.raises(FileNotFoundError):
        context.load_verify_locations(str(tmp_path / "gone.pem"))


@with_truststore
def test_the_default_paths_are_added_once_until_they_change(
    reads: list[str], ca: PrivateCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pip._vendor import truststore
    from pip._vendor.truststore import _api

    assert pip_server.load_certificates_once()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_pem))
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for _ in range(3):
        with _api._configure_context(context._ctx):  # what each wrap_socket does
            pass
    assert reads == ["default"]
    moved = tmp_path / "moved.pem"
    shutil.copyfile(ca.ca_pem, moved)
    monkeypatch.setenv("SSL_CERT_FILE", str(moved))
    with _api._configure_context(context._ctx):
        pass
    assert reads == ["default", "default"]


@pytest.fixture(scope="module")
def tls_index(catalog: Catalog, ca: PrivateCA, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with PackageIndex(tmp_path_factory.mktemp("tls-index"), tls=ca.server_context()) as index:
        index.add_all(catalog.files)
        yield index


@contextlib.contextmanager
def server(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    directory = tempfile.mkdtemp(prefix="lb-tls-")  # a unix socket's path is short
    path = os.path.join(directory, "pip.sock")
    process = subprocess.Popen(
        [sys.executable, "-c", SOURCE, path],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "serving on" in process.stdout.readline()
        yield path, process
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(directory)


def download(path: str, env: dict[str, str], dest: Path) -> tuple[int, str]:
    argv = [
        sys.executable,
        "-m",
        PIP_SHIM,
        "download",
        "--no-deps",
        "-d",
        str(dest),
        "purepkg==1.0",
    ]
    call = pip_client.start(path, argv, env)
    assert call is not None, "the server did not take the call"
    output = call.stdout.read()
    return call.wait(), output


def test_a_served_call_trusts_exactly_what_its_own_settings_name(
    tls_index: PackageIndex, ca: PrivateCA, tmp_path: Path
) -> None:
    """The server preloads its CA bundle; a call without that bundle must not inherit it."""
    trusting = environment(tls_index, PIP_CERT=str(ca.ca_pem), SSL_CERT_FILE=str(ca.ca_pem))
    bare = environment(tls_index)
    with server(trusting) as (path, process):
        code, output = download(path, trusting, tmp_path / "trusted")
        assert code == 0, output
        assert (tmp_path / "trusted" / "purepkg-1.0-py3-none-any.whl").is_file()

        code, output = download(path, bare, tmp_path / "bare")
        assert code != 0
        assert "CERTIFICATE_VERIFY_FAILED" in output
        assert not (tmp_path / "bare").exists() or not any((tmp_path / "bare").iterdir())

        code, output = download(path, trusting, tmp_path / "again")  # the server is unchanged
        assert code == 0, output
    assert process.stdout is not None
    process.kill()
    assert "certificates not preloaded" not in process.stdout.read()


def test_a_server_started_without_a_ca_still_serves_calls_that_name_one(
    tls_index: PackageIndex, ca: PrivateCA, tmp_path: Path
) -> None:
    trusting = environment(tls_index, PIP_CERT=str(ca.ca_pem))
    bare = environment(tls_index)
    with server(bare) as (path, _):
        code, output = download(path, trusting, tmp_path / "trusted")
    assert code == 0, output
