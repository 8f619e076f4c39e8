"""publish-layer's decisions and the order of its writes, against a hand-written store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from builder.layer_manifest import (
    LayerContent,
    LayerKeys,
    LayerManifest,
    PublishedLayer,
    load_manifest,
    parse_s3_uri,
)
from builder.layer_publication import LayerBuild, publish_layer, read_previous
from builder.ui import NullUI

KEYS = LayerKeys(parse_s3_uri("s3://bucket-a/layers"), "deps")
CONTENT = LayerContent(
    requirements=["purepkg==1.0"],
    packages={"python3.12/x86_64": ["purepkg==1.0 purepkg-1.0-py3-none-any.whl"]},
    runtimes=["python3.12"],
    architectures=["x86_64"],
    layout="python",
    zip_sha256="ab" * 32,
)


class FakeStore:
    """The bucket as a dict and Lambda's versions as a list; every call is logged."""

    def __init__(self) -> None:
        self.objects: dict[str, str] = {}
        self.versions: list[int] = []
        self.calls: list[str] = []

    def read_text(self, key: str) -> str | None:
        return self.objects.get(key)

    def write_text(self, key: str, text: str) -> None:
        self.calls.append(f"put {key}")
        self.objects[key] = text

    def upload_file(self, key: str, path: Path) -> None:
        self.calls.append(f"upload {key}")
        self.objects[key] = path.read_text()

    def delete(self, key: str) -> None:
        self.calls.append(f"delete {key}")
        del self.objects[key]

    def publish(
        self,
        layer_name: str,
        key: str,
        *,
        runtimes: Sequence[str],
        architectures: Sequence[str],
        description: str,
    ) -> PublishedLayer:
        assert key in self.objects
        self.calls.append(f"publish {layer_name} {','.join(runtimes)} {','.join(architectures)}")
        version = max(self.versions, default=0) + 1
        self.versions.append(version)
        arn = f"arn:aws:lambda:us-east-1:1:layer:{layer_name}"
        return PublishedLayer(arn, f"{arn}:{version}", version)

    def layer_version_arn(self, layer_name: str, version: int) -> str | None:
        if version not in self.versions:
            return None
        return f"arn:aws:lambda:us-east-1:1:layer:{layer_name}:{version}"

    def latest_version(self, layer_name: str) -> int | None:
        return max(self.versions, default=None)


def layer(tmp_path: Path, content: LayerContent = CONTENT) -> LayerBuild:
    zip_path = tmp_path / "layer.zip"
    zip_path.write_text("zip bytes")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("purepkg==1.0\n")
    manifest = LayerManifest(
        tool_version="0.1.0",
        layer_name="deps",
        content=content,
        zip_size=9,
        unzipped_size=99,
        input_file="requirements.txt",
    )
    return LayerBuild(zip_path, manifest, requirements)


def run(store: FakeStore, build: LayerBuild, *, dry_run: bool = False):  # type: ignore[no-untyped-def]
    previous = read_previous(store, KEYS, NullUI())
    return publish_layer(store, KEYS, build, previous, dry_run=dry_run, ui=NullUI())


def test_first_publish_writes_last_manifest_only_after_everything_else(tmp_path: Path) -> None:
    store = FakeStore()
    outcome = run(store, layer(tmp_path))
    staging = KEYS.staging(CONTENT.zip_sha256)
    assert store.calls == [
        f"upload {staging}",
        "publish deps python3.12 x86_64",
        "upload layers/deps/000001/requirements.txt",
        "put layers/deps/000001/manifest.json",
        "put layers/deps/last-manifest.json",
        f"delete {staging}",
    ]
    assert (outcome.action, outcome.reused, outcome.version) == ("published", False, 1)
    assert outcome.arn == "arn:aws:lambda:us-east-1:1:layer:deps:1"
    stored, _ = load_manifest(store.objects[KEYS.last_manifest])
    assert stored is not None and stored.version == 1 and stored.content == CONTENT
    assert store.objects[KEYS.versioned_manifest(1)] == store.objects[KEYS.last_manifest]
    assert outcome.manifest_keys == [KEYS.last_manifest, KEYS.versioned_manifest(1)]


