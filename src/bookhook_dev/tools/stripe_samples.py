"""Stripe sample events: builders for tests, and re-signing of `events/` files.

Stripe signs a timestamp, and the function refuses signatures older (or newer) than 300 s, so a
stored sample cannot stay valid. The local runner and the tests re-sign each Stripe event file
with `bookhook_dev.testing.defaults.STRIPE_SECRET` at the moment they send it. Before
`sam local invoke -e …`, sign copies the same way (`bookhook samples resign --help`):

    .venv/bin/bookhook samples resign events/stripe-*.json

Besides the short builders the tests use (`checkout_session`, `payment_intent`, `stripe_event`),
`rendered_checkout_session` and `rendered_payment_intent` build the objects whole, with every field
one API version family renders (acacia, basil, clover, dahlia), and `thin_event` a thin event of an
event destination. The family and thin samples in `events/` are written from them:

    .venv/bin/bookhook samples write
"""

from __future__ import annotations

import base64
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

from bookhook.sources.stripe import signature_header
from bookhook_dev.testing import defaults
from bookhook_dev.tools import cli

SESSION_PAID = "cs_live_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ0123456789abcdEF"
SESSION_DELAYED = "cs_live_b9Z8y7X6w5V4u3T2s1R0qPoNmLkJiHgFeDcBa9876543210zyxWV"
INTENT_PAID = "pi_3QpAbCDeFgHiJkLm0aBcDeF1"
INTENT_DELAYED = "pi_3QpXyZAbCdEfGhIj0zYxWvU2"
INTENT_DIRECT = "pi_3QpLmNoPqRsTuVwX0qRsTuV3"

BOOKING_METADATA = {
    "calendarId": defaults.CALENDAR_ID,
    "startTime": "2026-12-04T17:00:00+01:00",
    "duration": "60",
    "title": "Personal training (paid)",
    "type": "training",
    "locationTitle": "GymRoom Vinohrady",
    "notifyBefore": "2h",
    "orderNumber": "GR-2026-0412",
}


def checkout_session(
    *,
    session_id: str = SESSION_PAID,
    intent_id: str | None = INTENT_PAID,
    payment_status: str = "paid",
    **changes: Any,
) -> dict[str, Any]:
    session: dict[str, Any] = {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": 90000,
        "amount_total": 90000,
        "client_reference_id": None,
        "currency": "czk",
        "customer": "cus_R1aBcDeFgHiJkL",
        "customer_details": {
            "address": {"city": "Praha", "country": "CZ", "line1": "Varšavská 11", "postal_code": "12000"},
            "email": "eva.novakova@example.cz",
            "name": "Eva Nováková",
            "phone": "+420603987654",
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "livemode": True,
        "metadata": dict(BOOKING_METADATA),
        "mode": "payment",
        "payment_intent": intent_id,
        "payment_link": None,
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "status": "complete",
        "url": None,
    }
    session.update(changes)
    return session


PHYSIO_METADATA = dict(BOOKING_METADATA, title="Physio session (paid)")


def payment_intent(
    *, intent_id: str = INTENT_DIRECT, metadata: dict[str, str] | None = PHYSIO_METADATA, **changes: Any
) -> dict[str, Any]:
    """A PaymentIntent as `payment_intent.succeeded` carries it (`metadata=None` is Stripe's null)."""
    intent: dict[str, Any] = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": 90000,
        "amount_received": 90000,
        "currency": "czk",
        "customer": None,
        "latest_charge": "ch_3QpLmNoPqRsTuVwX0aBcDeF4",
        "livemode": True,
        "metadata": None if metadata is None else dict(metadata),
        "receipt_email": "petr.svoboda@example.cz",
        "shipping": None,
        "status": "succeeded",
    }
    intent.update(changes)
    return intent


