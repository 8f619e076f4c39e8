"""Fixtures shared by the pipeline's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.incontainer import pipeline


@pytest.fixture
def stock(tmp_path: Path) -> Path:
    """Where the files the fake pip hands out are prepared."""
    return tmp_path / "stock"


@pytest.fixture(autouse=True)
def machine_like_a_lambda_image(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline asks what it runs on (does pass 1 cover the target's wheels?): a fixed
    answer, an x86_64 machine with a glibc newer than every target's, whatever runs the tests."""
    monkeypatch.setattr(pipeline, "local_glibc", lambda: (2, 36))
    monkeypatch.setattr(pipeline.platform, "machine", lambda: "x86_64")
