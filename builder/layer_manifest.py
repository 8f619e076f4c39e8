"""What a published layer version was made from, and whether a new build differs from it.

The manifest is stored in S3 beside the layer's versions (``PREFIX/NAME/last-manifest.json``
and ``PREFIX/NAME/000007/manifest.json``). Its ``content`` alone decides whether
``publish-layer`` must publish: two builds with equal content ship the same bytes to the same
runtimes and architectures, so the version already published serves both.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from builder.errors import UsageError
from builder.job import PackageOutcome
from builder.requirements_file import ParsedRequirements, flatten

MANIFEST_SCHEMA_VERSION = 1
VERSION_DIGITS = 6  # PREFIX/NAME/000007/: sorts as a number in every S3 listing
_LAYER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
DESCRIPTION_LIMIT = 256  # PublishLayerVersion's limit
FIRST_PUBLICATION = "no previous publication"


class LayerContent(BaseModel):
    """Everything that decides whether a layer must be published again."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requirements: list[str]  # flattened and locked: versions, hashes, local paths relative
    constraints: list[str] = Field(default_factory=list)
    packages: dict[str, list[str]]  # per target ("python3.12/arm64"): "name==version wheel"
    runtimes: list[str]
    architectures: list[str]
    layout: str
    zip_sha256: str


class LayerManifest(BaseModel):
    """One publication: its content, the zip's sizes, and the layer version it became."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = MANIFEST_SCHEMA_VERSION
    tool: str = "lambda-builder"
    tool_version: str
    layer_name: str
    description: str = ""
    content: LayerContent
    zip_size: int
    unzipped_size: int
    input_kind: str | None = None
    input_file: str | None = None  # its name beside the versioned manifest
    layer_arn: str = ""
    layer_version_arn: str = ""
    version: int = 0  # 0 until published


@dataclass(frozen=True)
class PublishedLayer:
    """What Lambda answered to PublishLayerVersion."""

    layer_arn: str
    layer_version_arn: str
    version: int


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # without leading or trailing slashes; may be empty

    def key(self, *parts: str) -> str:
        return "/".join(part for part in (self.prefix, *parts) if part)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


@dataclass(frozen=True)
class LayerKeys:
    """Where one layer's manifests, inputs and staged zips live in the bucket."""

    location: S3Location
    layer_name: str

    @property
    def last_manifest(self) -> str:
        return self.location.key(self.layer_name, "last-manifest.json")

    def version_dir(self, version: int) -> str:
        return self.location.key(self.layer_name, f"{version:0{VERSION_DIGITS}d}")

    def versioned_manifest(self, version: int) -> str:
        return f"{self.version_dir(version)}/manifest.json"

    def input_file(self, version: int, name: str) -> str:
        return f"{self.version_dir(version)}/{name}"

    def staging(self, sha256: str) -> str:
        return self.location.key(self.layer_name, "staging", f"{sha256}.zip")


def parse_s3_uri(text: str) -> S3Location:
    """``s3://BUCKET/PREFIX`` (the prefix may be empty) -> bucket and prefix."""
    if not text.startswith("s3://"):
        raise UsageError(f"--s3-uri {text!r} is not an S3 URI", hint="write s3://BUCKET/PREFIX")
    bucket, _sep, prefix = text[len("s3://") :].partition("/")
    if not _BUCKET.match(bucket):
        raise UsageError(
            f"--s3-uri {text!r}: {bucket!r} is not a valid bucket name",
            hint="bucket names are 3-63 lower-case letters, digits, dots and hyphens",
        )
    return S3Location(bucket, prefix.strip("/"))


def check_layer_name(name: str) -> None:
    if not _LAYER_NAME.match(name):
        raise UsageError(
            f"--layer-name {name!r} is not a valid Lambda layer name",
            hint="use 1-64 letters, digits, hyphens and underscores",
        )


def check_description(description: str) -> None:
    if len(description) > DESCRIPTION_LIMIT:
        raise UsageError(
            f"--description is {len(description)} characters; Lambda allows {DESCRIPTION_LIMIT}",
            hint="shorten it",
        )


def dependency_set(parsed: ParsedRequirements, base: Path) -> tuple[list[str], list[str]]:
    """The flattened requirements and constraints, local paths relative to ``base``.

    Relative paths keep the manifest equal across checkouts in different directories.
    """

    def relative(path: Path) -> str:
        try:
            return Path(os.path.relpath(path, base)).as_posix()
        except ValueError:  # another drive on Windows
            return path.as_posix()

    requirements, constraints = flatten(parsed, relative, None)
    return _lines(requirements), _lines(constraints)


def _lines(text: str) -> list[str]:
    return [line for line in (raw.strip() for raw in text.splitlines()) if line]


def package_lines(packages: Iterable[PackageOutcome]) -> list[str]:
    return sorted(f"{p.name}=={p.version} {p.wheel}" for p in packages)


def changed_fields(previous: LayerManifest | None, content: LayerContent) -> list[str]:
    """What differs from the last publication, in words a log can show."""
    if previous is None:
        return [FIRST_PUBLICATION]
    old, new = previous.content.model_dump(), content.model_dump()
    return [name for name in new if old.get(name) != new[name]]


def describe_changes(changes: list[str]) -> str:
    if changes == [FIRST_PUBLICATION]:
        return FIRST_PUBLICATION
    return "changed: " + ", ".join(changes)


def load_manifest(text: str | None) -> tuple[LayerManifest | None, str | None]:
    """A stored manifest, or None and why it cannot be used (then the layer is published)."""
    if text is None:
        return None, None
    try:
        data = json.loads(text)
    except ValueError as error:
        return None, f"not JSON ({error})"
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != MANIFEST_SCHEMA_VERSION:
        return None, f"unknown schema version {version!r}"
    try:
        return LayerManifest.model_validate(data), None
    except ValidationError as error:
        return None, f"invalid ({error.error_count()} problems)"


def dump_manifest(manifest: LayerManifest) -> str:
    return manifest.model_dump_json(indent=2) + "\n"
