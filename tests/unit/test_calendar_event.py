"""CalendarEvent and Attendee: BizKitHub's add-event contract (shared/reference/bizkithub-add-event.md)."""

from __future__ import annotations

import copy
import json
import socket
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from bookhook.calendar.event import (
    Attendee,
    CalendarEvent,
    canonical_notify_before,
    first_error,
    international_phone,
    utc_wire_time,
)
from bookhook_dev.testing.defaults import documented_example_event

CALENDAR_ID = "2WRp6X5rSqQa321EjHB2mxZz74u74H84"

# The request body of BizKitHub's documented example, copied verbatim from the reference.
DOCUMENTED_REQUEST_BODY = """
{
  "event": {
    "calendarId": "2WRp6X5rSqQa321EjHB2mxZz74u74H84",
    "startTime": "2024-05-01T10:00:00.000Z",
    "endTime": "2024-05-01T12:00:00.000Z",
    "title": "Training with Jan",
    "description": "Training will start in Prague – Nusle.",
    "agenda": "– Warm-up\\n– Deadlift technique\\n– Cool down",
    "url": "https://gymroom.cz/pobocky/vinohrady",
    "notifyBefore": "1h 30m",
    "blockingTo": "2024-05-01T12:00:00.000Z",
    "locationTitle": "Varšavská 11, 120 00, Praha 2 – Vinohrady",
    "isAllDay": false,
    "isBlocking": true,
    "attendees": [
      {
        "memberId": 1234,
        "customerId": "HxanU4a1n4El61zx",
        "name": "Jan Barášek",
        "email": "jan@barasek.com",
        "phone": "+420 777123456"
      }
    ],
    "type": "training"
  }
}
"""


def documented_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads(DOCUMENTED_REQUEST_BODY)["event"]
    return event


def minimal_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "calendarId": CALENDAR_ID,
        "startTime": "2024-05-01T10:00:00.000Z",
        "endTime": "2024-05-01T12:00:00.000Z",
        "title": "Training with Jan",
    }
    event.update(overrides)
    return event


