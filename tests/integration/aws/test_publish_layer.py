"""publish-layer through the real command line, real containers and a real S3 + Lambda API.

The API is moto in server mode on 127.0.0.1 (tests/support/moto_server.py); the builds run in
the python3.11 stand-in image against a local index. One cold build, then the whole-build
cache serves every later run of the same requirements.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.fixture_packages import pure_wheel, sha256_of
from tests.support.moto_server import ACCESS_KEY, SECRET_KEY, MotoServer
from tests.support.package_index import PackageIndex, hermetic_pip_env
from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker
REPO_ROOT = Path(__file__).resolve().parents[3]
BUCKET = "layers-bucket"
CRASH = "LAMBDA_BUILDER_TEST_CRASH_AT"


@pytest.fixture(scope="module")
def wheels(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PackageIndex, dict[str, str]]]:
    """purepkg 1.0 and 1.1 and needspure (which needs purepkg), with their hashes."""
    dists = tmp_path_factory.mktemp("publish-dists")
    made = {
        "purepkg==1.0": pure_wheel(dists, "purepkg", "1.0"),
        "purepkg==1.1": pure_wheel(dists, "purepkg", "1.1"),
        "needspure==1.0": pure_wheel(dists, "needspure", "1.0", requires=["purepkg"]),
    }
    with PackageIndex(tmp_path_factory.mktemp("publish-index")) as index:
        index.add_all(sorted(dists.iterdir()))
        yield index, {pin: sha256_of(path) for pin, path in made.items()}


@pytest.fixture(scope="module")
def aws(moto_server: MotoServer) -> dict[str, Any]:
    """Clients of the test itself, to prepare the bucket and inspect what was published."""
    settings = {
        "endpoint_url": moto_server.url,
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
        "region_name": "us-east-1",
    }
    s3 = boto3.client("s3", **settings)
    s3.create_bucket(Bucket=BUCKET)
    return {
        "s3": s3,
        "lambda": boto3.client("lambda", **settings),
        "iam": boto3.client("iam", **settings),
    }


class Project:
    """A project whose requirements become one layer, published again and again."""

    def __init__(
        self, root: Path, layer: str, wheels: tuple[PackageIndex, dict[str, str]], moto: MotoServer
    ):
        self.root, self.layer, self.moto = root, layer, moto
        self.index, self.hashes = wheels
        self.root.mkdir(parents=True, exist_ok=True)
        self.runs = 0
        self.pin("1.0")

    def pin(self, version: str) -> None:
        lines = [f"needspure==1.0 --hash={self.hashes['needspure==1.0']}"]
        lines.append(f"purepkg=={version} --hash={self.hashes[f'purepkg=={version}']}")
        (self.root / "requirements.txt").write_text("\n".join(lines) + "\n")

    def publish(
        self,
        *extra: str,
        env: dict[str, str] | None = None,
        arch: str = "x86_64",
        runtime: str = "python3.11",
    ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        self.runs += 1
        report = self.root / f"report{self.runs}.json"
        for name in runtime.split(","):
            for machine in arch.split(","):
                image = ensure_standin(name, machine)
        # A template: each target's own stand-in image.
        image = image.split(":")[0] + ":{version}{suffix}"
        command = [
            sys.executable, "-m", "builder", "publish-layer", str(self.root),
            "--runtime", runtime, "--arch", arch, "--base-image", image,
            "--index-url", self.index.url, "--layer-name", self.layer,
            "--s3-uri", f"s3://{BUCKET}/layers", "--report", str(report),
            "--layer-zip", str(self.root / "layer.zip"), *extra,
        ]  # fmt: skip
        environment = hermetic_pip_env(
            {"PYTHONPATH": str(REPO_ROOT), **self.moto.environment(), **(env or {})}
        )
        environment = {k: v for k, v in environment.items() if v != ""}  # "" unsets
        result = subprocess.run(
            command, env=environment, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900
        )
        data = json.loads(report.read_text()) if report.exists() else {}
        return result, data

    def key(self, name: str) -> str:
        return f"layers/{self.layer}/{name}"


def read_json(aws: dict[str, Any], key: str) -> Any:
    return json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read())


def keys(aws: dict[str, Any], layer: str) -> list[str]:
    listed = aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix=f"layers/{layer}/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def versions(aws: dict[str, Any], layer: str) -> list[int]:
    listed = aws["lambda"].list_layer_versions(LayerName=layer)["LayerVersions"]
    return sorted(item["Version"] for item in listed)


def ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


def test_first_publish_then_an_unchanged_rerun_reuses_it_without_uploading(
    tmp_path: Path, wheels: Any, moto_server: MotoServer, aws: dict[str, Any]
) -> None:
    project = Project(tmp_path / "first", "first", wheels, moto_server)
    start = moto_server.log_size()
    result, report = project.publish("--description", "shared deps")
    ok(result)
    writes = moto_server.writes_since(start)  # the log the unchanged run is checked against
    assert any('"POST /2018-10-31/layers/first/versions' in line for line in writes), writes
    assert sum('"PUT /layers-bucket/layers/first/' in line for line in writes) == 4, writes
    published = report["layer_publication"]
    arn = "arn:aws:lambda:us-east-1:123456789012:layer:first:1"
    assert (published["action"], published["reused"], published["version"]) == (
        "published", False, 1,
    )  # fmt: skip
    assert published["arn"] == arn and result.stdout.splitlines()[-1] == arn
    # The zip is the one build --layer-zip writes, and the one Lambda now holds.
    local = (tmp_path / "first" / "layer.zip").read_bytes()
    assert published["sha256"] == hashlib.sha256(local).hexdigest()
    assert published["zip_size"] == len(local) and published["unzipped_size"] > 0
    [target] = report["targets"]
    assert [a["sha256"] for a in target["artifacts"] if a["kind"] == "layer-zip"] == [
        published["sha256"]
    ]
    names = zipfile.ZipFile(tmp_path / "first" / "layer.zip").namelist()
    assert "python/purepkg/__init__.py" in names and "python/needspure/__init__.py" in names
    layer = aws["lambda"].get_layer_version(LayerName="first", VersionNumber=1)
    assert (
        layer["Content"]["CodeSha256"] == base64.b64encode(hashlib.sha256(local).digest()).decode()
    )
    assert layer["CompatibleRuntimes"] == ["python3.11"]
    assert layer["CompatibleArchitectures"] == ["x86_64"]
    assert layer["Description"] == "shared deps"
    # Manifests beside the versions, with the requirements file; the staged zip is gone.
    assert keys(aws, "first") == [
        project.key("000001/manifest.json"),
        project.key("000001/requirements.txt"),
        project.key("last-manifest.json"),
    ]
    manifest = read_json(aws, project.key("last-manifest.json"))
    assert manifest == read_json(aws, project.key("000001/manifest.json"))
    assert manifest["version"] == 1 and manifest["layer_version_arn"] == arn
    assert manifest["content"]["zip_sha256"] == published["sha256"]
    assert (
        f"purepkg==1.0 --hash={project.hashes['purepkg==1.0']}"
        in (manifest["content"]["requirements"])
    )
    assert published["manifest_keys"] == [
        project.key("last-manifest.json"),
        project.key("000001/manifest.json"),
    ]
    shown = result.stdout + result.stderr + json.dumps(report) + json.dumps(manifest)
    assert ACCESS_KEY not in shown and SECRET_KEY not in shown

    before = moto_server.log_size()
    again, second = project.publish("--description", "shared deps")
    ok(again)
    assert moto_server.writes_since(before) == []  # no upload, no publish, no manifest
    reused = second["layer_publication"]
    assert (reused["action"], reused["reused"], reused["arn"]) == ("reused", True, arn)
    assert second["targets"][0]["dependency_cache"] == "hit"
    assert again.stdout.splitlines()[-1] == arn
    assert versions(aws, "first") == [1]


def test_changing_one_pin_publishes_a_new_version_and_manifest(
    tmp_path: Path, wheels: Any, moto_server: MotoServer, aws: dict[str, Any]
) -> None:
    project = Project(tmp_path / "pinned", "pinned", wheels, moto_server)
    ok(project.publish()[0])
    project.pin("1.1")
    before = moto_server.log_size()
    dry, would = project.publish("--dry-run")
    ok(dry)
    assert moto_server.writes_since(before) == [] and versions(aws, "pinned") == [1]
    assert would["layer_publication"]["action"] == "would-publish"
    assert "changed: requirements, packages, zip_sha256" in dry.stdout

    result, report = project.publish()
    ok(result)
    published = report["layer_publication"]
    assert (published["action"], published["version"]) == ("published", 2)
    assert published["changes"] == ["requirements", "packages", "zip_sha256"]
    assert versions(aws, "pinned") == [1, 2]
    second = read_json(aws, project.key("000002/manifest.json"))
    first = read_json(aws, project.key("000001/manifest.json"))
    assert read_json(aws, project.key("last-manifest.json")) == second
    assert second["content"]["packages"]["python3.11/x86_64"][1].startswith("purepkg==1.1 ")
    assert first["content"]["packages"]["python3.11/x86_64"][1].startswith("purepkg==1.0 ")
    stored = aws["s3"].get_object(Bucket=BUCKET, Key=project.key("000002/requirements.txt"))
    assert stored["Body"].read().decode() == (project.root / "requirements.txt").read_text()


def test_a_killed_publish_is_never_skipped_by_the_next_run(
    tmp_path: Path, wheels: Any, moto_server: MotoServer, aws: dict[str, Any]
) -> None:
    project = Project(tmp_path / "crash", "crash", wheels, moto_server)
    # Killed right after Lambda published, before any manifest: the next run must publish.
    killed, _ = project.publish(env={CRASH: "after-publish"})
    assert killed.returncode == -9, killed.stderr
    assert versions(aws, "crash") == [1]
    assert project.key("last-manifest.json") not in keys(aws, "crash")
    result, report = project.publish()
    ok(result)
    assert (report["layer_publication"]["action"], report["layer_publication"]["version"]) == (
        "published", 2,
    )  # fmt: skip
    assert read_json(aws, project.key("last-manifest.json"))["version"] == 2

    # Killed after the versioned manifest, before last-manifest.json: its manifest proves
    # version 3 holds this build, so the next run reuses it and records it.
    project.pin("1.1")
    killed, _ = project.publish(env={CRASH: "after-versioned-manifest"})
    assert killed.returncode == -9, killed.stderr
    assert versions(aws, "crash") == [1, 2, 3]
    assert read_json(aws, project.key("last-manifest.json"))["version"] == 2
    result, report = project.publish()
    ok(result)
    adopted = report["layer_publication"]
    assert (adopted["action"], adopted["version"]) == ("reused", 3)
    assert "did not finish" in result.stderr
    assert versions(aws, "crash") == [1, 2, 3]
    assert read_json(aws, project.key("last-manifest.json"))["version"] == 3


def test_bad_credentials_permissions_or_bucket_fail_in_one_line_before_building(
    tmp_path: Path, wheels: Any, moto_server: MotoServer, aws: dict[str, Any]
) -> None:
    project = Project(tmp_path / "denied", "denied", wheels, moto_server)
    wrong = {
        "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG1",
        "AWS_SECRET_ACCESS_KEY": "wrong-secret-42",
    }
    aws["iam"].create_user(UserName="no-permissions")
    key = aws["iam"].create_access_key(UserName="no-permissions")["AccessKey"]
    powerless = {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }
    moto_server.require_known_credentials(True)
    try:
        result, report = project.publish(env=wrong)
        denied, _ = project.publish(env=powerless)
    finally:
        moto_server.require_known_credentials(False)
    assert result.returncode == 9, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: AWS rejected the credentials (InvalidAccessKeyId) on GetObject"]
    assert "hint: check AWS_PROFILE" in result.stderr
    assert "downloading" not in result.stderr and report == {}  # failed before building
    for secret in wrong.values():
        assert secret not in result.stdout + result.stderr

    assert denied.returncode == 9, denied.stdout + denied.stderr
    assert (
        f"error: access denied: GetObject on s3://{BUCKET}/{project.key('last-manifest.json')}"
        in denied.stderr
    )
    assert "s3:PutObject" in denied.stderr and "lambda:PublishLayerVersion" in denied.stderr
    assert key["SecretAccessKey"] not in denied.stdout + denied.stderr

    without = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    missing, _ = project.publish(env=without)
    assert missing.returncode == 9
    assert "error: no AWS credentials found" in missing.stderr

    nobucket, _ = project.publish("--s3-uri", "s3://no-such-bucket/layers")
    assert nobucket.returncode == 9
    assert "error: the bucket no-such-bucket does not exist" in nobucket.stderr
    assert "aws s3 mb s3://no-such-bucket" in nobucket.stderr
    assert versions(aws, "denied") == []


@pytest.mark.emulation
def test_pure_python_for_two_architectures_is_one_version_listing_both(
    tmp_path: Path, wheels: Any, moto_server: MotoServer, aws: dict[str, Any]
) -> None:
    project = Project(tmp_path / "both", "both", wheels, moto_server)
    result, report = project.publish(arch="x86_64,arm64")
    ok(result)
    assert [t["architecture"] for t in report["targets"]] == ["x86_64", "arm64"]
    per_target = {
        t["architecture"]: next(a for a in t["artifacts"] if a["kind"] == "layer-zip")
        for t in report["targets"]
    }
    assert per_target["x86_64"]["sha256"] == per_target["arm64"]["sha256"]  # pure Python
    published = report["layer_publication"]
    assert published["architectures"] == ["x86_64", "arm64"]
    local = (tmp_path / "both" / "layer.zip").read_bytes()
    assert published["sha256"] == hashlib.sha256(local).hexdigest()
    layer = aws["lambda"].get_layer_version(LayerName="both", VersionNumber=1)
    assert layer["CompatibleArchitectures"] == ["x86_64", "arm64"]
    assert sorted(zipfile.ZipFile(tmp_path / "both" / "layer.zip").namelist()) == sorted(
        zipfile.ZipFile(per_target["arm64"]["path"]).namelist()
    )


def test_two_runtimes_each_in_its_own_site_packages_are_one_version(
    tmp_path: Path, wheels: Any, moto_server: MotoServer, aws: dict[str, Any]
) -> None:
    project = Project(tmp_path / "runtimes", "runtimes", wheels, moto_server)
    result, report = project.publish(
        "--layer-layout", "site-packages", runtime="python3.11,python3.13"
    )
    ok(result)
    published = report["layer_publication"]
    assert (published["runtimes"], published["layout"]) == (
        ["python3.11", "python3.13"], "site-packages",
    )  # fmt: skip
    names = zipfile.ZipFile(tmp_path / "runtimes" / "layer.zip").namelist()
    for version in ("3.11", "3.13"):
        assert f"python/lib/python{version}/site-packages/purepkg/__init__.py" in names
    layer = aws["lambda"].get_layer_version(LayerName="runtimes", VersionNumber=1)
    assert layer["CompatibleRuntimes"] == ["python3.11", "python3.13"]
    manifest = read_json(aws, project.key("last-manifest.json"))
    assert sorted(manifest["content"]["packages"]) == ["python3.11/x86_64", "python3.13/x86_64"]
