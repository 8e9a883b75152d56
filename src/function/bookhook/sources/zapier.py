"""Zapier ("Webhooks by Zapier" POST or Custom Request action).

Authentication: Zapier signs nothing, so the Zap sends a shared token in a header it lets the user
add: `Authorization: Bearer <token>` or `X-Webhook-Token: <token>`. Every credential presented must
match a configured token (compared in constant time); none configured, none sent, or one sent in
the query string (where it would land in access logs) is 401.

Body: Form (urlencoded) or JSON, as the Zap's "Payload Type" says. Either a flat booking that is
easy to fill in Zapier's editor (see `ZapierBooking`) or, in JSON, BizKitHub's own
`{"event": {...}}` object as it is. Zapier sends empty strings for fields the user left unmapped;
those count as absent.

Booking key: the `Idempotency-Key` header when the Zap sends one (map something stable, such as the
form's submission id), else a hash of the normalised event, so an identical booking sent again,
even with the time written in another offset, books once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from bookhook.calendar.event import CalendarEvent, first_error
from bookhook.errors import MalformedRequest, Unauthenticated, Unmappable, UnsupportedContentType
from bookhook.request import WebhookRequest
from bookhook.settings import Settings
from bookhook.sources import Booking, WebhookSource
from bookhook.timeparse import parse_duration, parse_time

NAME = "zapier"
TOKEN_HEADER = "x-webhook-token"  # noqa: S105 - a header name, not a secret
IDEMPOTENCY_HEADER = "idempotency-key"
_CREDENTIAL_QUERY_NAMES = frozenset(
    {
        "token",
        "access_token",
        "auth",
        "authorization",
        "api_key",
        "apikey",
        "key",
        "secret",
        "x-webhook-token",
    }
)
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_TIME_FIELDS = ("start_time", "end_time", "blocking_to")


def authenticate(request: WebhookRequest, tokens: Sequence[str]) -> None:
    if any(name.lower() in _CREDENTIAL_QUERY_NAMES for name in request.query) or any(
        _matches_any(value, tokens) for values in request.query.values() for value in values
    ):
        raise Unauthenticated(
            "credentials in the query string are refused; send the token in the Authorization "
            "(Bearer) or X-Webhook-Token header",
            field="query",
        )
    presented = _presented_tokens(request)
    if not presented:
        raise Unauthenticated(
            "missing token: send Authorization: Bearer <token> or X-Webhook-Token", field="Authorization"
        )
    # Fail closed: no configured token matches nothing; every credential sent must be valid.
    if not tokens or not all(_matches_any(token, tokens) for token in presented):
        raise Unauthenticated("invalid token", field="Authorization")


def _presented_tokens(request: WebhookRequest) -> list[str]:
    presented = []
    authorization = request.header("authorization")
    if authorization is not None:
        scheme, _, credential = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'", field="Authorization")
        presented.append(credential.strip())
    header_token = request.header(TOKEN_HEADER)
    if header_token is not None:
        presented.append(header_token.strip())
    return presented


def _matches_any(candidate: str, tokens: Sequence[str]) -> bool:
    # Compare against every token so the time taken does not say which one (or whether one) matched.
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(candidate.encode("utf-8"), token.encode("utf-8"))
    return matched


def _blank_is_absent(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


BlankIsAbsent = Annotated[str | None, BeforeValidator(_blank_is_absent)]


class ZapierBooking(BaseModel):
    """The flat booking a Zap sends; names are the keys to type in Zapier's editor."""

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
    attendee_member_id: Annotated[int | None, BeforeValidator(_blank_is_absent)] = None
    attendee_customer_id: BlankIsAbsent = None


# Where a CalendarEvent field comes from in the flat booking, to name the right key in errors.
_FLAT_NAME_OF = {
    "attendees[0].name": "attendeeName",
    "attendees[0].email": "attendeeEmail",
    "attendees[0].phone": "attendeePhone",
    "attendees[0].memberId": "attendeeMemberId",
    "attendees[0].customerId": "attendeeCustomerId",
    "attendees[0]": "attendeeName",
}


def read_booking(request: WebhookRequest, settings: Settings) -> Booking:
    fields = _read_body(request)
    event = _nested_event(fields, settings) if "event" in fields else _flat_event(fields, settings)
    return Booking(key=booking_key(request, event), event=event)


