"""BizKitHub's add-event contract as Pydantic models.

The documented example is the only schema BizKitHub publishes, so we are strict about what we send
(formats read off the example) and leave every optional field out rather than sending null.
Wire names are camelCase; Python names are snake_case.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    StringConstraints,
    ValidationError,
    field_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

CALENDAR_ID_PATTERN = r"^[A-Za-z0-9]{32}$"
CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9]{16}$"

# ASCII digits only (`\d` also matches other scripts' digits), at most five per unit.
_NOTIFY_BEFORE = re.compile(r"^\s*(?:([0-9]{1,5})\s*d)?\s*(?:([0-9]{1,5})\s*h)?\s*(?:([0-9]{1,5})\s*m)?\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_URL = re.compile(r"^https?://\S+$")
# E.164 country calling codes are prefix-free: two single-digit codes, this list of two-digit codes,
# and three digits for every other. Knowing the length lets us write "+420 777123456" as BizKitHub's
# example does.
_ONE_DIGIT_COUNTRY_CODES = frozenset({"1", "7"})
_TWO_DIGIT_COUNTRY_CODES = frozenset(
    [
        "20",
        "27",
        "30",
        "31",
        "32",
        "33",
        "34",
        "36",
        "39",
        "40",
        "41",
        "43",
        "44",
        "45",
        "46",
        "47",
        "48",
        "49",
        "51",
        "52",
        "53",
        "54",
        "55",
        "56",
        "57",
        "58",
        "60",
        "61",
        "62",
        "63",
        "64",
        "65",
        "66",
        "81",
        "82",
        "84",
        "86",
        "90",
        "91",
        "92",
        "93",
        "94",
        "95",
        "98",
    ]
)


def canonical_notify_before(value: str) -> str:
    """`1d 2h 30m` form: units d, h, m in that order, at least one, single spaces between."""
    match = _NOTIFY_BEFORE.match(value)
    if not match or not any(match.groups()):
        raise ValueError("must be a duration like '1h 30m' (units d, h, m in that order)")
    return " ".join(
        f"{int(amount)}{unit}" for amount, unit in zip(match.groups(), "dhm", strict=True) if amount
    )


def international_phone(value: str) -> str:
    """Normalise to '+<country code> <number>', the form of BizKitHub's example.

    Accepts E.164 (`+420777123456`), `00` for `+`, and spaces, dashes, dots or brackets inside.
    A number without an international prefix is refused: we cannot guess the country.
    """
    compact = re.sub(r"[\s\-.()/]", "", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not re.fullmatch(r"\+[1-9]\d{7,14}", compact):
        raise ValueError("must be an international number starting with + and the country code")
    digits = compact[1:]
    if digits[:1] in _ONE_DIGIT_COUNTRY_CODES:
        split = 1
    elif digits[:2] in _TWO_DIGIT_COUNTRY_CODES:
        split = 2
    else:
        split = 3
    return f"+{digits[:split]} {digits[split:]}"


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("must be an email address like name@example.com")
    return value


def _url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError("must be an http or https URL")
    return value


def utc_wire_time(value: datetime) -> str:
    """`2024-05-01T10:00:00.000Z`: UTC, milliseconds, `Z`, as in BizKitHub's example."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


NonEmptyText = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
Email = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_email)]
Phone = Annotated[str, AfterValidator(international_phone)]
NotifyBefore = Annotated[str, AfterValidator(canonical_notify_before)]
Url = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_url)]


class _WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
    )


class Attendee(_WireModel):
    member_id: PositiveInt | None = None
    customer_id: Annotated[str, StringConstraints(pattern=CUSTOMER_ID_PATTERN)] | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None = None
    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _identifies_someone(self) -> Attendee:
        if not any((self.member_id, self.customer_id, self.name, self.email, self.phone)):
            raise ValueError("an attendee needs at least one of memberId, customerId, name, email, phone")
        return self


class CalendarEvent(_WireModel):
    """The `event` object of `POST /api/v1/calendar/add-event`."""

    calendar_id: Annotated[str, StringConstraints(pattern=CALENDAR_ID_PATTERN)]
    start_time: AwareDatetime
    end_time: AwareDatetime
    title: NonEmptyText
    description: NonEmptyText | None = None
    agenda: NonEmptyText | None = None
    url: Url | None = None
    notify_before: NotifyBefore | None = None
    blocking_to: AwareDatetime | None = None
    location_title: NonEmptyText | None = None
    is_all_day: bool | None = None
    is_blocking: bool | None = None
    attendees: Annotated[list[Attendee], Field(max_length=100)] | None = None
    type: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _times_in_order(self) -> CalendarEvent:
        if self.end_time <= self.start_time:
            raise ValueError("endTime must be after startTime")
        if self.blocking_to is not None and self.blocking_to < self.start_time:
            raise ValueError("blockingTo must not be before startTime")
        return self

    @field_serializer("start_time", "end_time", "blocking_to")
    def _serialize_time(self, value: datetime | None) -> str | None:
        return None if value is None else utc_wire_time(value)

    def wire_event(self) -> dict[str, Any]:
        """The `event` object exactly as it goes on the wire (no nulls, camelCase, UTC times)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def canonical_json(self) -> str:
        """The wire event with sorted keys and no spacing: equal for equal bookings, for hashing."""
        return json.dumps(self.wire_event(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def request_body(self) -> dict[str, Any]:
        return {"event": self.wire_event()}


def first_error(error: ValidationError) -> tuple[str, str]:
    """(field path, message) of a validation error, without the offending input.

    Pydantic's own `str(error)` includes the input value, which may be attendee data.
    """
    details = error.errors(include_url=False, include_input=False, include_context=False)
    first = details[0]
    path = ""
    for part in first["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = first["msg"].removeprefix("Value error, ")
    return path, message