def validation_error(model: type[CalendarEvent | Attendee], data: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return first_error(caught.value)


# --- the documented example -----------------------------------------------------------------------


def test_documented_example_round_trips_exactly() -> None:
    event = CalendarEvent.model_validate(documented_event())

    assert event.request_body() == json.loads(DOCUMENTED_REQUEST_BODY)


def test_documented_example_keeps_utf8_text_and_newlines() -> None:
    event = CalendarEvent.model_validate(documented_event())

    wire = event.wire_event()
    assert wire["description"] == "Training will start in Prague – Nusle."
    assert wire["agenda"] == "– Warm-up\n– Deadlift technique\n– Cool down"
    assert wire["locationTitle"] == "Varšavská 11, 120 00, Praha 2 – Vinohrady"
    assert wire["attendees"][0]["name"] == "Jan Barášek"
    encoded = json.dumps(event.request_body(), ensure_ascii=False).encode("utf-8")
    assert "Varšavská 11, 120 00, Praha 2 – Vinohrady".encode() in encoded


def test_documented_example_parses_into_python_values() -> None:
    event = CalendarEvent.model_validate(documented_event())

    assert event.start_time == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert event.end_time == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert event.blocking_to == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert event.is_all_day is False
    assert event.is_blocking is True
    assert event.attendees is not None
    assert event.attendees[0].member_id == 1234
    assert event.attendees[0].phone == "+420 777123456"


def test_shared_documented_example_matches_the_reference() -> None:
    assert documented_example_event() == documented_event()


def test_validating_twice_is_stable() -> None:
    once = CalendarEvent.model_validate(documented_event()).wire_event()

    twice = CalendarEvent.model_validate(copy.deepcopy(once)).wire_event()

    assert twice == once


# --- wire form ------------------------------------------------------------------------------------


def test_optional_fields_are_omitted_not_null() -> None:
    event = CalendarEvent.model_validate(minimal_event())

    assert event.request_body() == {"event": minimal_event()}
    assert None not in event.wire_event().values()


def test_explicit_nulls_are_omitted_too() -> None:
    event = CalendarEvent.model_validate(minimal_event(description=None, attendees=None, blockingTo=None))

    assert set(event.wire_event()) == {"calendarId", "startTime", "endTime", "title"}


def test_attendee_optional_fields_are_omitted() -> None:
    event = CalendarEvent.model_validate(minimal_event(attendees=[{"email": "jan@barasek.com"}]))

    assert event.wire_event()["attendees"] == [{"email": "jan@barasek.com"}]


def test_python_names_serialise_as_camel_case() -> None:
    event = CalendarEvent(
        calendar_id=CALENDAR_ID,
        start_time=datetime(2024, 5, 1, 10, tzinfo=UTC),
        end_time=datetime(2024, 5, 1, 11, tzinfo=UTC),
        title="Training",
        notify_before="15m",
        location_title="Gym",
        is_all_day=False,
        is_blocking=True,
        blocking_to=datetime(2024, 5, 1, 11, tzinfo=UTC),
        attendees=[Attendee(member_id=7, customer_id="HxanU4a1n4El61zx")],
    )

    assert event.wire_event() == {
        "calendarId": CALENDAR_ID,
        "startTime": "2024-05-01T10:00:00.000Z",
        "endTime": "2024-05-01T11:00:00.000Z",
        "title": "Training",
        "notifyBefore": "15m",
        "locationTitle": "Gym",
        "isAllDay": False,
        "isBlocking": True,
        "blockingTo": "2024-05-01T11:00:00.000Z",
        "attendees": [{"memberId": 7, "customerId": "HxanU4a1n4El61zx"}],
    }


@pytest.mark.parametrize(
    ("start", "end", "wire_start", "wire_end"),
    [
        (
            "2024-05-01T10:00:00+02:00",
            "2024-05-01T12:00:00+02:00",
            "2024-05-01T08:00:00.000Z",
            "2024-05-01T10:00:00.000Z",
        ),
        (
            "2024-05-01T01:00:00+02:00",
            "2024-05-01T02:30:00+02:00",
            "2024-04-30T23:00:00.000Z",
            "2024-05-01T00:30:00.000Z",
        ),
        (
            "2024-12-31T22:00:00-05:00",
            "2024-12-31T23:00:00-05:00",
            "2025-01-01T03:00:00.000Z",
            "2025-01-01T04:00:00.000Z",
        ),
        (
            "2024-05-01T10:00:00+05:45",
            "2024-05-01T11:00:00+05:45",
            "2024-05-01T04:15:00.000Z",
            "2024-05-01T05:15:00.000Z",
        ),
    ],
)
def test_aware_times_serialise_in_utc(start: str, end: str, wire_start: str, wire_end: str) -> None:
    event = CalendarEvent.model_validate(minimal_event(startTime=start, endTime=end, blockingTo=end))

    wire = event.wire_event()
    assert (wire["startTime"], wire["endTime"], wire["blockingTo"]) == (wire_start, wire_end, wire_end)


@pytest.mark.parametrize(
    ("start", "wire_start"),
    [
        ("2024-05-01T10:00:00.123Z", "2024-05-01T10:00:00.123Z"),
        ("2024-05-01T10:00:00.001+00:00", "2024-05-01T10:00:00.001Z"),
        ("2024-05-01T12:00:00.5+02:00", "2024-05-01T10:00:00.500Z"),
        ("2024-05-01T10:00:00.999999Z", "2024-05-01T10:00:00.999Z"),
        ("2024-05-01T10:00:59Z", "2024-05-01T10:00:59.000Z"),
    ],
)
def test_milliseconds_are_kept(start: str, wire_start: str) -> None:
    event = CalendarEvent.model_validate(minimal_event(startTime=start))

    assert event.wire_event()["startTime"] == wire_start


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC), "2024-05-01T10:00:00.123Z"),
        (datetime(2024, 5, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))), "2024-04-30T22:30:00.000Z"),
        (
            datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=timezone(timedelta(hours=-1))),
            "2024-03-01T00:59:59.999Z",
        ),
    ],
)
def test_utc_wire_time(value: datetime, wire: str) -> None:
    assert utc_wire_time(value) == wire


