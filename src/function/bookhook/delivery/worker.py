"""The delivery worker: takes bookings off the DeliveryQueue and delivers each once.

For each message:
- `keep` (a rejection or an unmappable webhook the webhook function kept): moved to the
  DeadLetterQueue as it is, reason included.
- `deliver`: skipped if the booking record already says delivered (a replay, or SQS delivering a
  message twice); else BizKitHub is called. Delivered: the record is marked delivered with the
  eventId, so the sender's later retries get it. Rejected: to the DeadLetterQueue at once, the
  record marked rejected. Still unavailable: back on the queue with a delay (capped exponential
  backoff with full jitter, or BizKitHub's Retry-After when longer, within the cap), never a sleep
  in the function; after `max_attempts` tries, to the DeadLetterQueue with the reason.
A failure of our own (the queue or the table unreachable) raises, so the batch reports the message
as failed and SQS offers it again after the visibility timeout.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemNotFoundError,
    IdempotencyValidationError,
)

from bookhook.calendar.event import CalendarEvent
from bookhook.delivery.booking import (
    KEY_PREFIX,
    AddEvent,
    bizkithub_idempotency_key,
    claim_of,
    failure_of,
    idempotency_config,
)
from bookhook.delivery.queue import DeliveryQueue, QueuedBooking
from bookhook.errors import BizKitHubBadResponse, BookingRejected, ServiceUnavailable


class DeliveryWorker:
    def __init__(
        self,
        *,
        persistence: BasePersistenceLayer,
        add_event: AddEvent,
        delivery_queue: DeliveryQueue,
        dead_letter_queue: DeliveryQueue,
        ttl_days: int,
        max_attempts: int,
        backoff_base_seconds: float,
        backoff_cap_seconds: float,
        jitter: Callable[[float], float] = lambda ceiling: random.uniform(0, ceiling),  # noqa: S311 - not crypto
    ) -> None:
        persistence.configure(idempotency_config(ttl_days), key_prefix=KEY_PREFIX)
        self._persistence = persistence
        self._add_event = add_event
        self._delivery_queue = delivery_queue
        self._dead_letter_queue = dead_letter_queue
        self._max_attempts = max_attempts
        self._base = backoff_base_seconds
        self._cap = backoff_cap_seconds
        self._jitter = jitter

    def process(self, message: QueuedBooking) -> tuple[str, str | None]:
        """Handle one message; returns what happened (a metric name suffix) and, when BizKitHub
        failed this try, why (the failure's type name)."""
        key, identity, wire_event = message.booking_key, message.identity, message.event
        if message.kind == "keep" or key is None or identity is None or wire_event is None:
            self._dead_letter_queue.send(message)
            return "Kept", None
        if message.dead_lettered:  # redriven from the dead-letter queue by an operator: start afresh
            message = message.model_copy(update={"attempts": 0, "dead_lettered": False})
        claim = claim_of(key, identity)
        if self._already_delivered(claim):
            return "AlreadyDelivered", None
        tries = message.attempts + 1
        try:
            event = CalendarEvent.model_validate(wire_event)
            event_id = self._add_event(event, bizkithub_idempotency_key(key))
        except BookingRejected as rejected:
            failure = failure_of(rejected) | {"attempts": tries}
            self._dead_letter_queue.send(
                message.model_copy(update={"attempts": tries, "failure": failure, "dead_lettered": True})
            )
            self._persistence.save_success(
                claim,
                {
                    "status": "rejected",
                    "upstreamStatus": rejected.upstream_status,
                    "bizkithubError": rejected.upstream_code,
                },
            )
            return "Rejected", failure["reason"]
        except (ServiceUnavailable, BizKitHubBadResponse) as unavailable:
            failure = failure_of(unavailable) | {"attempts": tries}
            retried = message.model_copy(update={"attempts": tries, "failure": failure})
            if tries >= self._max_attempts:
                self._dead_letter_queue.send(retried.model_copy(update={"dead_lettered": True}))
                self._persistence.save_success(claim, {"status": "dead_lettered"})
                return "DeadLettered", failure["reason"]
            self._delivery_queue.send(
                retried, delay_seconds=self.delay_before_next_try(tries, failure.get("retryAfter"))
            )
            return "Retried", failure["reason"]
        self._persistence.save_success(claim, {"status": "delivered", "eventId": event_id})
        return "DeliveredLate", None

    def delay_before_next_try(self, tries: int, retry_after: Any) -> int:
        backoff = self._jitter(min(self._cap, self._base * 2 ** (tries - 1)))
        asked = min(float(retry_after), self._cap) if isinstance(retry_after, int | float) else 0.0
        return round(max(backoff, asked))

    def _already_delivered(self, claim: dict[str, str]) -> bool:
        try:
            record = self._persistence.get_record(claim)
        except IdempotencyItemNotFoundError:
            return False
        except IdempotencyValidationError:
            return False  # the key was reused for another booking; deliver this one as queued
        data = (record.response_json_as_dict() if record is not None else None) or {}
        return data.get("status") == "delivered" or "eventId" in data
