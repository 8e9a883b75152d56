"""Zapier ("Webhooks by Zapier" POST or Custom Request action).

Authentication: Zapier signs nothing, so the Zap sends a shared token in a header it lets the user
add: `Authorization: Bearer <token>` or `X-Webhook-Token: <token>`. Every credential presented must
match a configured token (compared in constant time); none configured, none sent, or one sent in
the query string (where it would land in access logs) is 401.

Body: Form (urlencoded) or JSON, as the Zap's "Payload Type" says. Either a flat booking that is
easy to fill in Zapier's editor (see `flat_booking.FlatBooking`) or, in JSON, BizKitHub's own
`{"event": {...}}` object as it is. Zapier sends empty strings for fields the user left unmapped;
those count as absent. JSON is read by `bookhook.jsonbody`, as on every route. A key is named in
an error only when it is a plain name (`bookhook.safe_names`): a Zap can map a form's answer into
a key, so anything else is described by its position and length.

Booking key: the `Idempotency-Key` header when the Zap sends one (map something stable, such as the
form's submission id), else a hash of the normalised event, so an identical booking sent again,
even with the time written in another offset, books once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from bookhook.calendar.event import CalendarEvent
from bookhook.errors import MalformedRequest, Unauthenticated, Unmappable, UnsupportedContentType
from bookhook.jsonbody import decode_utf8, read_json
from bookhook.request import WebhookRequest
from bookhook.safe_names import describe, describe_key_in
from bookhook.settings import MappingSettings
from bookhook.sources import Booking, WebhookSource
from bookhook.sources.flat_booking import flat_event, validated_event, with_regional_phones
from bookhook.timeparse import parse_time

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


def read_booking(request: WebhookRequest, settings: MappingSettings) -> Booking:
    fields = _read_body(request)
    if "event" in fields:
        event = _nested_event(fields, settings)
    else:
        event = flat_event(
            fields,
            zone=settings.zone,
            default_calendar_id=settings.default_calendar_id,
            phone_region=settings.default_phone_region,
        )
    return Booking(key=booking_key(request, event), event=event)


def _read_body(request: WebhookRequest) -> dict[str, Any]:
    media_type = request.media_type
    if media_type == "application/json":
        parsed = read_json(request.body)  # the reader every route shares: one answer for bad JSON
        if not isinstance(parsed, dict):
            raise MalformedRequest("the JSON body must be an object")
        return parsed
    if media_type == "application/x-www-form-urlencoded":
        pairs = parse_qsl(decode_utf8(request.body), keep_blank_values=True)
        form: dict[str, Any] = {}
        for position, (name, value) in enumerate(pairs, start=1):
            if name in form:
                # The field's name may be anything a form filled in: repeated only when it is a plain name.
                shown = describe(name, what="field", position=position)
                raise MalformedRequest(f"form field {shown} is given more than once", field=shown)
            form[name] = value
        return form
    raise UnsupportedContentType(
        "send the booking as application/json or application/x-www-form-urlencoded "
        "(Zapier's JSON or Form payload type)",
        field="Content-Type",
    )


def _nested_event(fields: Mapping[str, Any], settings: MappingSettings) -> CalendarEvent:
    if set(fields) != {"event"}:
        extra = describe_key_in(next(key for key in fields if key != "event"), fields)
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
    candidate = with_regional_phones(candidate, settings.default_phone_region, prefix="event.")
    return validated_event(candidate, name_of=lambda path: f"event.{path}" if path else "event")


def booking_key(request: WebhookRequest, event: CalendarEvent) -> str:
    supplied = request.header(IDEMPOTENCY_HEADER)
    if supplied is not None:
        if not _IDEMPOTENCY_KEY.match(supplied.strip()):
            raise MalformedRequest(
                "Idempotency-Key must be 1-255 visible ASCII characters", field="Idempotency-Key"
            )
        return f"{NAME}:key:{supplied.strip()}"
    return f"{NAME}:sha256:{hashlib.sha256(event.canonical_json().encode('utf-8')).hexdigest()}"


def source(settings: MappingSettings) -> WebhookSource:
    return WebhookSource(
        name=NAME, authenticate=authenticate, read_booking=lambda request: read_booking(request, settings)
    )
