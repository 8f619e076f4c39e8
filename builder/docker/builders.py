"""buildx builders as data: parsed from ``docker buildx ls``/``inspect``, native or emulated.

Pure: the gateway (``builder.docker.buildx``) runs the commands and hands their output here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from builder.architectures import Architecture

# Platforms a machine of each architecture runs without emulation.
_NATIVE_FAMILIES = {"amd64": ("amd64", "386"), "arm64": ("arm64", "arm")}


@dataclass(frozen=True)
class BuilderNode:
    name: str
    endpoint: str
    status: str
    platforms: tuple[str, ...]

    @property
    def native_arch(self) -> str | None:
        """The node's own architecture: BuildKit lists its native platform first."""
        if not self.platforms:
            return None
        parts = self.platforms[0].split("/")
        return parts[1] if len(parts) > 1 else None

    def is_native(self, platform: str) -> bool:
        parts = platform.split("/")
        arch = parts[1] if len(parts) > 1 else ""
        return arch in _NATIVE_FAMILIES.get(self.native_arch or "", ())


@dataclass(frozen=True)
class BuilderInfo:
    name: str
    driver: str
    nodes: tuple[BuilderNode, ...] = field(default_factory=tuple)

    @property
    def status(self) -> str:
        states = {node.status for node in self.nodes if node.status}
        return "running" if "running" in states else (", ".join(sorted(states)) or "unknown")

    def platforms(self) -> list[str]:
        return list(dict.fromkeys(p for node in self.nodes for p in node.platforms))

    def runs_natively(self, architecture: Architecture) -> bool:
        """Whether some node runs the architecture without QEMU."""
        return any(node.is_native(architecture.docker_platform) for node in self.nodes)

    def supports(self, architecture: Architecture) -> bool:
        return architecture.docker_platform in self.platforms() or self.runs_natively(architecture)


def _platforms(values: object) -> tuple[str, ...]:
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, list):
        return ()
    return tuple(str(item).strip().rstrip("*") for item in values if str(item).strip())


def parse_ls_json(output: str) -> list[BuilderInfo]:
    """``docker buildx ls --format json``: one JSON object per builder per line.

    buildx 0.13 may print a builder twice; the first occurrence wins.
    """
    builders: dict[str, BuilderInfo] = {}
    for line in output.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        name = str(data.get("Name", ""))
        if not name or name in builders:
            continue
        nodes = tuple(
            BuilderNode(
                name=str(node.get("Name", "")),
                endpoint=str(node.get("Endpoint", "")),
                status=str(node.get("Status", "")),
                platforms=_platforms(node.get("Platforms")),
            )
            for node in data.get("Nodes") or []
            if isinstance(node, dict)
        )
        builders[name] = BuilderInfo(name, str(data.get("Driver", "")), nodes)
    return list(builders.values())


def parse_inspect(output: str) -> BuilderInfo:
    """``docker buildx inspect [NAME]`` (text): the builder, then one block per node."""
    name = driver = ""
    nodes: list[dict[str, str]] = []
    for raw in output.splitlines():
        key, sep, value = raw.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "Name" and not nodes and not name:
            name = value
        elif key == "Driver" and not nodes:
            driver = value
        elif key == "Name":
            nodes.append({"Name": value})
        elif nodes and key in ("Endpoint", "Status", "Platforms"):
            nodes[-1].setdefault(key, value)
    return BuilderInfo(
        name,
        driver,
        tuple(
            BuilderNode(
                name=node.get("Name", ""),
                endpoint=node.get("Endpoint", ""),
                status=node.get("Status", ""),
                platforms=_platforms(node.get("Platforms", "")),
            )
            for node in nodes
        ),
    )


def cache_backends(driver: str, environ: Mapping[str, str]) -> list[str]:
    """Cache exporters (``--cache-to type=...``) a builder of this driver accepts here.

    The docker driver's embedded BuildKit exports only inline caches (it imports from a
    registry too); the others export every kind. ``gha`` needs the runner's cache service,
    whose ACTIONS_CACHE_URL and ACTIONS_RUNTIME_TOKEN a workflow step only sees when exposed
    (crazy-max/ghaction-github-runtime does that).
    """
    if driver == "docker":
        return ["inline"]
    kinds = ["inline", "local", "registry", "s3", "azblob"]
    if environ.get("ACTIONS_CACHE_URL") and environ.get("ACTIONS_RUNTIME_TOKEN"):
        kinds.append("gha")
    elif environ.get("GITHUB_ACTIONS") == "true":
        kinds.append("gha (expose ACTIONS_CACHE_URL/ACTIONS_RUNTIME_TOKEN first)")
    return kinds


def describe_platforms(builder: BuilderInfo) -> str:
    """``linux/amd64 (native), linux/arm64 (emulated)`` for the Lambda platforms it lists."""
    parts = []
    for architecture in Architecture:
        platform = architecture.docker_platform
        if builder.runs_natively(architecture):
            parts.append(f"{platform} (native)")
        elif platform in builder.platforms():
            parts.append(f"{platform} (emulated)")
    return ", ".join(parts) or "no Lambda platform"
