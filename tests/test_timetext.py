"""Times and durations in words: one module for the app and the CLI, so they say the same thing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cronmirror_desktop.core.timetext import changes_at, duration, interval, relative

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


def test_a_past_event_ahead_of_our_clock_is_just_now_never_in_the_future() -> None:
    """Issue 19: a request made seconds ago read "Requested in 7 s" (the server's clock was ahead)."""
    ahead = NOW + timedelta(seconds=7)
    assert relative(ahead, NOW) == "in 7 s"  # a next run may lie ahead
    assert relative(ahead, NOW, past=True) == "just now"  # a request, a run, a sign of life may not
    assert relative(NOW + timedelta(hours=3), NOW, past=True) == "just now"
    assert relative(NOW - timedelta(seconds=30), NOW, past=True) == "30 s ago"


@pytest.mark.parametrize(
    ("ms", "text"),
    [(1_800_000, "30 min"), (5_400_000, "1 h 30 min"), (86_400_000, "1 d"), (1_500, "1.5 s"), (300, "300 ms"),
     (90_061_000, "1 d 1 h 1 min 1 s")],
)  # fmt: skip
def test_interval(ms: int, text: str) -> None:
    assert interval(ms) == text


@pytest.mark.parametrize(
    ("offset", "past", "change_after"),
    [
        (timedelta(seconds=-12), False, timedelta(seconds=1)),  # "12 s ago" → "13 s ago"
        (timedelta(seconds=-59.5), False, timedelta(seconds=0.5)),  # → "1 min ago"
        (timedelta(minutes=-5, seconds=-10), False, timedelta(seconds=50)),  # → "6 min ago"
        (timedelta(hours=-11, minutes=-30), False, timedelta(minutes=30)),  # "11 h ago" → "12 h ago"
        (timedelta(days=-4, hours=-2), False, timedelta(hours=22)),  # "4 d ago" → "5 d ago"
        (timedelta(minutes=5, seconds=30), False, timedelta(seconds=30, microseconds=1)),  # → "in 4 min"
        (timedelta(seconds=3), False, timedelta(seconds=3)),  # "now" → "just now"
        (timedelta(seconds=7), True, timedelta(seconds=12)),  # "just now" until it is 5 s old
    ],
)
def test_changes_at(offset: timedelta, past: bool, change_after: timedelta) -> None:
    assert changes_at(NOW + offset, NOW, past=past) == NOW + change_after


@settings(max_examples=400, deadline=None)
@given(
    offset=st.integers(min_value=-10 * 86_400_000_000, max_value=10 * 86_400_000_000),
    past=st.booleans(),
)
def test_changes_at_is_exactly_when_the_words_change(offset: int, past: bool) -> None:
    """The text stays the same until `changes_at` and differs from then on: a view that re-renders at
    that instant is never stale and never repaints for nothing."""
    when = NOW + timedelta(microseconds=offset)
    change = changes_at(when, NOW, past=past)
    assert change is not None
    assert change > NOW
    before = relative(when, NOW, past=past)
    for t in (NOW + (change - NOW) / 2, change - timedelta(microseconds=1)):
        assert relative(when, t, past=past) == before
    assert relative(when, change, past=past) != before
