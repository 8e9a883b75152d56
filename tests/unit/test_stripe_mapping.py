"""Stripe events mapped to bookings: what books, the booking key, metadata and the attendee."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bookhook.errors import MalformedRequest, Unmappable, UnsupportedContentType
from bookhook.request import WebhookRequest
from bookhook.sources import Booking, Ignored, UnbookedHalf
from bookhook.sources.stripe import BOOKABLE_EVENTS, StripeConfig, read_booking
from bookhook_dev.testing import defaults
from bookhook_dev.tools.stripe_samples import (
    BOOKING_METADATA,
    INTENT_DIRECT,
    INTENT_PAID,
    SESSION_PAID,
    body_bytes,
    checkout_session,
    payment_intent,
    stripe_event,
    thin_event,
)

COMPLETED = "checkout.session.completed"
ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
ASYNC_FAILED = "checkout.session.async_payment_failed"
EXPIRED = "checkout.session.expired"
INTENT_SUCCEEDED = "payment_intent.succeeded"
CALENDAR_ID = defaults.CALENDAR_ID
DEFAULT_CALENDAR_ID = "DefaultCalendar0123456789abcdefA"
PRAGUE = ZoneInfo("Europe/Prague")
CONFIG = StripeConfig()


def request_for(
    event: dict[str, Any], content_type: str | None = "application/json; charset=utf-8"
) -> WebhookRequest:
    headers = {} if content_type is None else {"content-type": content_type}
    return WebhookRequest(body=body_bytes(event), headers=headers)


def booking_of(event: dict[str, Any], config: StripeConfig = CONFIG) -> Booking:
    result = read_booking(request_for(event), config)
    assert isinstance(result, Booking), result
    return result


def ignored_by(event: dict[str, Any], config: StripeConfig = CONFIG) -> str:
    result = read_booking(request_for(event), config)
    assert isinstance(result, Ignored), result
    return result.reason


def unbooked_reason(half: str, event: dict[str, Any], config: StripeConfig = CONFIG) -> str:
    """The reason given for one paid half of a payment that carries no booking details; the
    pipeline notes it, and refuses the payment once both halves came so."""
    result = read_booking(request_for(event), config)
    assert isinstance(result, UnbookedHalf), result
    assert result.half == half
    assert result.payment_key.startswith("pi_")
    return result.reason


def unmappable(event: dict[str, Any], config: StripeConfig = CONFIG) -> Unmappable:
    with pytest.raises(Unmappable) as caught:
        read_booking(request_for(event), config)
    return caught.value


def session_with(metadata: dict[str, str], **changes: Any) -> dict[str, Any]:
    return checkout_session(metadata=metadata, **changes)


def metadata_without(*keys: str, **changes: str) -> dict[str, str]:
    metadata = {key: value for key, value in BOOKING_METADATA.items() if key not in keys}
    metadata.update(changes)
    return metadata


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- checkout.session.completed -------------------------------------------------------------


def test_a_paid_completed_session_books_the_metadata_event() -> None:
    booking = booking_of(stripe_event(COMPLETED, checkout_session()))

    assert booking.key == f"stripe:{INTENT_PAID}"
    assert booking.fingerprint == booking.key
    assert booking.identity() == booking.key
    event = booking.event
    assert event.calendar_id == CALENDAR_ID
    assert event.start_time == utc(2026, 12, 4, 16, 0)
    assert event.end_time == utc(2026, 12, 4, 17, 0)
    assert event.title == "Personal training (paid)"
    assert event.type == "training"
    assert event.location_title == "GymRoom Vinohrady"
    assert event.notify_before == "2h"
    assert event.wire_event()["startTime"] == "2026-12-04T16:00:00.000Z"
    assert event.wire_event()["endTime"] == "2026-12-04T17:00:00.000Z"


def test_the_attendee_comes_from_customer_details() -> None:
    event = booking_of(stripe_event(COMPLETED, checkout_session())).event

    assert event.attendees is not None
    assert len(event.attendees) == 1
    attendee = event.attendees[0]
    assert attendee.name == "Eva Nováková"
    assert attendee.email == "eva.novakova@example.cz"
    assert attendee.phone == "+420 603987654"
    assert attendee.member_id is None
    assert attendee.customer_id is None


def test_the_shops_own_metadata_keys_are_ignored() -> None:
    metadata = metadata_without(orderNumber="GR-1", shopCustomerRef="abc", utm_source="newsletter")

    event = booking_of(stripe_event(COMPLETED, session_with(metadata))).event

    wire = event.wire_event()
    assert "orderNumber" not in wire
    assert "shopCustomerRef" not in wire
    assert "utm_source" not in json.dumps(wire)
    assert event.title == "Personal training (paid)"


def test_customer_details_win_over_metadata_attendee_keys_for_a_session() -> None:
    metadata = metadata_without(attendeeName="Someone Else", attendeeEmail="other@example.com")

    attendees = booking_of(stripe_event(COMPLETED, session_with(metadata))).event.attendees

    assert attendees is not None
    assert attendees[0].name == "Eva Nováková"
    assert attendees[0].email == "eva.novakova@example.cz"


def test_metadata_attendee_keys_fill_what_customer_details_lack() -> None:
    metadata = metadata_without(attendeePhone="+420 777 123 456", attendeeCustomerId="HxanU4a1n4El61zx")
    session = session_with(metadata, customer_details={"name": "Eva Nováková", "email": None, "phone": None})

    attendees = booking_of(stripe_event(COMPLETED, session)).event.attendees

    assert attendees is not None
    assert attendees[0].name == "Eva Nováková"
    assert attendees[0].email is None
    assert attendees[0].phone == "+420 777123456"
    assert attendees[0].customer_id == "HxanU4a1n4El61zx"


def test_no_customer_details_and_no_attendee_keys_is_an_event_without_attendees() -> None:
    event = booking_of(stripe_event(COMPLETED, checkout_session(customer_details=None))).event

    assert event.attendees is None
    assert "attendees" not in event.wire_event()


def test_a_session_without_a_payment_intent_is_keyed_by_the_session() -> None:
    booking = booking_of(stripe_event(COMPLETED, checkout_session(intent_id=None)))

    assert booking.key == f"stripe:{SESSION_PAID}"
    assert booking.fingerprint == booking.key


def test_an_expanded_payment_intent_is_keyed_by_its_id() -> None:
    session = checkout_session(payment_intent={"id": "pi_expanded123", "object": "payment_intent"})

    assert booking_of(stripe_event(COMPLETED, session)).key == "stripe:pi_expanded123"


def test_an_expanded_payment_intent_without_an_id_falls_back_to_the_session() -> None:
    session = checkout_session(payment_intent={"object": "payment_intent"})

    assert booking_of(stripe_event(COMPLETED, session)).key == f"stripe:{SESSION_PAID}"


@pytest.mark.parametrize("status", ["unpaid", None])
def test_a_completed_session_that_is_not_paid_is_ignored(status: str | None) -> None:
    session = checkout_session()
    session["payment_status"] = status

    reason = ignored_by(stripe_event(COMPLETED, session))

    assert ASYNC_SUCCEEDED in reason
    assert COMPLETED in reason
    assert repr(status) in reason


def test_async_payment_succeeded_books_with_the_completed_key() -> None:
    delayed = checkout_session(payment_status="unpaid")
    assert isinstance(read_booking(request_for(stripe_event(COMPLETED, delayed)), CONFIG), Ignored)

    completed = booking_of(stripe_event(COMPLETED, checkout_session()))
    succeeded = booking_of(
        stripe_event(ASYNC_SUCCEEDED, checkout_session(), event_id="evt_1QpSample000000000000002")
    )

    assert succeeded.key == completed.key == f"stripe:{INTENT_PAID}"
    assert succeeded.identity() == completed.identity()
    assert succeeded.event == completed.event


def test_every_notification_of_one_payment_has_the_same_key_and_fingerprint() -> None:
    completed = booking_of(stripe_event(COMPLETED, checkout_session()))
    # The PaymentIntent's own event carries other details (a Payment Link's metadata).
    intent = booking_of(stripe_event(INTENT_SUCCEEDED, payment_intent(intent_id=INTENT_PAID)))

    assert intent.key == completed.key
    assert intent.identity() == completed.identity()
    assert intent.event != completed.event


def test_a_session_without_booking_metadata_leaves_booking_to_its_payment_intent() -> None:
    session = session_with({"orderNumber": "GR-1"})

    reason = unbooked_reason("session", stripe_event(COMPLETED, session))

    assert INTENT_SUCCEEDED in reason
    assert "metadata" in reason


def test_a_session_without_booking_metadata_is_unmappable_when_payment_intents_do_not_book() -> None:
    config = StripeConfig(booking_events=frozenset({COMPLETED}))

    error = unmappable(stripe_event(COMPLETED, session_with({"orderNumber": "GR-1"})), config)

    assert error.field == "metadata.startTime"
    assert error.status == 422


def test_a_session_without_booking_metadata_or_payment_intent_is_unmappable() -> None:
    error = unmappable(stripe_event(COMPLETED, session_with({"orderNumber": "GR-1"}, intent_id=None)))

    assert error.field == "metadata.startTime"


# --- payment_intent.succeeded ---------------------------------------------------------------


def test_a_payment_intent_with_metadata_books() -> None:
    booking = booking_of(stripe_event(INTENT_SUCCEEDED, payment_intent()))

    assert booking.key == f"stripe:{INTENT_DIRECT}"
    assert booking.fingerprint == booking.key
    assert booking.event.title == "Physio session (paid)"
    assert booking.event.start_time == utc(2026, 12, 4, 16, 0)
    assert booking.event.attendees is not None
    attendee = booking.event.attendees[0]
    assert attendee.email == "petr.svoboda@example.cz"
    assert attendee.name is None
    assert attendee.phone is None


def test_a_payment_intent_attendee_falls_back_to_shipping_and_receipt_email() -> None:
    intent = payment_intent(shipping={"name": "Petr Svoboda", "phone": "00420 777 123 456", "address": {}})

    attendees = booking_of(stripe_event(INTENT_SUCCEEDED, intent)).event.attendees

    assert attendees is not None
    assert attendees[0].name == "Petr Svoboda"
    assert attendees[0].phone == "+420 777123456"
    assert attendees[0].email == "petr.svoboda@example.cz"


def test_a_payment_intents_metadata_attendee_keys_win() -> None:
    metadata = metadata_without(
        attendeeName="Jana Dvořáková", attendeeEmail="jana@example.cz", attendeePhone="+421 905123456"
    )
    intent = payment_intent(metadata=metadata, shipping={"name": "Petr Svoboda", "phone": "+420777123456"})

    attendees = booking_of(stripe_event(INTENT_SUCCEEDED, intent)).event.attendees

    assert attendees is not None
    assert attendees[0].name == "Jana Dvořáková"
    assert attendees[0].email == "jana@example.cz"
    assert attendees[0].phone == "+421 905123456"


def test_a_payment_intents_metadata_attendee_keys_win_one_by_one() -> None:
    intent = payment_intent(
        metadata=metadata_without(attendeeName="Jana Dvořáková"),
        shipping={"name": "Petr Svoboda", "phone": "+420777123456"},
    )

    attendees = booking_of(stripe_event(INTENT_SUCCEEDED, intent)).event.attendees

    assert attendees is not None
    assert attendees[0].name == "Jana Dvořáková"
    assert attendees[0].phone == "+420 777123456"
    assert attendees[0].email == "petr.svoboda@example.cz"


@pytest.mark.parametrize("metadata", [{"orderNumber": "x"}, {}])
def test_a_payment_intent_without_booking_metadata_is_ignored(metadata: dict[str, str]) -> None:
    reason = unbooked_reason("intent", stripe_event(INTENT_SUCCEEDED, payment_intent(metadata=metadata)))

    assert INTENT_SUCCEEDED in reason
    assert "metadata" in reason


# --- events that do not book ----------------------------------------------------------------

EVERYTHING = StripeConfig(booking_events=frozenset({*BOOKABLE_EVENTS, EXPIRED, ASYNC_FAILED}))


@pytest.mark.parametrize(("event_type", "why"), [(EXPIRED, "expired"), (ASYNC_FAILED, "failed")])
@pytest.mark.parametrize("config", [CONFIG, EVERYTHING], ids=["default", "everything"])
def test_expired_and_failed_sessions_never_book(event_type: str, why: str, config: StripeConfig) -> None:
    session = checkout_session(payment_status="paid")

    reason = ignored_by(stripe_event(event_type, session), config)

    assert event_type in reason
    assert why in reason


def test_an_event_type_not_configured_is_ignored() -> None:
    config = StripeConfig(booking_events=frozenset({COMPLETED}))

    reason = ignored_by(stripe_event(INTENT_SUCCEEDED, payment_intent()), config)

    assert INTENT_SUCCEEDED in reason
    assert COMPLETED in reason


def test_an_unknown_event_type_is_ignored() -> None:
    reason = ignored_by(stripe_event("charge.refunded", {"id": "ch_1", "object": "charge"}))

    assert "charge.refunded" in reason


@pytest.mark.parametrize(
    ("event_type", "data_object"),
    [(COMPLETED, checkout_session()), (INTENT_SUCCEEDED, payment_intent())],
)
def test_a_test_mode_event_is_ignored_unless_allowed(event_type: str, data_object: dict[str, Any]) -> None:
    event = stripe_event(event_type, data_object, livemode=False)

    reason = ignored_by(event)
    allowed = booking_of(event, StripeConfig(allow_test_mode=True))

    assert "STRIPE_ALLOW_TEST_MODE" in reason
    assert "test" in reason
    assert allowed.key.startswith("stripe:pi_")


# --- metadata, defaults and configuration ---------------------------------------------------


def test_metadata_defaults_fill_gaps() -> None:
    config = StripeConfig(
        metadata_defaults={"calendarId": DEFAULT_CALENDAR_ID, "duration": "90", "type": "default-type"}
    )
    metadata = metadata_without("calendarId", "duration", "type")

    event = booking_of(stripe_event(COMPLETED, session_with(metadata)), config).event

    assert event.calendar_id == DEFAULT_CALENDAR_ID
    assert event.end_time == utc(2026, 12, 4, 17, 30)
    assert event.type == "default-type"


def test_metadata_overrides_defaults() -> None:
    config = StripeConfig(
        metadata_defaults={"calendarId": DEFAULT_CALENDAR_ID, "duration": "90", "title": "Default title"}
    )

    event = booking_of(stripe_event(COMPLETED, checkout_session()), config).event

    assert event.calendar_id == CALENDAR_ID
    assert event.end_time == utc(2026, 12, 4, 17, 0)
    assert event.title == "Personal training (paid)"


def test_a_metadata_end_time_overrides_a_default_duration() -> None:
    config = StripeConfig(metadata_defaults={"duration": "90"})
    metadata = metadata_without("duration", endTime="2026-12-04T18:30:00+01:00")

    event = booking_of(stripe_event(COMPLETED, session_with(metadata)), config).event

    assert event.end_time == utc(2026, 12, 4, 17, 30)


def test_the_configured_zone_reads_a_local_start_time() -> None:
    metadata = metadata_without(startTime="2026-07-04T17:00:00")

    event = booking_of(stripe_event(COMPLETED, session_with(metadata)), StripeConfig(zone=PRAGUE)).event

    assert event.start_time == utc(2026, 7, 4, 15, 0)
    assert event.end_time == utc(2026, 7, 4, 16, 0)


def test_a_local_start_time_without_a_zone_is_unmappable() -> None:
    metadata = metadata_without(startTime="2026-07-04T17:00:00")

    error = unmappable(stripe_event(COMPLETED, session_with(metadata)))

    assert error.field == "metadata.startTime"
    assert "DEFAULT_TIMEZONE" in error.message


def test_the_default_calendar_id_is_used_when_metadata_has_none() -> None:
    metadata = metadata_without("calendarId")
    config = StripeConfig(default_calendar_id=DEFAULT_CALENDAR_ID)

    assert booking_of(stripe_event(COMPLETED, session_with(metadata)), config).event.calendar_id == (
        DEFAULT_CALENDAR_ID
    )
    assert booking_of(stripe_event(COMPLETED, checkout_session()), config).event.calendar_id == CALENDAR_ID


def test_no_calendar_id_anywhere_is_unmappable() -> None:
    error = unmappable(stripe_event(COMPLETED, session_with(metadata_without("calendarId"))))

    assert error.field == "metadata.calendarId"
    assert "DEFAULT_CALENDAR_ID" in error.message


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        (metadata_without("startTime"), "metadata.startTime"),
        (metadata_without(startTime="next friday"), "metadata.startTime"),
        (metadata_without("title"), "metadata.title"),
        (metadata_without(calendarId="not-a-calendar"), "metadata.calendarId"),
        (metadata_without(duration="forever"), "metadata.duration"),
        (metadata_without("duration"), "metadata.endTime"),
        (metadata_without(endTime="2026-12-04T18:00:00+01:00"), "metadata.duration"),
        (metadata_without(notifyBefore="soon"), "metadata.notifyBefore"),
        (metadata_without(url="ftp://example.com"), "metadata.url"),
        (metadata_without(attendeeMemberId="abc"), "metadata.attendeeMemberId"),
        (metadata_without(isBlocking="perhaps"), "metadata.isBlocking"),
    ],
    ids=[
        "missing_start",
        "bad_start",
        "missing_title",
        "bad_calendar",
        "bad_duration",
        "no_end",
        "end_and_duration",
        "bad_notify",
        "bad_url",
        "bad_member",
        "bad_blocking",
    ],
)
def test_metadata_errors_name_the_metadata_key(metadata: dict[str, str], field: str) -> None:
    error = unmappable(stripe_event(COMPLETED, session_with(metadata)))

    assert error.field == field
    assert error.message.startswith(field) or field in error.message


def test_a_payment_intent_metadata_error_names_the_metadata_key() -> None:
    intent = payment_intent(metadata=metadata_without(calendarId="short"))

    assert unmappable(stripe_event(INTENT_SUCCEEDED, intent)).field == "metadata.calendarId"


def test_a_bad_customer_email_is_unmappable_without_echoing_it() -> None:
    session = checkout_session()
    session["customer_details"]["email"] = "eva.novakova-at-example"

    error = unmappable(stripe_event(COMPLETED, session))

    assert error.field == "data.object.customer_details.email"
    assert "eva.novakova-at-example" not in error.message
    assert "email" in error.message


def test_a_bad_customer_email_names_customer_details() -> None:
    session = checkout_session()
    session["customer_details"]["email"] = "eva.novakova-at-example"

    error = unmappable(stripe_event(COMPLETED, session))

    assert error.field == "data.object.customer_details.email"


def test_a_bad_attendee_email_from_metadata_names_the_metadata_key() -> None:
    intent = payment_intent(metadata=metadata_without(attendeeEmail="nope"), receipt_email=None)

    error = unmappable(stripe_event(INTENT_SUCCEEDED, intent))

    assert error.field == "metadata.attendeeEmail"
    assert "nope" not in error.message


def test_the_metadata_phone_is_normalised() -> None:
    session = session_with(metadata_without(attendeePhone="+420 603-987-654"), customer_details=None)

    attendees = booking_of(stripe_event(COMPLETED, session)).event.attendees

    assert attendees is not None
    assert attendees[0].phone == "+420 603987654"


# --- metadata: null (nullable in Stripe's API description) -----------------------------------


def test_a_session_with_null_metadata_and_no_payment_intent_names_the_missing_key() -> None:
    """Before, `metadata: null` was a 400 (`data.object.metadata`), retried for three days."""
    error = unmappable(stripe_event(COMPLETED, checkout_session(metadata=None, intent_id=None)))

    assert error.field == "metadata.startTime"
    assert error.status == 422


def test_a_session_with_null_metadata_leaves_booking_to_its_payment_intent() -> None:
    reason = unbooked_reason("session", stripe_event(COMPLETED, checkout_session(metadata=None)))

    assert INTENT_SUCCEEDED in reason


def test_a_session_with_null_metadata_is_unmappable_when_payment_intents_do_not_book() -> None:
    config = StripeConfig(booking_events=frozenset({COMPLETED}))

    assert unmappable(stripe_event(COMPLETED, checkout_session(metadata=None)), config).field == (
        "metadata.startTime"
    )


def test_a_session_with_null_metadata_books_from_the_defaults() -> None:
    config = StripeConfig(
        metadata_defaults={"startTime": "2026-12-04T17:00:00+01:00", "duration": "60", "title": "Training"},
        default_calendar_id=DEFAULT_CALENDAR_ID,
        booking_events=frozenset({COMPLETED}),
    )

    event = booking_of(stripe_event(COMPLETED, checkout_session(metadata=None)), config).event

    assert (event.calendar_id, event.title) == (DEFAULT_CALENDAR_ID, "Training")


def test_a_payment_intent_with_null_metadata_is_ignored_like_one_without_keys() -> None:
    reason = unbooked_reason("intent", stripe_event(INTENT_SUCCEEDED, payment_intent(metadata=None)))

    assert INTENT_SUCCEEDED in reason
    assert "metadata" in reason


# --- thin events (event destinations with the thin payload style) ------------------------------


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(thin_event(), id="v1.checkout.session.completed"),
        pytest.param(
            thin_event("v1.payment_intent.succeeded", related_id=INTENT_PAID, related_type="payment_intent"),
            id="v1.payment_intent.succeeded",
        ),
        pytest.param(
            thin_event("v2.core.event_destination.ping", related_type="v2.core.event_destination"),
            id="v2.core.event_destination.ping",
        ),
        pytest.param({**thin_event(), "data": {"object": checkout_session()}}, id="with data"),
        pytest.param({k: v for k, v in thin_event().items() if k != "object"}, id="v1 type, no object"),
        pytest.param({**thin_event(), "type": COMPLETED}, id="v2.core.event object, snapshot type"),
    ],
)
@pytest.mark.parametrize("config", [CONFIG, EVERYTHING], ids=["default", "everything"])
def test_a_thin_event_is_acknowledged_and_asks_for_snapshot_events(
    event: dict[str, Any], config: StripeConfig
) -> None:
    reason = ignored_by(event, config)

    assert "thin event" in reason
    assert "Stripe's API" in reason
    assert "snapshot" in reason
    assert event["type"] in reason


def test_a_thin_event_names_no_related_object() -> None:
    reason = ignored_by(thin_event())

    assert SESSION_PAID not in reason


@pytest.mark.parametrize("livemode", [True, False])
def test_a_thin_event_in_either_mode_is_ignored(livemode: bool) -> None:
    assert "thin event" in ignored_by(thin_event(livemode=livemode))


# --- requests that are not Stripe events ----------------------------------------------------


def raw_request(body: bytes, content_type: str | None = "application/json") -> WebhookRequest:
    return WebhookRequest(body=body, headers={} if content_type is None else {"content-type": content_type})


@pytest.mark.parametrize("body", [b"not json", b"", b'{"type": ', "\u00e9".encode("latin-1")])
def test_a_body_that_is_not_json_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedRequest) as caught:
        read_booking(raw_request(body), CONFIG)

    assert caught.value.status == 400
    # The reader every route shares answers, in the same words as for Zapier and Typeform.
    assert caught.value.message.startswith(("the body is not valid JSON", "the body is not UTF-8"))
    assert caught.value.field is None


def test_a_json_array_is_malformed() -> None:
    with pytest.raises(MalformedRequest) as caught:
        read_booking(raw_request(b"[1, 2]"), CONFIG)

    assert caught.value.field is None


def test_an_object_without_type_is_malformed() -> None:
    event = stripe_event(COMPLETED, checkout_session())
    del event["type"]

    with pytest.raises(MalformedRequest) as caught:
        read_booking(request_for(event), CONFIG)

    assert caught.value.field == "type"
    assert "type" in caught.value.message


@pytest.mark.parametrize(
    "event_type", [42, None, ["checkout.session.completed"]], ids=["number", "null", "list"]
)
def test_a_type_that_is_not_a_string_is_malformed(event_type: object) -> None:
    event = stripe_event(COMPLETED, checkout_session())
    event["type"] = event_type

    with pytest.raises(MalformedRequest) as caught:
        read_booking(request_for(event), CONFIG)

    assert caught.value.field == "type"


def test_an_event_without_an_id_still_books() -> None:
    """The event id is not what books: the payment's id is."""
    event = stripe_event(COMPLETED, checkout_session())
    del event["id"]

    assert booking_of(event).key == f"stripe:{INTENT_PAID}"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"livemode": None}, "without livemode", id="livemode missing"),
        pytest.param({"livemode": "true"}, "without livemode", id="livemode a string"),
        pytest.param({"data": None}, "without a data.object", id="data missing"),
        pytest.param({"data": "x"}, "without a data.object", id="data a string"),
        pytest.param({"data": {}}, "without a data.object", id="data without object"),
        pytest.param({"data": {"object": None}}, "without a data.object", id="data.object null"),
        pytest.param({"data": {"object": ["cs_1"]}}, "without a data.object", id="data.object a list"),
        pytest.param({"object": "list"}, "not a Stripe event: object 'list'", id="another object"),
        pytest.param({"object": 7}, "not a Stripe event: object (not a string)", id="object a number"),
    ],
)
def test_an_event_we_cannot_book_from_is_ignored_with_the_reason(
    change: dict[str, Any], expected: str
) -> None:
    """Before, each of these was a 400, which Stripe retries for three days."""
    event = stripe_event(COMPLETED, checkout_session())
    for key, value in change.items():
        if value is None:
            del event[key]
        else:
            event[key] = value

    assert expected in ignored_by(event)


