"""parse_time and parse_duration: times and durations as senders write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bookhook.errors import Unmappable
from bookhook.timeparse import check_window, localize, parse_duration, parse_time

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


# --- the calendar window (2000-01-01T00:00:00Z to 2100-12-31T23:59:59.999Z) ------------------------

WINDOW_MESSAGE = "must be between 2000-01-01T00:00:00Z and 2100-12-31T23:59:59Z (UTC)"


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:30:00Z",
        "9999-12-31T23:30Z",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "0999-01-01T10:00:00Z",
        "1999-12-31T23:59:59.999999Z",
        "2101-01-01T00:00:00Z",
        "2100-12-31T23:30:00-01:00",
        # Local times, read in the zone: the year is checked before the round trip through UTC.
        "9999-12-31T23:30:00",
        "0001-01-01T00:00:00",
        "1999-12-31T09:59:59",  # before 2000 in UTC even at UTC-12
        "2101-01-01T14:00:00",  # in 2101 in UTC even at UTC+14
    ],
)
@pytest.mark.parametrize("zone", [PRAGUE, NEW_YORK, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12")])
def test_time_outside_the_window_is_unmappable(value: str, zone: ZoneInfo) -> None:
    with pytest.raises(Unmappable) as caught:
        parse_time(value, zone=zone, field="event.startTime")

    assert caught.value.field == "event.startTime"
    assert caught.value.message == f"event.startTime {WINDOW_MESSAGE}"
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("value", "instant"),
    [
        ("2000-01-01T00:00:00Z", utc(2000, 1, 1)),
        ("2000-01-01T01:00:00+01:00", utc(2000, 1, 1)),
        ("2000-01-01T01:00:00", utc(2000, 1, 1)),  # Prague, winter time
        ("2100-12-31T23:59:59.999999Z", utc(2100, 12, 31, 23, 59, 59, 999_999)),
        ("2100-12-31T13:59:00-10:00", utc(2100, 12, 31, 23, 59)),
        ("2101-01-01T00:30:00", utc(2100, 12, 31, 23, 30)),  # Prague: still 2100 in UTC
    ],
)
def test_time_at_the_edges_of_the_window_is_accepted(value: str, instant: datetime) -> None:
    assert parse_time(value, zone=PRAGUE, field="startTime") == instant


def test_localize_refuses_a_year_out_of_range_before_converting() -> None:
    with pytest.raises(Unmappable) as caught:
        localize(datetime(9999, 12, 31, 23, 30), NEW_YORK, field="slot")

    assert (caught.value.field, caught.value.message) == ("slot", f"slot {WINDOW_MESSAGE}")


def test_check_window() -> None:
    assert check_window(utc(2050, 6, 1), field="x") == utc(2050, 6, 1)
    with pytest.raises(Unmappable) as caught:
        check_window(datetime(9999, 12, 31, 23, 30, tzinfo=UTC), field="answer.when")
    assert caught.value.field == "answer.when"


@pytest.mark.parametrize("duration", ["31d", "44640", "30d 23h 59m"])
def test_the_latest_start_plus_the_longest_duration_cannot_overflow(duration: str) -> None:
    # What callers do: parse a start, add a parsed duration in UTC. Both are bounded, so no OverflowError.
    start = parse_time("2100-12-31T23:59:59.999Z", zone=None, field="startTime")

    end = start.astimezone(UTC) + parse_duration(duration, field="duration")

    assert end <= utc(2101, 2, 1)


@pytest.mark.parametrize("value", ["31d 1m", "44641", "32d", "99999d", "999999"])
def test_durations_longer_than_31_days_are_unmappable(value: str) -> None:
    with pytest.raises(Unmappable) as caught:
        parse_duration(value, field="duration")

    assert caught.value.message == "duration must be at most 31 days"


# --- caps before parsing --------------------------------------------------------------------------


def test_time_text_is_capped_at_64_characters() -> None:
    padded = "2024-05-01T10:00:00+02:00".ljust(64)
    assert parse_time(padded, zone=None, field="startTime") == utc(2024, 5, 1, 8)

    with pytest.raises(Unmappable) as caught:
        parse_time(padded + " ", zone=None, field="startTime")
    assert caught.value.message == "startTime must be an ISO 8601 date-time of at most 64 characters"


def test_duration_text_is_capped_at_32_characters() -> None:
    assert parse_duration("90 minutes".ljust(32), field="duration") == timedelta(minutes=90)

    with pytest.raises(Unmappable) as caught:
        parse_duration("90 minutes".ljust(33), field="duration")
    assert caught.value.field == "duration"
    assert "at most 32 characters" in caught.value.message


@pytest.mark.parametrize("value", ["９０", "٩٠", "90\tmin", "1h\t30m", "90 MINUTEN"])
def test_duration_digits_and_spaces_are_ascii(value: str) -> None:
    with pytest.raises(Unmappable):
        parse_duration(value, field="duration")
