"""The publish-layer manifest: S3 keys, what counts as a change, reading what S3 holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.errors import UsageError
from builder.job import PackageOutcome
from builder.layer_manifest import (
    FIRST_PUBLICATION,
    LayerContent,
    LayerKeys,
    LayerManifest,
    changed_fields,
    check_description,
    check_layer_name,
    dependency_set,
    describe_changes,
    dump_manifest,
    load_manifest,
    package_lines,
    parse_s3_uri,
)
from builder.requirements_file import parse_requirements

CONTENT = LayerContent(
    requirements=["purepkg==1.0 --hash=sha256:aa"],
    packages={"python3.12/x86_64": ["purepkg==1.0 purepkg-1.0-py3-none-any.whl"]},
    runtimes=["python3.12"],
    architectures=["x86_64"],
    layout="python",
    zip_sha256="ab" * 32,
)


def manifest(content: LayerContent = CONTENT, version: int = 3) -> LayerManifest:
    return LayerManifest(
        tool_version="0.1.0",
        layer_name="deps",
        content=content,
        zip_size=10,
        unzipped_size=20,
        version=version,
        layer_version_arn=f"arn:aws:lambda:us-east-1:1:layer:deps:{version}",
    )


def test_s3_uri_splits_into_bucket_and_prefix_without_slashes() -> None:
    location = parse_s3_uri("s3://my-bucket/layers/prod/")
    assert (location.bucket, location.prefix) == ("my-bucket", "layers/prod")
    assert parse_s3_uri("s3://my-bucket").prefix == ""
    assert parse_s3_uri("s3://my-bucket/").key("deps", "x.json") == "deps/x.json"


@pytest.mark.parametrize("uri", ["my-bucket/prefix", "s3://", "s3://UPPER/x", "s3://a/x"])
def test_bad_s3_uri_is_a_usage_error_saying_the_form(uri: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_s3_uri(uri)
    assert "--s3-uri" in str(caught.value)


def test_keys_sit_beside_the_versions_zero_padded_to_six() -> None:
    keys = LayerKeys(parse_s3_uri("s3://bucket-a/layers"), "deps")
    assert keys.last_manifest == "layers/deps/last-manifest.json"
    assert keys.versioned_manifest(7) == "layers/deps/000007/manifest.json"
    assert keys.input_file(12, "uv.lock") == "layers/deps/000012/uv.lock"
    assert keys.staging("ff") == "layers/deps/staging/ff.zip"
    assert LayerKeys(parse_s3_uri("s3://bucket-a"), "deps").last_manifest == (
        "deps/last-manifest.json"
    )


def test_layer_name_and_description_are_checked_before_anything_runs() -> None:
    check_layer_name("my_layer-1")
    for bad in ("", "has space", "x" * 65, "a/b"):
        with pytest.raises(UsageError):
            check_layer_name(bad)
    check_description("d" * 256)
    with pytest.raises(UsageError):
        check_description("d" * 257)


def test_unchanged_content_has_no_changes_and_any_field_counts() -> None:
    assert changed_fields(manifest(), CONTENT) == []
    assert changed_fields(None, CONTENT) == [FIRST_PUBLICATION]
    pinned = CONTENT.model_copy(
        update={"requirements": ["purepkg==1.1 --hash=sha256:bb"], "zip_sha256": "cd" * 32}
    )
    assert changed_fields(manifest(), pinned) == ["requirements", "zip_sha256"]
    arm = CONTENT.model_copy(update={"architectures": ["x86_64", "arm64"]})
    assert changed_fields(manifest(), arm) == ["architectures"]
    assert describe_changes(["requirements", "layout"]) == "changed: requirements, layout"
    assert describe_changes([FIRST_PUBLICATION]) == FIRST_PUBLICATION


def test_a_manifest_reads_back_equal_and_unusable_ones_say_why() -> None:
    stored = manifest()
    assert load_manifest(dump_manifest(stored)) == (stored, None)
    assert load_manifest(None) == (None, None)
    assert load_manifest("{not json")[0] is None
    assert "schema" in (load_manifest('{"schema_version": 99}')[1] or "")
    assert "invalid" in (load_manifest('{"schema_version": 1}')[1] or "")


def test_dependency_set_keeps_pins_and_hashes_and_makes_paths_relative(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "libs" / "shared").mkdir(parents=True)
    (project / "constraints.txt").write_text("purepkg<2\n")
    (project / "requirements.txt").write_text(
        "-c constraints.txt\npurepkg==1.0 --hash=sha256:" + "a" * 64 + "\n./libs/shared\n"
    )
    requirements, constraints = dependency_set(
        parse_requirements(project / "requirements.txt", environ={}), project
    )
    assert requirements == ["purepkg==1.0 --hash=sha256:" + "a" * 64, "libs/shared"]
    assert constraints == ["purepkg<2"]


def test_package_lines_are_sorted_with_their_wheels() -> None:
    packages = [
        PackageOutcome(name="zeta", version="2", wheel="zeta-2-py3-none-any.whl", how="wheel"),
        PackageOutcome(name="alpha", version="1", wheel="alpha-1-py3-none-any.whl", how="wheel"),
    ]
    assert package_lines(packages) == [
        "alpha==1 alpha-1-py3-none-any.whl",
        "zeta==2 zeta-2-py3-none-any.whl",
    ]