@pytest.mark.parametrize(
    ("event_type", "data_object", "carried"),
    [
        (COMPLETED, payment_intent(), "payment_intent"),
        (ASYNC_SUCCEEDED, {"id": "ch_1", "object": "charge"}, "charge"),
        (INTENT_SUCCEEDED, checkout_session(), "checkout.session"),
    ],
)
def test_a_data_object_of_another_type_is_ignored(
    event_type: str, data_object: dict[str, Any], carried: str
) -> None:
    reason = ignored_by(stripe_event(event_type, data_object))

    assert f"carrying object {carried!r}" in reason
    assert "nothing to book" in reason


def test_a_data_object_without_an_object_field_is_read_as_the_type_promises() -> None:
    session = checkout_session()
    del session["object"]

    assert booking_of(stripe_event(COMPLETED, session)).key == f"stripe:{INTENT_PAID}"


@pytest.mark.parametrize("content_type", ["text/xml", "application/x-www-form-urlencoded", "text/plain"])
def test_a_content_type_other_than_json_is_unsupported(content_type: str) -> None:
    with pytest.raises(UnsupportedContentType) as caught:
        read_booking(request_for(stripe_event(COMPLETED, checkout_session()), content_type), CONFIG)

    assert caught.value.field == "Content-Type"
    assert caught.value.status == 415


