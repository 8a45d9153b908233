"""Words for times and durations, shared by every view (pure Python, so it is cheap to test).

Relative times are what people scan ("in 5 min", "3 h ago"); the exact instant goes into tooltips, in the
viewer's own zone (one rule for every instant: `absolute`). Qt-free, so the app and the `cronmirror` CLI
say times the same way.

A relative text is only true for a while: `changes_at` says when it next reads differently, so a view can
re-render exactly the texts that changed, when they change (every second while it counts seconds, every
minute after that), instead of repainting everything on a fixed beat.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


def _span(seconds: float) -> str:
    """A non-negative span in the largest sensible units: "12 s", "5 min", "3 h 20 min", "4 d"."""
    s = int(seconds)
    if s < _MINUTE:
        return f"{s} s"
    if s < _HOUR:
        return f"{s // _MINUTE} min"
    if s < _DAY:
        hours, minutes = divmod(s // _MINUTE, 60)
        return f"{hours} h {minutes} min" if minutes and hours < 10 else f"{hours} h"
    days, hours = divmod(s // _HOUR, 24)
    return f"{days} d {hours} h" if hours and days < 3 else f"{days} d"


def relative(when: datetime | None, now: datetime, *, empty: str = "—", past: bool = False) -> str:
    """ "in 5 min" / "3 h ago" / "just now"; `empty` for an unknown time.

    `past`: `when` is something that already happened (a request, a run, a sign of life). Written by
    another machine's clock, it can still lie a little ahead of ours; that reads "just now", never "in 7 s".
    """
    if when is None:
        return empty
    delta = (when - now).total_seconds()
    if past and delta > 0:
        return "just now"
    if abs(delta) < 5:
        return "just now" if delta <= 0 else "now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(-delta)} ago"


_TICK = timedelta(microseconds=1)


def _bucket(seconds: int) -> tuple[int, int]:
    """The whole-second span [low, high) over which `_span` says the same as for `seconds`."""
    if seconds < _MINUTE:
        return seconds, seconds + 1
    if seconds < _DAY and seconds // _HOUR < 10:  # "5 min", "3 h 20 min": minute by minute
        low = seconds // _MINUTE * _MINUTE
        return low, low + _MINUTE
    if seconds < _DAY or seconds // _DAY < 3:  # "14 h", "1 d 5 h": hour by hour
        low = seconds // _HOUR * _HOUR
        return low, low + _HOUR
    low = seconds // _DAY * _DAY
    return low, low + _DAY


def changes_at(when: datetime | None, now: datetime, *, past: bool = False) -> datetime | None:
    """The first instant after `now` at which `relative(when, ·, past=past)` reads differently (None for
    an unknown time, whose text never changes)."""
    if when is None:
        return None
    delta = (when - now).total_seconds()
    if past and delta > 0:
        return when + timedelta(seconds=5)  # "just now" until it is 5 s old
    if delta > 0:
        if delta < 5:
            return when  # "now" until it is here
        low, _ = _bucket(int(delta))
        return when - timedelta(seconds=low) + _TICK
    age = -delta
    if age < 5:
        return when + timedelta(seconds=5)
    _, high = _bucket(int(age))
    return when + timedelta(seconds=high)


def duration(ms: int | None, *, empty: str = "—") -> str:
    """450 → "450 ms", 1234 → "1.2 s", 184000 → "3 min 4 s", 7_200_000 → "2 h 0 min"."""
    if ms is None:
        return empty
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < _MINUTE:
        return f"{int(seconds)} s"
    if seconds < _HOUR:
        minutes, rest = divmod(int(seconds), _MINUTE)
        return f"{minutes} min {rest} s"
    hours, rest = divmod(int(seconds), _HOUR)
    return f"{hours} h {rest // _MINUTE} min"


def interval(ms: int) -> str:
    """How often an `every` job runs, as people say it: 1800000 → "30 min", 5400000 → "1 h 30 min",
    86400000 → "1 d", 1500 → "1.5 s" (unlike `duration`, no "0 s" tails)."""
    if ms < 1000:
        return f"{ms} ms"
    if ms % 1000:
        return f"{ms / 1000:g} s"
    parts: list[str] = []
    rest = ms // 1000
    for size, unit in ((_DAY, "d"), (_HOUR, "h"), (_MINUTE, "min"), (1, "s")):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts)


def zone_name(zone: tzinfo | None) -> str:
    if zone is None:
        return "local time"
    return zone.key if isinstance(zone, ZoneInfo) else str(zone)


def absolute(when: datetime | None, zone: tzinfo | None = None) -> str:
    """ "Tue 1 Dec 2026, 07:00 CET" in `zone` (the viewer's local zone when None)."""
    if when is None:
        return "—"
    local = when.astimezone(zone) if zone is not None else when.astimezone()
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname() or ''}".rstrip()


def absolute_with_zone(when: datetime | None, zone: tzinfo | None) -> str:
    """The instant in the job's zone, named, plus the viewer's local time when that differs."""
    if when is None:
        return "—"
    text = f"{absolute(when, zone)} ({zone_name(zone)})"
    mine = when.astimezone()
    theirs = when.astimezone(zone) if zone is not None else mine
    if zone is not None and mine.utcoffset() != theirs.utcoffset():
        text += f"\n{absolute(when)} here"
    return text
