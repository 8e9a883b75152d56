"""BizKitHub's add-event contract as Pydantic models.

The documented example is the only schema BizKitHub publishes, so we are strict about what we send
(formats read off the example) and leave every optional field out rather than sending null.
Wire names are camelCase; Python names are snake_case.

Everything here may see a sender's text (a public form mapped by Zapier, Stripe metadata), so:
- every text field has a length cap that is checked before any pattern or parser looks at it;
- every pattern is linear (no nested or adjacent unbounded quantifiers over the same characters),
  spells ASCII classes out (`\\d` and `\\s` also match other scripts) and is applied with fullmatch;
- every time lies in the calendar window below, checked before any arithmetic, so that turning it
  into UTC or adding a duration to it cannot overflow;
- no error message carries the offending value (see `first_error`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    Strict,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from bookhook import phones

CALENDAR_ID_PATTERN = r"^[A-Za-z0-9]{32}$"
CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9]{16}$"

# --- length caps ----------------------------------------------------------------------------------
# BizKitHub documents no limits, so these are ours: generous for any real booking, small enough that
# every check after them is cheap. Each is enforced before the field's pattern or parser runs.
MAX_TITLE = 255  # a one-line heading (title, locationTitle, an attendee's name): a VARCHAR(255) fits it
MAX_TYPE = 100  # a short category such as "training"
MAX_TEXT = 10_000  # free text: description, agenda
MAX_DURATION_TEXT = 32  # notifyBefore and durations: "1d 23h 59m" is 10 characters
MAX_TIME_TEXT = 64  # an ISO 8601 date-time with offset and microseconds is 32
MAX_EMAIL = 254  # the longest address SMTP can carry (RFC 5321 path limit less the brackets)
MAX_URL = 2_048  # what browsers, proxies and most servers handle
MAX_PHONE = phones.MAX_PHONE  # 15 digits (E.164's maximum), a + and room for the separators people type
# The largest integer that survives a round trip through a JSON number in any client (2**53 - 1).
MAX_MEMBER_ID = 9_007_199_254_740_991

# --- calendar window ------------------------------------------------------------------------------
# Every startTime, endTime and blockingTo lies in the years 2000 to 2100, UTC: from
# 2000-01-01T00:00:00.000Z up to the last instant of 2100-12-31 (23:59:59.999Z), both included.
# Wide enough for any real booking, and far enough from datetime's year 1 and 9999 that converting to
# UTC or adding a duration (at most 31 days, see timeparse.MAX_DURATION) cannot overflow; every wire
# time then has the four-digit year BizKitHub's format needs.
WINDOW_START = datetime(2000, 1, 1, tzinfo=UTC)
WINDOW_END = datetime(2100, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
WINDOW_MESSAGE = "must be between 2000-01-01T00:00:00Z and 2100-12-31T23:59:59Z (UTC)"
# An end must be at least this long after the start: shorter, and the two can be equal on the wire
# (milliseconds), which BizKitHub refuses; no real appointment is shorter.
MIN_EVENT_LENGTH = timedelta(minutes=1)


def in_window(value: datetime) -> bool:
    """Whether an aware time lies in the calendar window, decided without any arithmetic on it.

    The wall-clock year is checked first: a time whose year is within one of the window's is at most
    a day (a UTC offset) from it, so the comparison below (exact, across offsets) is safe.
    """
    if not WINDOW_START.year - 1 <= value.year <= WINDOW_END.year + 1:
        return False
    return WINDOW_START <= value <= WINDOW_END


# d, h, m in that order, each at most once, at least one (checked below). Each unit group starts
# with a digit and owns the spaces after it, so no two space runs are ever adjacent: linear time.
# (The old pattern had four adjacent `\s*`: 200 spaces and an "x" took seconds, 800 took minutes.)
_NOTIFY_BEFORE = re.compile(r"(?:([0-9]{1,5}) *d *)?(?:([0-9]{1,5}) *h *)?(?:([0-9]{1,5}) *m *)?")


def _too_long(limit: int) -> str:
    return f"must be at most {limit} characters"


def canonical_notify_before(value: str) -> str:
    """`1d 2h 30m` form: units d, h, m in that order, at least one, single spaces between."""
    if len(value) > MAX_DURATION_TEXT:
        raise ValueError(
            f"must be a duration like '1h 30m' (units d, h, m in that order), {_too_long(MAX_DURATION_TEXT)}"
        )
    match = _NOTIFY_BEFORE.fullmatch(value.strip())
    if not match or not any(match.groups()):
        raise ValueError("must be a duration like '1h 30m' (units d, h, m in that order)")
    return " ".join(
        f"{int(amount)}{unit}" for amount, unit in zip(match.groups(), "dhm", strict=True) if amount
    )


def international_phone(value: str) -> str:
    """'+<country code> <number>', the form of BizKitHub's example, checked by libphonenumber.

    Strict: the number must carry its country code (`+` or `00`). A source that knows the default
    region (DEFAULT_PHONE_REGION) applies it first, with `phones.international`; see there for what
    is accepted (ASCII digits only) and why.
    """
    return phones.international(value, None)


_EMAIL_MESSAGE = "must be an email address like name@example.com"


def _email(value: Any, handler: ValidatorFunctionWrapHandler) -> str:
    """Pydantic's `EmailStr` (email-validator), capped first, with our own message.

    Pydantic calls email-validator with `check_deliverability=False`: syntax only, no DNS look-up
    (none may happen in a webhook). Its reasons can quote parts of the address, so they are dropped.
    The address is returned normalised (domain lower-cased; `Name <addr>` reduced to `addr`).
    """
    if isinstance(value, str):
        value = value.strip()
        if len(value) > MAX_EMAIL:
            raise ValueError(f"{_EMAIL_MESSAGE}, {_too_long(MAX_EMAIL)}")
    try:
        email: str = handler(value)
    except ValidationError:
        raise ValueError(_EMAIL_MESSAGE) from None
    return email


_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)
_URL_MESSAGE = "must be an http or https URL"


def _url(value: str) -> str:
    """An http(s) URL with a host, checked by Pydantic's `HttpUrl` and sent as the sender wrote it.

    Pydantic's parser follows browsers and quietly repairs what it is given (`http:///x` becomes
    `http://x/`, `\\` becomes `/`, tabs vanish, spaces are escaped), so the text itself must also be
    a plain URL: `scheme://host...`, no whitespace or control characters, no backslashes. Only the
    scheme is lower-cased (it is case-insensitive; BizKitHub expects `http://` or `https://`).
    """
    scheme, separator, rest = value.partition("://")
    if (
        not separator
        or scheme.lower() not in ("http", "https")
        or rest.startswith("/")
        or "\\" in value
        # Z*: spaces and separators; C*: control, format, surrogate, private-use and unassigned.
        or any(unicodedata.category(char)[0] in "ZC" for char in value)
    ):
        raise ValueError(_URL_MESSAGE)
    try:
        netloc = urlsplit(value).netloc
        _HTTP_URL.validate_python(value)
    except ValueError:  # ValidationError is a ValueError; urlsplit raises one for a broken [IPv6]
        raise ValueError(_URL_MESSAGE) from None
    if not netloc:
        raise ValueError(_URL_MESSAGE)
    return f"{scheme.lower()}://{rest}"


def _text(value: str) -> str:
    """Text must say something: a title of spaces is no title (BizKitHub refuses it).

    (Lone surrogates, which JSON can carry but UTF-8 cannot, are already refused by Pydantic's `str`.)
    """
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _time_input(value: Any) -> Any:
    """Times as datetimes or ISO 8601 text (read by `datetime.fromisoformat`, as timeparse does).

    Numbers and numeric strings are refused rather than read as Unix times.
    """
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        # ValueError, not TypeError: only ValueError becomes a validation error in Pydantic.
        raise ValueError("must be an ISO 8601 date-time string")  # noqa: TRY004
    if len(value) > MAX_TIME_TEXT:
        raise ValueError(f"must be an ISO 8601 date-time, {_too_long(MAX_TIME_TEXT)}")
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time such as 2024-05-01T10:00:00+02:00") from None


def _time_in_window(value: datetime) -> datetime:
    if not in_window(value):
        raise ValueError(WINDOW_MESSAGE)
    return value


def utc_wire_time(value: datetime) -> str:
    """`2024-05-01T10:00:00.000Z`: UTC, milliseconds, `Z`, as in BizKitHub's example."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


Title = Annotated[str, StringConstraints(max_length=MAX_TITLE), AfterValidator(_text)]
LongText = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_text)]
Email = Annotated[EmailStr, WrapValidator(_email)]
Phone = Annotated[str, AfterValidator(international_phone)]
NotifyBefore = Annotated[str, AfterValidator(canonical_notify_before)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_URL), AfterValidator(_url)]
Time = Annotated[AwareDatetime, BeforeValidator(_time_input), AfterValidator(_time_in_window)]
# Strict: `true` is not member 1 (bool is an int in Python), and "1234" is not a JSON number.
MemberId = Annotated[int, Strict(), Field(gt=0, le=MAX_MEMBER_ID)]


