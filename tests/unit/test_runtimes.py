"""The runtime table: Python version, ABI, Amazon Linux generation, glibc and base image."""

from __future__ import annotations

import pytest

from builder.architectures import Architecture
from builder.errors import UsageError
from builder.runtimes import RUNTIMES, deprecation_warning, get_runtime


def test_every_lambda_python_runtime_is_known_in_order() -> None:
    assert list(RUNTIMES) == [f"python3.{minor}" for minor in range(8, 15)]


@pytest.mark.parametrize("name", ["python3.8", "python3.9", "python3.10", "python3.11"])
def test_amazon_linux_2_runtimes_have_glibc_2_26(name: str) -> None:
    runtime = get_runtime(name)
    assert (runtime.amazon_linux, runtime.glibc, runtime.glibc_text) == (
        "Amazon Linux 2",
        (2, 26),
        "2.26",
    )


@pytest.mark.parametrize("name", ["python3.12", "python3.13", "python3.14"])
def test_amazon_linux_2023_runtimes_have_glibc_2_34(name: str) -> None:
    runtime = get_runtime(name)
    assert (runtime.amazon_linux, runtime.glibc, runtime.glibc_text) == (
        "Amazon Linux 2023",
        (2, 34),
        "2.34",
    )


def test_version_and_abi_follow_the_name() -> None:
    runtime = get_runtime("python3.10")
    assert (runtime.major, runtime.minor, runtime.version, runtime.abi) == (3, 10, "3.10", "cp310")


@pytest.mark.parametrize("spelling", ["python3.12", "3.12", " Python3.12 ", "PYTHON3.12"])
def test_runtime_is_found_by_any_reasonable_spelling(spelling: str) -> None:
    assert get_runtime(spelling).name == "python3.12"


@pytest.mark.parametrize("name", ["python3.7", "python2.7", "3", "nodejs20.x", ""])
def test_unknown_runtime_error_lists_the_valid_ones(name: str) -> None:
    with pytest.raises(UsageError) as caught:
        get_runtime(name)
    assert caught.value.message == f"unknown runtime {name!r}"
    assert caught.value.hint == (
        "use one of: python3.8, python3.9, python3.10, python3.11, python3.12, python3.13, "
        "python3.14"
    )
    assert caught.value.exit_code == 2


def test_only_python38_is_deprecated_and_warns() -> None:
    warning = deprecation_warning(get_runtime("python3.8"))
    assert warning is not None
    assert "python3.8 is deprecated" in warning and "python3.12" in warning
    assert [name for name, runtime in RUNTIMES.items() if deprecation_warning(runtime)] == [
        "python3.8"
    ]


@pytest.mark.parametrize(
    ("name", "architecture", "image"),
    [
        ("python3.12", Architecture.X86_64, "public.ecr.aws/lambda/python:3.12"),
        ("python3.12", Architecture.ARM64, "public.ecr.aws/lambda/python:3.12-arm64"),
        ("python3.8", Architecture.ARM64, "public.ecr.aws/lambda/python:3.8-arm64"),
        ("python3.14", Architecture.X86_64, "public.ecr.aws/lambda/python:3.14"),
    ],
)
def test_base_image_is_the_public_lambda_image_with_arm64_suffix(
    name: str, architecture: Architecture, image: str
) -> None:
    assert get_runtime(name).base_image(architecture) == image


def test_base_image_template_fills_version_suffix_and_arch() -> None:
    runtime = get_runtime("python3.11")
    template = "mirror.example/lambda/python:{version}{suffix}"
    assert (
        runtime.base_image(Architecture.ARM64, template)
        == "mirror.example/lambda/python:3.11-arm64"
    )
    assert runtime.base_image(Architecture.X86_64, template) == "mirror.example/lambda/python:3.11"
    assert runtime.base_image(Architecture.ARM64, "img:{arch}-{version}") == "img:arm64-3.11"
    pinned = "mirror.example/python@sha256:abc"
    assert runtime.base_image(Architecture.X86_64, pinned) == pinned


@pytest.mark.parametrize("template", ["img:{python}", "img:{0}", "img:{version"])
def test_bad_base_image_template_is_a_usage_error_naming_the_placeholders(template: str) -> None:
    with pytest.raises(UsageError) as caught:
        get_runtime("python3.12").base_image(Architecture.X86_64, template)
    assert caught.value.message.startswith(f"--base-image {template!r}: cannot fill in")
    assert caught.value.hint == "placeholders are {version}, {suffix} and {arch}"
