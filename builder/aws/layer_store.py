"""S3 objects and Lambda layer versions: the handful of calls ``publish-layer`` makes.

boto3 finds credentials, region and ``AWS_ENDPOINT_URL`` through its normal chain; the
credential values are registered with the redactor so no error or log line can show them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from builder.aws.errors import no_credentials, no_region, translate
from builder.layer_manifest import PublishedLayer
from builder.redact import register_secret

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")
# One PUT for what a layer can be (under 250 MB zipped): no multipart upload to abandon.
_TRANSFER = TransferConfig(multipart_threshold=256 * 1024 * 1024)


class LayerStore:
    """One bucket and Lambda's layers in the session's region."""

    def __init__(self, bucket: str, prefix: str, session: boto3.Session | None = None):
        self.bucket, self.prefix = bucket, prefix
        self.scope = f"s3://{bucket}/{prefix}".rstrip("/")
        try:
            session = session or boto3.Session()
            _register_credentials(session)
            if not session.region_name:
                raise no_region()
            self.s3: S3Client = session.client("s3")
            self.lambda_: LambdaClient = session.client("lambda")
        except (BotoCoreError, ClientError) as error:  # a missing profile, a failed SSO login
            raise translate(error, "resolving credentials", self.scope, self.scope) from None

    def _call(self, action: str, resource: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except (BotoCoreError, ClientError) as error:
            raise translate(error, action, resource, self.scope) from None

    def _uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def read_text(self, key: str) -> str | None:
        """The object's text, or None when there is no such key."""
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise translate(error, "GetObject", self._uri(key), self.scope) from None
        except BotoCoreError as error:
            raise translate(error, "GetObject", self._uri(key), self.scope) from None
        body: bytes = self._call("GetObject", self._uri(key), response["Body"].read)
        return body.decode("utf-8")

    def write_text(self, key: str, text: str) -> None:
        self._call(
            "PutObject",
            self._uri(key),
            lambda: self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=text.encode("utf-8"),
                ContentType="application/json" if key.endswith(".json") else "text/plain",
            ),
        )

    def upload_file(self, key: str, path: Path) -> None:
        self._call(
            "PutObject",
            self._uri(key),
            lambda: self.s3.upload_file(str(path), self.bucket, key, Config=_TRANSFER),
        )

    def delete(self, key: str) -> None:
        self._call(
            "DeleteObject",
            self._uri(key),
            lambda: self.s3.delete_object(Bucket=self.bucket, Key=key),
        )

    def publish(
        self,
        layer_name: str,
        key: str,
        *,
        runtimes: Sequence[str],
        architectures: Sequence[str],
        description: str,
    ) -> PublishedLayer:
        response = self._call(
            "PublishLayerVersion",
            f"layer {layer_name} from {self._uri(key)}",
            lambda: self.lambda_.publish_layer_version(
                LayerName=layer_name,
                Description=description,
                Content={"S3Bucket": self.bucket, "S3Key": key},
                CompatibleRuntimes=list(runtimes),  # type: ignore[arg-type]
                CompatibleArchitectures=list(architectures),  # type: ignore[arg-type]
            ),
        )
        return PublishedLayer(
            layer_arn=response["LayerArn"],
            layer_version_arn=response["LayerVersionArn"],
            version=response["Version"],
        )

    def layer_version_arn(self, layer_name: str, version: int) -> str | None:
        """The version's ARN, or None when it was deleted (or never existed)."""
        try:
            response = self.lambda_.get_layer_version(LayerName=layer_name, VersionNumber=version)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise translate(
                error, "GetLayerVersion", f"layer {layer_name}:{version}", self.scope
            ) from None
        except BotoCoreError as error:
            raise translate(
                error, "GetLayerVersion", f"layer {layer_name}:{version}", self.scope
            ) from None
        return response["LayerVersionArn"]

    def latest_version(self, layer_name: str) -> int | None:
        """The newest version of the layer, or None when it has none."""
        response = self._call(
            "ListLayerVersions",
            f"layer {layer_name}",
            lambda: self.lambda_.list_layer_versions(LayerName=layer_name, MaxItems=1),
        )
        versions = [item["Version"] for item in response.get("LayerVersions", [])]
        return max(versions) if versions else None


def _register_credentials(session: boto3.Session) -> None:
    """Resolve the credentials now, and make sure no line we print can show them."""
    credentials = session.get_credentials()
    if credentials is None:
        raise no_credentials()
    frozen = credentials.get_frozen_credentials()
    for secret in (frozen.access_key, frozen.secret_key, frozen.token):
        if secret:
            register_secret(secret)
