"""Stripe end to end: a confirmed payment books once; everything else is acknowledged with a reason."""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import stripe

from bookhook.handlers import webhook as webhook_module
from bookhook.sources.stripe import signature_header
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn, Status
from bookhook_dev.testing.lambda_emulation import LocalResources
from bookhook_dev.tools.stripe_samples import (
    BOOKING_METADATA,
    FAMILIES,
    INTENT_PAID,
    body_bytes,
    checkout_session,
    payment_intent,
    resign_event,
    stripe_event,
    thin_event,
    write_samples,
)
from tests.integration.conftest import Reply, Webhook
from tests.integration.function_log import all_output, function_log

EVENTS = Path(__file__).resolve().parents[2] / "events"


def post_stripe(
    webhook: Webhook, body: bytes, *, secret: str = defaults.STRIPE_SECRET, header: str | None = None
) -> Reply:
    signature = header if header is not None else signature_header(body, secret, int(time.time()))
    return webhook.post(body, path="/webhooks/stripe", token=None, headers={"stripe-signature": signature})


def paid_checkout_notifications(*, intent_metadata: dict[str, str]) -> list[bytes]:
    """The three notifications of one paid Checkout payment, each delivered twice."""
    session = checkout_session()
    events = [
        stripe_event("checkout.session.completed", session, event_id="evt_completed"),
        stripe_event("checkout.session.async_payment_succeeded", session, event_id="evt_async"),
        stripe_event(
            "payment_intent.succeeded",
            payment_intent(intent_id=INTENT_PAID, metadata=intent_metadata),
            event_id="evt_pi",
        ),
    ]
    return [body_bytes(event) for event in events for _ in range(2)]


@pytest.mark.parametrize(
    "intent_metadata", [{}, dict(BOOKING_METADATA)], ids=["intent without metadata", "with"]
)
@pytest.mark.parametrize("seed", range(4))
def test_a_paid_checkout_books_exactly_once_whatever_arrives_in_any_order(
    webhook: Webhook, stand_in: BizKitHubStandIn, intent_metadata: dict[str, str], seed: int
) -> None:
    notifications = paid_checkout_notifications(intent_metadata=intent_metadata)
    random.Random(seed).shuffle(notifications)

    replies = [post_stripe(webhook, body) for body in notifications]

    assert [reply.status for reply in replies] == [200] * 6
    assert len(stand_in.calls) == 1
    event_ids = {reply.body["eventId"] for reply in replies if "eventId" in reply.body}
    assert event_ids == {stand_in.calls[0].event_id}
    [event] = stand_in.accepted_events
    assert event["startTime"] == "2026-12-04T16:00:00.000Z"
    if not intent_metadata:
        # Only the session's events can book, and they carry the customer's details.
        assert event["title"] == "Personal training (paid)"
        assert event["attendees"] == [
            {"name": "Eva Nováková", "email": "eva.novakova@example.cz", "phone": "+420 603987654"}
        ]


SAMPLE_STATUSES = {
    "stripe-checkout-paid.json": "delivered",
    "stripe-checkout-unpaid.json": "ignored",
    "stripe-checkout-async-succeeded.json": "delivered",
    "stripe-payment-intent-succeeded.json": "delivered",
    # One paid Checkout Session per API version family, each rendered whole (stripe_samples.FAMILIES).
    "stripe-checkout-paid-acacia.json": "delivered",
    "stripe-checkout-paid-basil.json": "delivered",
    "stripe-checkout-paid-clover.json": "delivered",
    "stripe-checkout-paid-dahlia.json": "delivered",
    "stripe-thin-event.json": "ignored",
}


def test_the_sample_events_book_as_documented(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    names = sorted(path.name for path in EVENTS.glob("stripe-*.json"))

    replies = {name: webhook.invoke(resign_event(json.loads((EVENTS / name).read_text()))) for name in names}

    assert {name: reply.body["status"] for name, reply in replies.items()} == SAMPLE_STATUSES
    assert len(stand_in.accepted_events) == 7
    family_titles = {event["title"] for event in stand_in.accepted_events if "(" in event["title"]}
    assert {f"Personal training ({family})" for family in FAMILIES} <= family_titles
    assert "snapshot" in replies["stripe-thin-event.json"].body["reason"]


def test_the_sample_files_are_what_the_builders_write(tmp_path: Path) -> None:
    """`python -m bookhook_dev.tools.stripe_samples write events` made them; nobody edited them by hand."""
    written = write_samples(tmp_path)

    assert written
    for path in written:
        stored = json.loads((EVENTS / path.name).read_text(encoding="utf-8"))
        assert stored == json.loads(path.read_text(encoding="utf-8")), path.name


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        pytest.param(
            stripe_event("checkout.session.completed", checkout_session(payment_status="unpaid")),
            "payment_status 'unpaid'",
            id="unpaid session",
        ),
        pytest.param(
            stripe_event(
                "checkout.session.expired", checkout_session(payment_status="unpaid", status="expired")
            ),
            "expired",
            id="expired session",
        ),
        pytest.param(
            stripe_event("checkout.session.async_payment_failed", checkout_session(payment_status="unpaid")),
            "payment failed",
            id="failed payment",
        ),
        pytest.param(
            stripe_event("checkout.session.completed", checkout_session(), livemode=False),
            "test-mode",
            id="test mode not allowed",
        ),
        pytest.param(stripe_event("charge.refunded", {"id": "ch_1"}), "does not book", id="other event type"),
    ],
)
def test_events_that_book_nothing_get_200_with_the_reason(
    webhook: Webhook, stand_in: BizKitHubStandIn, event: dict[str, Any], reason: str
) -> None:
    reply = post_stripe(webhook, body_bytes(event))

    assert reply.status == 200
    assert reply.body["status"] == "ignored"
    assert reason in reply.body["reason"]
    assert stand_in.calls == []


