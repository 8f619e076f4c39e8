"""``lambda-builder cache``: sizes and ages as users write them, and what prune picks."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli.cache import parse_duration, parse_size
from builder.errors import UsageError
from builder.host.build_cache import EntryInfo, prunable

DAY = 86400.0


def entry(key: str, size: int, last_used: float) -> EntryInfo:
    return EntryInfo(key, Path(key), "python3.12/arm64", size, 1, 1, last_used, last_used)


@pytest.mark.parametrize(
    ("text", "size"),
    [("500M", 500 * 1024**2), ("2G", 2 * 1024**3), ("1.5gb", 1610612736), ("10", 10)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(("text", "seconds"), [("30d", 30 * DAY), ("12h", 43200), ("2w", 14 * DAY)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["lots", "-1d", "5y"])
def test_bad_values_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)
    with pytest.raises(UsageError):
        parse_size(text)


def test_prune_by_age_takes_only_entries_unused_for_longer() -> None:
    now = 100 * DAY
    old, recent = entry("old", 10, now - 40 * DAY), entry("recent", 10, now - DAY)
    assert prunable([old, recent], now, older_than=30 * DAY) == [old]


def test_prune_by_size_keeps_the_most_recently_used() -> None:
    now = 100 * DAY
    a, b, c = entry("a", 60, now - 1), entry("b", 60, now - 2), entry("c", 60, now - 3)
    assert prunable([c, a, b], now, max_size=130) == [c]
    assert prunable([c, a, b], now, max_size=50) == [a, b, c]
    assert prunable([c, a, b], now) == []
