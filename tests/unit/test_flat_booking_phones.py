"""flat_event's attendeePhone with DEFAULT_PHONE_REGION, as Stripe metadata uses it (prefix, unknown keys)."""

from __future__ import annotations

from typing import Any

import pytest

from bookhook.errors import Unmappable
from bookhook.sources.flat_booking import flat_event, with_regional_phones

CALENDAR_ID = "2WRp6X5rSqQa321EjHB2mxZz74u74H84"
METADATA = {
    "startTime": "2027-01-05T10:00:00+01:00",
    "duration": "60",
    "title": "Training",
    "orderNo": "A-17",
}


def metadata_event_phone(phone: str, region: str | None) -> str | None:
    event = flat_event(
        {**METADATA, "attendeePhone": phone},
        zone=None,
        default_calendar_id=CALENDAR_ID,
        prefix="metadata.",
        ignore_unknown=True,
        phone_region=region,
    )
    assert event.attendees is not None
    return event.attendees[0].phone


@pytest.mark.parametrize("phone", ["603 987 654", "603987654", "+420 603 987 654", "00420603987654"])
def test_metadata_phone_is_read_in_the_region(phone: str) -> None:
    assert metadata_event_phone(phone, "CZ") == "+420 603987654"


def test_the_region_is_optional_and_off_by_default() -> None:
    assert metadata_event_phone("+421 905 123 456", None) == "+421 905123456"
    with pytest.raises(Unmappable) as caught:
        flat_event(
            {**METADATA, "attendeePhone": "603 987 654"},
            zone=None,
            default_calendar_id=CALENDAR_ID,
            prefix="metadata.",
            ignore_unknown=True,
        )

    assert caught.value.field == "metadata.attendeePhone"
    assert caught.value.message.startswith("metadata.attendeePhone: needs a country code")


@pytest.mark.parametrize(
    ("phone", "region"), [("603 987 65", "CZ"), ("+420 123 456 789", "CZ"), ("٦٠٣٩٨٧٦٥٤", "CZ")]
)
def test_an_invalid_metadata_phone_names_the_key(phone: str, region: str) -> None:
    with pytest.raises(Unmappable) as caught:
        metadata_event_phone(phone, region)

    assert caught.value.field == "metadata.attendeePhone"
    assert "987" not in caught.value.message


def test_a_missing_calendar_is_reported_before_the_phone() -> None:
    """The phone is read where CalendarEvent would have read it: after the booking's own checks."""
    with pytest.raises(Unmappable) as caught:
        flat_event(
            {**METADATA, "attendeePhone": "603 987 654"},
            zone=None,
            default_calendar_id=None,
            ignore_unknown=True,
        )

    assert caught.value.field == "calendarId"


@pytest.mark.parametrize(
    "attendees",
    [
        "not a list",
        [{"name": "Jan"}, "not an attendee", {"phone": 603987654}],
        [{"phone": "603 987 654"}] * 101,  # more than CalendarEvent takes: left for it to refuse
    ],
)
def test_with_regional_phones_leaves_what_is_not_a_text_phone_to_the_model(attendees: Any) -> None:
    event = {"title": "x", "attendees": attendees}

    assert with_regional_phones(event, "CZ", prefix="event.") == event


def test_with_regional_phones_without_a_region_changes_nothing() -> None:
    event = {"attendees": [{"phone": "603 987 654"}]}

    assert with_regional_phones(event, None, prefix="event.") == event


def test_with_regional_phones_does_not_change_the_senders_object() -> None:
    attendee = {"name": "Eva", "phone": "603 987 654"}
    event = {"attendees": [attendee]}

    regional = with_regional_phones(event, "CZ", prefix="event.")

    assert regional == {"attendees": [{"name": "Eva", "phone": "+420 603987654"}]}
    assert attendee["phone"] == "603 987 654"
