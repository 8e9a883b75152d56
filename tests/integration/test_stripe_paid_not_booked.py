"""No paid booking dropped in silence: a Stripe payment with booking details nowhere.

Checkout sends two events for one payment, in no fixed order: the session's and its PaymentIntent's.
Either may carry the booking details (session metadata, or `payment_intent_data.metadata` on the
PaymentIntent, as Payment Links do). The first without details is acknowledged (the other half may
still book); once both halves came without, the answer is 422 `paid_not_booked`, the webhook is kept
for a replay, and `PaidNotBooked` fires its alarm. Every order of the two events is tried here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from bookhook.handlers import webhook as webhook_module
from bookhook.sources.stripe import signature_header
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn
from bookhook_dev.testing.lambda_emulation import LocalResources
from bookhook_dev.tools.stripe_samples import (
    BOOKING_METADATA,
    INTENT_PAID,
    checkout_session,
    payment_intent,
    stripe_event,
)
from bookhook_dev.tools.stripe_samples import body_bytes as stripe_body
from tests.integration.conftest import Reply, Webhook, queued_count

NO_BOOKING_KEYS = {"orderNumber": "GR-2026-0412"}


@pytest.fixture
def send(
    webhook: Webhook, aws: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> Callable[[dict[str, Any]], Reply]:
    monkeypatch.setenv("DELIVERY_QUEUE_URL", aws.delivery_queue_url)
    webhook_module.use_services(None)

    def post(event: dict[str, Any]) -> Reply:
        body = stripe_body(event)
        signature = signature_header(body, defaults.STRIPE_SECRET, int(time.time()))
        return webhook.post(
            body, path="/webhooks/stripe", token=None, headers={"stripe-signature": signature}
        )

    return post


def session_event(metadata: dict[str, str] | None) -> dict[str, Any]:
    return stripe_event("checkout.session.completed", checkout_session(metadata=metadata))


def intent_event(metadata: dict[str, str] | None) -> dict[str, Any]:
    return stripe_event(
        "payment_intent.succeeded",
        payment_intent(intent_id=INTENT_PAID, metadata=metadata),
        event_id="evt_1QpSample000000000000002",
    )


def kept(aws: LocalResources) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=aws.delivery_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


@pytest.mark.parametrize("first", ["session", "intent"])
def test_both_halves_without_booking_details_are_refused_kept_and_alarmed(
    send: Callable[[dict[str, Any]], Reply],
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    first: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    events = {"session": session_event(NO_BOOKING_KEYS), "intent": intent_event({})}
    second = "intent" if first == "session" else "session"

    first_reply = send(events[first])
    second_reply = send(events[second])

    assert (first_reply.status, first_reply.body["status"]) == (200, "ignored")
    assert second_reply.status == 422
    assert second_reply.body["error"] == "paid_not_booked"
    assert second_reply.body["field"] == "metadata"
    assert stand_in.calls == []
    [copy] = kept(aws)
    assert (copy["kind"], copy["source"], copy["failure"]["reason"]) == ("keep", "stripe", "paid_not_booked")
    assert '"PaidNotBooked"' in capfd.readouterr().out
    # Stripe retries a 422, and either half again is refused alike: the payment stays visible.
    assert send(events[second]).status == 422
    assert send(events[first]).status == 422


@pytest.mark.parametrize(
    ("order", "booked_by"),
    [
        (["session without", "intent with"], "intent"),
        (["intent with", "session without"], "intent"),
        (["session with", "intent without"], "session"),
        (["intent without", "session with"], "session"),
    ],
)
def test_when_either_half_carries_the_details_it_books_once_and_nothing_is_alarmed(
    send: Callable[[dict[str, Any]], Reply],
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    order: list[str],
    booked_by: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    events = {
        "session without": session_event(NO_BOOKING_KEYS),
        "session with": session_event(dict(BOOKING_METADATA)),
        "intent without": intent_event({}),
        "intent with": intent_event(dict(BOOKING_METADATA)),
    }

    replies = [send(events[name]) for name in order]

    assert [reply.status for reply in replies] == [200, 200]
    assert len(stand_in.accepted_events) == 1
    assert queued_count(aws.delivery_queue_url) == 0  # nothing kept: nothing is wrong
    assert '"PaidNotBooked"' not in capfd.readouterr().out
    assert booked_by in ("session", "intent")


def test_a_paid_session_that_nothing_else_can_book_is_refused_at_once(
    send: Callable[[dict[str, Any]], Reply], stand_in: BizKitHubStandIn, aws: LocalResources
) -> None:
    """A session with no PaymentIntent (a 100 % discount) has no other half to wait for."""
    event = stripe_event(
        "checkout.session.completed",
        checkout_session(intent_id=None, payment_status="no_payment_required", metadata=NO_BOOKING_KEYS),
    )

    reply = send(event)

    assert (reply.status, reply.body["error"]) == (422, "paid_not_booked")
    assert stand_in.calls == []
    assert len(kept(aws)) == 1


def test_paid_metadata_that_cannot_be_mapped_is_paid_not_booked(
    send: Callable[[dict[str, Any]], Reply], stand_in: BizKitHubStandIn
) -> None:
    reply = send(session_event(dict(BOOKING_METADATA, startTime="tomorrow at ten")))

    assert (reply.status, reply.body["error"], reply.body["field"]) == (
        422,
        "paid_not_booked",
        "metadata.startTime",
    )
    assert stand_in.calls == []