class _WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
    )


class Attendee(_WireModel):
    member_id: MemberId | None = None
    customer_id: Annotated[str, StringConstraints(max_length=16, pattern=CUSTOMER_ID_PATTERN)] | None = None
    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TITLE), AfterValidator(_text)]
        | None
    ) = None
    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _identifies_someone(self) -> Attendee:
        if not any((self.member_id, self.customer_id, self.name, self.email, self.phone)):
            raise ValueError("an attendee needs at least one of memberId, customerId, name, email, phone")
        return self


class CalendarEvent(_WireModel):
    """The `event` object of `POST /api/v1/calendar/add-event`.

    startTime, endTime and blockingTo must lie in the calendar window (any instant of the years 2000
    to 2100, UTC: 2000-01-01T00:00:00Z to 2100-12-31T23:59:59.999Z), endTime at least one minute
    after startTime, blockingTo not before startTime.
    """

    calendar_id: Annotated[str, StringConstraints(max_length=32, pattern=CALENDAR_ID_PATTERN)]
    start_time: Time
    end_time: Time
    title: Title
    description: LongText | None = None
    agenda: LongText | None = None
    url: Url | None = None
    notify_before: NotifyBefore | None = None
    blocking_to: Time | None = None
    location_title: Title | None = None
    is_all_day: StrictBool | None = None
    is_blocking: StrictBool | None = None
    attendees: Annotated[list[Attendee], Field(max_length=100)] | None = None
    type: Annotated[str, StringConstraints(max_length=MAX_TYPE), AfterValidator(_text)] | None = None

    @model_validator(mode="after")
    def _times_in_order(self) -> CalendarEvent:
        # All three are inside the window here, so this arithmetic cannot overflow.
        if self.end_time <= self.start_time:
            raise ValueError("endTime must be after startTime")
        if self.end_time - self.start_time < MIN_EVENT_LENGTH:
            raise ValueError("endTime must be at least one minute after startTime")
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
    if not path:
        # The cross-field checks (`_times_in_order`) fail on the whole event; their message starts
        # with the field at fault, which is the one to name.
        path = next((name for name in _CROSS_FIELD_NAMES if message.startswith(name + " ")), "")
    return path, message


_CROSS_FIELD_NAMES = ("endTime", "blockingTo")
