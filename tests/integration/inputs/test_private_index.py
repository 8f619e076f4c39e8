"""A basic-auth index on 127.0.0.1 used from inside the container through every input path,
with its password absent from everything the build leaves behind."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from builder.architectures import Architecture
from builder.docker import bundled_pip
from builder.docker.image import definition_files, image_tag
from tests.conftest import run_cli
from tests.integration.inputs.projects import (
    packages,
    run_tool,
    tool_env,
    write_pipenv_project,
    write_poetry_project,
    write_uv_workspace,
)
from tests.support.catalog import Catalog
from tests.support.json_keyring import VARIABLE, asked, write_keyring
from tests.support.package_index import PackageIndex, credential_forms
from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker
USER = "aws"
# ':' and '@' must be percent-encoded in a URL: the password also tests that every path
# encodes it, and that redaction catches both spellings.
PASSWORD = f"pl4nted:s3cret@{secrets.token_hex(8)}"
FORMS = credential_forms(USER, PASSWORD)


@pytest.fixture(scope="module")
def private(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    with PackageIndex(
        tmp_path_factory.mktemp("private"), username=USER, password=PASSWORD
    ) as index:
        index.add_all(catalog.files)
        yield index


@pytest.fixture(scope="module")
def standin() -> str:
    return ensure_standin("python3.11", "x86_64")


def authenticated_url(index: PackageIndex) -> str:
    return index.url_with_credentials()


def assert_secret_absent(texts: list[str], paths: list[Path]) -> None:
    for text in texts:
        for form in FORMS:
            assert form not in text
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for file in files:
            data = file.read_bytes()
            for form in FORMS:
                assert form.encode() not in data, f"{form!r} found in {file}"


def container_build(
    target: Path, tmp_path: Path, standin: str, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Build verbosely in the container; then look for the password in what it left."""
    report = tmp_path / "report.json"
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    # A finished-build cache of this build's own: every call really talks to the index.
    own = {"TMPDIR": str(temp), "LAMBDA_BUILDER_CACHE_DIR": str(tmp_path / "build-cache")}
    environment = tool_env(tmp_path / "home", {**own, **(env or {})})
    result = run_cli(
        [
            "build",
            str(target),
            "-o",
            str(tmp_path / "out"),
            "--report",
            str(report),
            "--runtime",
            "python3.11",
            "--base-image",
            standin,
            "--verbose",
            *args,
        ],
        environment,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())["targets"][0]
    assert data["mode"] == "container"
    assert_secret_absent([result.stdout, result.stderr], [tmp_path / "out", report, temp])
    return result, data


def test_index_refuses_requests_without_the_password(private: PackageIndex) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(private.url, timeout=10)
    assert caught.value.code == 401


def test_token_in_index_url_works_like_codeartifact(
    private: PackageIndex, standin: str, tmp_path: Path
) -> None:
    requirements = tmp_path / "app" / "requirements.txt"
    requirements.parent.mkdir()
    requirements.write_text("needspure==1.0\n")
    private.clear_log()
    _, report = container_build(
        requirements.parent, tmp_path, standin, "--index-url", authenticated_url(private)
    )
    assert packages(report) == {"needspure": "1.0", "purepkg": "1.0"}
    assert any(record.authenticated and record.status == 200 for record in private.access_log)
    assert all(record.status != 401 for record in private.access_log)


def test_netrc_credentials_reach_pip_in_the_container(
    private: PackageIndex, standin: str, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "requirements.txt").write_text(f"--index-url {private.url}\nneedspure==1.0\n")
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    _, report = container_build(app, tmp_path, standin, "--no-cache", env={"NETRC": str(netrc)})
    assert packages(report) == {"needspure": "1.0", "purepkg": "1.0"}