def test_unchanged_build_reuses_the_version_and_writes_nothing(tmp_path: Path) -> None:
    store = FakeStore()
    run(store, layer(tmp_path))
    store.calls.clear()
    outcome = run(store, layer(tmp_path))
    assert store.calls == []
    assert (outcome.action, outcome.reused, outcome.version) == ("reused", True, 1)
    assert outcome.arn == "arn:aws:lambda:us-east-1:1:layer:deps:1"


def test_changed_pin_publishes_a_new_version_with_its_own_manifest(tmp_path: Path) -> None:
    store = FakeStore()
    run(store, layer(tmp_path))
    pinned = CONTENT.model_copy(update={"requirements": ["purepkg==1.1"], "zip_sha256": "cd" * 32})
    outcome = run(store, layer(tmp_path, pinned))
    assert (outcome.action, outcome.version) == ("published", 2)
    assert outcome.changes == ["requirements", "zip_sha256"]
    assert load_manifest(store.objects[KEYS.versioned_manifest(2)])[0].content == pinned  # type: ignore[union-attr]
    assert load_manifest(store.objects[KEYS.versioned_manifest(1)])[0].content == CONTENT  # type: ignore[union-attr]


def test_dry_run_writes_nothing_and_says_what_it_would_do(tmp_path: Path) -> None:
    store = FakeStore()
    would = run(store, layer(tmp_path), dry_run=True)
    assert store.calls == [] and store.versions == []
    assert (would.action, would.arn, would.dry_run) == ("would-publish", None, True)
    run(store, layer(tmp_path))
    store.calls.clear()
    again = run(store, layer(tmp_path), dry_run=True)
    assert store.calls == []
    assert (again.action, again.reused, again.version) == ("would-reuse", True, 1)


def test_a_deleted_layer_version_is_published_again(tmp_path: Path) -> None:
    store = FakeStore()
    run(store, layer(tmp_path))
    store.versions.clear()  # someone ran DeleteLayerVersion
    outcome = run(store, layer(tmp_path))
    assert (outcome.action, outcome.version) == ("published", 1)


def test_crash_after_publish_without_manifest_publishes_again(tmp_path: Path) -> None:
    store = FakeStore()
    store.versions.append(1)  # Lambda published; the run died before any manifest
    outcome = run(store, layer(tmp_path))
    assert (outcome.action, outcome.version) == ("published", 2)


def test_crash_before_last_manifest_adopts_the_version_its_manifest_proves(
    tmp_path: Path,
) -> None:
    store = FakeStore()
    run(store, layer(tmp_path))
    pinned = CONTENT.model_copy(update={"requirements": ["purepkg==1.1"], "zip_sha256": "cd" * 32})
    second = layer(tmp_path, pinned)
    old_last = store.objects[KEYS.last_manifest]
    run(store, second)
    store.objects[KEYS.last_manifest] = old_last  # as if killed before replacing it
    store.calls.clear()
    outcome = run(store, second)
    assert (outcome.action, outcome.reused, outcome.version) == ("reused", True, 2)
    assert store.calls == ["put layers/deps/last-manifest.json"]
    assert load_manifest(store.objects[KEYS.last_manifest])[0].version == 2  # type: ignore[union-attr]


def test_an_unreadable_last_manifest_never_skips_a_publication(tmp_path: Path) -> None:
    store = FakeStore()
    run(store, layer(tmp_path))
    store.objects[KEYS.last_manifest] = "{truncated"
    repaired = run(store, layer(tmp_path))  # version 1's own manifest still proves its content
    assert (repaired.action, repaired.version) == ("reused", 1)
    assert load_manifest(store.objects[KEYS.last_manifest])[0] is not None
    store.objects[KEYS.last_manifest] = "{truncated"
    del store.objects[KEYS.versioned_manifest(1)]
    outcome = run(store, layer(tmp_path))  # nothing proves it: publish
    assert (outcome.action, outcome.version) == ("published", 2)