def test_test_mode_books_when_allowed(
    webhook: Webhook, stand_in: BizKitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_ALLOW_TEST_MODE", "true")
    from bookhook.handlers import webhook as module

    module.use_services(None)

    reply = post_stripe(
        webhook, body_bytes(stripe_event("checkout.session.completed", checkout_session(), livemode=False))
    )

    assert reply.body["status"] == "delivered"
    assert len(stand_in.accepted_events) == 1


def test_headers_from_the_official_library_verify(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    body = body_bytes(stripe_event("checkout.session.completed", checkout_session()))
    header = stripe.WebhookSignature.generate_signature_header(body.decode("utf-8"), defaults.STRIPE_SECRET)

    reply = post_stripe(webhook, body, header=header)

    assert reply.status == 200
    assert len(stand_in.accepted_events) == 1


def _tampered(body: bytes) -> bytes:
    return body.replace(b"Personal training", b"Personal trainin9")


@pytest.mark.parametrize(
    ("sent_body", "secret", "age_seconds"),
    [
        pytest.param(_tampered, defaults.STRIPE_SECRET, 0, id="tampered body"),
        pytest.param(None, defaults.STRIPE_SECRET, 301, id="301 s old"),
        pytest.param(None, defaults.STRIPE_SECRET, -301, id="301 s in the future"),
        pytest.param(None, "whsec_someOtherEndpoint0000000000000", 0, id="unknown secret"),
    ],
)
def test_unauthentic_stripe_requests_get_401_and_nothing_is_sent(
    webhook: Webhook, stand_in: BizKitHubStandIn, sent_body: Any, secret: str, age_seconds: int
) -> None:
    body = body_bytes(stripe_event("checkout.session.completed", checkout_session()))
    webhook_module.current_services()  # built first, so the clock moves milliseconds, not seconds
    # Rounded away from now, so the age stays beyond 300 s until the check, whatever the fraction.
    now = time.time()
    timestamp = math.floor(now) - age_seconds if age_seconds >= 0 else math.ceil(now) - age_seconds
    header = signature_header(body, secret, timestamp)

    reply = post_stripe(webhook, sent_body(body) if sent_body else body, header=header)

    assert reply.status == 401
    assert reply.body["field"] == "Stripe-Signature"
    assert stand_in.calls == []


def test_a_rotated_signing_secret_and_the_old_one_both_verify(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources
) -> None:
    new_secret = "whsec_rotatedEndpointSecret0000000000"
    document = defaults.secret_document()
    document["webhookSecrets"]["stripe"] = [new_secret, defaults.STRIPE_SECRET]  # type: ignore[index]
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.secret_arn, SecretString=json.dumps(document)
    )
    first = body_bytes(stripe_event("payment_intent.succeeded", payment_intent(intent_id="pi_old")))
    second = body_bytes(stripe_event("payment_intent.succeeded", payment_intent(intent_id="pi_new")))

    replies = [post_stripe(webhook, first), post_stripe(webhook, second, secret=new_secret)]

    assert [reply.status for reply in replies] == [200, 200]
    assert len(stand_in.accepted_events) == 2


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        pytest.param(
            {k: v for k, v in BOOKING_METADATA.items() if k != "startTime"},
            "metadata.startTime",
            id="no start",
        ),
        pytest.param(dict(BOOKING_METADATA, startTime="next friday"), "metadata.startTime", id="bad start"),
        pytest.param(dict(BOOKING_METADATA, calendarId="nope"), "metadata.calendarId", id="bad calendar"),
        pytest.param(dict(BOOKING_METADATA, duration="ages"), "metadata.duration", id="bad duration"),
    ],
)
def test_missing_or_malformed_metadata_is_422_naming_the_key(
    webhook: Webhook, stand_in: BizKitHubStandIn, metadata: dict[str, str], field: str
) -> None:
    event = stripe_event("checkout.session.completed", checkout_session(metadata=metadata))

    reply = post_stripe(webhook, body_bytes(event))

    assert reply.status == 422
    assert reply.body["field"] == field
    assert stand_in.calls == []