def _read_body(request: WebhookRequest) -> dict[str, Any]:
    media_type = request.media_type
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("the body is not UTF-8") from None
    if media_type == "application/json":
        try:
            parsed = json.loads(text)
        except ValueError:
            raise MalformedRequest("the body is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise MalformedRequest("the JSON body must be an object")
        return parsed
    if media_type == "application/x-www-form-urlencoded":
        pairs = parse_qsl(text, keep_blank_values=True)
        form: dict[str, Any] = {}
        for name, value in pairs:
            if name in form:
                raise MalformedRequest(f"form field {name} is given more than once", field=name)
            form[name] = value
        return form
    raise UnsupportedContentType(
        "send the booking as application/json or application/x-www-form-urlencoded "
        "(Zapier's JSON or Form payload type)",
        field="Content-Type",
    )


def _flat_event(fields: Mapping[str, Any], settings: Settings) -> CalendarEvent:
    try:
        flat = ZapierBooking.model_validate(fields)
    except ValidationError as error:
        field, message = first_error(error)
        raise Unmappable(f"{field}: {message}", field=field) from None
    zone = settings.zone
    if flat.start_time is None:
        raise Unmappable("startTime is required", field="startTime")
    if flat.title is None:
        raise Unmappable("title is required", field="title")
    start = parse_time(flat.start_time, zone=zone, field="startTime")
    if flat.end_time is not None and flat.duration is not None:
        raise Unmappable("give endTime or duration, not both", field="duration")
    if flat.end_time is not None:
        end = parse_time(flat.end_time, zone=zone, field="endTime")
    elif flat.duration is not None:
        # Elapsed time: adding in UTC keeps a 3-hour booking 3 hours long across a clock change.
        end = start.astimezone(UTC) + parse_duration(flat.duration, field="duration")
    else:
        raise Unmappable("endTime or duration is required", field="endTime")
    attendee = {
        "name": flat.attendee_name,
        "email": flat.attendee_email,
        "phone": flat.attendee_phone,
        "memberId": flat.attendee_member_id,
        "customerId": flat.attendee_customer_id,
    }
    candidate = {
        "calendarId": flat.calendar_id or settings.default_calendar_id,
        "startTime": start,
        "endTime": end,
        "title": flat.title,
        "description": flat.description,
        "agenda": flat.agenda,
        "url": flat.url,
        "notifyBefore": flat.notify_before,
        "blockingTo": parse_time(flat.blocking_to, zone=zone, field="blockingTo")
        if flat.blocking_to
        else None,
        "locationTitle": flat.location_title,
        "isAllDay": flat.is_all_day,
        "isBlocking": flat.is_blocking,
        "type": flat.type,
        "attendees": [attendee] if any(v is not None for v in attendee.values()) else None,
    }
    if candidate["calendarId"] is None:
        raise Unmappable("calendarId is required (or set DEFAULT_CALENDAR_ID)", field="calendarId")
    return _validated_event(candidate, name_of=lambda path: _FLAT_NAME_OF.get(path, path))


def _nested_event(fields: Mapping[str, Any], settings: Settings) -> CalendarEvent:
    if set(fields) != {"event"}:
        extra = sorted(set(fields) - {"event"})[0]
        raise Unmappable(f"{extra}: not allowed next to event", field=extra)
    event = fields["event"]
    if not isinstance(event, dict):
        raise Unmappable("event must be an object", field="event")
    candidate = dict(event)
    if settings.default_calendar_id and not candidate.get("calendarId"):
        candidate["calendarId"] = settings.default_calendar_id
    wire_names = {"start_time": "startTime", "end_time": "endTime", "blocking_to": "blockingTo"}
    for name in _TIME_FIELDS:
        value = candidate.get(wire_names[name])
        if isinstance(value, str):
            candidate[wire_names[name]] = parse_time(
                value, zone=settings.zone, field=f"event.{wire_names[name]}"
            )
    return _validated_event(candidate, name_of=lambda path: f"event.{path}" if path else "event")


def _validated_event(candidate: Mapping[str, Any], *, name_of: Callable[[str], str]) -> CalendarEvent:
    try:
        return CalendarEvent.model_validate(candidate)
    except ValidationError as error:
        path, message = first_error(error)
        field = name_of(path)
        raise Unmappable(f"{field}: {message}" if field else message, field=field or None) from None


def booking_key(request: WebhookRequest, event: CalendarEvent) -> str:
    supplied = request.header(IDEMPOTENCY_HEADER)
    if supplied is not None:
        if not _IDEMPOTENCY_KEY.match(supplied.strip()):
            raise MalformedRequest(
                "Idempotency-Key must be 1-255 visible ASCII characters", field="Idempotency-Key"
            )
        return f"{NAME}:key:{supplied.strip()}"
    canonical = json.dumps(event.wire_event(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f"{NAME}:sha256:{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def source(settings: Settings) -> WebhookSource:
    return WebhookSource(
        name=NAME, authenticate=authenticate, read_booking=lambda request: read_booking(request, settings)
    )