# --- times ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["startTime", "endTime", "blockingTo"])
def test_naive_time_is_rejected(field: str) -> None:
    data = minimal_event(**{field: "2024-05-01T11:00:00"})

    path, message = validation_error(CalendarEvent, data)

    assert path == field
    assert "timezone" in message


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-05-01T10:00:00.000Z", "2024-05-01T10:00:00.000Z"),
        ("2024-05-01T10:00:00.000Z", "2024-05-01T09:59:59.999Z"),
        ("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"),  # the same instant
        ("2024-05-01T10:00:00Z", "2024-05-01T11:00:00+02:00"),  # an hour earlier
    ],
)
def test_end_not_after_start_is_rejected(start: str, end: str) -> None:
    path, message = validation_error(CalendarEvent, minimal_event(startTime=start, endTime=end))

    assert path == "endTime"  # a cross-field check names the field at fault
    assert message == "endTime must be after startTime"


@pytest.mark.parametrize(
    "end",
    [
        "2024-05-01T10:00:00.001Z",
        "2024-05-01T10:00:00.0005Z",  # equal to the start on the wire (milliseconds)
        "2024-05-01T10:00:59.999Z",
    ],
)
def test_end_less_than_a_minute_after_start_is_rejected(end: str) -> None:
    data = minimal_event(startTime="2024-05-01T10:00:00.000Z", endTime=end)

    assert validation_error(CalendarEvent, data) == (
        "endTime",
        "endTime must be at least one minute after startTime",
    )


def test_end_one_minute_after_start_is_accepted() -> None:
    event = CalendarEvent.model_validate(
        minimal_event(startTime="2024-05-01T10:00:00.000Z", endTime="2024-05-01T10:01:00.000Z")
    )

    assert event.end_time - event.start_time == timedelta(minutes=1)


@pytest.mark.parametrize("blocking_to", ["2024-05-01T09:59:59.999Z", "2024-05-01T11:00:00+02:00"])
def test_blocking_to_before_start_is_rejected(blocking_to: str) -> None:
    path, message = validation_error(CalendarEvent, minimal_event(blockingTo=blocking_to))

    assert path == "blockingTo"
    assert message == "blockingTo must not be before startTime"


@pytest.mark.parametrize("blocking_to", ["2024-05-01T10:00:00Z", "2024-05-01T18:00:00Z"])
def test_blocking_to_at_or_after_start_is_accepted(blocking_to: str) -> None:
    event = CalendarEvent.model_validate(minimal_event(blockingTo=blocking_to))

    assert event.blocking_to == datetime.fromisoformat(blocking_to)


# --- calendarId, title, attendees, extra fields ---------------------------------------------------


@pytest.mark.parametrize(
    "calendar_id",
    [
        "",
        CALENDAR_ID[:-1],
        CALENDAR_ID + "x",
        CALENDAR_ID[:-1] + "-",
        CALENDAR_ID[:-1] + "_",
        CALENDAR_ID[:-1] + " ",
        "Ž" + CALENDAR_ID[1:],
        "a" * 64,
    ],
)
def test_calendar_id_must_be_32_alphanumerics(calendar_id: str) -> None:
    path, message = validation_error(CalendarEvent, minimal_event(calendarId=calendar_id))

    assert path == "calendarId"
    assert "pattern" in message or message == "String should have at most 32 characters"


