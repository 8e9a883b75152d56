"""The flat booking shared by senders whose fields are plain text keys.

Zapier's editor sends them as the Zap's data rows; Stripe carries them as the Checkout Session's or
PaymentIntent's metadata. The keys are the add-event field names, with the first attendee flattened
into `attendee*` keys, and `duration` (minutes or `1h 30m`) as an alternative to `endTime`.
Empty strings count as absent (Zapier sends them for unmapped fields).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict, ValidationError
from pydantic.alias_generators import to_camel

from bookhook.calendar.event import CalendarEvent
from bookhook.errors import Unmappable
from bookhook.phones import international_field
from bookhook.sources import safe_first_error
from bookhook.timeparse import parse_duration, parse_time


def _blank_is_absent(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


BlankIsAbsent = Annotated[str | None, BeforeValidator(_blank_is_absent)]
StrictMemberId = Annotated[int, Strict()]


def _member_id_text(value: Any) -> Any:
    """A form sends digits as text ("1234"): that is a number; a boolean or anything else is not."""
    value = _blank_is_absent(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) <= 16:
        return int(value)
    return value


class FlatBooking(BaseModel):
    """A booking as flat text fields: a Zap's keys, a Stripe payment's metadata."""

    # Numbers are accepted where text is expected (`"duration": 90` typed into a Custom Request).
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
        coerce_numbers_to_str=True,
    )

    calendar_id: BlankIsAbsent = None
    start_time: BlankIsAbsent = None
    end_time: BlankIsAbsent = None
    duration: BlankIsAbsent = None
    title: BlankIsAbsent = None
    description: BlankIsAbsent = None
    agenda: BlankIsAbsent = None
    url: BlankIsAbsent = None
    notify_before: BlankIsAbsent = None
    location_title: BlankIsAbsent = None
    is_all_day: Annotated[bool | None, BeforeValidator(_blank_is_absent)] = None
    is_blocking: Annotated[bool | None, BeforeValidator(_blank_is_absent)] = None
    blocking_to: BlankIsAbsent = None
    type: BlankIsAbsent = None
    attendee_name: BlankIsAbsent = None
    attendee_email: BlankIsAbsent = None
    attendee_phone: BlankIsAbsent = None
    # Strict: `true` is not member 1 (a lax int would turn it into one before the contract saw it).
    attendee_member_id: Annotated[StrictMemberId | None, BeforeValidator(_member_id_text)] = None
    attendee_customer_id: BlankIsAbsent = None


# Where a CalendarEvent field comes from in the flat booking, to name the right key in errors.
FLAT_NAME_OF = {
    "attendees[0].name": "attendeeName",
    "attendees[0].email": "attendeeEmail",
    "attendees[0].phone": "attendeePhone",
    "attendees[0].memberId": "attendeeMemberId",
    "attendees[0].customerId": "attendeeCustomerId",
    "attendees[0]": "attendeeName",
}


class LenientFlatBooking(FlatBooking):
    """For metadata that also carries the shop's own keys (order numbers and the like)."""

    model_config = ConfigDict(extra="ignore")


