"""A Lambda image's config from the base image's inspect data and history (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from builder.docker.image_config import (
    AddedLayer,
    base_created,
    config_digest,
    image_config,
    layer_flags,
    normalised_tag,
    serialise,
    split_tag,
    task_root,
)
from builder.errors import UsageError

# As the engine reports the stand-in image: BuildKit's WORKDIR made a layer of size 0.
BASE: dict[str, Any] = {
    "Architecture": "arm64",
    "Variant": "v8",
    "Os": "linux",
    "Created": "2026-12-03T06:35:42.123456789Z",
    "Config": {
        "Hostname": "",
        "AttachStdout": False,
        "Env": ["PATH=/var/lang/bin:/usr/bin", "LAMBDA_TASK_ROOT=/var/task"],
        "Entrypoint": ["/lambda-entrypoint.sh"],
        "Cmd": None,
        "WorkingDir": "/var/task",
        "Labels": {"a": "b"},
        "Volumes": None,
    },
    "RootFS": {"Type": "layers", "Layers": ["sha256:aa", "sha256:bb", "sha256:cc"]},
}
HISTORY = [  # newest first, as the engine's history endpoint answers
    {"Created": 30, "CreatedBy": 'ENTRYPOINT ["/lambda-entrypoint.sh"]', "Size": 0},
    {"Created": 30, "CreatedBy": "WORKDIR /var/task", "Size": 0},
    {"Created": 30, "CreatedBy": "ENV PATH=/var/lang/bin", "Size": 0},
    {"Created": 20, "CreatedBy": "ADD layout.tar / # buildkit", "Size": 1420, "Comment": "x"},
    {"Created": 10, "CreatedBy": "ADD rootfs.tar / # buildkit", "Size": 464_000_000},
    {"Created": 10, "CreatedBy": "ARG STANDIN_ARCH", "Size": 0},
]
LAYERS = [AddedLayer("sha256:dd", "deps"), AddedLayer("sha256:ee", "src")]


def config() -> dict[str, Any]:
    return image_config(
        BASE, HISTORY, base_name="base:1", layers=LAYERS, handler="app.handler", created=100
    )


def test_the_config_keeps_the_base_settings_and_sets_cmd() -> None:
    made = config()
    assert made["config"] == {
        "Env": ["PATH=/var/lang/bin:/usr/bin", "LAMBDA_TASK_ROOT=/var/task"],
        "Entrypoint": ["/lambda-entrypoint.sh"],
        "Cmd": ["app.handler"],
        "WorkingDir": "/var/task",
        "Labels": {"a": "b"},
    }
    assert (made["architecture"], made["variant"], made["os"]) == ("arm64", "v8", "linux")
    assert made["rootfs"]["diff_ids"] == [
        "sha256:aa",
        "sha256:bb",
        "sha256:cc",
        "sha256:dd",
        "sha256:ee",
    ]
    assert made["created"] == "1970-01-01T00:01:40Z"


def test_history_marks_which_entries_made_layers() -> None:
    history = config()["history"]
    assert [h.get("created_by") for h in history] == [
        "ARG STANDIN_ARCH",
        "ADD rootfs.tar / # buildkit",
        "ADD layout.tar / # buildkit",
        "ENV PATH=/var/lang/bin",
        "WORKDIR /var/task",
        'ENTRYPOINT ["/lambda-entrypoint.sh"]',
        "deps",
        "src",
        'CMD ["app.handler"]',
    ]
    made_layer = [not h.get("empty_layer") for h in history]
    assert made_layer == [False, True, True, False, True, False, True, True, False]
    assert sum(made_layer) == len(config()["rootfs"]["diff_ids"])
    assert history[2]["comment"] == "x"


def test_classic_builder_history_is_understood() -> None:
    history = [
        {"CreatedBy": '/bin/sh -c #(nop)  CMD ["bash"]', "Size": 0},
        {"CreatedBy": "/bin/sh -c #(nop) WORKDIR /app", "Size": 0},
        {"CreatedBy": "/bin/sh -c #(nop) ADD file:1 in / ", "Size": 5},
    ]
    assert layer_flags(list(reversed(history)), 2) == [True, True, False]
    assert layer_flags(list(reversed(history)), 1) == [True, False, False]


def test_a_history_that_cannot_be_mapped_becomes_one_entry_per_layer() -> None:
    ambiguous = [{"CreatedBy": "RUN true", "Size": 0}, {"CreatedBy": "RUN false", "Size": 0}]
    assert layer_flags(ambiguous, 1) is None
    assert layer_flags([{"CreatedBy": "ADD x /", "Size": 3}], 0) is None
    made = image_config(
        BASE, ambiguous, base_name="base:1", layers=LAYERS, handler="a.b", created=0
    )
    assert [h["created_by"] for h in made["history"][:3]] == [
        "layer 1 of base:1",
        "layer 2 of base:1",
        "layer 3 of base:1",
    ]


def test_the_serialised_config_and_its_digest_are_stable() -> None:
    one, two = serialise(config()), serialise(json.loads(serialise(config())))
    assert one == two
    assert config_digest(one) == config_digest(two)
    assert config_digest(one).startswith("sha256:") and len(config_digest(one)) == 71


def test_task_root_and_created_come_from_the_base() -> None:
    assert task_root(BASE) == "/var/task"
    assert task_root({"Config": {"Env": ["LAMBDA_TASK_ROOT=/opt/fn"]}}) == "/opt/fn"
    assert task_root({}) == "/var/task"
    assert base_created(BASE) == 1796279742
    assert base_created({"Created": "garbage"}) == 0


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("fn", "fn:latest"),
        ("fn:v1", "fn:v1"),
        ("127.0.0.1:5000/team/fn", "127.0.0.1:5000/team/fn:latest"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:1.2_3-x", None),
    ],
)
def test_image_references_are_normalised(reference: str, expected: str | None) -> None:
    assert normalised_tag(reference) == (expected or reference)


@pytest.mark.parametrize("reference", ["Fn:v1", "fn:", "fn v1", "fn:-x", "/fn", "fn@sha256:ab"])
def test_bad_image_references_are_refused(reference: str) -> None:
    with pytest.raises(UsageError, match="not a valid image reference"):
        normalised_tag(reference)


def test_split_tag_keeps_a_registry_port() -> None:
    assert split_tag("127.0.0.1:5000/fn") == ("127.0.0.1:5000/fn", "latest")
    assert split_tag("fn:v2") == ("fn", "v2")
