"""Every AWS failure publish-layer meets becomes one line with the fix."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from builder.aws.errors import translate
from builder.errors import AwsError

SCOPE = "s3://bucket-a/layers"


def client_error(code: str, message: str = "m", status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },  # type: ignore[typeddict-item]
        "Op",
    )


def one_line(error: AwsError) -> str:
    text = f"{error.message} | {error.hint}"
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    "error",
    [
        client_error("InvalidAccessKeyId", status=403),
        client_error("SignatureDoesNotMatch", status=403),
        client_error("UnrecognizedClientException", status=403),
        client_error("ExpiredToken", status=400),
        # A server that answers with an XML body under the bare status code.
        client_error("403", "<Error><Code>InvalidClientTokenId</Code></Error>", status=403),
    ],
)
def test_rejected_credentials_say_which_settings_to_check(error: ClientError) -> None:
    text = one_line(translate(error, "GetObject", f"{SCOPE}/x", SCOPE))
    assert "AWS rejected the credentials" in text and "AWS_PROFILE" in text


def test_missing_credentials_and_unreachable_endpoint_have_their_own_fix() -> None:
    assert "no AWS credentials" in one_line(translate(NoCredentialsError(), "GetObject", "", ""))
    unreachable = translate(
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "GetObject", "", ""
    )
    assert "AWS_ENDPOINT_URL" in one_line(unreachable)


def test_access_denied_names_the_call_and_the_permissions_needed() -> None:
    text = one_line(
        translate(client_error("AccessDenied", status=403), "PutObject", f"{SCOPE}/k", SCOPE)
    )
    assert "access denied: PutObject on s3://bucket-a/layers/k" in text
    assert "s3:PutObject" in text and "lambda:PublishLayerVersion" in text and SCOPE in text


def test_missing_bucket_says_how_to_create_it() -> None:
    error = client_error("NoSuchBucket", "The specified bucket does not exist", status=404)
    text = one_line(translate(error, "GetObject", "s3://nobucket/layers/deps/x.json", SCOPE))
    assert "the bucket nobucket does not exist" in text and "aws s3 mb s3://nobucket" in text


def test_a_layer_lambda_finds_too_large_is_a_size_error() -> None:
    error = client_error(
        "InvalidParameterValueException",
        "Unzipped size must be smaller than 262144000 bytes",
    )
    assert "too large" in one_line(translate(error, "PublishLayerVersion", "layer deps", SCOPE))


def test_anything_else_keeps_code_and_message_on_one_line() -> None:
    error = client_error("ThrottlingException", "Rate\nexceeded")
    text = one_line(translate(error, "PublishLayerVersion", "layer deps", SCOPE))
    assert "ThrottlingException: Rate exceeded" in text


def test_an_unknown_profile_names_it_and_how_to_list_them() -> None:
    from botocore.exceptions import ProfileNotFound

    text = one_line(translate(ProfileNotFound(profile="ci"), "resolving credentials", "", ""))
    assert "ci" in text and "aws configure list-profiles" in text