def flat_event(
    fields: Mapping[str, Any],
    *,
    zone: ZoneInfo | None,
    default_calendar_id: str | None,
    prefix: str = "",
    ignore_unknown: bool = False,
    phone_region: str | None = None,
) -> CalendarEvent:
    """Map flat booking fields to a CalendarEvent; errors name the key as the sender wrote it,
    after `prefix` (`metadata.startTime`), or describe it where it may hold personal data
    (`<key #3, 41 characters>`). Unknown keys are refused unless `ignore_unknown`.
    `phone_region` (DEFAULT_PHONE_REGION) is the country of an attendeePhone written without
    a country code; None: such a number is refused."""
    try:
        flat = (LenientFlatBooking if ignore_unknown else FlatBooking).model_validate(fields)
    except ValidationError as error:
        field, message = safe_first_error(error, fields)
        raise Unmappable(f"{prefix}{field}: {message}", field=prefix + field) from None
    if flat.start_time is None:
        raise Unmappable(f"{prefix}startTime is required", field=f"{prefix}startTime")
    if flat.title is None:
        raise Unmappable(f"{prefix}title is required", field=f"{prefix}title")
    start = parse_time(flat.start_time, zone=zone, field=f"{prefix}startTime")
    if flat.end_time is not None and flat.duration is not None:
        raise Unmappable(f"give {prefix}endTime or {prefix}duration, not both", field=f"{prefix}duration")
    if flat.end_time is not None:
        end = parse_time(flat.end_time, zone=zone, field=f"{prefix}endTime")
    elif flat.duration is not None:
        # Elapsed time: adding in UTC keeps a 3-hour booking 3 hours long across a clock change.
        end = start.astimezone(UTC) + parse_duration(flat.duration, field=f"{prefix}duration")
    else:
        raise Unmappable(f"{prefix}endTime or {prefix}duration is required", field=f"{prefix}endTime")
    attendee = {
        "name": flat.attendee_name,
        "email": flat.attendee_email,
        "phone": flat.attendee_phone,
        "memberId": flat.attendee_member_id,
        "customerId": flat.attendee_customer_id,
    }
    candidate = {
        "calendarId": flat.calendar_id or default_calendar_id,
        "startTime": start,
        "endTime": end,
        "title": flat.title,
        "description": flat.description,
        "agenda": flat.agenda,
        "url": flat.url,
        "notifyBefore": flat.notify_before,
        "blockingTo": parse_time(flat.blocking_to, zone=zone, field=f"{prefix}blockingTo")
        if flat.blocking_to
        else None,
        "locationTitle": flat.location_title,
        "isAllDay": flat.is_all_day,
        "isBlocking": flat.is_blocking,
        "type": flat.type,
        "attendees": [attendee] if any(v is not None for v in attendee.values()) else None,
    }
    if candidate["calendarId"] is None:
        raise Unmappable(
            f"{prefix}calendarId is required (or set DEFAULT_CALENDAR_ID)", field=f"{prefix}calendarId"
        )
    if flat.attendee_phone is not None:
        # National numbers read in the default region; CalendarEvent then insists on the + form.
        attendee["phone"] = international_field(
            flat.attendee_phone, phone_region, field=f"{prefix}attendeePhone"
        )
    return validated_event(
        candidate, name_of=lambda path: prefix + FLAT_NAME_OF.get(path, path) if path else ""
    )


# CalendarEvent refuses more attendees than this: no need to read their phones first.
_MAX_ATTENDEES = 100


def with_regional_phones(event: Mapping[str, Any], region: str | None, *, prefix: str) -> dict[str, Any]:
    """A nested event (BizKitHub's own object, as a Zap may send it) with its attendees' phones read
    in the default region, as `flat_event` reads attendeePhone; errors name `{prefix}attendees[i].phone`.
    Without a region nothing changes (CalendarEvent requires the + form and says so). Anything that
    is not an attendee object with a text phone is left for CalendarEvent to refuse."""
    candidate = dict(event)
    attendees = candidate.get("attendees")
    if region is None or not isinstance(attendees, list) or len(attendees) > _MAX_ATTENDEES:
        return candidate
    regional = []
    for index, attendee in enumerate(attendees):
        if isinstance(attendee, dict) and isinstance(attendee.get("phone"), str):
            field = f"{prefix}attendees[{index}].phone"
            attendee = attendee | {"phone": international_field(attendee["phone"], region, field=field)}
        regional.append(attendee)
    candidate["attendees"] = regional
    return candidate


def validated_event(candidate: Mapping[str, Any], *, name_of: Callable[[str], str]) -> CalendarEvent:
    try:
        return CalendarEvent.model_validate(candidate)
    except ValidationError as error:
        # The candidate may be the sender's own object (Zapier's nested event): keys are described.
        path, message = safe_first_error(error, candidate)
        field = name_of(path)
        # A cross-field message already starts with the field it blames ("endTime must be after …").
        text = f"{field}: {message}" if field and not message.startswith(path + " ") else message
        raise Unmappable(text, field=field or None) from None