@pytest.mark.parametrize("calendar_id", ["a" * 32, "0" * 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"])
def test_calendar_id_of_32_alphanumerics_is_accepted(calendar_id: str) -> None:
    assert CalendarEvent.model_validate(minimal_event(calendarId=calendar_id)).calendar_id == calendar_id


@pytest.mark.parametrize("field", ["calendarId", "startTime", "endTime", "title"])
def test_required_fields(field: str) -> None:
    data = minimal_event()
    del data[field]

    path, message = validation_error(CalendarEvent, data)

    assert (path, message) == (field, "Field required")


@pytest.mark.parametrize(("field", "value"), [("title", ""), ("description", ""), ("title", "x" * 10_001)])
def test_text_fields_have_bounds(field: str, value: str) -> None:
    path, _ = validation_error(CalendarEvent, minimal_event(**{field: value}))

    assert path == field


@pytest.mark.parametrize("url", ["gymroom.cz", "ftp://gymroom.cz", "https://", "https://gym room.cz"])
def test_url_must_be_http(url: str) -> None:
    assert validation_error(CalendarEvent, minimal_event(url=url)) == ("url", "must be an http or https URL")


def test_url_surrounding_whitespace_is_stripped() -> None:
    event = CalendarEvent.model_validate(minimal_event(url="  https://gymroom.cz/a?b=1 "))

    assert event.url == "https://gymroom.cz/a?b=1"


@pytest.mark.parametrize("attendee", [{}, {"memberId": None, "name": None, "email": None}])
def test_attendee_without_identifying_field_is_rejected(attendee: dict[str, Any]) -> None:
    path, message = validation_error(CalendarEvent, minimal_event(attendees=[attendee]))

    assert path == "attendees[0]"
    assert "at least one of memberId, customerId, name, email, phone" in message


@pytest.mark.parametrize(
    ("attendee", "path"),
    [
        ({"memberId": 0}, "attendees[0].memberId"),
        ({"memberId": -3}, "attendees[0].memberId"),
        ({"customerId": "short"}, "attendees[0].customerId"),
        ({"customerId": "HxanU4a1n4El61zx1"}, "attendees[0].customerId"),
        ({"name": "   "}, "attendees[0].name"),
    ],
)
def test_attendee_field_rules(attendee: dict[str, Any], path: str) -> None:
    assert validation_error(CalendarEvent, minimal_event(attendees=[attendee]))[0] == path


@pytest.mark.parametrize(
    "attendee",
    [{"memberId": 1}, {"customerId": "HxanU4a1n4El61zx"}, {"name": "Jan"}, {"email": "a@b.cz"}],
)
def test_any_one_identifying_field_is_enough(attendee: dict[str, Any]) -> None:
    event = CalendarEvent.model_validate(minimal_event(attendees=[attendee]))

    assert event.wire_event()["attendees"] == [attendee]


def test_at_most_100_attendees() -> None:
    hundred = [{"memberId": n} for n in range(1, 101)]
    assert len(CalendarEvent.model_validate(minimal_event(attendees=hundred)).attendees or []) == 100

    path, _ = validation_error(CalendarEvent, minimal_event(attendees=[*hundred, {"memberId": 101}]))

    assert path == "attendees"


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (minimal_event(colour="red"), "colour"),
        (minimal_event(attendees=[{"name": "Jan", "nickname": "Honza"}]), "attendees[0].nickname"),
    ],
)
def test_unknown_field_is_rejected(data: dict[str, Any], path: str) -> None:
    assert validation_error(CalendarEvent, data) == (path, "Extra inputs are not permitted")


def test_models_are_frozen() -> None:
    event = CalendarEvent.model_validate(minimal_event())

    with pytest.raises(ValidationError):
        event.title = "changed"  # type: ignore[misc]


# --- notifyBefore ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("1h 30m", "1h 30m"),
        ("1h30m", "1h 30m"),
        ("2d", "2d"),
        ("1d 2h 30m", "1d 2h 30m"),
        ("1d2h30m", "1d 2h 30m"),
        ("  1d   2h ", "1d 2h"),
        ("1 h 30 m", "1h 30m"),
        ("45m", "45m"),
        ("90m", "90m"),
        ("1d 30m", "1d 30m"),
    ],
)
def test_notify_before_is_canonicalised(value: str, canonical: str) -> None:
    assert canonical_notify_before(value) == canonical
    assert CalendarEvent.model_validate(minimal_event(notifyBefore=value)).wire_event()["notifyBefore"] == (
        canonical
    )


