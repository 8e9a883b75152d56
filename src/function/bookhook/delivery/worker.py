"""The delivery worker: takes bookings off the DeliveryQueue and delivers each once.

For each message:
- `keep` (a rejection or an unmappable webhook the webhook function kept): moved to the
  DeadLetterQueue as it is, reason included.
- `record` (an eventId the webhook could not record in time): recorded; BizKitHub is not called.
- `deliver`: the event is re-validated (a message that fails goes to the DeadLetterQueue with the
  failing field names, never their values), then the booking's lease is taken with a conditional
  write *before* BizKitHub is called, so a second copy of the message (SQS delivers at least once)
  or a sender's retry cannot call while this one does. A booking already delivered, rejected or
  dead-lettered is dropped (a replay reopens a dead-lettered one); one recorded with another booking
  under the same key goes to the DeadLetterQueue (`booking_key_conflict`); one whose lease another
  holder has is handed back to SQS, which offers it again after
  the visibility timeout (longer than any lease), when the holder's result is in the record.
  Then, by outcome: created: the eventId recorded (or, if that fails, carried on the queue as a
  `record` message); rejected: to the DeadLetterQueue, recorded as final; anything else: back on the
  queue with a delay (capped exponential backoff with full jitter, or BizKitHub's Retry-After when
  longer, within the cap), never a sleep in the function; after `max_attempts` tries, to the
  DeadLetterQueue with the reason.
Rate limiting is not a failure: a 429 counts no try, and the booking waits as long as BizKitHub
asked, in as many SQS delays as that takes (`not_before`), dead-lettered only after waiting longer
than `rate_limit_max_wait_seconds` in all (`rate_limited_too_long`). With pacing (`delivery.pacing`),
before the lease: a booking whose slot is near waits for it here; one whose slot is further off, or
that arrives during a pause, goes back on the queue until then, uncalled and unleased.
A failure of our own before BizKitHub was called (the table or the queue unreachable) raises, so the
batch reports the message as failed and SQS offers it again after the visibility timeout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bookhook.calendar.event import CalendarEvent
from bookhook.calendar.outcomes import (
    AddEventOutcome,
    Created,
    RateLimited,
    Rejected,
    reason_of,
    retry_after_of,
    unknown_code,
)
from bookhook.deadline import AWS_CALL_WORST_SECONDS, Deadline
from bookhook.delivery.booking import AddEvent, bizkithub_idempotency_key, failure_of
from bookhook.delivery.pacing import DEFAULT_PAUSE_SECONDS, Later, Pacer, queue_delay
from bookhook.delivery.queue import DeliveryQueue, QueuedBooking, field_names
from bookhook.delivery.records import BookingRecord, BookingRecords, BookingStoreUnavailable, fingerprint_of
from bookhook.errors import ServiceUnavailable

_log = logging.getLogger(__name__)
_RECORD_TRIES = 3
# What a message needs after pacing let it through: the lease, a short call, the writes after it.
CALL_NEEDS_SECONDS = AWS_CALL_WORST_SECONDS * 3 + 1
# Under pacing, a slot this near is waited for in the invocation; a later one on the queue.
_MAX_SLOT_WAIT_SECONDS = 2.0


class BookingBusy(ServiceUnavailable):
    """Another holder has this booking's lease: SQS should offer the message again later."""

    code = "booking_busy"


@dataclass(frozen=True)
class WorkerResult:
    outcome: str  # a metric name suffix: DeliveredLate, Retried, DeadLettered, …
    failure_reason: str | None = None  # why BizKitHub failed this try (an outcome name)
    unknown_code: str | None = None
    event_id_unknown: bool = False
    unrecorded: bool = False  # created, but the eventId went on the queue (or, failing that, the log)
    calls_avoided: bool = False  # put back by pacing without calling BizKitHub
    paused_seconds: float = 0.0  # how much this try's 429 added to the shared pause


