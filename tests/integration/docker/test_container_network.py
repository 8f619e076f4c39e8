"""The corporate network inside the build container: a private CA and an HTTP proxy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.catalog import Catalog
from tests.support.network_peers import forward_proxy, make_private_ca
from tests.support.package_index import PackageIndex
from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def tls_index(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Any:
    ca = make_private_ca(tmp_path_factory.mktemp("ca"))
    with PackageIndex(tmp_path_factory.mktemp("tls-index"), tls=ca.server_context()) as index:
        index.add_all(catalog.files)
        yield index, ca


def build(cli: Any, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "requirements.txt").write_text("needspure==1.0\n")
    return cli(
        "build",
        "-r",
        str(tmp_path / "requirements.txt"),
        "-o",
        str(tmp_path / "out"),
        "--runtime",
        "python3.11",
        "--base-image",
        ensure_standin("python3.11", "x86_64"),
        "--no-cache",
        *args,
        env=env,
    )


def test_ca_bundle_option_lets_pip_trust_an_intercepting_index(
    cli: Any, tmp_path: Path, tls_index: Any
) -> None:
    index, ca = tls_index
    env = {"PIP_INDEX_URL": index.url, "SSL_CERT_FILE": "", "REQUESTS_CA_BUNDLE": ""}
    refused = build(cli, tmp_path / "refused", env=env)
    assert refused.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stdout + refused.stderr
    assert "--ca-bundle" in refused.stdout + refused.stderr
    trusted = build(cli, tmp_path / "trusted", "--ca-bundle", str(ca.ca_pem), env=env)
    assert trusted.returncode == 0, trusted.stderr
    assert (tmp_path / "trusted" / "out" / "purepkg").is_dir()


def test_ca_bundle_is_picked_up_from_ssl_cert_file(
    cli: Any, tmp_path: Path, tls_index: Any
) -> None:
    index, ca = tls_index
    result = build(cli, tmp_path, env={"PIP_INDEX_URL": index.url, "SSL_CERT_FILE": str(ca.ca_pem)})
    assert result.returncode == 0, result.stderr


def test_proxy_variables_reach_pip_in_the_container(
    cli: Any, catalog: Catalog, tmp_path: Path
) -> None:
    with forward_proxy() as (proxy, log):
        result = build(cli, tmp_path, env={"HTTP_PROXY": proxy, "NO_PROXY": "", "no_proxy": ""})
    assert result.returncode == 0, result.stderr
    assert any(url.startswith(catalog.index.url) for url in log.urls), log.urls
    assert any(url.endswith(".whl") for url in log.urls)
