"""Words for times and durations, shared by every view (pure Python, so it is cheap to test).

Relative times are what people scan ("in 5 min", "3 h ago"); the exact instant, in the job's own zone,
goes into tooltips. Qt-free, so the app and the `cronmirror` CLI say times the same way.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
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


def relative(when: datetime | None, now: datetime, *, empty: str = "—") -> str:
    """ "in 5 min" / "3 h ago" / "just now"; `empty` for an unknown time."""
    if when is None:
        return empty
    delta = (when - now).total_seconds()
    if abs(delta) < 5:
        return "just now" if delta <= 0 else "now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(-delta)} ago"


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