@pytest.mark.parametrize("value", ["30m 1h", "", "   ", "soon", "1w", "h", "1h 1h", "-1h", "1.5h", "1hour"])
def test_notify_before_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="units d, h, m in that order"):
        canonical_notify_before(value)
    path, message = validation_error(CalendarEvent, minimal_event(notifyBefore=value))
    assert path == "notifyBefore"
    assert "units d, h, m in that order" in message


# --- phone ----------------------------------------------------------------------------------------


# The model is strict: the country code must be written (a source applies DEFAULT_PHONE_REGION first,
# see test_phones.py). Numbers are checked by libphonenumber: the country code's length comes from it,
# and only numbers valid in their country pass.


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("+420777123456", "+420 777123456"),
        ("+420 777123456", "+420 777123456"),
        ("+420 777 123 456", "+420 777123456"),
        ("00420 777 123 456", "+420 777123456"),
        ("+1 415 555 2671", "+1 4155552671"),
        ("+1 (415) 555-2671", "+1 4155552671"),
        ("+44 20 7946 0958", "+44 2079460958"),
        ("+44 (0)20 7946 0958", "+44 2079460958"),  # the UK's written trunk 0 is dropped
        ("+39 06 1234 5678", "+39 0612345678"),  # Italy's leading 0 belongs to the number
        ("+49 30/1234567", "+49 301234567"),
        ("+7 912 345-67-89", "+7 9123456789"),
        ("+421.905.123.456", "+421 905123456"),
        ("+352 26 12 34", "+352 261234"),  # Luxembourg: 2-digit code, 6-digit number
        ("+683 4002", "+683 4002"),  # Niue: four digits are a whole number
    ],
)
def test_international_phone(value: str, canonical: str) -> None:
    assert international_phone(value) == canonical
    assert Attendee.model_validate({"phone": value}).phone == canonical


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("777123456", "needs a country code"),
        ("777 123 456", "needs a country code"),
        ("0777123456", "needs a country code"),
        ("420777123456", "needs a country code"),
        ("+0420777123456", "not a valid phone number"),
        ("000420777123456", "not a valid phone number"),
        ("+4207771", "not a valid phone number"),  # too short for the Czech Republic
        ("+4207771234567890", "not a valid phone number"),  # 16 digits
        ("+12345678", "not a valid phone number"),  # E.164-shaped, but no US/Canadian number
        ("+420123456789012", "not a valid phone number"),  # 15 digits: E.164's limit, not Czechia's
        ("+420 123456789", "not a valid phone number"),  # a Czech range nobody is assigned
        ("+1 555 555 1234", "not a valid phone number"),  # 555 is no area code
        ("+420 777 12a 456", "ASCII digits"),
        ("+420 777123456 ext. 12", "ASCII digits"),  # extensions: BizKitHub has no field for them
        ("+1-800-FLOWERS", "ASCII digits"),  # keypad letters: libphonenumber would take them
        ("tel:+420777123456", "ASCII digits"),
        ("+", "ASCII digits"),
        ("", "ASCII digits"),
        ("++420777123456", "ASCII digits"),
        ("420+777123456", "ASCII digits"),
    ],
)
def test_international_phone_rejects(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        international_phone(value)
    path, message = validation_error(Attendee, {"phone": value})
    assert path == "phone"
    assert reason in message


def test_a_number_without_country_code_is_told_to_add_one() -> None:
    path, message = validation_error(Attendee, {"phone": "777 123 456"})

    assert path == "phone"
    assert message == (
        "needs a country code: write it as an international number starting with + "
        "(such as +420 777123456), or set DEFAULT_PHONE_REGION"
    )


# --- email ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "jan",
        "jan@barasek",
        "jan@@barasek.com",
        "jan@bar@asek.com",
        "@barasek.com",
        "jan@barasek.",
        "jan barasek@barasek.com",
        "jan@barasek .com",
        "",
        "   ",
        "j" * 250 + "@b.cz",  # 255 characters
        "a@b..c",
        "a.@b.cz",
        "a..b@b.cz",
        ".a@b.cz",
        "a@-b.cz",
        "a@b.cz.",
        "a@b.123",
        "a@localhost",
        "a@[127.0.0.1]",
        '"a b"@b.cz',
        "a@b@c.cz",
        "a\n@b.cz",
        "jan\u00a0n@barasek.com",
        "Jan <jan@barasek.com",
    ],
)
def test_email_rejects(value: str) -> None:
    path, message = validation_error(Attendee, {"email": value})

    assert path == "email"
    assert message.startswith("must be an email address like name@example.com")


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("jan@barasek.com", "jan@barasek.com"),
        ("  jan@barasek.com ", "jan@barasek.com"),
        ("jan.novak+booking@mail.example.cz", "jan.novak+booking@mail.example.cz"),
        ("j" * 249 + "@b.cz", "j" * 249 + "@b.cz"),  # 254 characters
        ("jan@BARASEK.com", "jan@barasek.com"),  # the domain is case-insensitive: normalised
        ("Jan Barasek <jan@barasek.com>", "jan@barasek.com"),  # Pydantic takes the address out
        ("jan@čeština.cz", "jan@čeština.cz"),
        ("jan@no-such-domain-4711.example", "jan@no-such-domain-4711.example"),  # syntax only
    ],
)
def test_email_accepts(value: str, stored: str) -> None:
    assert Attendee.model_validate({"email": value}).email == stored


