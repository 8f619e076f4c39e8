"""botocore's failures as one line each, with the fix: credentials, permissions, buckets, size."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from builder.errors import AwsError

CREDENTIAL_CODES = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidToken",
    "AuthFailure",
)
CREDENTIALS_HINT = (
    "check AWS_PROFILE (aws sso login / aws configure) or AWS_ACCESS_KEY_ID, "
    "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; in CI, the step that assumes the role"
)
# Without s3:ListBucket, S3 answers a missing key (the first run's last-manifest.json) with 403.
PERMISSIONS_HINT = (
    "allow s3:GetObject, s3:PutObject and s3:DeleteObject on {prefix}/*, s3:ListBucket on the "
    "bucket, and lambda:PublishLayerVersion, lambda:GetLayerVersion and lambda:ListLayerVersions"
)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def translate(error: Exception, action: str, resource: str, prefix: str) -> AwsError:
    """``action`` (``PutObject``) on ``resource`` (an s3:// URI or a layer) failed: why, fix."""
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return no_credentials()
    if isinstance(error, NoRegionError):
        return no_region()
    if isinstance(error, ProfileNotFound):
        return AwsError(
            _one_line(str(error)), hint="check AWS_PROFILE against `aws configure list-profiles`"
        )
    if isinstance(error, EndpointConnectionError):
        return AwsError(
            f"cannot reach AWS for {action}: {_one_line(str(error))}",
            hint="check the network, AWS_REGION and AWS_ENDPOINT_URL",
        )
    if isinstance(error, ClientError):
        return _client_error(error, action, resource, prefix)
    if isinstance(error, BotoCoreError):
        return AwsError(f"{action} on {resource} failed: {_one_line(str(error))}")
    raise error


def _client_error(error: ClientError, action: str, resource: str, prefix: str) -> AwsError:
    details = error.response.get("Error", {})
    code, message = str(details.get("Code", "")), _one_line(str(details.get("Message", "")))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    # Some servers put the real code in the message (an XML body under code "403").
    if any(name in code or name in message for name in CREDENTIAL_CODES):
        return AwsError(
            f"AWS rejected the credentials ({_credential_code(code, message)}) on {action}",
            hint=CREDENTIALS_HINT,
        )
    if code == "NoSuchBucket":
        bucket = resource.removeprefix("s3://").split("/", 1)[0]
        return AwsError(
            f"the bucket {bucket} does not exist ({action} {resource})",
            hint=f"create it (aws s3 mb s3://{bucket}) in the layer's region, or fix --s3-uri",
        )
    if code in ("AccessDenied", "AccessDeniedException", "403") or status == 403:
        return AwsError(
            f"access denied: {action} on {resource}", hint=PERMISSIONS_HINT.format(prefix=prefix)
        )
    if code == "RequestEntityTooLargeException" or "size must be smaller" in message.lower():
        return AwsError(
            f"Lambda refused the layer as too large: {message}",
            hint="a layer must unzip to at most 250 MB: use --slim and --exclude, or split it",
        )
    return AwsError(f"{action} on {resource} failed: {code}: {message}")


def _credential_code(code: str, message: str) -> str:
    return next((name for name in CREDENTIAL_CODES if name in code or name in message), code)


def no_credentials() -> AwsError:
    return AwsError("no AWS credentials found", hint=CREDENTIALS_HINT)


def no_region() -> AwsError:
    return AwsError(
        "no AWS region is configured",
        hint="set AWS_REGION (or AWS_DEFAULT_REGION), or region in your AWS profile",
    )
