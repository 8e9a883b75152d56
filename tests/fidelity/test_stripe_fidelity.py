"""Stripe as Stripe documents it: events shaped as its OpenAPI fixtures describe the objects, in each
API version family we support, through the real webhook handler (AWS from moto, BizKitHub as the
local stand-in), with the answer Stripe gets and what reached BizKitHub asserted for each.

Sources of the shapes, written out by hand (nothing is copied from a live delivery):
- [FIXTURES] github.com/stripe/openapi, `openapi/fixtures3.json`: the Checkout Session and
  PaymentIntent of each family at the commits named in `bookhook_dev.tools.stripe_samples` (built there by
  `rendered_checkout_session` / `rendered_payment_intent`); the Charge, Customer and Invoice below at
  commit f0758b15 (2026-08-22, 2026-08-26.dahlia), their top-level fields all present, placeholder
  values replaced by a plausible payment, nested objects the function never reads kept short.
- [EVENT] docs.stripe.com/api/events/object: the snapshot envelope (`id`, `object: "event"`,
  `api_version`, `created`, `data.object`, `livemode`, `pending_webhooks`, `request`, `type`).
- [CHECKOUT] docs.stripe.com/checkout/fulfillment: `checkout.session.completed` with
  `payment_status` `paid` or `unpaid` (delayed methods), then `async_payment_succeeded` or
  `async_payment_failed`; `no_payment_required` for a 100 % discount, without a PaymentIntent.
- [NULLABLE] Stripe's API description: `metadata` is nullable on the Checkout Session and the
  PaymentIntent (`metadata: Option<Metadata>` in the generated SDKs).
- [THIN] docs.stripe.com/api/v2/core/events/object and the changelog entry "Makes thin events for API
  v1 resources generally available" (2026-09-30.endive): `object: "v2.core.event"`, ISO `created`,
  `related_object {id, type, url}`, `reason`, `context`, no `data`; v1 types named `v1.<type>`.
- [SIGNING] docs.stripe.com/webhooks/signature: `Stripe-Signature: t=…,v1=…` over `"{t}.{body}"`,
  the same for thin events; header and body as Stripe's own delivery has them (`body_bytes`).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from bookhook.handlers import webhook as webhook_module
from bookhook.sources.stripe import signature_header
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn
from bookhook_dev.tools.stripe_samples import (
    BOOKING_METADATA,
    FAMILIES,
    body_bytes,
    rendered_checkout_session,
    rendered_event,
    rendered_payment_intent,
    thin_event,
)

# The integration suite's fixtures (the real handler, moto, the stand-in), used here as they are.
from tests.integration.conftest import Reply, Webhook, aws, function_env, stand_in, webhook

__all__ = ["aws", "function_env", "stand_in", "webhook"]

STRIPE_HEADERS = {"user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
EVERY_FAMILY = pytest.mark.parametrize("family", list(FAMILIES))
LATEST = list(FAMILIES)[-1]


def post(webhook: Webhook, event: dict[str, Any]) -> Reply:
    """`event` as Stripe delivers it: pretty-printed, signed now, `application/json; charset=utf-8`."""
    body = body_bytes(event)
    headers = {
        **STRIPE_HEADERS,
        "stripe-signature": signature_header(body, defaults.STRIPE_SECRET, int(time.time())),
    }
    return webhook.post(
        body,
        path="/webhooks/stripe",
        content_type="application/json; charset=utf-8",
        token=None,
        headers=headers,
    )


def ids(family: str, name: str) -> tuple[str, str]:
    """A Checkout Session id and a PaymentIntent id of their own for one case."""
    tag = f"{family}{name}".replace("_", "").replace("-", "")
    return f"cs_live_{tag}".ljust(66, "0"), f"pi_3Qp{tag}".ljust(27, "0")[:27]


def metadata(**changes: str) -> dict[str, str]:
    return {**BOOKING_METADATA, **changes}


# --- [FIXTURES] objects of events that book nothing, as Stripe renders them -------------------------


def charge(*, payment_intent: str | None = None) -> dict[str, Any]:
    return {
        "id": "ch_3QpAbCDeFgHiJkLm0xYzWvU9",
        "object": "charge",
        "amount": 90000,
        "amount_captured": 90000,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": "txn_3QpAbCDeFgHiJkLm0q1w2e3r",
        "billing_details": {
            "address": {
                "city": None,
                "country": "CZ",
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": "eva.novakova@example.cz",
            "name": "Eva Nováková",
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "GYMROOM",
        "captured": True,
        "created": 1795514401,
        "currency": "czk",
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": True,
        # A shop's own metadata on a charge books nothing: charges are not booking events.
        "metadata": dict(BOOKING_METADATA),
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": payment_intent,
        "payment_method": "pm_1QpAbCDeFgHiJkLmNoPqRsTu",
        "payment_method_details": {
            "card": {"brand": "visa", "country": "CZ", "last4": "4242"},
            "type": "card",
        },
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": "https://pay.stripe.com/receipts/payment/CAcaFwoVYWNjdF8xUGdhZlRC",
        "refunded": False,
        "refunds": {"data": [], "has_more": False, "object": "list", "url": "/v1/charges/ch_3Qp/refunds"},
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def customer() -> dict[str, Any]:
    return {
        "id": "cus_R1aBcDeFgHiJkL",
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": 1795514402,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": "eva.novakova@example.cz",
        "invoice_prefix": "7FE1103",
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": True,
        "metadata": {},
        "name": "Eva Nováková",
        "next_invoice_sequence": 1,
        "phone": "+420603987654",
        "preferred_locales": ["cs"],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def invoice() -> dict[str, Any]:
    line = {
        "id": "il_1QpAbCDeFgHiJkLmInvLine1",
        "object": "line_item",
        "amount": 90000,
        "currency": "czk",
        "description": "Personal training",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": "in_1QpAbCDeFgHiJkLmInvoice1",
        "livemode": True,
        "metadata": {},
        "parent": None,
        "period": {"end": 1795514403, "start": 1795514403},
        "pretax_credit_amounts": [],
        "pricing": {"type": "price_details", "unit_amount_decimal": "90000"},
        "quantity": 1,
        "subscription": None,
        "taxes": [],
    }
    return {
        "id": "in_1QpAbCDeFgHiJkLmInvoice1",
        "object": "invoice",
        "account_country": "CZ",
        "account_name": "GymRoom s.r.o.",
        "account_tax_ids": None,
        "amount_due": 90000,
        "amount_overpaid": 0,
        "amount_paid": 90000,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": False,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": "manual",
        "collection_method": "charge_automatically",
        "created": 1795514403,
        "currency": "czk",
        "custom_fields": None,
        "customer": "cus_R1aBcDeFgHiJkL",
        "customer_account": None,
        "customer_address": None,
        "customer_email": "eva.novakova@example.cz",
        "customer_name": "Eva Nováková",
        "customer_phone": "+420603987654",
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": 1795514403,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1Qp/live_YWNjdF8x",
        "invoice_pdf": "https://pay.stripe.com/invoice/acct_1Qp/live_YWNjdF8x/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {"data": [line], "has_more": False, "object": "list", "url": "/v1/invoices/in_1Qp/lines"},
        "livemode": True,
        "metadata": dict(BOOKING_METADATA),  # invoices are not booking events, whatever they carry
        "next_payment_attempt": None,
        "number": "7FE1103-0001",
        "on_behalf_of": None,
        "parent": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": 1795514403,
        "period_start": 1795514403,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "paid",
        "status_transitions": {
            "finalized_at": 1795514403,
            "marked_uncollectible_at": None,
            "paid_at": 1795514404,
            "voided_at": None,
        },
        "subscription": None,
        "subtotal": 90000,
        "subtotal_excluding_tax": 90000,
        "test_clock": None,
        "total": 90000,
        "total_discount_amounts": [],
        "total_excluding_tax": 90000,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": 1795514404,
    }


# --- booking events ---------------------------------------------------------------------------------


@EVERY_FAMILY
def test_a_paid_checkout_session_books_with_its_customer_as_the_attendee(
    webhook: Webhook, stand_in: BizKitHubStandIn, family: str
) -> None:
    session_id, intent_id = ids(family, "paid")
    session = rendered_checkout_session(family, session_id=session_id, intent_id=intent_id)

    reply = post(
        webhook, rendered_event(family, "checkout.session.completed", session, event_id="evt_1QpPaid1")
    )

    assert (reply.status, reply.body["status"]) == (200, "delivered"), reply.body
    [event] = stand_in.accepted_events
    assert (event["title"], event["startTime"], event["endTime"]) == (
        "Personal training (paid)",
        "2026-12-04T16:00:00.000Z",
        "2026-12-04T17:00:00.000Z",
    )
    assert event["attendees"] == [
        {"name": "Eva Nováková", "email": "eva.novakova@example.cz", "phone": "+420 603987654"}
    ]
    assert reply.body["eventId"] == stand_in.calls[0].event_id


@EVERY_FAMILY
@pytest.mark.parametrize(
    "order",
    [("session", "intent", "charge"), ("charge", "intent", "session"), ("intent", "session", "charge")],
    ids="-".join,
)
def test_the_notifications_of_one_card_payment_book_once(
    webhook: Webhook, stand_in: BizKitHubStandIn, family: str, order: tuple[str, ...]
) -> None:
    """A Checkout payment sends `checkout.session.completed`, `payment_intent.succeeded` (for the
    PaymentIntent Checkout created, without the session's metadata) and `charge.succeeded`, in no
    promised order."""
    session_id, intent_id = ids(family, "card")
    events = {
        "session": rendered_event(
            family,
            "checkout.session.completed",
            rendered_checkout_session(family, session_id=session_id, intent_id=intent_id),
            event_id="evt_1QpCardSession",
        ),
        "intent": rendered_event(
            family,
            "payment_intent.succeeded",
            rendered_payment_intent(family, intent_id=intent_id),
            event_id="evt_1QpCardIntent",
        ),
        "charge": rendered_event(
            family, "charge.succeeded", charge(payment_intent=intent_id), event_id="evt_1QpCardCharge"
        ),
    }

    replies = {name: post(webhook, events[name]) for name in order}

    assert {name: reply.status for name, reply in replies.items()} == dict.fromkeys(order, 200)
    assert replies["session"].body["status"] == "delivered"
    assert replies["charge"].body["status"] == "ignored"
    assert len(stand_in.accepted_events) == 1


@EVERY_FAMILY
def test_a_payment_link_books_from_its_payment_intent(
    webhook: Webhook, stand_in: BizKitHubStandIn, family: str
) -> None:
    """A Payment Link's booking keys are on `payment_intent_data.metadata`: the PaymentIntent
    carries them, the session has none."""
    session_id, intent_id = ids(family, "link")
    session = rendered_checkout_session(
        family, session_id=session_id, intent_id=intent_id, metadata={}, payment_link="plink_1QpAbCDeFgHiJkLm"
    )
    intent = rendered_payment_intent(
        family,
        intent_id=intent_id,
        metadata=metadata(title="Physio session (link)"),
        receipt_email="petr.svoboda@example.cz",
    )

    replies = [
        post(
            webhook,
            rendered_event(family, "checkout.session.completed", session, event_id="evt_1QpLinkSession"),
        ),
        post(
            webhook, rendered_event(family, "payment_intent.succeeded", intent, event_id="evt_1QpLinkIntent")
        ),
    ]

    assert [(reply.status, reply.body["status"]) for reply in replies] == [
        (200, "ignored"),
        (200, "delivered"),
    ]
    [event] = stand_in.accepted_events
    assert event["title"] == "Physio session (link)"
    assert event["attendees"] == [{"email": "petr.svoboda@example.cz"}]


@EVERY_FAMILY
def test_a_delayed_payment_books_when_it_succeeds_and_a_failed_one_never(
    webhook: Webhook, stand_in: BizKitHubStandIn, family: str
) -> None:
    session_id, intent_id = ids(family, "sepa")
    failed_id, failed_intent = ids(family, "fail")

    def session(status: str, *, sid: str = session_id, pid: str = intent_id) -> dict[str, Any]:
        return rendered_checkout_session(
            family, session_id=sid, intent_id=pid, payment_status=status, payment_method_types=["sepa_debit"]
        )

    sent = [
        ("checkout.session.completed", session("unpaid"), "evt_1QpSepaCompleted"),
        ("checkout.session.async_payment_succeeded", session("paid"), "evt_1QpSepaSucceeded"),
        (
            "checkout.session.completed",
            session("unpaid", sid=failed_id, pid=failed_intent),
            "evt_1QpFailCompleted",
        ),
        (
            "checkout.session.async_payment_failed",
            session("unpaid", sid=failed_id, pid=failed_intent),
            "evt_1QpFailFailed",
        ),
    ]

    replies = [
        post(webhook, rendered_event(family, kind, obj, event_id=event_id)) for kind, obj, event_id in sent
    ]

    assert [(reply.status, reply.body["status"]) for reply in replies] == [
        (200, "ignored"),
        (200, "delivered"),
        (200, "ignored"),
        (200, "ignored"),
    ]
    assert "payment_status 'unpaid'" in replies[0].body["reason"]
    assert "payment failed" in replies[3].body["reason"]
    assert len(stand_in.accepted_events) == 1


@EVERY_FAMILY
def test_a_free_session_without_a_payment_intent_books_by_the_session(
    webhook: Webhook, stand_in: BizKitHubStandIn, family: str
) -> None:
    session_id, _ = ids(family, "free")
    session = rendered_checkout_session(
        family,
        session_id=session_id,
        intent_id=None,
        payment_status="no_payment_required",
        amount_subtotal=90000,
        amount_total=0,
    )

    reply = post(
        webhook, rendered_event(family, "checkout.session.completed", session, event_id="evt_1QpFree")
    )

    assert (reply.status, reply.body["status"]) == (200, "delivered"), reply.body
    assert len(stand_in.accepted_events) == 1


# --- [NULLABLE] metadata: null -------------------------------------------------------------------------


@EVERY_FAMILY
def test_null_metadata_where_nothing_else_books_is_the_422_naming_the_key(
    webhook: Webhook, stand_in: BizKitHubStandIn, family: str
) -> None:
    """Issue 12: this was a 400 (`data.object.metadata`), which Stripe retries for three days."""
    session_id, _ = ids(family, "nullfree")
    session = rendered_checkout_session(
        family, session_id=session_id, intent_id=None, payment_status="no_payment_required", metadata=None
    )

    reply = post(
        webhook, rendered_event(family, "checkout.session.completed", session, event_id="evt_1QpNull")
    )

    assert reply.status == 422, reply.body
    assert reply.body["field"] == "metadata.startTime"
    assert stand_in.calls == []


@EVERY_FAMILY
@pytest.mark.parametrize("kind", ["session", "intent"])
def test_null_metadata_on_one_half_of_a_payment_is_acknowledged(
    webhook: Webhook, stand_in: BizKitHubStandIn, family: str, kind: str
) -> None:
    """A session (whose PaymentIntent may carry the keys) or a PaymentIntent (whose session may)
    with `metadata: null`, alone: 200, as with `metadata: {}`."""
    session_id, intent_id = ids(family, f"null{kind}")
    if kind == "session":
        obj = rendered_checkout_session(family, session_id=session_id, intent_id=intent_id, metadata=None)
        event = rendered_event(family, "checkout.session.completed", obj, event_id="evt_1QpNullSession")
    else:
        obj = rendered_payment_intent(family, intent_id=intent_id, metadata=None)
        event = rendered_event(family, "payment_intent.succeeded", obj, event_id="evt_1QpNullIntent")

    reply = post(webhook, event)

    assert reply.status == 200, reply.body
    assert stand_in.calls == []


@EVERY_FAMILY
def test_null_metadata_on_the_session_and_keys_on_the_payment_intent_book_once(
    webhook: Webhook, stand_in: BizKitHubStandIn, family: str
) -> None:
    session_id, intent_id = ids(family, "nulllink")
    session = rendered_checkout_session(family, session_id=session_id, intent_id=intent_id, metadata=None)
    intent = rendered_payment_intent(family, intent_id=intent_id, metadata=metadata())

    replies = [
        post(webhook, rendered_event(family, "checkout.session.completed", session, event_id="evt_1QpNL1")),
        post(webhook, rendered_event(family, "payment_intent.succeeded", intent, event_id="evt_1QpNL2")),
    ]

    assert [(reply.status, reply.body["status"]) for reply in replies] == [
        (200, "ignored"),
        (200, "delivered"),
    ]
    [event] = stand_in.accepted_events
    assert event["title"] == "Personal training (paid)"


# --- events that book nothing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "data_object"),
    [
        pytest.param("charge.succeeded", charge(), id="charge.succeeded"),
        pytest.param("customer.created", customer(), id="customer.created"),
        pytest.param("invoice.paid", invoice(), id="invoice.paid"),
        pytest.param(
            "checkout.session.expired",
            rendered_checkout_session(LATEST, payment_status="unpaid", status="expired", payment_intent=None),
            id="checkout.session.expired",
        ),
        pytest.param(
            "payment_intent.payment_failed",
            rendered_payment_intent(LATEST, status="requires_payment_method", metadata=metadata()),
            id="payment_intent.payment_failed",
        ),
    ],
)
def test_an_unrelated_event_is_acknowledged_with_the_reason(
    webhook: Webhook, stand_in: BizKitHubStandIn, event_type: str, data_object: dict[str, Any]
) -> None:
    reply = post(webhook, rendered_event(LATEST, event_type, data_object, event_id="evt_1QpUnrelated"))

    assert (reply.status, reply.body["status"]) == (200, "ignored"), reply.body
    assert event_type in reply.body["reason"]
    assert stand_in.calls == []


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(thin_event(), id="v1.checkout.session.completed"),
        pytest.param(
            thin_event(
                "v1.payment_intent.succeeded",
                related_id="pi_3QpThinIntent00000000000",
                related_type="payment_intent",
                related_url="/v1/payment_intents/pi_3QpThinIntent00000000000",
            ),
            id="v1.payment_intent.succeeded",
        ),
        pytest.param(
            thin_event(
                "v2.core.event_destination.ping",
                related_id="ed_test_61RM8ltWcTW4mbsxf16RJyfa2xSQLHJJh1sxm7H0KVT6",
                related_type="v2.core.event_destination",
                related_url="/v2/core/event_destinations/ed_test_61RM8ltWcTW4mbsxf16RJyfa2xSQLHJJh1sxm7H0KVT6",
                livemode=False,
            ),
            id="v2.core.event_destination.ping",
        ),
    ],
)
def test_a_thin_event_is_acknowledged_and_asks_for_snapshot_events(
    webhook: Webhook, stand_in: BizKitHubStandIn, event: dict[str, Any]
) -> None:
    """Issue 12: a thin event was a 400 (no `data`), which Stripe retries for three days."""
    reply = post(webhook, event)

    assert (reply.status, reply.body["status"]) == (200, "ignored"), reply.body
    assert f"{event['type']} is a thin event" in reply.body["reason"]
    assert "snapshot" in reply.body["reason"]
    assert stand_in.calls == []


@EVERY_FAMILY
def test_the_fixtures_own_test_mode_is_acknowledged_unless_test_payments_may_book(
    webhook: Webhook, stand_in: BizKitHubStandIn, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixtures are rendered in test mode (`livemode: false`), as the dashboard's test events are."""
    session_id, intent_id = ids(family, "test")
    session = rendered_checkout_session(
        family,
        session_id=session_id.replace("cs_live_", "cs_test_"),
        intent_id=intent_id,
        livemode=False,
    )
    event = rendered_event(
        family, "checkout.session.completed", session, event_id="evt_1QpTest", livemode=False
    )

    refused = post(webhook, event)
    monkeypatch.setenv("STRIPE_ALLOW_TEST_MODE", "true")
    webhook_module.use_services(None)
    allowed = post(webhook, event)

    assert (refused.status, refused.body["status"]) == (200, "ignored")
    assert "STRIPE_ALLOW_TEST_MODE" in refused.body["reason"]
    assert (allowed.status, allowed.body["status"]) == (200, "delivered"), allowed.body
    assert len(stand_in.accepted_events) == 1