def test_email_is_checked_without_any_network_look_up(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("an email check must not touch the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "socket", no_network)

    assert Attendee.model_validate({"email": "jan@no-such-domain-4711.cz"}).email == (
        "jan@no-such-domain-4711.cz"
    )


# --- first_error ----------------------------------------------------------------------------------


DISTINCTIVE_BAD_EMAIL = "zebra-quokka-4711.at.nowhere"


def test_first_error_names_the_path_without_the_input() -> None:
    data = documented_event()
    data["attendees"][0]["email"] = DISTINCTIVE_BAD_EMAIL
    with pytest.raises(ValidationError) as caught:
        CalendarEvent.model_validate(data)

    path, message = first_error(caught.value)

    assert path == "attendees[0].email"
    assert message == "must be an email address like name@example.com"
    assert DISTINCTIVE_BAD_EMAIL not in path + message
    assert DISTINCTIVE_BAD_EMAIL in str(caught.value)  # pydantic's own text would have leaked it


@pytest.mark.parametrize(
    ("attendees", "path", "secret"),
    [
        ([{"name": "Jan"}, {"email": "otter-4711@@x.cz"}], "attendees[1].email", "otter-4711"),
        ([{"phone": "777 4711 99"}], "attendees[0].phone", "4711"),
        ([{"customerId": "Secret-Customer-4711"}], "attendees[0].customerId", "4711"),
        ([{"memberId": "m-4711"}], "attendees[0].memberId", "4711"),
    ],
)
def test_first_error_paths_and_no_input(attendees: list[dict[str, Any]], path: str, secret: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CalendarEvent.model_validate(minimal_event(attendees=attendees))

    found_path, message = first_error(caught.value)

    assert found_path == path
    assert secret not in message
    assert not message.startswith("Value error")


def test_first_error_of_a_model_rule_names_the_field_it_blames() -> None:
    with pytest.raises(ValidationError) as caught:
        CalendarEvent.model_validate(minimal_event(endTime="2024-05-01T09:00:00Z"))

    assert first_error(caught.value) == ("endTime", "endTime must be after startTime")


# --- the calendar window --------------------------------------------------------------------------

WINDOW_MESSAGE = "must be between 2000-01-01T00:00:00Z and 2100-12-31T23:59:59Z (UTC)"


@pytest.mark.parametrize("field", ["startTime", "endTime", "blockingTo"])
@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:30:00Z",
        "9999-12-31T23:59:59.999999-14:00",  # past datetime.max once in UTC
        "0001-01-01T00:00:00+14:00",  # before datetime.min once in UTC
        "0999-01-01T10:00:00Z",  # would go on the wire as 999-01-01T…
        "1999-12-31T23:59:59.999Z",
        "2000-01-01T00:59:59+01:00",  # 1999-12-31T23:59:59Z
        "2101-01-01T00:00:00Z",
        "2100-12-31T23:00:00-01:00",  # 2101-01-01T00:00:00Z
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
    ],
)
def test_times_outside_the_window_are_rejected_naming_the_field(field: str, value: str | datetime) -> None:
    # A start far out of range is refused on its own, before the model compares or converts anything.
    data = minimal_event(**{field: value})

    assert validation_error(CalendarEvent, data) == (field, WINDOW_MESSAGE)


@pytest.mark.parametrize(
    ("start", "end", "wire_start"),
    [
        ("2000-01-01T00:00:00Z", "2000-01-01T00:01:00Z", "2000-01-01T00:00:00.000Z"),
        ("2000-01-01T01:00:00+01:00", "2000-01-01T01:01:00+01:00", "2000-01-01T00:00:00.000Z"),
        ("2100-12-31T23:58:59.999Z", "2100-12-31T23:59:59.999999Z", "2100-12-31T23:58:59.999Z"),
        ("2100-12-31T10:00:00-13:00", "2100-12-31T10:59:00-13:00", "2100-12-31T23:00:00.000Z"),
    ],
)
def test_times_at_the_edges_of_the_window_are_accepted(start: str, end: str, wire_start: str) -> None:
    event = CalendarEvent.model_validate(minimal_event(startTime=start, endTime=end, blockingTo=end))

    assert event.wire_event()["startTime"] == wire_start


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1714557600, "must be an ISO 8601 date-time string"),
        (1714557600.0, "must be an ISO 8601 date-time string"),
        (True, "must be an ISO 8601 date-time string"),
        ("1714557600", "must be an ISO 8601 date-time such as 2024-05-01T10:00:00+02:00"),
        ("2024-05-01T10:00:00Z" + " " * 60, "must be an ISO 8601 date-time, must be at most 64 characters"),
    ],
)
def test_times_must_be_iso_8601_text_or_datetimes(value: object, message: str) -> None:
    assert validation_error(CalendarEvent, minimal_event(startTime=value)) == ("startTime", message)


