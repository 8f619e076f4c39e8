"""Fixtures shared by the pipeline's tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def stock(tmp_path: Path) -> Path:
    """Where the files the fake pip hands out are prepared."""
    return tmp_path / "stock"
