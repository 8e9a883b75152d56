"""Times and durations as senders write them, turned into timezone-aware datetimes.

A time with an offset (`2024-05-01T10:00:00+02:00`, `…Z`) is taken as it is. A local time without
an offset is read in the configured timezone:
- a local time that does not exist (skipped by a daylight-saving change, e.g. 02:30 on the last
  Sunday of March in Prague) is refused, naming the field;
- an ambiguous local time (repeated when clocks go back) is read as the *first* occurrence, the
  one still on summer time (`fold=0`), which is what a person booking "02:30" most likely saw first.
Without a configured timezone, a local time is refused: guessing UTC would shift the booking.

Every time returned lies in the calendar window (`calendar.event.WINDOW_START` to `WINDOW_END`: any
instant of the years 2000 to 2100, UTC), checked before any arithmetic on it, and every duration is
at most `MAX_DURATION` (31 days); so a caller may convert a returned time to UTC and add a returned
duration to it without risk of `OverflowError`. Text longer than its cap is refused before it is
parsed (`MAX_TIME_TEXT`, `MAX_DURATION_TEXT`: see calendar.event for why those numbers).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bookhook.calendar.event import (
    MAX_DURATION_TEXT,
    MAX_TIME_TEXT,
    WINDOW_END,
    WINDOW_MESSAGE,
    WINDOW_START,
    canonical_notify_before,
    in_window,
)
from bookhook.errors import Unmappable

# Longer than any appointment; stops a number mapped into the wrong field from making a nonsense event.
# Also keeps `start + duration` far from datetime's limits for any start in the calendar window.
MAX_DURATION = timedelta(days=31)
# The window's years widened by one each way (a UTC offset is under a day): a wall-clock check that
# needs no time zone arithmetic.
_WALL_YEARS = range(WINDOW_START.year - 1, WINDOW_END.year + 2)
_MINUTES = re.compile(r"([0-9]{1,6}) *(?:min|mins|minutes)?", flags=re.IGNORECASE)


def check_window(value: datetime, *, field: str) -> datetime:
    """`value` (aware) if it lies in the calendar window, else Unmappable naming `field`."""
    if not in_window(value):
        raise Unmappable(f"{field} {WINDOW_MESSAGE}", field=field)
    return value


def parse_time(value: str, *, zone: ZoneInfo | None, field: str) -> datetime:
    if len(value) > MAX_TIME_TEXT:
        raise Unmappable(
            f"{field} must be an ISO 8601 date-time of at most {MAX_TIME_TEXT} characters", field=field
        )
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Unmappable(
            f"{field} must be an ISO 8601 date-time such as 2024-05-01T10:00:00+02:00", field=field
        ) from None
    if parsed.tzinfo is not None:
        return check_window(parsed, field=field)
    if zone is None:
        raise Unmappable(
            f"{field} has no UTC offset and no DEFAULT_TIMEZONE is configured; add an offset such as +02:00",
            field=field,
        )
    return localize(parsed, zone, field=field)


def localize(naive: datetime, zone: ZoneInfo, *, field: str) -> datetime:
    # Years far outside the window are refused before the round trip through UTC below could overflow
    # (9999-12-31 23:30 in a zone west of UTC is past datetime.max).
    if naive.year not in _WALL_YEARS:
        raise Unmappable(f"{field} {WINDOW_MESSAGE}", field=field)
    first = naive.replace(tzinfo=zone, fold=0)
    # A wall time in a daylight-saving gap does not survive a round trip through UTC.
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise Unmappable(
            f"{field} is a local time that does not exist in {zone.key} (clocks moved forward)", field=field
        )
    return check_window(first, field=field)


def parse_duration(value: str, *, field: str) -> timedelta:
    """Minutes (`90`, `90 min`) or BizKitHub's duration form (`1h 30m`, `2d`), at most 31 days."""
    if len(value) > MAX_DURATION_TEXT:
        raise Unmappable(
            f"{field} must be minutes (90) or a duration like '1h 30m', "
            f"at most {MAX_DURATION_TEXT} characters",
            field=field,
        )
    text = value.strip()
    minutes = _MINUTES.fullmatch(text)
    if minutes:
        duration = timedelta(minutes=int(minutes.group(1)))
    else:
        try:
            canonical = canonical_notify_before(text)
        except ValueError:
            raise Unmappable(
                f"{field} must be minutes (90) or a duration like '1h 30m'", field=field
            ) from None
        units = {"d": 0, "h": 0, "m": 0}
        for part in canonical.split():
            units[part[-1]] = int(part[:-1])
        duration = timedelta(days=units["d"], hours=units["h"], minutes=units["m"])
    if duration <= timedelta(0):
        raise Unmappable(f"{field} must be longer than zero", field=field)
    if duration > MAX_DURATION:
        raise Unmappable(f"{field} must be at most {MAX_DURATION.days} days", field=field)
    return duration