def test_uv_index_credentials_from_uv_variables(
    private: PackageIndex, standin: str, tmp_path: Path
) -> None:
    index_table = f'[[tool.uv.index]]\nname = "private"\nurl = "{private.url}"\ndefault = true\n'
    root = write_uv_workspace(tmp_path / "shop", index_table)
    credentials = {"UV_INDEX_PRIVATE_USERNAME": USER, "UV_INDEX_PRIVATE_PASSWORD": PASSWORD}
    run_tool(["uv", "lock"], root, tool_env(tmp_path / "lock-home", credentials))
    assert_secret_absent([], [root / "uv.lock"])
    _, report = container_build(
        root, tmp_path, standin, "--package", "orders", "--no-cache", env=credentials
    )
    assert set(packages(report)) == {"orders", "shop-common", "needspure", "purepkg"}


def test_poetry_source_credentials_from_poetry_variables(
    private: PackageIndex, standin: str, tmp_path: Path
) -> None:
    root = write_poetry_project(tmp_path / "fn", private.url, source_name="private")
    credentials = {
        "POETRY_HTTP_BASIC_PRIVATE_USERNAME": USER,
        "POETRY_HTTP_BASIC_PRIVATE_PASSWORD": PASSWORD,
    }
    run_tool(["poetry", "lock"], root, tool_env(tmp_path / "lock-home", credentials))
    assert_secret_absent([], [root / "poetry.lock"])
    _, report = container_build(root, tmp_path, standin, "--no-cache", env=credentials)
    assert set(packages(report)) == {"poetry-fn", "common-lib", "needspure", "purepkg"}


def test_pipfile_source_with_credential_variables(
    private: PackageIndex, catalog: Catalog, standin: str, tmp_path: Path
) -> None:
    url = private.url.replace("http://", "http://${PRIVATE_USER}:${PRIVATE_PASSWORD}@")
    root = write_pipenv_project(tmp_path / "app", catalog, url)
    _, report = container_build(
        root,
        tmp_path,
        standin,
        "--no-cache",
        env={"PRIVATE_USER": USER, "PRIVATE_PASSWORD": PASSWORD},
    )
    assert packages(report) == {"needspure": "1.0", "purepkg": "1.0"}


def builder_image(standin: str) -> str:
    client = docker.from_env()
    base_id = client.images.get(standin).id or ""
    files = definition_files(Architecture.X86_64)
    return image_tag(files, standin, base_id, bundled_pip.identity())


def test_no_image_layer_container_or_volume_holds_the_password(
    private: PackageIndex, standin: str, tmp_path: Path
) -> None:
    # A cached build first, so the cache volume has seen this index's files.
    test_token_in_index_url_works_like_codeartifact(private, standin, tmp_path)
    client = docker.from_env()
    assert client.containers.list(all=True, filters={"label": "org.lambda-builder.build"}) == []
    image = builder_image(standin)
    history = subprocess.run(
        ["docker", "history", "--no-trunc", image], capture_output=True, text=True, check=True
    ).stdout
    saved = tmp_path / "image.tar"
    subprocess.run(["docker", "image", "save", "-o", str(saved), image], check=True)
    assert_secret_absent([history], [saved])
    saved.unlink()
    for volume in client.volumes.list(filters={"name": "lambda-builder"}):
        patterns = [arg for form in FORMS for arg in ("-e", form)]
        grep = subprocess.run(
            [
                "docker",
                "run",
                "--rm",
                "-v",
                f"{volume.name}:/v:ro",
                "--entrypoint",
                "grep",
                standin,
                "-r",
                "-a",
                "-l",
                "-F",
                *patterns,
                "/v",
            ],
            capture_output=True,
            text=True,
        )
        assert grep.returncode == 1, f"{volume.name}: {grep.stdout}{grep.stderr}"


# Keyring: the test's backend (tests/support/json_keyring.py), selected as users select theirs.


def keyring_env(path: Path, **extra: str) -> dict[str, str]:
    return {
        "PYTHON_KEYRING_BACKEND": "tests.support.json_keyring.JsonKeyring",
        VARIABLE: str(path),
        **extra,
    }


