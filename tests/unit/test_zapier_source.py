"""The Zapier source: shared-token authentication, flat/nested bookings, booking keys."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import pytest

from bookhook.errors import MalformedRequest, Unauthenticated, Unmappable, UnsupportedContentType
from bookhook.request import WebhookRequest
from bookhook.settings import MappingSettings
from bookhook.sources import Booking
from bookhook.sources.zapier import authenticate, booking_key, read_booking, source
from bookhook_dev.testing.defaults import documented_example_event

TOKEN = "zap-token-0123456789abcdef"
PREVIOUS_TOKEN = "zap-previous-token-fedcba9876543210"
CALENDAR_ID = "2WRp6X5rSqQa321EjHB2mxZz74u74H84"
DEFAULT_CALENDAR_ID = "DefaultCalendar0123456789abcdefA"
BASE_ENV: dict[str, str] = {}  # mapping needs no AWS settings
SHA256_KEY = re.compile(r"^zapier:sha256:[0-9a-f]{64}$")


def make_request(
    body: bytes | str = b"",
    *,
    content_type: str | None = "application/json",
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, list[str]] | None = None,
) -> WebhookRequest:
    all_headers = {name.lower(): value for name, value in (headers or {}).items()}
    if content_type is not None:
        all_headers["content-type"] = content_type
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return WebhookRequest(body=raw, headers=all_headers, query=dict(query or {}))


def json_request(payload: Any, **kwargs: Any) -> WebhookRequest:
    return make_request(json.dumps(payload, ensure_ascii=False), **kwargs)


def form_request(fields: Mapping[str, str], **kwargs: Any) -> WebhookRequest:
    return make_request(urlencode(fields), content_type="application/x-www-form-urlencoded", **kwargs)


def settings(**env: str) -> MappingSettings:
    return MappingSettings.model_validate({**BASE_ENV, **env})


PRAGUE_SETTINGS = settings(DEFAULT_TIMEZONE="Europe/Prague")


def flat_booking(**overrides: Any) -> dict[str, Any]:
    booking: dict[str, Any] = {
        "calendarId": CALENDAR_ID,
        "startTime": "2024-05-01T10:00:00+02:00",
        "endTime": "2024-05-01T12:00:00+02:00",
        "title": "Training with Jan",
    }
    booking.update(overrides)
    return {name: value for name, value in booking.items() if value is not None}


def read(request: WebhookRequest, config: MappingSettings = PRAGUE_SETTINGS) -> Booking:
    booking = read_booking(request, config)
    assert isinstance(booking, Booking)
    return booking


def unmappable(request: WebhookRequest, config: MappingSettings = PRAGUE_SETTINGS) -> Unmappable:
    with pytest.raises(Unmappable) as caught:
        read_booking(request, config)
    return caught.value


# --- authenticate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {TOKEN}"},
        {"Authorization": f"bearer {TOKEN}"},
        {"Authorization": f"BEARER   {TOKEN}  "},
        {"X-Webhook-Token": TOKEN},
        {"X-Webhook-Token": f" {TOKEN} "},
        {"Authorization": f"Bearer {TOKEN}", "X-Webhook-Token": TOKEN},
    ],
)
def test_authenticate_accepts_the_token(headers: dict[str, str]) -> None:
    authenticate(make_request(headers=headers), [TOKEN])  # accepted: no Unauthenticated


@pytest.mark.parametrize("presented", [TOKEN, PREVIOUS_TOKEN])
@pytest.mark.parametrize("header", ["Authorization", "X-Webhook-Token"])
def test_authenticate_accepts_either_token_during_rotation(presented: str, header: str) -> None:
    value = f"Bearer {presented}" if header == "Authorization" else presented

    authenticate(
        make_request(headers={header: value}), [TOKEN, PREVIOUS_TOKEN]
    )  # accepted: no Unauthenticated


def test_authenticate_accepts_each_header_with_a_different_valid_token() -> None:
    request = make_request(headers={"Authorization": f"Bearer {TOKEN}", "X-Webhook-Token": PREVIOUS_TOKEN})

    authenticate(request, [TOKEN, PREVIOUS_TOKEN])  # accepted: no Unauthenticated


def test_authenticate_refuses_a_missing_token() -> None:
    with pytest.raises(Unauthenticated) as caught:
        authenticate(make_request(), [TOKEN])

    assert caught.value.status == 401
    assert caught.value.field == "Authorization"
    assert "missing token" in caught.value.message


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"X-Webhook-Token": "wrong-token-0123456789"},
        {"X-Webhook-Token": TOKEN[:-1]},
        {"X-Webhook-Token": TOKEN + "x"},
        {"X-Webhook-Token": TOKEN.upper()},
        {"X-Webhook-Token": ""},
    ],
)
def test_authenticate_refuses_a_wrong_token(headers: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated) as caught:
        authenticate(make_request(headers=headers), [TOKEN, PREVIOUS_TOKEN])

    assert caught.value.message == "invalid token"
    assert caught.value.field == "Authorization"


@pytest.mark.parametrize(
    "authorization",
    [f"Basic {TOKEN}", f"Token {TOKEN}", TOKEN, "Bearer", "Bearer   ", f"Bearer{TOKEN}", ""],
)
def test_authenticate_refuses_a_non_bearer_authorization(authorization: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        authenticate(make_request(headers={"Authorization": authorization}), [TOKEN])

    assert caught.value.field == "Authorization"
    assert "Bearer <token>" in caught.value.message
    assert TOKEN not in caught.value.message


@pytest.mark.parametrize("tokens", [[], ()])
def test_authenticate_fails_closed_without_configured_tokens(tokens: Sequence[str]) -> None:
    for headers in ({"Authorization": f"Bearer {TOKEN}"}, {"X-Webhook-Token": TOKEN}):
        with pytest.raises(Unauthenticated) as caught:
            authenticate(make_request(headers=headers), tokens)
        assert caught.value.message == "invalid token"


@pytest.mark.parametrize(
    "name", ["token", "TOKEN", "access_token", "api_key", "apiKey", "key", "secret", "Authorization"]
)
def test_authenticate_refuses_a_credential_named_query_parameter(name: str) -> None:
    request = make_request(headers={"Authorization": f"Bearer {TOKEN}"}, query={name: ["anything"]})

    with pytest.raises(Unauthenticated) as caught:
        authenticate(request, [TOKEN])

    assert caught.value.field == "query"


@pytest.mark.parametrize("value", [TOKEN, PREVIOUS_TOKEN])
def test_authenticate_refuses_the_token_as_any_query_value(value: str) -> None:
    request = make_request(headers={"X-Webhook-Token": TOKEN}, query={"ref": ["zap", value]})

    with pytest.raises(Unauthenticated) as caught:
        authenticate(request, [TOKEN, PREVIOUS_TOKEN])

    assert caught.value.field == "query"
    assert value not in caught.value.message


def test_authenticate_allows_an_innocent_query_string() -> None:
    request = make_request(headers={"X-Webhook-Token": TOKEN}, query={"source": ["zapier"], "v": ["2"]})

    authenticate(request, [TOKEN])  # accepted: no Unauthenticated


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {TOKEN}", "X-Webhook-Token": "wrong-token-0123456789"},
        {"Authorization": "Bearer wrong-token-0123456789", "X-Webhook-Token": TOKEN},
    ],
)
def test_authenticate_refuses_when_any_presented_token_is_wrong(headers: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated) as caught:
        authenticate(make_request(headers=headers), [TOKEN])

    assert caught.value.message == "invalid token"


def test_source_binds_the_settings() -> None:
    bound = source(PRAGUE_SETTINGS)
    request = make_request(json.dumps(flat_booking(startTime="2024-05-01T10:00:00")))  # naive: needs the zone

    assert (bound.name, bound.authenticate) == ("zapier", authenticate)
    assert bound.read_booking(request) == read_booking(request, PRAGUE_SETTINGS)


# --- read_booking: flat bookings ------------------------------------------------------------------


def test_flat_json_booking() -> None:
    payload = flat_booking(
        description="Training will start in Prague – Nusle.",
        agenda="– Warm-up\n– Cool down",
        url="https://gymroom.cz/pobocky/vinohrady",
        notifyBefore="1h30m",
        locationTitle="Varšavská 11, Praha 2 – Vinohrady",
        isAllDay=False,
        isBlocking=True,
        blockingTo="2024-05-01T12:00:00+02:00",
        type="training",
        attendeeName="Jan Barášek",
        attendeeEmail="jan@barasek.com",
        attendeePhone="+420777123456",
        attendeeMemberId=1234,
        attendeeCustomerId="HxanU4a1n4El61zx",
    )

    booking = read(json_request(payload))

    assert booking.event.wire_event() == {
        "calendarId": CALENDAR_ID,
        "startTime": "2024-05-01T08:00:00.000Z",
        "endTime": "2024-05-01T10:00:00.000Z",
        "title": "Training with Jan",
        "description": "Training will start in Prague – Nusle.",
        "agenda": "– Warm-up\n– Cool down",
        "url": "https://gymroom.cz/pobocky/vinohrady",
        "notifyBefore": "1h 30m",
        "blockingTo": "2024-05-01T10:00:00.000Z",
        "locationTitle": "Varšavská 11, Praha 2 – Vinohrady",
        "isAllDay": False,
        "isBlocking": True,
        "type": "training",
        "attendees": [
            {
                "name": "Jan Barášek",
                "email": "jan@barasek.com",
                "phone": "+420 777123456",
                "memberId": 1234,
                "customerId": "HxanU4a1n4El61zx",
            }
        ],
    }
    assert SHA256_KEY.match(booking.key)


def test_flat_json_accepts_numbers_where_text_is_expected() -> None:
    payload = flat_booking(endTime=None, duration=90, title=2024, attendeeMemberId=1234)

    event = read(json_request(payload)).event.wire_event()

    assert (event["endTime"], event["title"]) == ("2024-05-01T09:30:00.000Z", "2024")
    assert event["attendees"] == [{"memberId": 1234}]


def test_flat_form_booking() -> None:
    fields = {
        **flat_booking(title="Trénink s Janem – Vinohrady"),
        "isAllDay": "false",
        "isBlocking": "true",
        "attendeeMemberId": "1234",
        "attendeeName": "Jan Barášek",
        "description": "",
        "agenda": "   ",
        "url": "",
        "notifyBefore": "",
        "blockingTo": "",
        "attendeeEmail": "",
        "attendeePhone": " ",
        "attendeeCustomerId": "",
        "type": "",
    }

    event = read(form_request(fields)).event.wire_event()

    assert event == {
        "calendarId": CALENDAR_ID,
        "startTime": "2024-05-01T08:00:00.000Z",
        "endTime": "2024-05-01T10:00:00.000Z",
        "title": "Trénink s Janem – Vinohrady",
        "isAllDay": False,
        "isBlocking": True,
        "attendees": [{"name": "Jan Barášek", "memberId": 1234}],
    }


@pytest.mark.parametrize(("text", "value"), [("true", True), ("false", False), ("1", True), ("0", False)])
def test_form_booleans(text: str, value: bool) -> None:
    event = read(form_request({**flat_booking(), "isBlocking": text, "isAllDay": text})).event

    assert (event.is_blocking, event.is_all_day) == (value, value)


def test_blank_attendee_fields_mean_no_attendee() -> None:
    fields = {**flat_booking(), "attendeeName": "", "attendeeEmail": "  ", "attendeeMemberId": ""}

    assert "attendees" not in read(form_request(fields)).event.wire_event()


@pytest.mark.parametrize(
    ("duration", "end"),
    [
        ("90", "2024-05-01T09:30:00.000Z"),
        ("1h 30m", "2024-05-01T09:30:00.000Z"),
        ("2d", "2024-05-03T08:00:00.000Z"),
    ],
)
def test_duration_instead_of_end_time(duration: str, end: str) -> None:
    event = read(form_request(flat_booking(endTime=None, duration=duration))).event

    assert event.wire_event()["endTime"] == end


def test_default_calendar_id_is_used_when_the_booking_has_none() -> None:
    config = settings(DEFAULT_CALENDAR_ID=DEFAULT_CALENDAR_ID, DEFAULT_TIMEZONE="Europe/Prague")

    for request in (
        json_request(flat_booking(calendarId=None)),
        form_request({**flat_booking(), "calendarId": ""}),
    ):
        assert read(request, config).event.calendar_id == DEFAULT_CALENDAR_ID


def test_booking_calendar_id_wins_over_the_default() -> None:
    config = settings(DEFAULT_CALENDAR_ID=DEFAULT_CALENDAR_ID)

    assert read(json_request(flat_booking()), config).event.calendar_id == CALENDAR_ID


def test_calendar_id_is_required_without_a_default() -> None:
    error = unmappable(json_request(flat_booking(calendarId=None)))

    assert error.field == "calendarId"
    assert "DEFAULT_CALENDAR_ID" in error.message


@pytest.mark.parametrize(
    ("start", "end", "wire_start", "wire_end"),
    [
        (
            "2024-05-01T10:00:00",
            "2024-05-01T12:00:00",
            "2024-05-01T08:00:00.000Z",
            "2024-05-01T10:00:00.000Z",
        ),
        ("2024-01-15T10:00", "2024-01-15T11:00", "2024-01-15T09:00:00.000Z", "2024-01-15T10:00:00.000Z"),
        (
            "2024-05-01T10:00:00Z",
            "2024-05-01T13:00:00",
            "2024-05-01T10:00:00.000Z",
            "2024-05-01T11:00:00.000Z",
        ),
    ],
)
def test_default_timezone_reads_naive_times(start: str, end: str, wire_start: str, wire_end: str) -> None:
    payload = flat_booking(startTime=start, endTime=end)

    event = read(json_request(payload)).event.wire_event()

    assert (event["startTime"], event["endTime"]) == (wire_start, wire_end)


@pytest.mark.parametrize(
    ("field", "key"), [("startTime", "startTime"), ("endTime", "endTime"), ("blockingTo", "blockingTo")]
)
def test_naive_time_without_default_timezone_is_unmappable(field: str, key: str) -> None:
    payload = flat_booking(**{key: "2024-05-01T11:00:00"})

    error = unmappable(json_request(payload), settings())

    assert error.field == field
    assert "DEFAULT_TIMEZONE" in error.message


def test_naive_end_in_the_zone_equal_to_an_utc_start_is_unmappable() -> None:
    payload = flat_booking(startTime="2024-05-01T10:00:00Z", endTime="2024-05-01T12:00:00")

    error = unmappable(json_request(payload))

    assert (error.field, error.message) == ("endTime", "endTime must be after startTime")


def test_end_time_and_duration_together_are_unmappable() -> None:
    error = unmappable(json_request(flat_booking(duration="60")))

    assert error.field == "duration"
    assert error.message == "give endTime or duration, not both"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (flat_booking(startTime=None), "startTime"),
        (flat_booking(title=None), "title"),
        (flat_booking(title="  "), "title"),
        (flat_booking(endTime=None), "endTime"),
        (flat_booking(startTime="next Tuesday"), "startTime"),
        (flat_booking(endTime=None, duration="soon"), "duration"),
        (flat_booking(endTime=None, duration="0"), "duration"),
        (flat_booking(calendarId="not-a-calendar"), "calendarId"),
        (flat_booking(notifyBefore="30m 1h"), "notifyBefore"),
        (flat_booking(url="gymroom.cz"), "url"),
        (flat_booking(blockingTo="2024-05-01T07:00:00+02:00"), "blockingTo"),
        (flat_booking(isAllDay="maybe"), "isAllDay"),
        (flat_booking(colour="red"), "colour"),
        (flat_booking(attendees=[{"name": "Jan"}]), "attendees"),
    ],
)
def test_unmappable_fields_are_named(payload: dict[str, Any], field: str | None) -> None:
    assert unmappable(json_request(payload)).field == field


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("attendeeEmail", "walrus-4711@@nowhere"),
        ("attendeePhone", "777 4711 23"),
        ("attendeeCustomerId", "walrus-4711"),
        ("attendeeMemberId", "walrus-4711"),
        ("attendeeMemberId", "0"),
        ("attendeeMemberId", "-4711"),
    ],
)
def test_attendee_errors_use_the_flat_zapier_key(key: str, value: str) -> None:
    error = unmappable(form_request({**flat_booking(), key: value}))

    assert error.field == key
    assert error.message.startswith(f"{key}: ")
    assert "attendees[0]" not in error.message
    assert "4711" not in error.message


# --- read_booking: phones and DEFAULT_PHONE_REGION -------------------------------------------------

CZ_SETTINGS = settings(DEFAULT_TIMEZONE="Europe/Prague", DEFAULT_PHONE_REGION="CZ")


def attendee_phone(request: WebhookRequest, config: MappingSettings) -> str | None:
    attendees = read(request, config).event.attendees
    assert attendees is not None
    return attendees[0].phone


@pytest.mark.parametrize(
    "phone", ["777 123 456", "777123456", "777-123-456", "+420 777 123 456", "00420777123456"]
)
def test_a_national_phone_is_read_in_the_default_region(phone: str) -> None:
    request = form_request({**flat_booking(), "attendeePhone": phone})

    assert attendee_phone(request, CZ_SETTINGS) == "+420 777123456"


def test_an_international_phone_ignores_the_default_region() -> None:
    request = json_request(flat_booking(attendeePhone="+421 905 123 456"))

    assert attendee_phone(request, CZ_SETTINGS) == "+421 905123456"
    assert attendee_phone(request, PRAGUE_SETTINGS) == "+421 905123456"


def test_a_national_phone_without_a_default_region_needs_a_country_code() -> None:
    error = unmappable(json_request(flat_booking(attendeePhone="777 123 456")))

    assert error.field == "attendeePhone"
    assert error.message.startswith("attendeePhone: needs a country code")
    assert "DEFAULT_PHONE_REGION" in error.message


@pytest.mark.parametrize(
    "phone", ["777 123 45", "0777 123 456", "123 456 789", "+420 123 456 789", "７７７ １２３ ４５６"]
)
def test_an_invalid_phone_is_unmappable_naming_the_key(phone: str) -> None:
    error = unmappable(json_request(flat_booking(attendeePhone=phone)), CZ_SETTINGS)

    assert error.field == "attendeePhone"
    assert error.message.startswith("attendeePhone: ")
    assert "456" not in error.message


def test_a_nested_events_attendee_phones_are_read_in_the_default_region() -> None:
    event = {**DOCUMENTED_EVENT, "attendees": [{"name": "Jan"}, {"name": "Eva", "phone": "603 987 654"}]}

    attendees = read(json_request({"event": event}), CZ_SETTINGS).event.attendees

    assert attendees is not None
    assert [attendee.phone for attendee in attendees] == [None, "+420 603987654"]


@pytest.mark.parametrize(
    ("config", "reason"), [(PRAGUE_SETTINGS, "needs a country code"), (CZ_SETTINGS, "valid")]
)
def test_a_nested_events_bad_phone_names_its_attendee(config: MappingSettings, reason: str) -> None:
    phone = "603 987 654" if config is PRAGUE_SETTINGS else "603 987 65"
    event = {**DOCUMENTED_EVENT, "attendees": [{"name": "Jan"}, {"name": "Eva", "phone": phone}]}

    error = unmappable(json_request({"event": event}), config)

    assert error.field == "event.attendees[1].phone"
    assert reason in error.message
    assert "987" not in error.message


# --- read_booking: BizKitHub's nested event -------------------------------------------------------


DOCUMENTED_EVENT: dict[str, Any] = documented_example_event()


def test_nested_event_passes_through() -> None:
    booking = read(json_request({"event": DOCUMENTED_EVENT}))

    assert booking.event.request_body() == {"event": DOCUMENTED_EVENT}
    assert SHA256_KEY.match(booking.key)


def test_nested_event_naive_times_use_the_default_timezone() -> None:
    event = {**DOCUMENTED_EVENT, "startTime": "2024-05-01T10:00:00", "endTime": "2024-05-01T12:00:00"}
    event["blockingTo"] = "2024-05-01T12:00:00"

    wire = read(json_request({"event": event})).event.wire_event()

    assert (wire["startTime"], wire["endTime"], wire["blockingTo"]) == (
        "2024-05-01T08:00:00.000Z",
        "2024-05-01T10:00:00.000Z",
        "2024-05-01T10:00:00.000Z",
    )


def test_nested_event_uses_the_default_calendar_id() -> None:
    event = {name: value for name, value in DOCUMENTED_EVENT.items() if name != "calendarId"}
    config = settings(DEFAULT_CALENDAR_ID=DEFAULT_CALENDAR_ID)

    assert read(json_request({"event": event}), config).event.calendar_id == DEFAULT_CALENDAR_ID
    assert unmappable(json_request({"event": event}), settings()).field == "event.calendarId"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"event": {**DOCUMENTED_EVENT, "startTime": "2024-05-01T10:00:00"}}, "event.startTime"),
        (
            {"event": {**DOCUMENTED_EVENT, "attendees": [{"email": "walrus-4711@@x"}]}},
            "event.attendees[0].email",
        ),
        ({"event": {**DOCUMENTED_EVENT, "colour": "red"}}, "event.colour"),
        ({"event": {**DOCUMENTED_EVENT, "endTime": DOCUMENTED_EVENT["startTime"]}}, "event.endTime"),
        ({"event": DOCUMENTED_EVENT, "title": "x"}, "title"),
        ({"event": "Training"}, "event"),
        ({"event": [DOCUMENTED_EVENT]}, "event"),
    ],
)
def test_nested_event_errors_are_named(payload: dict[str, Any], field: str) -> None:
    config = settings()

    error = unmappable(json_request(payload), config)

    assert error.field == field
    assert "4711" not in error.message


# --- read_booking: body formats -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x", None]
)
def test_unsupported_content_type(content_type: str | None) -> None:
    with pytest.raises(UnsupportedContentType) as caught:
        read_booking(make_request(json.dumps(flat_booking()), content_type=content_type), PRAGUE_SETTINGS)

    assert caught.value.status == 415
    assert caught.value.field == "Content-Type"


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", " application/json ;charset=UTF-8"],
)
def test_json_content_type_with_parameters_is_accepted(content_type: str) -> None:
    assert read(make_request(json.dumps(flat_booking()), content_type=content_type)).event.calendar_id == (
        CALENDAR_ID
    )


@pytest.mark.parametrize(
    "body", [b"{", b"", b"{'title': 'x'}", b"[1, 2]", b'"booking"', b"null", b"\xff\xfe{}"]
)
def test_unreadable_json_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedRequest) as caught:
        read_booking(make_request(body), PRAGUE_SETTINGS)

    assert caught.value.status == 400


def test_repeated_form_field_is_malformed() -> None:
    body = urlencode([*flat_booking().items(), ("title", "Again")])

    with pytest.raises(MalformedRequest) as caught:
        read_booking(make_request(body, content_type="application/x-www-form-urlencoded"), PRAGUE_SETTINGS)

    assert caught.value.field == "title"


# --- booking keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("supplied", "key"),
    [
        ("sub-123", "zapier:key:sub-123"),
        ("  sub-123 ", "zapier:key:sub-123"),
        ("a" * 255, "zapier:key:" + "a" * 255),
        ("!~{}:/?=", "zapier:key:!~{}:/?="),
    ],
)
def test_idempotency_key_header_is_the_booking_key(supplied: str, key: str) -> None:
    request = json_request(flat_booking(), headers={"Idempotency-Key": supplied})

    assert read(request).key == key


@pytest.mark.parametrize("supplied", ["sub 123", "a" * 256, "", "   ", "klíč-1", "tab\there"])
def test_bad_idempotency_key_is_malformed(supplied: str) -> None:
    request = json_request(flat_booking(), headers={"Idempotency-Key": supplied})

    with pytest.raises(MalformedRequest) as caught:
        read_booking(request, PRAGUE_SETTINGS)

    assert caught.value.field == "Idempotency-Key"


def test_booking_key_is_the_same_for_the_same_instant_in_other_offsets() -> None:
    variants = [
        json_request(flat_booking()),
        json_request(flat_booking(startTime="2024-05-01T08:00:00Z", endTime="2024-05-01T10:00:00.000Z")),
        json_request(
            flat_booking(startTime="2024-05-01T03:00:00-05:00", endTime="2024-05-01T05:00:00-05:00")
        ),
        json_request(flat_booking(startTime="2024-05-01T10:00:00", endTime=None, duration="2h")),
        form_request(flat_booking(startTime="2024-05-01T10:00:00", endTime="2024-05-01T12:00:00")),
        json_request({"event": {**flat_booking(), "startTime": "2024-05-01T08:00:00.000Z"}}),
    ]

    keys = {read(request).key for request in variants}

    assert len(keys) == 1
    assert SHA256_KEY.match(keys.pop())


@pytest.mark.parametrize(
    "changed",
    [
        flat_booking(title="Training with Eva"),
        flat_booking(startTime="2024-05-01T10:00:01+02:00"),
        flat_booking(endTime="2024-05-01T12:30:00+02:00"),
        flat_booking(calendarId="A" * 32),
        flat_booking(attendeeEmail="jan@barasek.com"),
        flat_booking(isBlocking=False),
    ],
)
def test_booking_key_differs_for_different_bookings(changed: dict[str, Any]) -> None:
    assert read(json_request(changed)).key != read(json_request(flat_booking())).key


def test_booking_key_can_be_computed_for_an_event_directly() -> None:
    booking = read(json_request(flat_booking()))

    assert booking_key(make_request(), booking.event) == booking.key
    assert booking_key(make_request(headers={"Idempotency-Key": "k-1"}), booking.event) == "zapier:key:k-1"


# --- known bugs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "wire_end"),
    [
        ("2026-10-25T01:00:00", "180", "2026-10-25T02:00:00.000Z"),  # 23:00Z + 3 h
        ("2026-03-29T01:00:00", "120", "2026-03-29T02:00:00.000Z"),  # 00:00Z + 2 h
    ],
)
def test_duration_is_elapsed_time_across_a_dst_change(start: str, duration: str, wire_end: str) -> None:
    event = read(form_request(flat_booking(startTime=start, endTime=None, duration=duration))).event

    assert event.wire_event()["endTime"] == wire_end


def test_huge_duration_is_unmappable() -> None:
    error = unmappable(form_request(flat_booking(endTime=None, duration="420777123456")))

    assert error.field == "duration"