class DeliveryWorker:
    def __init__(
        self,
        *,
        records: BookingRecords,
        add_event: AddEvent,
        delivery_queue: DeliveryQueue,
        dead_letter_queue: DeliveryQueue,
        max_attempts: int,
        backoff_base_seconds: float,
        backoff_cap_seconds: float,
        lease_seconds: float,
        rate_limit_max_wait_seconds: float = 3 * 24 * 3600,
        pacer: Pacer | None = None,
        jitter: Callable[[float], float] = lambda ceiling: random.uniform(0, ceiling),  # noqa: S311 - not crypto
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._records = records
        self._add_event = add_event
        self._delivery_queue = delivery_queue
        self._dead_letter_queue = dead_letter_queue
        self._max_attempts = max_attempts
        self._base = backoff_base_seconds
        self._cap = backoff_cap_seconds
        self._lease_seconds = lease_seconds
        self._rate_limit_max_wait = rate_limit_max_wait_seconds
        self._pacer = pacer
        self._jitter = jitter
        self._clock = clock

    def keep_unreadable(self, body: str, fields: list[str]) -> WorkerResult:
        """A message that is not a booking message at all: to the DeadLetterQueue, as it came."""
        self._dead_letter_queue.send(
            QueuedBooking.unmappable(
                source="unknown",
                body=body.encode("utf-8", "replace"),
                headers={},
                reason={"reason": "unreadable_message", "fields": fields},
            )
        )
        return WorkerResult("Unreadable")

    def defer(self, message: QueuedBooking) -> WorkerResult:
        """Back on the delivery queue unchanged (its tries and hand-off kept), to be taken again at once."""
        self._delivery_queue.send(message)
        return WorkerResult("Deferred")

    def process(self, message: QueuedBooking, deadline: Deadline) -> WorkerResult:
        """Handle one message and say what happened (raises only for failures of our own)."""
        key, identity, wire_event = message.booking_key, message.identity, message.event
        if message.kind == "keep" or key is None or identity is None:
            self._dead_letter_queue.send(message)
            return WorkerResult("Kept")
        fingerprint = fingerprint_of(identity)
        if message.kind == "record" or message.event_id is not None:
            # BizKitHub created this one already (the message says with which eventId): record it,
            # whatever else the message says; never call again.
            message = message.model_copy(update={"kind": "record"})
            self._record_created(key, fingerprint, Created(message.event_id), message, deadline)
            return WorkerResult("Recorded")
        try:
            event = CalendarEvent.model_validate(wire_event)
        except ValidationError as error:
            self._dead_letter(
                message, {"reason": "invalid_event", "fields": field_names(error, whole="(event)")}
            )
            return WorkerResult("Unreadable")
        if message.dead_lettered:
            # Sent back from the dead-letter queue on purpose: tries start afresh, and its first
            # lease may reopen the record, even if it waits on the queue (pacing) before that.
            message = message.model_copy(
                update={
                    "attempts": 0,
                    "dead_lettered": False,
                    "reopen": True,
                    "not_before": None,
                    "rate_limited_since": None,
                    "paced_slot": None,
                }
            )
        redriven = message.reopen
        now = self._clock()
        # A booking holding a slot comes back just before it and waits out the rest here (pacing).
        early = _MAX_SLOT_WAIT_SECONDS if message.paced_slot is not None and self._pacer is not None else 0.0
        if message.not_before is not None and message.not_before > now + early:
            since = message.rate_limited_since
            if since is not None and message.not_before - since > self._rate_limit_max_wait:
                return self._waited_too_long_unleased(message, key, fingerprint, redriven, now - since)
            # Still inside BizKitHub's Retry-After or well before its slot (longer than one SQS
            # delay, or offered early): wait on, uncalled.
            self._delivery_queue.send(message, delay_seconds=math.ceil(message.not_before - now))
            return WorkerResult("StillWaiting")
        if self._pacer is not None:
            decision = self._pacer.before_call(
                reserved=message.paced_slot,
                max_wait=_MAX_SLOT_WAIT_SECONDS,
                deadline=deadline,
                call_needs=CALL_NEEDS_SECONDS,
                # Queueing it again, or dead-lettering it for waiting too long (lease, send, record).
                queue_needs=AWS_CALL_WORST_SECONDS * 3,
            )
            if isinstance(decision, Later):
                return self._wait_for_slot(message, decision, key, fingerprint, redriven)
        owner = f"worker:{uuid.uuid4().hex}"
        holder = self._lease(message, key, fingerprint, owner, redriven)
        if holder is not None:
            return self._not_ours(holder, fingerprint, message)
        message = message.model_copy(update={"reopen": False})  # reopened (if it was a replay)
        outcome = self._add_event(
            event, bizkithub_idempotency_key(key), deadline=deadline.less(AWS_CALL_WORST_SECONDS * 2).at
        )
        paused = 0.0
        try:
            result = self._settle_outcome(message, outcome, key, fingerprint, owner, deadline)
        finally:
            if self._pacer is not None:
                # After the booking is settled, even if that failed: what the answer said (a 429
                # above all) is advice for every later call; the booking comes first.
                paused = self._pacer.after_call(outcome, deadline=deadline)
        return dataclasses.replace(result, paused_seconds=paused)

    def _lease(
        self, message: QueuedBooking, key: str, fingerprint: str, owner: str, redriven: bool
    ) -> BookingRecord | None:
        return self._records.lease(
            key,
            fingerprint,
            owner,
            self._lease_seconds,
            handed_off_by=message.handed_off_by,
            reopen=redriven,
        )

    def _settle_outcome(
        self,
        message: QueuedBooking,
        outcome: AddEventOutcome,
        key: str,
        fingerprint: str,
        owner: str,
        deadline: Deadline,
    ) -> WorkerResult:
        """The call is over: record, dead-letter or queue the booking again, by outcome."""
        if isinstance(outcome, Created):
            recorded = self._record_created(key, fingerprint, outcome, message, deadline)
            return WorkerResult(
                "DeliveredLate", event_id_unknown=outcome.event_id is None, unrecorded=not recorded
            )
        if isinstance(outcome, RateLimited):
            return self._wait_for_the_limit(message, outcome, key, owner, self._clock())
        tries = message.attempts + 1
        failure = failure_of(outcome) | {"attempts": tries}
        kept = message.model_copy(
            update={
                "attempts": tries,
                "failure": failure,
                "handed_off_by": None,
                "not_before": None,
                "rate_limited_since": None,
                "paced_slot": None,
            }
        )
        if isinstance(outcome, Rejected):
            self._dead_letter_queue.send(kept.model_copy(update={"dead_lettered": True}))
            self._settle(
                lambda: self._records.record_rejected(
                    key, owner, upstream_status=outcome.status, code=outcome.code
                )
            )
            return self._result("Rejected", outcome)
        if tries >= self._max_attempts:
            self._dead_letter_queue.send(kept.model_copy(update={"dead_lettered": True}))
            self._settle(lambda: self._records.record_dead_lettered(key, owner, reason=reason_of(outcome)))
            return self._result("DeadLettered", outcome)
        delay = self.delay_before_next_try(tries, retry_after_of(outcome))
        self._delivery_queue.send(kept.model_copy(update={"handed_off_by": owner}), delay_seconds=delay)
        self._settle(lambda: self._records.record_queued(key, owner, reason=reason_of(outcome)))
        return self._result("Retried", outcome)

    def _wait_for_the_limit(
        self, message: QueuedBooking, limited: RateLimited, key: str, owner: str, now: float
    ) -> WorkerResult:
        """Rate limiting is not a failure: no try is counted, and the booking waits as long as
        BizKitHub asked, in as many SQS delays as that takes, without calling in between; only a
        wait beyond `rate_limit_max_wait_seconds` in all dead-letters it (`rate_limited_too_long`)."""
        since = message.rate_limited_since or now
        wait = float(limited.retry_after or DEFAULT_PAUSE_SECONDS)
        failure = failure_of(limited) | {"attempts": message.attempts}
        if now + wait - since > self._rate_limit_max_wait:
            return self._waited_too_long(message, failure, key, owner, waited=now - since)
        waiting = message.model_copy(
            update={
                "failure": failure,
                "handed_off_by": owner,
                "not_before": now + wait,
                "rate_limited_since": since,
                "paced_slot": None,
            }
        )
        self._delivery_queue.send(waiting, delay_seconds=math.ceil(wait))
        self._settle(lambda: self._records.record_queued(key, owner, reason=reason_of(limited)))
        return self._result("RateLimited", limited)

    def _waited_too_long(
        self, message: QueuedBooking, failure: dict[str, Any], key: str, owner: str, *, waited: float
    ) -> WorkerResult:
        failure = failure | {"reason": "rate_limited_too_long", "waitedSeconds": round(waited)}
        self._dead_letter_queue.send(
            message.model_copy(update={"failure": failure, "dead_lettered": True, "handed_off_by": None})
        )
        self._settle(lambda: self._records.record_dead_lettered(key, owner, reason="rate_limited_too_long"))
        return WorkerResult("DeadLettered", failure_reason="rate_limited_too_long")

    def _waited_too_long_unleased(
        self, message: QueuedBooking, key: str, fingerprint: str, redriven: bool, waited: float
    ) -> WorkerResult:
        """Waiting on the limit (uncalled) past the ceiling: take the lease, then dead-letter."""
        owner = f"worker:{uuid.uuid4().hex}"
        holder = self._lease(message, key, fingerprint, owner, redriven)
        if holder is not None:
            return self._not_ours(holder, fingerprint, message)
        failure = (message.failure or {}) | {"attempts": message.attempts}
        return self._waited_too_long(
            message.model_copy(update={"reopen": False}), failure, key, owner, waited=waited
        )

    def _wait_for_slot(
        self, message: QueuedBooking, later: Later, key: str, fingerprint: str, redriven: bool
    ) -> WorkerResult:
        """Pacing: not called now. Back on the queue until its slot (kept with it) or the pause's end,
        no try counted; waiting past `rate_limit_max_wait_seconds` in all dead-letters it, as a 429 would."""
        now = self._clock()
        since = message.rate_limited_since or now
        if later.until - since > self._rate_limit_max_wait:
            return self._waited_too_long_unleased(message, key, fingerprint, redriven, now - since)
        waiting = message.model_copy(
            update={"not_before": later.until, "rate_limited_since": since, "paced_slot": later.slot}
        )
        self._delivery_queue.send(waiting, delay_seconds=queue_delay(later, now))
        return WorkerResult("Paused" if later.paused else "Paced", calls_avoided=True)

    def delay_before_next_try(self, tries: int, retry_after: Any) -> int:
        backoff = self._jitter(min(self._cap, self._base * 2 ** (tries - 1)))
        asked = min(float(retry_after), self._cap) if isinstance(retry_after, int | float) else 0.0
        return round(max(backoff, asked))

    def _not_ours(self, holder: BookingRecord, fingerprint: str, message: QueuedBooking) -> WorkerResult:
        """The lease was not taken: act on the record that stood in the way."""
        if holder.state == "delivered":
            return WorkerResult("AlreadyDelivered")
        if holder.state == "rejected":
            return WorkerResult("AlreadyRejected")
        if not holder.matches(fingerprint):
            self._dead_letter(message, {"reason": "booking_key_conflict"})
            return WorkerResult("Conflict")
        if holder.state == "dead_lettered":
            return WorkerResult("AlreadyDeadLettered")  # a stale copy; a replay reopens it
        raise BookingBusy("another holder is delivering this booking; SQS offers it again later")

    def _record_created(
        self, key: str, fingerprint: str, created: Created, message: QueuedBooking, deadline: Deadline
    ) -> bool:
        """The event exists: record it (True); failing that, carry the eventId on the queue for a
        later try (False)."""
        for _ in range(_RECORD_TRIES):
            if not deadline.allows(AWS_CALL_WORST_SECONDS):
                break
            try:
                self._records.record_delivered(key, fingerprint, created.event_id)
            except BookingStoreUnavailable:
                continue
            return True
        if message.kind == "record":
            raise BookingStoreUnavailable("the eventId could not be recorded; SQS offers it again")
        record = message.model_copy(
            update={"kind": "record", "event_id": created.event_id, "handed_off_by": None, "failure": None}
        )
        if deadline.allows(AWS_CALL_WORST_SECONDS):
            with contextlib.suppress(ServiceUnavailable):
                self._delivery_queue.send(record)
                return False
        # Neither the table nor the queue. The message is still taken as done (so SQS does not offer
        # it again), and the record stays "delivering": a sender's repeat is answered 202 without a
        # call; only a stray duplicate of this SQS message, after the lease expired, could call again.
        # EventIdNotRecorded fires its alarm.
        _log.error("the eventId could not be recorded or queued", extra={"source": message.source})
        return False

    def _dead_letter(self, message: QueuedBooking, failure: dict[str, Any]) -> None:
        self._dead_letter_queue.send(message.model_copy(update={"failure": failure, "dead_lettered": True}))

    @staticmethod
    def _settle(write: Callable[[], BookingRecord | None]) -> None:
        """Write the record after the queue already holds the booking; a failure is not fatal (the
        lease expires, and the queued message or an operator's replay may take the booking again)."""
        try:
            write()
        except BookingStoreUnavailable:
            _log.warning("the booking record could not be updated after the try")

    @staticmethod
    def _result(name: str, outcome: AddEventOutcome) -> WorkerResult:
        return WorkerResult(name, failure_reason=reason_of(outcome), unknown_code=unknown_code(outcome))
