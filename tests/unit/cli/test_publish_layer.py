"""publish-layer's command line: its options, the checks before AWS, and what it prints."""

from __future__ import annotations

import sys

import pytest

from builder.cli.main import main, make_parser
from builder.cli.publish_layer import describe
from builder.report import LayerPublicationReport

ARGS = ["publish-layer", "proj", "--layer-name", "deps", "--s3-uri", "s3://bucket-a/layers"]


def outcome(action: str, **fields: object) -> LayerPublicationReport:
    base: dict[str, object] = {
        "layer_name": "deps",
        "action": action,
        "reused": action.endswith("reuse") or action == "reused",
        "sha256": "ab" * 32,
        "zip_size": 1000,
        "unzipped_size": 4000,
        "runtimes": ["python3.12"],
        "architectures": ["x86_64", "arm64"],
        "layout": "python",
        "bucket": "bucket-a",
    }
    return LayerPublicationReport.model_validate({**base, **fields})


def test_it_takes_builds_options_and_its_own() -> None:
    args = make_parser().parse_args([*ARGS, "--runtime", "python3.12,python3.13", "--dry-run"])
    assert (args.source_dir, args.layer_name, args.s3_uri) == (
        "proj",
        "deps",
        "s3://bucket-a/layers",
    )
    assert args.dry_run and args.runtime == "python3.12,python3.13"
    assert args.output is None and args.layer_layout == "python" and args.description == ""


@pytest.mark.parametrize("missing", ["--layer-name", "--s3-uri"])
def test_layer_name_and_s3_uri_are_required(
    missing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = list(ARGS)
    at = argv.index(missing)
    del argv[at : at + 2]
    with pytest.raises(SystemExit) as caught:
        make_parser().parse_args(argv)
    assert caught.value.code == 2 and missing in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--s3-uri", "bucket-a/layers"], "is not an S3 URI"),
        (["--layer-name", "has space"], "is not a valid Lambda layer name"),
        (["--description", "d" * 300], "Lambda allows 256"),
    ],
)
def test_bad_arguments_fail_before_any_aws_call(
    change: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*ARGS, "--runtime", "python3.12", *change]) == 2
    assert message in capsys.readouterr().err


def test_without_boto3_the_error_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "builder.aws.layer_store", None)  # import fails
    assert main([*ARGS, "--runtime", "python3.12"]) == 2
    assert "hint: pip install 'lambda-builder[aws]'" in capsys.readouterr().err


def test_the_last_line_printed_is_the_arn_alone() -> None:
    arn = "arn:aws:lambda:us-east-1:1:layer:deps:4"
    published = describe(
        outcome("published", arn=arn, version=4, changes=["requirements"], manifest_keys=["k"])
    )
    assert published[0] == "layer deps: published version 4"
    assert "  changed: requirements" in published and published[-1] == arn
    reused = describe(outcome("reused", arn=arn, version=4))
    assert reused[0] == "layer deps: unchanged: reusing version 4" and reused[-1] == arn
    would = describe(outcome("would-publish", changes=["zip_sha256"]))
    assert would[0] == "layer deps: dry run: would publish a new version"
    assert not any(line.startswith("arn:") for line in would)
