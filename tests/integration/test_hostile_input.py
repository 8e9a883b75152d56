"""Hostile input through the real routes: refused fast, clearly, with nothing forwarded.

Each case here broke the first release (a regex that took minutes, a 500 on a date at the end of
the calendar, a malformed event forwarded to BizKitHub); each now gets a 4xx naming the field,
within a bound, and BizKitHub's stand-in receives nothing.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from bookhook.handlers import webhook as webhook_module
from bookhook.sources.stripe import signature_header
from bookhook.sources.typeform import expected_signature
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn
from bookhook_dev.testing.lambda_emulation import LocalResources
from bookhook_dev.tools.stripe_samples import BOOKING_METADATA, checkout_session, stripe_event
from bookhook_dev.tools.stripe_samples import body_bytes as stripe_body
from bookhook_dev.tools.typeform_samples import answers_with, booking_response
from bookhook_dev.tools.typeform_samples import body_bytes as typeform_body
from tests.integration.conftest import Webhook, queued_count, zapier_booking

FAST = 0.1  # seconds: the first release took 2 s to 5 minutes on these


def best_of_three(send: Any) -> tuple[Any, float]:
    """The reply and the fastest of three tries: a hard pattern is slow every time, a busy
    machine only sometimes."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        reply = send()
        timings.append(time.perf_counter() - started)
    return reply, min(timings)


# The classic shapes that make a backtracking pattern or a parser work hard, 10,000 characters each.
ADVERSARIAL = {
    "spaces then a bad character": " " * 9_999 + "x",
    "digits": "1" * 10_000,
    "units": "1h " * 3_333 + "x",
    "digit-space runs": "1 " * 5_000,
    "at signs": "a@" * 5_000,
    "slashes": "http://" + "/" * 9_993,
    "dots": "a." * 5_000,
    "plus and digits": "+" + "4" * 9_999,
}
FLAT_FIELDS = [
    "startTime",
    "endTime",
    "duration",
    "notifyBefore",
    "blockingTo",
    "attendeeEmail",
    "attendeePhone",
    "url",
    "calendarId",
    "attendeeCustomerId",
]


@pytest.mark.parametrize("field", FLAT_FIELDS)
@pytest.mark.parametrize("shape", list(ADVERSARIAL))
def test_every_field_refuses_ten_thousand_hostile_characters_fast(
    webhook: Webhook, stand_in: BizKitHubStandIn, field: str, shape: str
) -> None:
    booking = zapier_booking(**{field: ADVERSARIAL[shape]})
    if field == "endTime":
        booking.pop("duration")

    reply, elapsed = best_of_three(lambda: webhook.post(booking))

    assert reply.status == 422, reply.body
    assert reply.body["field"] == field
    assert elapsed < FAST, f"{elapsed * 1000:.0f} ms"
    assert stand_in.calls == []


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(
            {"startTime": "9999-12-31T23:30:00Z", "duration": "90"}, id="end of the calendar plus a duration"
        ),
        pytest.param({"startTime": "0001-01-01T00:00:00+14:00"}, id="start of the calendar with an offset"),
        pytest.param({"startTime": "0999-01-01T10:00:00Z"}, id="a year before 1000"),
        pytest.param({"startTime": "1999-12-31T10:00:00Z"}, id="before the window"),
        pytest.param({"startTime": "2101-01-01T10:00:00Z"}, id="after the window"),
        pytest.param(
            {"startTime": "2027-01-05T10:00:00Z", "duration": None, "endTime": "2027-01-05T10:00:00.0005Z"},
            id="end less than a millisecond after the start",
        ),
        pytest.param(
            {"startTime": "2027-01-05T10:00:00Z", "duration": None, "endTime": "2027-01-05T10:00:30Z"},
            id="end less than a minute after the start",
        ),
        pytest.param({"blockingTo": "9999-12-31T23:59:59Z"}, id="blocking to the end of the calendar"),
    ],
)
def test_times_outside_a_sane_calendar_are_refused_naming_the_field(
    webhook: Webhook, stand_in: BizKitHubStandIn, changes: dict[str, Any]
) -> None:
    reply = webhook.post(zapier_booking(**changes))

    assert reply.status == 422, reply.body
    assert reply.body["field"] in ("startTime", "endTime", "duration", "blockingTo")
    assert stand_in.calls == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"attendeePhone": "+４２０７７７１２３４５６"}, "attendeePhone", id="fullwidth digits"),
        pytest.param({"attendeePhone": "+٤٢٠٧٧٧١٢٣٤٥٦"}, "attendeePhone", id="Arabic-Indic digits"),
        pytest.param({"attendeeEmail": "a@b..c"}, "attendeeEmail", id="email with an empty label"),
        pytest.param({"url": "http:///x"}, "url", id="url without a host"),
        pytest.param({"url": "ftp://example.com/x"}, "url", id="url not http"),
        pytest.param({"title": "   "}, "title", id="blank title"),
    ],
)
def test_malformed_fields_are_refused_not_forwarded(
    webhook: Webhook, stand_in: BizKitHubStandIn, changes: dict[str, Any], field: str
) -> None:
    reply = webhook.post(zapier_booking(**changes))

    assert reply.status == 422, reply.body
    assert reply.body["field"] == field
    assert stand_in.calls == []