def stripe_event(
    event_type: str,
    data_object: dict[str, Any],
    *,
    event_id: str = "evt_1QpSample000000000000001",
    livemode: bool = True,
    api_version: str = "2025-09-30.clover",
) -> dict[str, Any]:
    """A snapshot event, as a webhook endpoint receives it (Stripe's Event object)."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": api_version,
        "created": 1795514508,
        "data": {"object": copy.deepcopy(data_object)},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


# --- objects whole, as each API version family renders them -----------------------------------
#
# Source: Stripe's OpenAPI fixtures (github.com/stripe/openapi, openapi/fixtures3.json), one commit
# from the time each family was current, for which fields a Checkout Session and a PaymentIntent
# carry; the values are a real-looking paid booking instead of the fixtures' placeholders. The
# breaking changes between the families touch none of the fields the function reads (`id`,
# `object`, `payment_status`, `payment_intent`, `metadata`, `customer_details.name/email/phone`;
# `receipt_email`, `shipping.name/phone`):
#   acacia  fixture b819eedc (2025-03-20): `shipping_details` on the session, `invoice` on the
#           PaymentIntent.
#   basil   fixture 7e01c9cf (2025-09-20): `shipping_details` moved to `collected_information`
#           (changelog 2025-03-31.basil "Checkout Session removes shipping details"), `invoice`
#           gone from PaymentIntents; `origin_context`, `permissions`, `wallet_options`.
#   clover  fixture c04d8f84 (2026-03-20): `customer_account`, `integration_identifier`,
#           `customer_details.business_name/individual_name`.
#   dahlia  fixture f0758b15 (2026-08-22): `managed_payments`; `ui_mode` values renamed (changelog
#           2026-03-25.dahlia: `hosted` is now `hosted_page`).
# Endive (2026-09-30 on) postdates the stored fixtures; its Checkout and PaymentIntent changes
# remove create parameters (`payment_method_types`), not fields of the objects.
FAMILIES: dict[str, str] = {
    "acacia": "2025-02-24.acacia",
    "basil": "2025-08-27.basil",
    "clover": "2026-02-25.clover",
    "dahlia": "2026-08-26.dahlia",
}
_LATER = {family: list(FAMILIES)[index:] for index, family in enumerate(FAMILIES)}
NO_METADATA: dict[str, str] = {}


def _from(family: str, first: str) -> bool:
    """True when `family` is `first` or a later one."""
    if family not in FAMILIES:
        raise ValueError(f"unknown API version family {family!r}; one of {', '.join(FAMILIES)}")
    return family in _LATER[first]


def rendered_customer_details(family: str, **changes: Any) -> dict[str, Any]:
    details: dict[str, Any] = {
        "address": {
            "city": "Praha",
            "country": "CZ",
            "line1": "Varšavská 11",
            "line2": None,
            "postal_code": "120 00",
            "state": None,
        },
        "email": "eva.novakova@example.cz",
        "name": "Eva Nováková",
        "phone": "+420603987654",
        "tax_exempt": "none",
        "tax_ids": [],
    }
    if _from(family, "clover"):
        details.update(business_name=None, individual_name=None)
    details.update(changes)
    return details


def rendered_checkout_session(
    family: str,
    *,
    session_id: str = SESSION_PAID,
    intent_id: str | None = INTENT_PAID,
    payment_status: str = "paid",
    metadata: dict[str, str] | None = BOOKING_METADATA,
    **changes: Any,
) -> dict[str, Any]:
    """A completed Checkout Session in payment mode, whole, as `family` renders it."""
    session: dict[str, Any] = {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False} if _from(family, "basil") else None,
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": 90000,
        "amount_total": 90000,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": "https://gymroom.example/booking/cancelled",
        "client_reference_id": None,
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": 1795513908,
        "currency": "czk",
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_creation": "if_required",
        "customer_details": rendered_customer_details(family),
        "customer_email": None,
        "discounts": [],
        "expires_at": 1795600308,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": True,
        "locale": "cs",
        "metadata": None if metadata is None else dict(metadata),
        "mode": "payment",
        "payment_intent": intent_id,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "phone_number_collection": {"enabled": True},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "complete",
        "submit_type": "book",
        "subscription": None,
        "success_url": "https://gymroom.example/booking/thanks",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page" if _from(family, "dahlia") else "hosted",
        "url": None,
    }
    if _from(family, "basil"):
        session["automatic_tax"]["provider"] = None
        collected: dict[str, Any] = {"shipping_details": None}
        if _from(family, "clover"):
            collected.update(business_name=None, individual_name=None)
        session.update(
            collected_information=collected, origin_context=None, permissions=None, wallet_options=None
        )
    else:
        session["shipping_details"] = None
    if _from(family, "clover"):
        session.update(customer_account=None, integration_identifier=None)
    if _from(family, "dahlia"):
        session["managed_payments"] = {"enabled": False}
    session.update(changes)
    return session


def rendered_payment_intent(
    family: str,
    *,
    intent_id: str = INTENT_PAID,
    metadata: dict[str, str] | None = NO_METADATA,
    **changes: Any,
) -> dict[str, Any]:
    """A succeeded PaymentIntent, whole, as `family` renders it (`metadata=None` is Stripe's null).
    Without `metadata`, the one a Checkout Session creates: Checkout copies nothing of the session's
    metadata onto it."""
    intent: dict[str, Any] = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": 90000,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 90000,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{intent_id}_secret_k3Vb8Qw2LmZx7Rt4Yp9Nd1Hc6",
        "confirmation_method": "automatic",
        "created": 1795514400,
        "currency": "czk",
        "customer": None,
        "description": None,
        "last_payment_error": None,
        "latest_charge": "ch_3QpAbCDeFgHiJkLm0xYzWvU9",
        "livemode": True,
        "metadata": None if metadata is None else dict(metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": "pm_1QpAbCDeFgHiJkLmNoPqRsTu",
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }
    if _from(family, "basil"):
        intent["excluded_payment_method_types"] = None
    else:
        intent["invoice"] = None
    if _from(family, "clover"):
        intent["customer_account"] = None
    if _from(family, "dahlia"):
        intent["managed_payments"] = {"enabled": False}
    intent.update(changes)
    return intent


def rendered_event(
    family: str, event_type: str, data_object: dict[str, Any], *, event_id: str, livemode: bool = True
) -> dict[str, Any]:
    """A snapshot event rendered in `family`'s release (`FAMILIES`), as a webhook endpoint pinned to
    that version receives it."""
    return stripe_event(
        event_type, data_object, event_id=event_id, livemode=livemode, api_version=FAMILIES[family]
    )


def thin_event(
    event_type: str = "v1.checkout.session.completed",
    *,
    related_id: str = SESSION_PAID,
    related_type: str = "checkout.session",
    related_url: str | None = None,
    event_id: str = "evt_65SJYFLbcODkA5Zd7rZ16RuKJoESSQUtPVJKIgeI4D2BpA",
    livemode: bool = True,
) -> dict[str, Any]:
    """A thin event, as an event destination with the thin payload style sends it: no `data`, a
    reference to the object instead. Source: Stripe's API reference, "The Event object" (v2,
    `object: "v2.core.event"`, `created` an ISO time, `related_object` with `id`, `type`, `url`,
    `reason`, `context`); v1 resources' thin events are named `v1.<snapshot type>` (changelog
    2026-09-30.endive, "Makes thin events for API v1 resources generally available", which also
    adds `snapshot_event`, the id of the matching snapshot event)."""
    url = related_url if related_url is not None else f"/v1/checkout/sessions/{related_id}"
    return {
        "id": event_id,
        "object": "v2.core.event",
        "context": None,
        "created": "2026-11-24T10:01:48.134Z",
        "livemode": livemode,
        "reason": {
            "type": "request",
            "request": {
                "id": "req_65SJYFLbcODkA5Zd7rZ16RuKJoESSQUtPVJKIgeI4D2Fp",
                "idempotency_key": "5b0c9f3e-8d41-4a6b-9c2e-7f1a3d5e6b80",
            },
        },
        "related_object": {"id": related_id, "type": related_type, "url": url},
        "snapshot_event": "evt_1QpPaid0000000000000001",
        "type": event_type,
    }


def body_bytes(event: dict[str, Any]) -> bytes:
    """As Stripe sends it: pretty-printed JSON with a trailing newline (signatures cover every byte)."""
    return (json.dumps(event, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# --- the sample files in events/ ------------------------------------------------------------

SAMPLE_TIME = 1795514508  # 2026-11-24 10:01:48 UTC, when the stored samples were signed
_FAMILY_IDS = {
    "acacia": (
        "cs_live_a1Ac4c1aPaid00000000000000000000000000000000000000000001",
        "pi_3QpAcaciaPaid000000000A1",
    ),
    "basil": (
        "cs_live_b1Bas1lPaid000000000000000000000000000000000000000000002",
        "pi_3QpBasilPaid0000000000B2",
    ),
    "clover": (
        "cs_live_c1C1overPaid00000000000000000000000000000000000000000003",
        "pi_3QpCloverPaid000000000C3",
    ),
    "dahlia": (
        "cs_live_d1Dahl1aPaid00000000000000000000000000000000000000000004",
        "pi_3QpDahliaPaid000000000D4",
    ),
}


def sample_events() -> dict[str, dict[str, Any]]:
    """The Stripe events `write` puts in `events/`, by file name: a paid Checkout Session per API
    version family (each its own payment and slot, so each books), and a thin event."""
    samples: dict[str, dict[str, Any]] = {}
    for day, (family, (session_id, intent_id)) in enumerate(_FAMILY_IDS.items(), start=7):
        metadata = dict(
            BOOKING_METADATA,
            startTime=f"2026-12-{day:02d}T17:00:00+01:00",
            title=f"Personal training ({family})",
        )
        session = rendered_checkout_session(
            family, session_id=session_id, intent_id=intent_id, metadata=metadata
        )
        event_id = f"evt_1Qp{family.capitalize()}Paid".ljust(28, "0")
        samples[f"stripe-checkout-paid-{family}.json"] = rendered_event(
            family, "checkout.session.completed", session, event_id=event_id
        )
    samples["stripe-thin-event.json"] = thin_event()
    return samples


def api_gateway_event(body: bytes, *, request_id: str, timestamp: int = SAMPLE_TIME) -> dict[str, Any]:
    """An API Gateway HTTP API 2.0 event of Stripe posting `body`, signed at `timestamp` with the
    local secret, with the headers Stripe sends (as the other samples in `events/` have them)."""
    user_agent = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    source_ip = "54.187.174.169"  # one of Stripe's published webhook IP addresses
    host = "abc123defg.execute-api.eu-central-1.amazonaws.com"
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks/stripe",
        "rawPath": "/webhooks/stripe",
        "rawQueryString": "",
        "headers": {
            "accept": "*/*; q=0.5, application/xml",
            "cache-control": "no-cache",
            "content-length": str(len(body)),
            "content-type": "application/json; charset=utf-8",
            "host": host,
            "stripe-signature": signature_header(body, defaults.STRIPE_SECRET, timestamp),
            "user-agent": user_agent,
            "x-amzn-trace-id": "Root=1-6744a2f0-5c1f6e2a5b7d8e9f0a1b2c3d",
            "x-forwarded-for": source_ip,
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123defg",
            "domainName": host,
            "domainPrefix": "abc123defg",
            "http": {
                "method": "POST",
                "path": "/webhooks/stripe",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": "POST /webhooks/stripe",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(timestamp)),
            "timeEpoch": timestamp * 1000,
        },
        "body": body.decode("utf-8"),
        "isBase64Encoded": False,
    }


def write_samples(directory: Path) -> list[Path]:
    written = []
    for number, (name, event) in enumerate(sorted(sample_events().items()), start=5):
        path = directory / name
        api_event = api_gateway_event(body_bytes(event), request_id=f"Jm4d{number}hw3FiAEMjQ=")
        path.write_text(json.dumps(api_event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def _signature_header(headers: dict[str, Any]) -> str | None:
    """The name the Stripe-Signature header has in an event's headers (any case), if any."""
    return next((key for key in headers if key.lower() == "stripe-signature"), None)


def has_stripe_signature(api_event: dict[str, Any]) -> bool:
    return _signature_header(api_event.get("headers") or {}) is not None


def resign_event(
    api_event: dict[str, Any], *, secret: str = defaults.STRIPE_SECRET, now: float | None = None
) -> dict[str, Any]:
    """A copy of an API Gateway event whose Stripe-Signature is made afresh for `now`."""
    resigned = copy.deepcopy(api_event)
    headers = resigned.get("headers") or {}
    name = _signature_header(headers)
    if name is None:
        return resigned
    raw = resigned.get("body") or ""
    body = base64.b64decode(raw) if resigned.get("isBase64Encoded") else raw.encode("utf-8")
    headers[name] = signature_header(body, secret, int(time.time() if now is None else now))
    return resigned


def main(argv: list[str]) -> int:
    """`python -m bookhook_dev.tools.stripe_samples resign|write …`: `bookhook samples resign|write …`."""
    return cli.main(["samples", *argv])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