# --- strict types where they reach the wire -------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, "1234", 1234.0, 2**53, 10**100])
def test_member_id_is_a_strict_positive_integer(value: object) -> None:
    path, _ = validation_error(CalendarEvent, minimal_event(attendees=[{"memberId": value}]))

    assert path == "attendees[0].memberId"


def test_member_id_up_to_two_to_the_53_minus_one_is_accepted() -> None:
    event = CalendarEvent.model_validate(minimal_event(attendees=[{"memberId": 2**53 - 1}]))

    assert event.wire_event()["attendees"] == [{"memberId": 2**53 - 1}]


@pytest.mark.parametrize("field", ["isAllDay", "isBlocking"])
@pytest.mark.parametrize("value", ["true", "false", 1, 0, "yes", "on"])
def test_flags_must_be_real_booleans(field: str, value: object) -> None:
    assert validation_error(CalendarEvent, minimal_event(**{field: value})) == (
        field,
        "Input should be a valid boolean",
    )


# --- text -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["title", "description", "agenda", "locationTitle", "type"])
@pytest.mark.parametrize("value", [" ", "   ", "\n\t ", "\u00a0\u3000"])
def test_blank_text_is_rejected(field: str, value: str) -> None:
    assert validation_error(CalendarEvent, minimal_event(**{field: value})) == (field, "must not be blank")


@pytest.mark.parametrize(
    ("field", "longest"),
    [("title", 255), ("locationTitle", 255), ("type", 100), ("description", 10_000), ("agenda", 10_000)],
)
def test_text_caps(field: str, longest: int) -> None:
    assert CalendarEvent.model_validate(minimal_event(**{field: "x" * longest})).wire_event()[field]

    assert validation_error(CalendarEvent, minimal_event(**{field: "x" * (longest + 1)})) == (
        field,
        f"String should have at most {longest} characters",
    )


