"""What happens to one webhook, sender-agnostic: authenticate, map, deliver exactly once.

Errors are raised as typed `WebhookError`s and become HTTP responses in the handler; this module
knows no HTTP framework and no sender format.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bookhook.deadline import Deadline
from bookhook.delivery.booking import BookingDelivery, DeliveryResult
from bookhook.errors import BookingRejected, PaidNotBooked, Unmappable
from bookhook.request import WebhookRequest
from bookhook.secrets import SecretStore, SenderSecretsMalformed
from bookhook.settings import WebhookSettings
from bookhook.sources import Booking, Ignored, UnbookedHalf, WebhookSource

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: int
    kind: str  # delivered, duplicate, queued, ignored or rejected
    body: dict[str, Any]
    booking_key: str | None = field(default=None, repr=False)
    delivery: DeliveryResult | None = None  # what the delivery did, for metrics and logs


@dataclass(frozen=True)
class Services:
    settings: WebhookSettings
    secrets: SecretStore
    delivery: BookingDelivery
    sources: Mapping[str, WebhookSource]


def accept_webhook(
    source: WebhookSource, request: WebhookRequest, services: Services, deadline: Deadline
) -> Outcome:
    source.authenticate(request, _sender_secrets(source, services.secrets))
    try:
        result = source.read_booking(request)
    except Unmappable as error:
        # Authentic but unusable as it stands: kept (raw, with the reason) for a replay after the fix.
        services.delivery.keep_unmappable(source.name, request.body, request.headers, error)
        raise
    if isinstance(result, Ignored):
        return Outcome(status=200, kind="ignored", body={"status": "ignored", "reason": result.reason})
    if isinstance(result, UnbookedHalf):
        if services.delivery.note_unbooked_half(result, deadline) < {"session", "intent"}:
            # The other half may yet book it: acknowledged, and noted.
            return Outcome(status=200, kind="ignored", body={"status": "ignored", "reason": result.reason})
        # Both halves of the payment came without booking details: the customer paid and nothing
        # books it. Refused where the sender shows it, kept for a replay, alarmed on.
        paid = PaidNotBooked(result.missing, field="metadata")
        services.delivery.keep_unmappable(source.name, request.body, request.headers, paid)
        raise paid
    return deliver_booking(source, result, services.delivery, deadline)


def _sender_secrets(source: WebhookSource, store: SecretStore) -> list[str]:
    """This sender's secrets. Only this sender's entry is checked here: a malformed entry for another
    sender, or a malformed BizKitHub key (checked when it is used), does not stop this one."""
    try:
        return store.current().sender_secrets(source.name)
    except SenderSecretsMalformed as error:
        # The sender is told only that its credentials are misconfigured (503, it retries); the operator
        # learns here which field is wrong and how, never its value.
        _log.error(
            "a sender's entry in the booking secret is malformed: its webhooks are refused until it is fixed",
            extra={"source": error.source, "secret_field": error.secret_field, "problem": error.problem},
        )
        raise


def deliver_booking(
    source: WebhookSource, booking: Booking, delivery: BookingDelivery, deadline: Deadline
) -> Outcome:
    """What the sender is told, from what the delivery did: the one place that decides it."""
    result = delivery.deliver(booking, source.name, deadline)
    if result.status in ("queued", "dead_lettered"):
        # Accepted: on the delivery queue (or, after every try failed, in the dead-letter queue for an
        # operator to replay); repeats are answered alike and never queued twice.
        return Outcome(
            status=202,
            kind="queued",
            body={"status": result.status},
            booking_key=booking.key,
            delivery=result,
        )
    if result.status == "rejected":
        if not source.acknowledge_rejections:
            raise BookingRejected(
                "BizKitHub rejected the event",
                upstream_status=result.upstream_status or 422,
                upstream_code=result.bizkithub_error,
            )
        body = {"status": "rejected", "reason": "BizKitHub rejected the event; retrying will not help"}
        if result.bizkithub_error:
            body["bizkithubError"] = result.bizkithub_error
        return Outcome(status=200, kind="rejected", body=body, booking_key=booking.key, delivery=result)
    kind = "duplicate" if result.duplicate else "delivered"
    # Any 2xx from BizKitHub means the event exists; when it named no eventId, none is invented.
    delivered: dict[str, Any] = {"status": kind}
    if result.event_id is not None:
        delivered["eventId"] = result.event_id
    return Outcome(status=200, kind=kind, body=delivered, booking_key=booking.key, delivery=result)
