"""Stripe sample events: builders for tests, and re-signing of `events/` files.

Stripe signs a timestamp, and the function refuses signatures older (or newer) than 300 s, so a
stored sample cannot stay valid. The local runner and the tests re-sign each Stripe event file
with `bookhook_dev.defaults.STRIPE_SECRET` at the moment they send it. Before
`sam local invoke -e events/stripe-….json`, refresh the files the same way:

    PYTHONPATH=src/function:src .venv/bin/python -m bookhook_dev.stripe_samples resign events/stripe-*.json
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
from bookhook_dev import defaults

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


def payment_intent(
    *, intent_id: str = INTENT_DIRECT, metadata: dict[str, str] | None = None, **changes: Any
) -> dict[str, Any]:
    intent: dict[str, Any] = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": 90000,
        "amount_received": 90000,
        "currency": "czk",
        "customer": None,
        "latest_charge": "ch_3QpLmNoPqRsTuVwX0aBcDeF4",
        "livemode": True,
        "metadata": dict(BOOKING_METADATA, title="Physio session (paid)") if metadata is None else metadata,
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
) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": 1795514508,
        "data": {"object": copy.deepcopy(data_object)},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def body_bytes(event: dict[str, Any]) -> bytes:
    """As Stripe sends it: pretty-printed JSON with a trailing newline (signatures cover every byte)."""
    return (json.dumps(event, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def resign_event(
    api_event: dict[str, Any], *, secret: str = defaults.STRIPE_SECRET, now: float | None = None
) -> dict[str, Any]:
    """A copy of an API Gateway event whose Stripe-Signature is made afresh for `now`."""
    resigned = copy.deepcopy(api_event)
    headers = resigned.get("headers") or {}
    name = next((key for key in headers if key.lower() == "stripe-signature"), None)
    if name is None:
        return resigned
    raw = resigned.get("body") or ""
    body = base64.b64decode(raw) if resigned.get("isBase64Encoded") else raw.encode("utf-8")
    headers[name] = signature_header(body, secret, int(time.time() if now is None else now))
    return resigned


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "resign":
        print(__doc__)
        return 2
    for path in map(Path, argv[1:]):
        event = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(
            json.dumps(resign_event(event), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"re-signed {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