@pytest.mark.parametrize("field", ["title", "description"])
def test_text_with_a_lone_surrogate_is_rejected(field: str) -> None:
    # JSON can carry "\ud800"; UTF-8 cannot, so it could never be sent.
    path, _ = validation_error(CalendarEvent, minimal_event(**{field: "Training \ud800"}))

    assert path == field


def test_attendee_name_caps_and_blank() -> None:
    assert Attendee.model_validate({"name": "J" * 255}).name == "J" * 255
    assert validation_error(Attendee, {"name": "J" * 256})[0] == "name"
    assert validation_error(Attendee, {"name": " \u00a0 "})[0] == "name"


# --- url ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http:///x",  # Pydantic's parser would read this as http://x/
        "https:///gymroom.cz",
        "https:gymroom.cz",
        "https:/gymroom.cz",
        "http:\\\\gymroom.cz\\a",
        "https://gymroom.cz/a b",
        "https://gymroom.cz/a\tb",
        "https://gymroom.cz/a\nb",
        "https://gymroom.cz/a\u00a0b",
        "https://gymroom.cz/\u202e",
        "https://gymroom.cz:99999/",
        "https://[::1",
        "javascript:alert(1)",
        "mailto:jan@barasek.com",
        "https://gymroom.cz/" + "a" * 2030,  # 2,049 characters
    ],
)
def test_url_refusals(url: str) -> None:
    assert validation_error(CalendarEvent, minimal_event(url=url))[0] == "url"


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("https://gymroom.cz", "https://gymroom.cz"),  # no trailing slash added
        ("https://gymroom.cz/pobočky/vinohrady", "https://gymroom.cz/pobočky/vinohrady"),
        ("https://čeština.cz/a?b=1#c", "https://čeština.cz/a?b=1#c"),
        ("HTTPS://Gymroom.cz/A", "https://Gymroom.cz/A"),  # only the scheme is lower-cased
        ("http://192.0.2.1:8080/x", "http://192.0.2.1:8080/x"),
        ("http://[2001:db8::1]/", "http://[2001:db8::1]/"),
        ("https://gymroom.cz/" + "a" * 2029, "https://gymroom.cz/" + "a" * 2029),  # 2,048 characters
    ],
)
def test_url_is_sent_as_the_sender_wrote_it(url: str, sent: str) -> None:
    assert CalendarEvent.model_validate(minimal_event(url=url)).wire_event()["url"] == sent


# --- phones: ASCII digits only --------------------------------------------------------------------
# libphonenumber reads fullwidth and other scripts' digits; we refuse them before it sees them (the
# sender's text is kept to what BizKitHub takes; see bookhook.phones).


@pytest.mark.parametrize(
    "value",
    [
        "+420 ７７７ 123 456",  # fullwidth
        "＋420 777 123 456",  # fullwidth plus
        "+420 ٧٧٧ 123 456",  # Arabic-Indic
        "+420 ۷۷۷ 123 456",  # Extended Arabic-Indic
        "+420 ७७७ 123 456",  # Devanagari
        "+४२० 777 123 456",
    ],
)
def test_phone_digits_must_be_ascii(value: str) -> None:
    with pytest.raises(ValueError, match="ASCII digits"):
        international_phone(value)


def test_phone_length_is_capped_before_anything_reads_it() -> None:
    with pytest.raises(ValueError, match="at most 40 characters"):
        international_phone("+420 777 123 456" + " " * 25)  # 41 characters


def test_phone_separators_may_be_unicode_spaces() -> None:
    assert international_phone("+420\u00a0777\u202f123\u2009456") == "+420 777123456"


# --- notifyBefore: caps and ASCII -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["１h", "١h", "1h\t30m", "1h 30m" + " " * 27, "1h\v30m", "1 h 30 m x", "1d 1d", "123456m"]
)
def test_notify_before_rejects_more(value: str) -> None:
    with pytest.raises(ValueError, match="units d, h, m in that order"):
        canonical_notify_before(value)


def test_notify_before_at_the_cap_is_accepted() -> None:
    assert canonical_notify_before("1d 2h 30m" + " " * 23) == "1d 2h 30m"  # 32 characters
