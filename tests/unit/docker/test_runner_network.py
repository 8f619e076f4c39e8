"""Where an index on this machine's loopback is reachable from a build container."""

from __future__ import annotations

from builder.config import BuildConfig
from builder.docker.engine import Engine
from builder.docker.runner import LOOPBACK_ALIAS, network_plan
from builder.host.workspace import rewrite_loopback


def engine(url: str, desktop: bool = False) -> Engine:
    return Engine(url, desktop)


def test_local_linux_engine_shares_the_host_network() -> None:
    assert network_plan(BuildConfig(), engine("unix:///var/run/docker.sock")) == ("host", None)


def test_remote_engine_gets_its_own_network_and_no_rewrite() -> None:
    assert network_plan(BuildConfig(), engine("tcp://build.example.com:2376")) == (None, None)


def test_docker_desktop_reaches_the_host_through_its_alias() -> None:
    plan = network_plan(BuildConfig(), engine("unix:///Users/me/.docker/run/docker.sock", True))
    assert plan == (None, LOOPBACK_ALIAS)


def test_explicit_setting_wins_over_detection() -> None:
    desktop = engine("unix:///x.sock", desktop=True)
    assert network_plan(BuildConfig(docker_host_network=True), desktop) == ("host", None)
    assert network_plan(BuildConfig(docker_host_network=False), desktop) == (None, None)


def test_loopback_urls_are_rewritten_with_credentials_and_ports_kept() -> None:
    environment = {
        "PIP_INDEX_URL": "http://u:p%40ss@127.0.0.1:8080/simple/",
        "PIP_EXTRA_INDEX_URL": "http://localhost:3141/root/pypi/+simple/ https://pypi.org/simple",
        "PIP_TRUSTED_HOST": "localhost",
    }
    rewritten = rewrite_loopback(environment, "host.docker.internal")
    assert rewritten["PIP_INDEX_URL"] == "http://u:p%40ss@host.docker.internal:8080/simple/"
    assert rewritten["PIP_EXTRA_INDEX_URL"] == (
        "http://host.docker.internal:3141/root/pypi/+simple/ https://pypi.org/simple"
    )
    # Not a URL, so left alone; the alias joins it: pip trusts plain HTTP on loopback only.
    assert rewritten["PIP_TRUSTED_HOST"] == "localhost host.docker.internal"


def test_hosts_that_merely_contain_loopback_names_are_left_alone() -> None:
    environment = {"PIP_INDEX_URL": "https://localhost.example.com/simple/"}
    assert rewrite_loopback(environment, "host.docker.internal") == environment
    assert rewrite_loopback(environment, None) == environment
