"""Exactly-once delivery of a booking from the webhook, keyed by the sender's own stable id.

The booking record (`delivery.records`) is claimed before BizKitHub is called, and what the call
came to decides the record and the sender's answer:
- created (any 2xx): the eventId is recorded (tried again within the time left); if the record
  cannot be written, the eventId goes on the queue as a "record" message; either way the sender is
  told 200, never a 5xx that would make it send the booking again;
- rejected: kept on the queue for an operator, recorded as final; a repeat is refused alike
  without calling BizKitHub;
- anything else (BizKitHub slow, down, rate limiting, refusing our key; the key unreadable): the
  booking goes on the queue, after BizKitHub's Retry-After when it gave one, and the sender is told
  202. The message is sent *before* the record says "queued" and names this request's lease, so the
  worker may start at once and a late "queued" write can never hide its result.
With pacing (`delivery.pacing`), the claim is followed by a look at BizKitHub's rate limit: while
its Retry-After runs, or when the slot the window leaves is not near, BizKitHub is not called and the
booking goes on the queue until then (202), taking its reserved slot with it; with no queue, the
sender is told 503 with that Retry-After. After a call, what its headers said is taken in.
A repeat finds the record: delivered (200 with the eventId), rejected, queued or dead-lettered
(202), or in flight, when it waits briefly for the result: then, if the worker holds it, it is
accepted (202); if another webhook request does, it gets 409 with Retry-After. 503 only when the booking is
neither created nor on the queue (no queue configured, or the queue failing): the claim is released
and the sender's retry starts afresh. The same key with a different booking is a 422.

Ambiguous outcomes: a read timeout or dropped connection after the request was sent may have
created the event. Such a booking is queued like any retryable failure, and every call for it
carries the same `Idempotency-Key` header (derived from the booking key), which BizKitHub may use
to drop the repeat. BizKitHub does not document that header, so a duplicate remains possible in
exactly this case; the README says so and the fault-injection test counts them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bookhook.calendar.event import CalendarEvent
from bookhook.calendar.outcomes import (
    AddEventOutcome,
    Created,
    KeyRefused,
    RateLimited,
    Rejected,
    reason_of,
    retry_after_of,
    unknown_code,
)
from bookhook.deadline import AWS_CALL_WORST_SECONDS, Deadline
from bookhook.delivery.pacing import Later, Pacer, queue_delay
from bookhook.delivery.queue import DeliveryQueue, QueuedBooking
from bookhook.delivery.records import BookingRecord, BookingRecords, BookingStoreUnavailable, fingerprint_of
from bookhook.errors import (
    BizKitHubKeyRefused,
    BizKitHubUnavailable,
    BookingConflict,
    BookingInFlight,
    ServiceUnavailable,
    WebhookError,
)
from bookhook.secrets import API_KEY_FIELD
from bookhook.sources import Booking, UnbookedHalf

IN_FLIGHT_RETRY_AFTER_SECONDS = 10
_POLL_INTERVAL_SECONDS = 0.2
# Kept back from the BizKitHub call for what must follow it: recording the eventId and, if that
# fails, queueing it (or queueing the booking, then recording that): two AWS calls.
_AFTER_CALL_RESERVE_SECONDS = 2 * AWS_CALL_WORST_SECONDS
_MIN_CALL_SECONDS = 1.0
# Before a claim is written: the write itself and a short call (the reserve is checked once the
# claim is held, when what the write took is known).
_CLAIM_NEEDS_SECONDS = AWS_CALL_WORST_SECONDS + _MIN_CALL_SECONDS
_RECORD_TRIES = 3
_RECORD_BACKOFF_SECONDS = 0.1
# Under pacing, the webhook calls only when its slot has come; any later slot goes on the queue with
# the booking (202). Waiting here would hold the sender (and a Lambda container) for the slot.
_MAX_SLOT_WAIT_SECONDS = 0.0
_log = logging.getLogger(__name__)


class AddEvent(Protocol):
    def __call__(
        self, event: CalendarEvent, idempotency_key: str | None = None, *, deadline: float | None = None
    ) -> AddEventOutcome: ...


def bizkithub_idempotency_key(booking_key: str) -> str:
    return hashlib.sha256(booking_key.encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True)
class DeliveryResult:
    status: Literal["delivered", "queued", "dead_lettered", "rejected"]
    event_id: str | None = None
    duplicate: bool = False  # an earlier request did the work; this one read its record
    upstream_status: int | None = None
    bizkithub_error: str | None = None
    failure_reason: str | None = None  # why this request queued it (KeyRefused, Unavailable, …)
    unknown_code: str | None = None  # an error code BizKitHub gave that we do not know
    event_id_unknown: bool = False  # this request got a 2xx without a usable eventId
    unrecorded: bool = False  # this request got an eventId the record could not take in time
    calls_avoided: bool = False  # queued by pacing without calling BizKitHub
    paused_seconds: float = 0.0  # how much this request's 429 added to the shared pause


class BookingDelivery:
    def __init__(
        self,
        *,
        records: BookingRecords,
        add_event: AddEvent,
        in_flight_wait_seconds: float,
        lease_seconds: float,
        queue: DeliveryQueue | None = None,
        pacer: Pacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._records = records
        self._pacer = pacer
        self._add_event = add_event
        self._queue = queue
        self._in_flight_wait = in_flight_wait_seconds
        self._lease_seconds = lease_seconds
        self._sleep = sleep

    def deliver(self, booking: Booking, source: str, deadline: Deadline) -> DeliveryResult:
        fingerprint = fingerprint_of(booking.identity())
        owner = f"webhook:{uuid.uuid4().hex}"
        existing = self._claim(booking.key, fingerprint, owner, deadline)
        if existing is not None:
            return _answer_from(existing)
        if self._pacer is not None:
            decision = self._pacer.before_call(
                reserved=None,
                max_wait=_MAX_SLOT_WAIT_SECONDS,
                deadline=deadline,
                call_needs=_MIN_CALL_SECONDS + _AFTER_CALL_RESERVE_SECONDS,
                queue_needs=_AFTER_CALL_RESERVE_SECONDS,  # the message, then "queued"
                can_queue=self._queue is not None,
            )
            if isinstance(decision, Later):
                return self._wait_for_slot(booking, source, owner, decision, deadline)
        outcome = self._add_event(
            booking.event,
            bizkithub_idempotency_key(booking.key),
            deadline=deadline.less(_AFTER_CALL_RESERVE_SECONDS).at,
        )
        paused = 0.0
        try:
            if isinstance(outcome, Created):
                result = self._created(booking, source, fingerprint, outcome, deadline)
            elif isinstance(outcome, Rejected):
                result = self._rejected(booking, source, owner, outcome, deadline)
            else:
                result = self._hand_off(booking, source, owner, outcome, deadline)
        finally:
            if self._pacer is not None:
                # After the booking is settled, even if that raised (no queue: a 503): what the
                # answer said (a 429 above all) is advice for every later call; the booking first.
                paused = self._pacer.after_call(outcome, deadline=deadline)
        return dataclasses.replace(result, paused_seconds=paused)

    def _claim(self, key: str, fingerprint: str, owner: str, deadline: Deadline) -> BookingRecord | None:
        """None once this request holds the booking with time left to call and settle; else the
        record that answers the repeat."""
        existing = self._claim_or_wait(key, fingerprint, owner, deadline)
        if existing is None and not deadline.allows(_MIN_CALL_SECONDS + _AFTER_CALL_RESERVE_SECONDS):
            # The claim took the time the call needed: nothing sent, the sender retries.
            self._release(key, owner, deadline)
            raise _no_time()
        return existing

    def _claim_or_wait(
        self, key: str, fingerprint: str, owner: str, deadline: Deadline
    ) -> BookingRecord | None:
        if not deadline.allows(_CLAIM_NEEDS_SECONDS):
            raise _no_time()
        waited_until = deadline.clock() + min(self._in_flight_wait, deadline.remaining() / 2)
        record = self._records.claim(key, fingerprint, owner, self._lease_seconds)
        while record is not None:
            if not record.matches(fingerprint):
                raise BookingConflict(
                    "this booking key was already used for a different booking", field="Idempotency-Key"
                )
            if not record.lease_live(self._records.now_ms()):
                if record.state != "claimed":
                    return record  # delivered, rejected, or on the queue (where the worker has it)
                # A first try that died: take it over (the call repeats the same Idempotency-Key).
                if not deadline.allows(_CLAIM_NEEDS_SECONDS):
                    raise ServiceUnavailable(
                        "not enough time left to deliver the booking; retry", retry_after=5
                    )
                record = self._records.take_over(key, record, owner, self._lease_seconds)
                continue
            # Another poll may be followed by a claim: it needs the time of both.
            if deadline.clock() >= waited_until or not deadline.allows(
                AWS_CALL_WORST_SECONDS + _CLAIM_NEEDS_SECONDS
            ):
                if record.state == "delivering":
                    return record  # the worker has it, from the queue: accepted (202)
                raise BookingInFlight(
                    "the same booking is being delivered right now; retry shortly",
                    retry_after=IN_FLIGHT_RETRY_AFTER_SECONDS,
                )
            self._sleep(_POLL_INTERVAL_SECONDS)
            record = self._records.get(key)
            if record is None:  # released by its holder: claim it afresh
                record = self._records.claim(key, fingerprint, owner, self._lease_seconds)
        return None

    def _created(
        self, booking: Booking, source: str, fingerprint: str, created: Created, deadline: Deadline
    ) -> DeliveryResult:
        """The event exists: record it, or carry it on the queue; the sender hears 200 either way."""
        for tries in range(_RECORD_TRIES):
            if not deadline.allows(AWS_CALL_WORST_SECONDS + _RECORD_BACKOFF_SECONDS * tries):
                break
            self._sleep(_RECORD_BACKOFF_SECONDS * tries)
            try:
                record = self._records.record_delivered(booking.key, fingerprint, created.event_id)
            except BookingStoreUnavailable:
                continue
            if record.state != "delivered" or record.event_id != created.event_id:
                # A final state was there first: ours is a second event for this booking (or one
                # created after a rejection). The record keeps the first; the sender hears of ours.
                _log.error("an event was created for a booking already settled", extra={"source": source})
            return DeliveryResult(
                status="delivered", event_id=created.event_id, event_id_unknown=created.event_id is None
            )
        try:
            self._send(_message(booking, source, kind="record", event_id=created.event_id), deadline=deadline)
            carried = True
        except ServiceUnavailable:
            carried = False
        _log.error(
            "the eventId could not be recorded",
            extra={"source": source, "carried_on_queue": carried},
        )
        return DeliveryResult(
            status="delivered",
            event_id=created.event_id,
            event_id_unknown=created.event_id is None,
            unrecorded=True,
        )

    def _rejected(
        self, booking: Booking, source: str, owner: str, rejected: Rejected, deadline: Deadline
    ) -> DeliveryResult:
        # Final: kept for an operator first (a refusal created nothing, so if it cannot be kept the
        # sender retries), then remembered, so a repeat is refused without calling BizKitHub.
        # Without a queue there is nowhere to keep it: the sender's own answer must do.
        if self._queue is not None:
            keep = _message(booking, source, kind="keep", failure=failure_of(rejected))
            self._send_or_release(keep, booking.key, owner, deadline)
        if deadline.allows(AWS_CALL_WORST_SECONDS):
            try:
                self._records.record_rejected(
                    booking.key, owner, upstream_status=rejected.status, code=rejected.code
                )
            except BookingStoreUnavailable:
                _log.warning("the rejection could not be recorded", extra={"source": source})
        return DeliveryResult(
            status="rejected",
            upstream_status=rejected.status,
            bizkithub_error=rejected.code,
            unknown_code=unknown_code(rejected),
        )

    def _hand_off(
        self, booking: Booking, source: str, owner: str, outcome: AddEventOutcome, deadline: Deadline
    ) -> DeliveryResult:
        """Not created and not refused: the booking waits on the queue, no sooner than BizKitHub asked."""
        reason = reason_of(outcome)
        retry_after = retry_after_of(outcome)
        if self._queue is None:
            self._release(booking.key, owner, deadline)
            if isinstance(outcome, KeyRefused):
                raise BizKitHubKeyRefused(
                    "BizKitHub refused the API key from the booking secret"
                    if outcome.status is not None
                    else f"the booking secret's {API_KEY_FIELD} is unreadable or not a BizKitHub API key"
                )
            raise BizKitHubUnavailable(
                f"BizKitHub could not take the booking now ({reason}); retry later",
                upstream_status=getattr(outcome, "status", None),
                upstream_code=getattr(outcome, "code", None),
                retry_after=retry_after,
            )
        message = _message(booking, source, kind="deliver", failure=failure_of(outcome), handed_off_by=owner)
        if isinstance(outcome, RateLimited) and retry_after:
            # The worker waits out the rest, if BizKitHub asked for longer than one SQS delay.
            now = time.time()
            message = message.model_copy(update={"not_before": now + retry_after, "rate_limited_since": now})
        self._send_or_release(message, booking.key, owner, deadline, delay_seconds=retry_after or 0)
        if deadline.allows(AWS_CALL_WORST_SECONDS):
            # If this fails, the message names this lease, so the worker can take it over anyway.
            with contextlib.suppress(BookingStoreUnavailable):
                self._records.record_queued(booking.key, owner, reason=reason)
        return DeliveryResult(status="queued", failure_reason=reason, unknown_code=unknown_code(outcome))

    def _wait_for_slot(
        self, booking: Booking, source: str, owner: str, later: Later, deadline: Deadline
    ) -> DeliveryResult:
        """Pacing: BizKitHub is not called now. The booking waits on the queue until its slot (or
        the pause's end), taking its reserved slot with it; a wasted request is avoided."""
        reason = "Paused" if later.paused else "Paced"
        now = time.time()
        if self._queue is None:
            self._release(booking.key, owner, deadline)
            raise BizKitHubUnavailable(
                "BizKitHub's rate limit is spent for now; retry later",
                retry_after=max(1, math.ceil(later.until - now)),
            )
        message = _message(booking, source, kind="deliver", failure={"reason": reason}, handed_off_by=owner)
        waiting = message.model_copy(
            update={"not_before": later.until, "rate_limited_since": now, "paced_slot": later.slot}
        )
        self._send_or_release(waiting, booking.key, owner, deadline, delay_seconds=queue_delay(later, now))
        if deadline.allows(AWS_CALL_WORST_SECONDS):
            with contextlib.suppress(BookingStoreUnavailable):
                self._records.record_queued(booking.key, owner, reason=reason)
        return DeliveryResult(status="queued", failure_reason=reason, calls_avoided=True)

    def _send_or_release(
        self, message: QueuedBooking, key: str, owner: str, deadline: Deadline, *, delay_seconds: int = 0
    ) -> None:
        try:
            self._send(message, delay_seconds=delay_seconds, deadline=deadline)
        except ServiceUnavailable:
            self._release(key, owner, deadline)
            raise

    def _send(self, message: QueuedBooking, *, deadline: Deadline, delay_seconds: int = 0) -> None:
        if self._queue is None:
            raise ServiceUnavailable("no delivery queue is configured")
        if not deadline.allows(AWS_CALL_WORST_SECONDS):
            raise ServiceUnavailable("not enough time left to queue the booking; retry", retry_after=5)
        self._queue.send(message, delay_seconds=delay_seconds)

    def _release(self, key: str, owner: str, deadline: Deadline) -> None:
        """Let the sender's retry start afresh; if even that cannot be written, the lease expires."""
        if deadline.allows(AWS_CALL_WORST_SECONDS):
            with contextlib.suppress(BookingStoreUnavailable):
                self._records.release(key, owner)

    def note_unbooked_half(self, half: UnbookedHalf, deadline: Deadline) -> frozenset[str]:
        """Every half of this payment noted so far as carrying no booking details, this one included.
        Needs the time of the note and of keeping the webhook after it (when both halves are in)."""
        if not deadline.allows(2 * AWS_CALL_WORST_SECONDS):
            raise _no_time()
        return self._records.note_unbooked_half(half.payment_key, half.half)

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


def _no_time() -> ServiceUnavailable:
    return ServiceUnavailable("not enough time left to deliver the booking; retry", retry_after=5)


def _answer_from(record: BookingRecord) -> DeliveryResult:
    """A repeat's answer, read from the record an earlier request wrote."""
    if record.state == "delivered":
        return DeliveryResult(status="delivered", event_id=record.event_id, duplicate=True)
    if record.state == "rejected":
        return DeliveryResult(
            status="rejected",
            duplicate=True,
            upstream_status=record.upstream_status,
            bizkithub_error=record.bizkithub_code,
        )
    # Queued, being delivered by the worker, or dead-lettered for an operator: accepted either way.
    return DeliveryResult(
        status="dead_lettered" if record.state == "dead_lettered" else "queued", duplicate=True
    )


def _message(
    booking: Booking,
    source: str,
    *,
    kind: Literal["deliver", "record", "keep"],
    failure: dict[str, Any] | None = None,
    event_id: str | None = None,
    handed_off_by: str | None = None,
) -> QueuedBooking:
    return QueuedBooking(
        kind=kind,
        source=source,
        booking_key=booking.key,
        identity=booking.identity(),
        event=booking.event.wire_event(),
        attempts=1,
        failure=failure,
        event_id=event_id,
        handed_off_by=handed_off_by,
    )


def failure_of(outcome: AddEventOutcome) -> dict[str, Any]:
    """Why a delivery failed, for the queue and the dead-letter queue: status and code, no secrets."""
    return {
        "reason": reason_of(outcome),
        "status": getattr(outcome, "status", None),
        "bizkithubError": getattr(outcome, "code", None),
        "retryAfter": retry_after_of(outcome),
    }
