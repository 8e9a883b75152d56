"""Typeform (`form_response` webhooks), mapped to calendar events by per-form booking rules.

Authentication: `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>` with the
webhook's secret, checked in constant time on the exact bytes received. Up to two secrets are
accepted at once so one can be rotated without downtime. Typeform signs no timestamp: a replayed
response is stopped by the booking key, the response `token`.

Typeform disables a webhook that answers 404 or 410, so nothing here raises an error with either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from bookhook.errors import Unauthenticated
from bookhook.request import WebhookRequest
from bookhook.sources import Booking, Ignored, WebhookSource
from bookhook.sources.typeform.mapping import read_booking
from bookhook.sources.typeform.rules import BookingRules

NAME = "typeform"
SIGNATURE_HEADER = "typeform-signature"

__all__ = ["NAME", "authenticate", "expected_signature", "read_booking", "source"]


def expected_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


def authenticate(request: WebhookRequest, secrets: Sequence[str]) -> None:
    header = request.header(SIGNATURE_HEADER)
    if not header:
        raise Unauthenticated("missing Typeform-Signature header", field="Typeform-Signature")
    presented = header.strip().encode("utf-8")
    matched = False
    for secret in secrets:  # every secret is tried, so timing does not tell which one matched
        matched |= hmac.compare_digest(presented, expected_signature(secret, request.body).encode("ascii"))
    if not matched:  # also when no secret is configured: fail closed
        raise Unauthenticated("invalid signature", field="Typeform-Signature")


def source(rules: BookingRules, *, phone_region: str | None = None) -> WebhookSource:
    def read(request: WebhookRequest) -> Booking | Ignored:
        return read_booking(request, rules, phone_region=phone_region)

    return WebhookSource(name=NAME, authenticate=authenticate, read_booking=read)
