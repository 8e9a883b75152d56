"""parse_time and parse_duration: times and durations as senders write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bookhook.errors import Unmappable
from bookhook.timeparse import parse_duration, parse_time

PRAGUE = ZoneInfo("Europe/Prague")
NEW_YORK = ZoneInfo("America/New_York")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# --- explicit offsets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "instant", "offset_hours"),
    [
        ("2024-05-01T10:00:00+02:00", utc(2024, 5, 1, 8), 2),
        ("2024-05-01T10:00:00-05:00", utc(2024, 5, 1, 15), -5),
        ("2024-05-01T10:00:00Z", utc(2024, 5, 1, 10), 0),
        ("2024-05-01T10:00:00.000Z", utc(2024, 5, 1, 10), 0),
        ("2024-05-01T10:00:00.250+00:00", utc(2024, 5, 1, 10, 0, 0, 250_000), 0),
        ("  2024-05-01T10:00:00+01:00\n", utc(2024, 5, 1, 9), 1),
        ("2024-05-01 10:00+02:00", utc(2024, 5, 1, 8), 2),
    ],
)
@pytest.mark.parametrize("zone", [None, PRAGUE, NEW_YORK])
def test_time_with_offset_is_taken_as_it_is(
    value: str, instant: datetime, offset_hours: int, zone: ZoneInfo | None
) -> None:
    parsed = parse_time(value, zone=zone, field="startTime")

    assert parsed == instant
    assert parsed.utcoffset() == timedelta(hours=offset_hours)


@pytest.mark.parametrize(
    ("value", "zone", "instant"),
    [
        ("2024-05-01T10:00:00", PRAGUE, utc(2024, 5, 1, 8)),  # summer time, +02:00
        ("2024-01-15T10:00:00", PRAGUE, utc(2024, 1, 15, 9)),  # winter time, +01:00
        ("2024-05-01T10:00", NEW_YORK, utc(2024, 5, 1, 14)),
        ("2024-05-01", PRAGUE, utc(2024, 4, 30, 22)),
        ("2024-12-31T23:30:00", PRAGUE, utc(2024, 12, 31, 22, 30)),
    ],
)
def test_naive_time_is_read_in_the_zone(value: str, zone: ZoneInfo, instant: datetime) -> None:
    parsed = parse_time(value, zone=zone, field="startTime")

    assert parsed == instant
    assert parsed.tzinfo is zone


@pytest.mark.parametrize("field", ["startTime", "endTime", "event.blockingTo"])
def test_naive_time_without_a_zone_is_unmappable(field: str) -> None:
    with pytest.raises(Unmappable) as caught:
        parse_time("2024-05-01T10:00:00", zone=None, field=field)

    assert caught.value.field == field
    assert caught.value.message.startswith(field)
    assert "DEFAULT_TIMEZONE" in caught.value.message
    assert caught.value.status == 422


@pytest.mark.parametrize(
    "value", ["tomorrow at 10", "", "   ", "2024-13-01T10:00:00Z", "2024-05-01T25:00", "1714557600"]
)
def test_not_iso_8601_is_unmappable(value: str) -> None:
    with pytest.raises(Unmappable) as caught:
        parse_time(value, zone=PRAGUE, field="endTime")

    assert caught.value.field == "endTime"
    assert "ISO 8601" in caught.value.message


# --- Europe/Prague daylight-saving changes (2026: 29 March forward, 25 October back) --------------


@pytest.mark.parametrize("value", ["2026-03-29T02:00:00", "2026-03-29T02:30:00", "2026-03-29T02:59:59"])
def test_local_time_skipped_by_spring_forward_is_unmappable(value: str) -> None:
    with pytest.raises(Unmappable) as caught:
        parse_time(value, zone=PRAGUE, field="startTime")

    assert caught.value.field == "startTime"
    assert "does not exist" in caught.value.message
    assert "Europe/Prague" in caught.value.message


@pytest.mark.parametrize(
    ("value", "instant", "offset_hours"),
    [
        ("2026-03-29T01:30:00", utc(2026, 3, 29, 0, 30), 1),  # still winter time
        ("2026-03-29T01:59:59", utc(2026, 3, 29, 0, 59, 59), 1),
        ("2026-03-29T03:00:00", utc(2026, 3, 29, 1, 0), 2),  # first summer-time minute
        ("2026-03-29T03:30:00", utc(2026, 3, 29, 1, 30), 2),
    ],
)
def test_times_around_spring_forward(value: str, instant: datetime, offset_hours: int) -> None:
    parsed = parse_time(value, zone=PRAGUE, field="startTime")

    assert parsed.astimezone(UTC) == instant
    assert parsed.utcoffset() == timedelta(hours=offset_hours)


@pytest.mark.parametrize(
    ("value", "instant"),
    [
        ("2026-10-25T02:00:00", utc(2026, 10, 25, 0, 0)),
        ("2026-10-25T02:30:00", utc(2026, 10, 25, 0, 30)),
        ("2026-10-25T02:59:59", utc(2026, 10, 25, 0, 59, 59)),
    ],
)
def test_ambiguous_local_time_is_the_first_occurrence(value: str, instant: datetime) -> None:
    parsed = parse_time(value, zone=PRAGUE, field="startTime")

    # Compared in UTC: `==` between zones is always False for an ambiguous wall time (PEP 495).
    assert parsed.astimezone(UTC) == instant
    assert parsed.utcoffset() == timedelta(hours=2)  # still summer time
    assert parsed.fold == 0


@pytest.mark.parametrize(
    ("value", "instant", "offset_hours"),
    [
        ("2026-10-25T01:30:00", utc(2026, 10, 24, 23, 30), 2),
        ("2026-10-25T03:00:00", utc(2026, 10, 25, 2, 0), 1),
        ("2026-10-25T03:30:00", utc(2026, 10, 25, 2, 30), 1),
    ],
)
def test_times_around_fall_back(value: str, instant: datetime, offset_hours: int) -> None:
    parsed = parse_time(value, zone=PRAGUE, field="startTime")

    assert parsed.astimezone(UTC) == instant
    assert parsed.utcoffset() == timedelta(hours=offset_hours)


def test_ambiguous_time_with_an_offset_picks_the_second_occurrence_when_asked() -> None:
    parsed = parse_time("2026-10-25T02:30:00+01:00", zone=PRAGUE, field="startTime")

    assert parsed == utc(2026, 10, 25, 1, 30)


# --- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "duration"),
    [
        ("90", timedelta(minutes=90)),
        (" 90 ", timedelta(minutes=90)),
        ("1", timedelta(minutes=1)),
        ("1440", timedelta(days=1)),
        ("1h 30m", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("1d 2h 30m", timedelta(days=1, hours=2, minutes=30)),
        ("45m", timedelta(minutes=45)),
        ("3h", timedelta(hours=3)),
        ("0h 15m", timedelta(minutes=15)),
        ("90 min", timedelta(minutes=90)),
        ("90 minutes", timedelta(minutes=90)),
        ("60 Min", timedelta(minutes=60)),
    ],
)
def test_parse_duration(value: str, duration: timedelta) -> None:
    assert parse_duration(value, field="duration") == duration


@pytest.mark.parametrize("value", ["0", "00", "0m", "0d 0h 0m"])
def test_zero_duration_is_unmappable(value: str) -> None:
    with pytest.raises(Unmappable) as caught:
        parse_duration(value, field="duration")

    assert caught.value.field == "duration"
    assert "longer than zero" in caught.value.message


@pytest.mark.parametrize("value", ["abc", "", "-5", "1.5", "90 hours", "30m 1h", "1w", "PT90M"])
def test_unreadable_duration_is_unmappable(value: str) -> None:
    with pytest.raises(Unmappable) as caught:
        parse_duration(value, field="event.duration")

    assert caught.value.field == "event.duration"
    assert "minutes (90)" in caught.value.message


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("²", id="superscript-two"),
        pytest.param("9" * 5000, id="5000-digits"),
        pytest.param("9" * 20, id="20-digit-minutes"),
        pytest.param("99999999999d", id="11-digit-days"),
    ],
)
def test_unusable_duration_is_unmappable_not_a_crash(value: str) -> None:
    with pytest.raises(Unmappable) as caught:
        parse_duration(value, field="duration")

    assert caught.value.field == "duration"