@pytest.mark.parametrize(
    "event_changes",
    [
        pytest.param({"title": "   "}, id="a nested event's title of spaces"),
        pytest.param({"attendees": [{"memberId": True}]}, id="memberId true"),
        pytest.param({"attendees": [{"name": "Jan", "phone": "+420 ７７７１２３４５６"}]}, id="phone digits"),
        pytest.param({"url": "http:///x"}, id="url without host"),
    ],
)
def test_a_nested_event_is_held_to_the_same_contract(
    webhook: Webhook, stand_in: BizKitHubStandIn, event_changes: dict[str, Any]
) -> None:
    event = {
        "calendarId": defaults.CALENDAR_ID,
        "startTime": "2027-01-05T10:00:00.000Z",
        "endTime": "2027-01-05T11:00:00.000Z",
        "title": "Training",
        **event_changes,
    }

    reply = webhook.post({"event": event})

    assert reply.status == 422, reply.body
    assert stand_in.calls == []


def test_a_typeform_date_at_the_end_of_the_calendar_is_refused_and_kept(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """First release: OverflowError, a 500, and the webhook was not kept for replay."""
    monkeypatch.setenv("DELIVERY_QUEUE_URL", aws.delivery_queue_url)
    webhook_module.use_services(None)
    response = answers_with(booking_response(), booking_date="9999-12-31")
    body = typeform_body(response)

    reply = webhook.post(
        body,
        path="/webhooks/typeform",
        token=None,
        headers={"typeform-signature": expected_signature(defaults.TYPEFORM_SECRET, body)},
    )

    assert reply.status == 422, reply.body
    assert stand_in.calls == []
    assert queued_count(aws.delivery_queue_url) == 1  # kept for a replay


def test_stripe_metadata_at_the_end_of_the_calendar_is_refused(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    metadata = dict(BOOKING_METADATA, startTime="9999-12-31T23:30:00Z")
    body = stripe_body(stripe_event("checkout.session.completed", checkout_session(metadata=metadata)))

    reply = webhook.post(
        body,
        path="/webhooks/stripe",
        token=None,
        headers={"stripe-signature": signature_header(body, defaults.STRIPE_SECRET, int(time.time()))},
    )

    assert reply.status == 422, reply.body
    assert reply.body["field"] == "metadata.startTime"
    assert stand_in.calls == []


def test_a_stripe_metadata_value_of_hostile_characters_is_refused_fast(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    metadata = dict(BOOKING_METADATA, notifyBefore=" " * 300 + "x")  # 9.6 s in the first release
    body = stripe_body(stripe_event("checkout.session.completed", checkout_session(metadata=metadata)))
    headers = {"stripe-signature": signature_header(body, defaults.STRIPE_SECRET, int(time.time()))}

    reply, elapsed = best_of_three(
        lambda: webhook.post(body, path="/webhooks/stripe", token=None, headers=headers)
    )

    assert elapsed < FAST
    assert reply.status == 422, reply.body
    assert stand_in.calls == []


def test_nothing_hostile_reached_the_table(webhook: Webhook, aws: LocalResources) -> None:
    """Refusals happen before the claim: no record is left behind for a refused booking."""
    webhook.post(zapier_booking(startTime="9999-12-31T23:30:00Z"))

    assert boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"] == []


def test_deep_json_on_every_route_is_a_400(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    deep = ("[" * 1_001 + "]" * 1_001).encode()
    zapier = webhook.post(deep)
    typeform = webhook.post(
        deep,
        path="/webhooks/typeform",
        token=None,
        headers={"typeform-signature": expected_signature(defaults.TYPEFORM_SECRET, deep)},
    )
    stripe = webhook.post(
        deep,
        path="/webhooks/stripe",
        token=None,
        headers={"stripe-signature": signature_header(deep, defaults.STRIPE_SECRET, int(time.time()))},
    )

    assert [reply.status for reply in (zapier, typeform, stripe)] == [400, 400, 400]
    assert len({json.dumps(reply.body, sort_keys=True) for reply in (zapier, typeform, stripe)}) == 1
    assert stand_in.calls == []