def test_metadata_defaults_fill_what_the_shop_left_out(
    webhook: Webhook, stand_in: BizKitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "STRIPE_METADATA_DEFAULTS", json.dumps({"title": "Training", "duration": "45", "type": "training"})
    )
    from bookhook.handlers import webhook as module

    module.use_services(None)
    metadata = {"calendarId": defaults.CALENDAR_ID, "startTime": "2026-12-04T17:00:00+01:00"}

    reply = post_stripe(
        webhook, body_bytes(stripe_event("checkout.session.completed", checkout_session(metadata=metadata)))
    )

    assert reply.status == 200, reply.body
    [event] = stand_in.accepted_events
    assert (event["title"], event["type"], event["endTime"]) == (
        "Training",
        "training",
        "2026-12-04T16:45:00.000Z",
    )


def test_a_clash_rejected_by_bizkithub_is_acknowledged_recorded_and_alarmed_on(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stand_in.script(
        Status(409, body={"state": "error", "error": {"code": "SLOT_BLOCKED", "message": "clash"}})
    )

    reply = post_stripe(webhook, body_bytes(stripe_event("checkout.session.completed", checkout_session())))

    assert reply.status == 200
    assert reply.body == {
        "status": "rejected",
        "reason": "BizKitHub rejected the event; retrying will not help",
        "bizkithubError": "SLOT_BLOCKED",
    }
    # The metric the template's alarm watches (EMF on stdout), with the alarm's dimensions.
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [metric] = [record for record in emitted if "BookingRejected" in record]
    assert (metric["source"], metric["service"], metric["BookingRejected"]) == ("stripe", "bookhook", [1.0])
    # The operator's log line names the payment, and nothing logged names the customer.
    [record] = [r for r in caplog.records if r.getMessage() == "booking rejected by BizKitHub after payment"]
    assert vars(record)["booking_key"] == f"stripe:{INTENT_PAID}"
    logged = json.dumps([vars(r) for r in caplog.records], default=str, ensure_ascii=False)
    for personal in ("Eva", "Nováková", "eva.novakova@example.cz", "603987654"):
        assert personal not in logged


@pytest.mark.parametrize("order", list(itertools.permutations(["completed", "async"])))
def test_a_delayed_payment_books_on_success_only(
    webhook: Webhook, stand_in: BizKitHubStandIn, order: tuple[str, ...]
) -> None:
    unpaid = stripe_event("checkout.session.completed", checkout_session(payment_status="unpaid"))
    succeeded = stripe_event("checkout.session.async_payment_succeeded", checkout_session())
    bodies = {"completed": body_bytes(unpaid), "async": body_bytes(succeeded)}

    statuses = [post_stripe(webhook, bodies[name]).body["status"] for name in order]

    assert sorted(statuses) == ["delivered", "ignored"]
    assert len(stand_in.accepted_events) == 1


def test_a_payment_link_books_from_its_payment_intent_once(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    # Payment Links carry the booking keys on payment_intent_data.metadata, not on the session.
    session = checkout_session(metadata={}, payment_link="plink_1QpAbC")
    intent = payment_intent(intent_id=INTENT_PAID, metadata=dict(BOOKING_METADATA))
    bodies = [
        body_bytes(stripe_event("checkout.session.completed", session)),
        body_bytes(stripe_event("payment_intent.succeeded", intent)),
    ]

    replies = [post_stripe(webhook, body) for body in bodies]

    assert [reply.body["status"] for reply in replies] == ["ignored", "delivered"]
    assert len(stand_in.accepted_events) == 1


def test_a_session_without_any_booking_metadata_is_422_when_nothing_else_will_book(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    session = checkout_session(metadata={}, payment_intent=None)

    reply = post_stripe(webhook, body_bytes(stripe_event("checkout.session.completed", session)))

    assert reply.status == 422
    assert reply.body["field"] == "metadata.startTime"
    assert stand_in.calls == []


# --- issue 12: Stripe's documented shapes that were refused ------------------------------------


def test_null_metadata_is_the_422_naming_the_missing_key_not_a_400(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    """`metadata` is nullable in Stripe's API description. It was a 400, which Stripe retries for
    three days without the shop learning which key is missing."""
    session = checkout_session(metadata=None, payment_intent=None)

    reply = post_stripe(webhook, body_bytes(stripe_event("checkout.session.completed", session)))

    assert reply.status == 422, reply.body
    assert reply.body["field"] == "metadata.startTime"
    assert stand_in.calls == []


def test_null_metadata_on_a_session_whose_payment_intent_books_is_acknowledged(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    session = checkout_session(metadata=None, payment_link="plink_1QpAbC")
    intent = payment_intent(intent_id=INTENT_PAID, metadata=dict(BOOKING_METADATA))

    replies = [
        post_stripe(webhook, body_bytes(stripe_event("checkout.session.completed", session))),
        post_stripe(webhook, body_bytes(stripe_event("payment_intent.succeeded", intent))),
    ]

    assert [(reply.status, reply.body["status"]) for reply in replies] == [
        (200, "ignored"),
        (200, "delivered"),
    ]
    assert len(stand_in.accepted_events) == 1


def test_a_thin_event_is_200_with_the_reason_not_a_400(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    """Event destinations with the thin payload style send no `data`: it was a 400, retried for days."""
    reply = post_stripe(webhook, body_bytes(thin_event()))

    assert reply.status == 200, reply.body
    assert reply.body["status"] == "ignored"
    assert "v1.checkout.session.completed is a thin event" in reply.body["reason"]
    assert "snapshot" in reply.body["reason"]
    assert stand_in.calls == []


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            {**stripe_event("checkout.session.completed", checkout_session()), "object": "list"}, id="object"
        ),
        pytest.param(
            {
                k: v
                for k, v in stripe_event("checkout.session.completed", checkout_session()).items()
                if k != "data"
            },
            id="no data",
        ),
        pytest.param(
            stripe_event("payment_intent.succeeded", checkout_session()), id="data.object of another type"
        ),
    ],
)
def test_any_event_shape_we_do_not_book_from_is_200(
    webhook: Webhook, stand_in: BizKitHubStandIn, event: dict[str, Any]
) -> None:
    reply = post_stripe(webhook, body_bytes(event))

    assert (reply.status, reply.body["status"]) == (200, "ignored"), reply.body
    assert stand_in.calls == []


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"id": "evt_1", "object": "event"}'],
    ids=["not JSON", "an array", "an object without a type"],
)
def test_a_signed_body_that_is_not_an_event_is_still_a_400(
    webhook: Webhook, stand_in: BizKitHubStandIn, body: bytes
) -> None:
    reply = post_stripe(webhook, body)

    assert reply.status == 400
    assert stand_in.calls == []


def test_a_thin_event_with_a_bad_signature_is_still_a_401(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    reply = post_stripe(webhook, body_bytes(thin_event()), secret="whsec_someOtherEndpoint0000000000000")

    assert reply.status == 401
    assert stand_in.calls == []


# --- what the shop or the customer wrote: described, never repeated ---------------------------------

CANARY_EMAIL = "jan.canary@example.cz"
CANARY_KEY = f"note for {CANARY_EMAIL} +420 603 111 222"
CANARIES = (CANARY_EMAIL, "canary", "example.cz", "603 111 222", "603111222")


@pytest.mark.parametrize(
    ("event", "status", "field"),
    [
        pytest.param(
            stripe_event(
                "checkout.session.completed",
                checkout_session(metadata={**BOOKING_METADATA, CANARY_KEY: 42}),
            ),
            400,
            f"data.object.metadata.<key #9, {len(CANARY_KEY)} characters>",
            id="metadata key with a number",
        ),
        pytest.param(
            stripe_event(
                "checkout.session.completed",
                checkout_session(metadata={**BOOKING_METADATA, CANARY_KEY: "y", "duration": "ages"}),
            ),
            422,
            "metadata.duration",
            id="metadata key beside a bad value",
        ),
        pytest.param(
            stripe_event(f"customer.{CANARY_EMAIL}", checkout_session()), 200, None, id="event type"
        ),
        pytest.param(
            stripe_event("checkout.session.completed", checkout_session(payment_status=CANARY_KEY)),
            200,
            None,
            id="payment status",
        ),
        pytest.param(thin_event(f"v1.customer.{CANARY_EMAIL}"), 200, None, id="thin event type"),
        pytest.param(
            {**stripe_event("checkout.session.completed", checkout_session()), "object": CANARY_KEY},
            200,
            None,
            id="event object",
        ),
        pytest.param(
            stripe_event("checkout.session.completed", checkout_session(object=CANARY_EMAIL)),
            200,
            None,
            id="data.object object",
        ),
    ],
)
def test_names_the_sender_chose_are_described_in_the_answer_and_the_log(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    capfd: pytest.CaptureFixture[str],
    event: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    """First release: the metadata key came back whole as `field`, the event type and payment status
    whole in the reason."""
    with function_log() as log:
        reply = post_stripe(webhook, body_bytes(event))

    assert reply.status == status, reply.body
    assert reply.body.get("field") == field
    logged = all_output(log, capfd)
    for canary in CANARIES:
        assert canary not in json.dumps(reply.body, ensure_ascii=False), canary
        assert canary not in logged, canary
    assert stand_in.calls == []
