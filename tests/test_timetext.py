"""Times and durations in words: one module for the app and the CLI, so they say the same thing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cronmirror_desktop.core.timetext import duration, relative

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (timedelta(seconds=-2), "just now"),
        (timedelta(seconds=-30), "30 s ago"),
        (timedelta(minutes=-61), "1 h 1 min ago"),
        (timedelta(minutes=5), "in 5 min"),
        (timedelta(days=2, hours=3), "in 2 d 3 h"),
    ],
)
def test_relative(offset: timedelta, text: str) -> None:
    assert relative(NOW + offset, NOW) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [(None, "—"), (450, "450 ms"), (1234, "1.2 s"), (61_000, "1 min 1 s"), (3_660_000, "1 h 1 min")],
)
def test_duration(ms: int | None, text: str) -> None:
    assert duration(ms) == text
