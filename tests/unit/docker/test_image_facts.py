"""What an image reports (by a probe, or with its markers) must be what the target needs."""

from __future__ import annotations

import pytest

from builder.architectures import Architecture
from builder.docker.image_facts import check_image_facts
from builder.errors import DockerError
from builder.runtimes import RUNTIMES

PY311 = RUNTIMES["python3.11"]


def test_matching_facts_pass() -> None:
    check_image_facts("aarch64", "3.11", PY311, Architecture.ARM64, "img")
    check_image_facts("x86_64", "3.11", PY311, Architecture.X86_64, "img")


def test_another_machine_is_an_error_naming_both() -> None:
    with pytest.raises(DockerError, match="runs on x86_64, not aarch64") as error:
        check_image_facts("x86_64", "3.11", PY311, Architecture.ARM64, "img")
    assert error.value.hint and "--base-image" in error.value.hint


def test_another_python_names_the_image_and_the_runtime_to_pick() -> None:
    with pytest.raises(DockerError, match=r"image img has Python 3\.12, but python3\.11") as error:
        check_image_facts("aarch64", "3.12", PY311, Architecture.ARM64, "img")
    assert error.value.hint and "--runtime python3.12" in error.value.hint
