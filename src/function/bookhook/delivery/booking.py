"""Exactly-once delivery of a booking, keyed by the sender's own stable id.

The booking key is claimed in DynamoDB through Powertools idempotency before BizKitHub is called,
and the record then says what became of the booking:
- `delivered` (with the eventId): a repeat gets the eventId back and BizKitHub is not called;
- `queued`: BizKitHub was slow, down or rate limiting, so the booking went on the DeliveryQueue;
  a repeat is answered "queued" again and not queued twice; the worker later marks it delivered;
- `rejected`: BizKitHub refused it (a 4xx); a repeat is refused the same way without calling
  BizKitHub again, and the booking is kept (via the queue, in the dead-letter queue) for an operator.
A repeat while the first is still being claimed waits briefly for its result, then gets 409 with
Retry-After. A failure that is neither (no queue configured, the queue itself failing) is not
remembered (Powertools deletes the claim) so the sender's retry starts afresh. The same key with a
different booking is a 422. Records expire after `ttl_days` (at least a week: Stripe retries for
three days).

Ambiguous outcomes: a read timeout or dropped connection after the request was sent may have
created the event. Such a booking is queued like any retryable failure, and every call for it
carries the same `Idempotency-Key` header (derived from the booking key), which BizKitHub may use
to drop the repeat. BizKitHub does not document that header, so a duplicate remains possible in
exactly this case; the README says so and the fault-injection test counts them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    BaseError,
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from bookhook.calendar.event import CalendarEvent
from bookhook.delivery.queue import DeliveryQueue, QueuedBooking
from bookhook.errors import (
    BizKitHubBadResponse,
    BookingConflict,
    BookingInFlight,
    BookingRejected,
    ServiceUnavailable,
    WebhookError,
)
from bookhook.sources import Booking

IN_FLIGHT_RETRY_AFTER_SECONDS = 10
_POLL_INTERVAL_SECONDS = 0.2
KEY_PREFIX = "booking"

AddEvent = Callable[[CalendarEvent, str], str]
"""Creates the event with the given Idempotency-Key header value; returns BizKitHub's eventId."""


def bizkithub_idempotency_key(booking_key: str) -> str:
    return hashlib.sha256(booking_key.encode("utf-8")).hexdigest()[:40]


def idempotency_config(ttl_days: int, **extra: Any) -> IdempotencyConfig:
    """The record layout both the webhook and the worker read and write."""
    return IdempotencyConfig(
        event_key_jmespath="bookingKey",
        payload_validation_jmespath="identity",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=ttl_days * 24 * 3600,
        **extra,
    )


def claim_of(booking_key: str, identity: str) -> dict[str, str]:
    return {"bookingKey": booking_key, "identity": identity}


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # delivered, queued or rejected
    event_id: str | None = None
    duplicate: bool = False  # an earlier request did the work; this one read its record
    upstream_status: int | None = None
    bizkithub_error: str | None = None
    failure_reason: str | None = None  # why this request queued it (BizKitHubKeyRefused, …)


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    # Called by Powertools only when the result comes from the store, not from this request's work.
    del idempotent_data
    return {**response, "duplicate": True}