def test_keyring_credentials_alone_reach_pip_in_the_container(
    private: PackageIndex, standin: str, tmp_path: Path
) -> None:
    """The default provider (auto) finds the keyring library: no option, variable or netrc."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "requirements.txt").write_text(f"--index-url {private.url}\nneedspure==1.0\n")
    entries = [{"service": private.url, "username": USER, "password": PASSWORD}]
    keyring = write_keyring(tmp_path / "keyring.json", entries)
    private.clear_log()
    _, report = container_build(app, tmp_path, standin, "--no-cache", env=keyring_env(keyring))
    assert packages(report) == {"needspure": "1.0", "purepkg": "1.0"}
    assert any(record.authenticated and record.status == 200 for record in private.access_log)
    assert all(record.status != 401 for record in private.access_log)
    assert asked(keyring) == [[private.url, None]]  # asked once, by the index URL
    history = subprocess.run(
        ["docker", "history", "--no-trunc", builder_image(standin)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert_secret_absent([history, json.dumps(report)], [])


def test_subprocess_keyring_executable_serves_a_locked_uv_index(
    private: PackageIndex, standin: str, tmp_path: Path
) -> None:
    """``--keyring-provider subprocess`` runs the ``keyring`` on PATH, asked by host here."""
    index_table = f'[[tool.uv.index]]\nname = "private"\nurl = "{private.url}"\ndefault = true\n'
    root = write_uv_workspace(tmp_path / "shop", index_table)
    uv_credentials = {"UV_INDEX_PRIVATE_USERNAME": USER, "UV_INDEX_PRIVATE_PASSWORD": PASSWORD}
    run_tool(["uv", "lock"], root, tool_env(tmp_path / "lock-home", uv_credentials))
    host = private.url.split("/")[2]
    keyring = write_keyring(
        tmp_path / "keyring.json", [{"service": host, "username": USER, "password": PASSWORD}]
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "keyring-calls.txt"
    executable = bin_dir / "keyring"
    executable.write_text(
        f'#!/bin/sh\necho "$@" >> "{calls}"\nexec "{sys.executable}" -m keyring "$@"\n'
    )
    executable.chmod(0o755)
    environment = keyring_env(keyring, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    private.clear_log()
    _, report = container_build(
        root,
        tmp_path,
        standin,
        "--package",
        "orders",
        "--no-cache",
        "--keyring-provider",
        "subprocess",
        env=environment,
    )
    assert set(packages(report)) == {"orders", "shop-common", "needspure", "purepkg"}
    assert any(record.authenticated and record.status == 200 for record in private.access_log)
    assert calls.read_text().splitlines() == [
        f"--mode=creds --output=json get {private.url}",
        f"--mode=creds --output=json get {host}",
    ]


def test_a_failing_keyring_is_a_warning_and_the_build_goes_on(
    private: PackageIndex, catalog: Catalog, standin: str, tmp_path: Path
) -> None:
    """netrc serves the private index; keyring, asked about the other one, raises."""
    app = tmp_path / "app"
    app.mkdir()
    other = catalog.index.url.replace("127.0.0.1", "localhost")  # not netrc's machine
    (app / "requirements.txt").write_text(
        f"--index-url {private.url}\n--extra-index-url {other}\nneedspure==1.0\n"
    )
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    keyring = write_keyring(tmp_path / "keyring.json", [], fail="the vault is locked")
    environment = keyring_env(keyring, NETRC=str(netrc))
    result, report = container_build(
        app, tmp_path, standin, "--no-cache", "--keyring-provider", "import", env=environment
    )
    assert packages(report) == {"needspure": "1.0", "purepkg": "1.0"}
    assert "the vault is locked; building without credentials from keyring" in result.stderr
    assert len(asked(keyring)) == 1  # not asked again after it failed
