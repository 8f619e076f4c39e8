"""A Lambda image's config (pure): the base image's settings, its layers plus ours, and CMD.

The engine does not hand out a base image's raw config; its inspect data and history are
enough to write a new one. The config is serialised canonically, so the image id (the
config's sha256) is the same for the same base image, layers, handler and time.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from builder.errors import UsageError

# The image-spec config fields (https://github.com/opencontainers/image-spec/blob/main/config.md)
# plus Docker's own; inspect data also carries container-only fields, which are left out.
CONFIG_FIELDS = (
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Volumes",
    "WorkingDir",
    "Labels",
    "StopSignal",
    "ArgsEscaped",
    "Healthcheck",
    "Shell",
    "OnBuild",
)
# Dockerfile instructions that never make a layer; WORKDIR, COPY, ADD and RUN may.
METADATA_INSTRUCTIONS = frozenset(
    {
        "ARG",
        "CMD",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
    }
)
_CLASSIC_PREFIX = re.compile(r"^/bin/sh -c #\(nop\)\s+")
DEFAULT_TASK_ROOT = "/var/task"
# https://github.com/distribution/reference/blob/main/reference.go, without digests.
_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_HOST}(?:\.{_HOST})*(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?$"
)


@dataclass(frozen=True)
class AddedLayer:
    digest: str  # sha256:<hex> of the uncompressed tar
    created_by: str


def normalised_tag(reference: str) -> str:
    """``NAME[:TAG]``, ``latest`` filled in as ``docker build -t`` does; refused when invalid."""
    match = _REFERENCE.match(reference)
    if match is None:
        raise UsageError(
            f"--image {reference!r} is not a valid image reference",
            hint="use lowercase NAME[:TAG], e.g. --image my-function:v1 or "
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-function:v1",
        )
    return f"{match.group('name')}:{match.group('tag') or 'latest'}"


def split_tag(reference: str) -> tuple[str, str]:
    """``(repository, tag)`` of a normalised reference (a registry port is not a tag)."""
    repository, _sep, tag = normalised_tag(reference).rpartition(":")
    return repository, tag


def rfc3339(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def task_root(base: Mapping[str, Any]) -> str:
    """``LAMBDA_TASK_ROOT`` from the base image's environment (``/var/task`` in Lambda's)."""
    for item in (base.get("Config") or {}).get("Env") or []:
        name, _sep, value = str(item).partition("=")
        if name == "LAMBDA_TASK_ROOT" and value.startswith("/"):
            return value
    return DEFAULT_TASK_ROOT


def _is_metadata(created_by: str) -> bool:
    words = _CLASSIC_PREFIX.sub("", created_by.strip()).split(None, 1)
    return bool(words) and words[0].upper() in METADATA_INSTRUCTIONS


def layer_flags(history: Sequence[Mapping[str, Any]], layer_count: int) -> list[bool] | None:
    """Which history entries (oldest first) made a layer, or None when that cannot be told.

    An entry with a size made one. Among the size-0 entries, a layer of only directories (the
    one BuildKit makes for WORKDIR) is told from metadata by its instruction.
    """
    flags = [int(entry.get("Size") or 0) > 0 for entry in history]
    needed = layer_count - sum(flags)
    candidates = [
        index
        for index, entry in enumerate(history)
        if not flags[index] and not _is_metadata(str(entry.get("CreatedBy") or ""))
    ]
    if needed < 0 or (needed and len(candidates) != needed):
        return None
    for index in candidates[:needed]:
        flags[index] = True
    return flags


def _base_history(
    base: Mapping[str, Any], history: Sequence[Mapping[str, Any]], base_name: str
) -> list[dict[str, Any]]:
    layers = list((base.get("RootFS") or {}).get("Layers") or [])
    oldest_first = list(reversed(history))
    flags = layer_flags(oldest_first, len(layers))
    if flags is None:  # still a valid history: one entry per layer, named after the base image
        return [{"created_by": f"layer {n + 1} of {base_name}"} for n in range(len(layers))]
    entries = []
    for entry, made_layer in zip(oldest_first, flags):
        item: dict[str, Any] = {"created": rfc3339(int(entry.get("Created") or 0))}
        if entry.get("CreatedBy"):
            item["created_by"] = str(entry["CreatedBy"])
        if entry.get("Comment"):
            item["comment"] = str(entry["Comment"])
        if not made_layer:
            item["empty_layer"] = True
        entries.append(item)
    return entries


def image_config(
    base: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    *,
    base_name: str,
    layers: Sequence[AddedLayer],
    handler: str,
    created: int,
) -> dict[str, Any]:
    """The new image's config: the base's, with ``layers`` on top and ``CMD [handler]``."""
    settings = {
        name: (base.get("Config") or {}).get(name)
        for name in CONFIG_FIELDS
        if (base.get("Config") or {}).get(name) not in (None, [], {}, "")
    }
    settings["Cmd"] = [handler]
    stamp = rfc3339(created)
    added: list[dict[str, Any]] = [
        {"created": stamp, "created_by": layer.created_by} for layer in layers
    ]
    added.append({"created": stamp, "created_by": f'CMD ["{handler}"]', "empty_layer": True})
    config: dict[str, Any] = {
        "architecture": str(base.get("Architecture") or ""),
        "os": str(base.get("Os") or "linux"),
        "created": stamp,
        "config": settings,
        "rootfs": {
            "type": "layers",
            "diff_ids": [
                *((base.get("RootFS") or {}).get("Layers") or []),
                *(layer.digest for layer in layers),
            ],
        },
        "history": [*_base_history(base, history, base_name), *added],
    }
    if base.get("Variant"):
        config["variant"] = str(base["Variant"])
    return config


def serialise(config: Mapping[str, Any]) -> bytes:
    """Canonical JSON: the same config always has the same bytes, so the same image id."""
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def config_digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def base_created(base: Mapping[str, Any]) -> int:
    """The base image's creation time (seconds), the default time of the image built on it."""
    text = str(base.get("Created") or "")
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", text)
    if not match:
        return 0
    return calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