class BookingDelivery:
    def __init__(
        self,
        *,
        persistence: BasePersistenceLayer,
        add_event: AddEvent,
        ttl_days: int,
        in_flight_wait_seconds: float,
        queue: DeliveryQueue | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = idempotency_config(ttl_days, response_hook=_mark_duplicate)
        self._add_event = add_event
        self._queue = queue
        self._in_flight_wait = in_flight_wait_seconds
        self._sleep = sleep
        self._clock = clock
        self._deliver_once = idempotent_function(
            data_keyword_argument="claim",
            persistence_store=persistence,
            config=self._config,
            key_prefix=KEY_PREFIX,
        )(self._deliver)

    def register_context(self, context: LambdaContext) -> None:
        """Lets an in-progress claim expire with the invocation, so a crash cannot block retries."""
        self._config.register_lambda_context(context)

    def deliver(self, booking: Booking, source: str) -> DeliveryResult:
        claim = claim_of(booking.key, booking.identity())
        deadline = self._clock() + self._in_flight_wait
        while True:
            try:
                result = self._deliver_once(claim=claim, booking=booking, source=source)
                break
            except IdempotencyAlreadyInProgressError:
                if self._clock() >= deadline:
                    raise BookingInFlight(
                        "the same booking is being delivered right now; retry shortly",
                        retry_after=IN_FLIGHT_RETRY_AFTER_SECONDS,
                    ) from None
                self._sleep(_POLL_INTERVAL_SECONDS)
            except IdempotencyValidationError:
                raise BookingConflict(
                    "this booking key was already used for a different booking", field="Idempotency-Key"
                ) from None
            except BaseError as error:
                raise ServiceUnavailable(f"the booking store failed ({type(error).__name__})") from None
        return DeliveryResult(
            status=str(result.get("status", "delivered")),
            event_id=result.get("eventId"),
            duplicate=bool(result.get("duplicate")),
            upstream_status=result.get("upstreamStatus"),
            bizkithub_error=result.get("bizkithubError"),
            failure_reason=None if result.get("duplicate") else result.get("failureReason"),
        )

    def _deliver(self, *, claim: dict[str, str], booking: Booking, source: str) -> dict[str, Any]:
        try:
            return {
                "status": "delivered",
                "eventId": self._add_event(booking.event, bizkithub_idempotency_key(booking.key)),
            }
        except BookingRejected as rejected:
            # Final: remembered, so a retry is refused without calling BizKitHub, and kept for an operator.
            if self._queue is not None:
                self._queue.send(
                    self._message(claim, booking, source, kind="keep", failure=failure_of(rejected))
                )
            return {
                "status": "rejected",
                "upstreamStatus": rejected.upstream_status,
                "bizkithubError": rejected.upstream_code,
            }
        except (ServiceUnavailable, BizKitHubBadResponse) as unavailable:
            # BizKitHub down, slow, rate limiting or refusing our key, or the key unreadable: all can
            # be fixed without the sender, so the booking waits on the queue.
            if self._queue is None:
                raise  # nowhere to keep it: the sender must retry
            self._queue.send(
                self._message(claim, booking, source, kind="deliver", failure=failure_of(unavailable))
            )
            return {"status": "queued", "failureReason": type(unavailable).__name__}

    def keep_unmappable(
        self, source: str, body: bytes, headers: Mapping[str, str], error: WebhookError
    ) -> None:
        """Keep a verified webhook that could not be mapped, raw, with the reason, for a replay once the
        rules or metadata are fixed. Without a queue there is nowhere to keep it (the sender's 422 stands)."""
        if self._queue is not None:
            reason = {"reason": error.code, "field": error.field, "message": error.message}
            self._queue.send(
                QueuedBooking.unmappable(source=source, body=body, headers=dict(headers), reason=reason)
            )

    @staticmethod
    def _message(
        claim: dict[str, str],
        booking: Booking,
        source: str,
        *,
        kind: Literal["deliver", "keep"],
        failure: dict[str, Any],
    ) -> QueuedBooking:
        return QueuedBooking(
            kind=kind,
            source=source,
            booking_key=claim["bookingKey"],
            identity=claim["identity"],
            event=booking.event.wire_event(),
            attempts=1,
            failure=failure,
        )


def failure_of(error: Exception) -> dict[str, Any]:
    """Why a delivery failed, for the queue and the dead-letter queue: status and code, no secrets."""
    return {
        "reason": type(error).__name__,
        "status": getattr(error, "upstream_status", None),
        "bizkithubError": getattr(error, "upstream_code", None),
        "retryAfter": getattr(error, "retry_after", None),
    }
