"""buildx builders parsed from `docker buildx ls --format json` and `inspect` (buildx 0.13)."""

from __future__ import annotations

from builder.architectures import Architecture
from builder.docker.builders import (
    cache_backends,
    describe_platforms,
    parse_inspect,
    parse_ls_json,
)

LS = (
    '{"Name":"default","Driver":"docker","Dynamic":false,"Nodes":[{"Name":"default",'
    '"Endpoint":"default","Status":"running","Version":"v0.0.0+unknown","Platforms":'
    '["linux/amd64","linux/amd64/v2","linux/arm64","linux/386"]}]}\n'
    '{"Name":"default","Driver":"docker","Nodes":[]}\n'
    '{"Name":"pool","Driver":"docker-container","Nodes":[{"Name":"pool0","Endpoint":'
    '"unix:///var/run/docker.sock","Status":"running","Platforms":["linux/arm64*",'
    '"linux/arm/v7"]},{"Name":"pool1","Endpoint":"ssh://ci@x86","Status":"inactive",'
    '"Platforms":null}]}\n'
)

INSPECT = """Name:   remote
Driver: docker

Nodes:
Name:             remote
Endpoint:         remote
Status:           running
BuildKit version: v0.0.0+unknown
Platforms:        linux/amd64, linux/amd64/v2, linux/arm64, linux/386
Labels:
 org.mobyproject.buildkit.worker.moby.host-gateway-ip: 10.237.91.1
"""


def test_ls_json_gives_each_builder_once_with_nodes_and_platforms() -> None:
    default, pool = parse_ls_json(LS)
    assert (default.name, default.driver, default.status) == ("default", "docker", "running")
    assert default.platforms()[:2] == ["linux/amd64", "linux/amd64/v2"]
    assert [node.name for node in pool.nodes] == ["pool0", "pool1"]
    assert pool.nodes[0].platforms == ("linux/arm64", "linux/arm/v7")  # "*": user-pinned
    assert pool.nodes[1].platforms == () and pool.status == "running"


def test_first_platform_is_native_the_rest_emulated() -> None:
    default, pool = parse_ls_json(LS)
    assert default.runs_natively(Architecture.X86_64)
    assert not default.runs_natively(Architecture.ARM64) and default.supports(Architecture.ARM64)
    assert pool.runs_natively(Architecture.ARM64) and not pool.supports(Architecture.X86_64)
    assert describe_platforms(default) == "linux/amd64 (native), linux/arm64 (emulated)"
    assert describe_platforms(pool) == "linux/arm64 (native)"


def test_inspect_text_gives_name_driver_and_node_platforms() -> None:
    builder = parse_inspect(INSPECT)
    assert (builder.name, builder.driver) == ("remote", "docker")
    [node] = builder.nodes
    assert node.endpoint == "remote" and node.status == "running"
    assert node.platforms == ("linux/amd64", "linux/amd64/v2", "linux/arm64", "linux/386")


def test_garbage_and_empty_output_give_no_builders() -> None:
    assert parse_ls_json("WARNING: something\n{not json\n") == []
    assert parse_inspect("").nodes == ()


def test_cache_exporters_depend_on_driver_and_github_actions() -> None:
    assert cache_backends("docker", {}) == ["inline"]
    assert "gha" not in cache_backends("docker-container", {})
    assert "local" in cache_backends("remote", {}) and "registry" in cache_backends("remote", {})
    actions = {"ACTIONS_CACHE_URL": "https://x", "ACTIONS_RUNTIME_TOKEN": "t"}
    assert cache_backends("docker-container", actions)[-1] == "gha"
    assert cache_backends("kubernetes", {"GITHUB_ACTIONS": "true"})[-1].startswith("gha (")
