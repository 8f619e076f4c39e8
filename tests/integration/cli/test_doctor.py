"""``lambda-builder doctor`` against a real engine, and against none."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker


def test_doctor_reports_engine_emulation_and_images(cli: Any) -> None:
    ensure_standin("python3.11", "x86_64")
    ensure_standin("python3.11", "arm64")
    result = cli(
        "doctor",
        "--runtime",
        "python3.11",
        "--base-image",
        "lambda-builder-standin/python:{version}{suffix}",
    )
    assert result.returncode == 0, result.stdout
    assert "ok   engine: Docker" in result.stdout
    assert (
        "ok   run arm64: emulated (uname -m in lambda-builder-standin/python:3.11-arm64: "
        "aarch64)" in result.stdout
    )
    assert "ok   image lambda-builder-standin/python:3.11: present" in result.stdout


def test_doctor_without_an_engine_says_how_to_fix_it(cli: Any) -> None:
    result = cli("doctor", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.returncode == 1
    assert (
        "FAIL engine: no Docker engine answers at unix:///nonexistent/docker.sock" in result.stdout
    )
    assert "fix: start Docker" in result.stdout


def test_doctor_says_when_a_missing_base_image_cannot_be_pulled(cli: Any) -> None:
    result = cli(
        "doctor",
        "--runtime",
        "python3.12",
        "--base-image",
        "lambda-builder-test/does-not-exist:{version}{suffix}",
    )
    line = next(
        line
        for line in result.stdout.splitlines()
        if "lambda-builder-test/does-not-exist:3.12-arm64" in line
    )
    assert line.startswith("warn ") and "cannot be pulled" in line
    assert "fix: check the network and `docker login`" in result.stdout