@pytest.mark.parametrize("content_type", [None, "Application/JSON", "application/json"])
def test_json_or_no_content_type_is_read(content_type: str | None) -> None:
    result = read_booking(request_for(stripe_event(COMPLETED, checkout_session()), content_type), CONFIG)

    assert isinstance(result, Booking)
    assert result.key == f"stripe:{INTENT_PAID}"


def test_a_session_without_an_id_is_malformed() -> None:
    session = checkout_session()
    del session["id"]

    with pytest.raises(MalformedRequest) as caught:
        read_booking(request_for(stripe_event(COMPLETED, session)), CONFIG)

    assert caught.value.field == "data.object.id"
    assert "CheckoutSession" in caught.value.message


def test_a_payment_intent_without_an_id_is_malformed() -> None:
    intent = payment_intent()
    del intent["id"]

    with pytest.raises(MalformedRequest) as caught:
        read_booking(request_for(stripe_event(INTENT_SUCCEEDED, intent)), CONFIG)

    assert caught.value.field == "data.object.id"
    assert "PaymentIntent" in caught.value.message


def test_non_string_metadata_is_malformed() -> None:
    session = checkout_session()
    session["metadata"]["duration"] = {"minutes": 60}

    with pytest.raises(MalformedRequest) as caught:
        read_booking(request_for(stripe_event(COMPLETED, session)), CONFIG)

    assert caught.value.field == "data.object.metadata.duration"


def test_a_session_that_needs_no_payment_books() -> None:
    session = checkout_session(payment_status="no_payment_required", payment_intent=None)

    assert booking_of(stripe_event(COMPLETED, session)).key == f"stripe:{SESSION_PAID}"
