"""Rate limiting is not a failure: the worker counts no try for a 429, waits as long as BizKitHub
asked (in several SQS delays when that is longer than SQS allows) without calling in between, and
dead-letters only after waiting longer than the ceiling in all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bookhook.calendar.event import CalendarEvent
from bookhook.calendar.outcomes import AddEventOutcome, Created, RateLimited, Unavailable
from bookhook.deadline import Deadline
from bookhook.delivery.pacing import PACING_ITEM_ID, Pacer
from bookhook.delivery.queue import DeliveryQueue, QueuedBooking
from bookhook.delivery.records import BookingRecords, fingerprint_of
from bookhook.delivery.worker import DeliveryWorker
from bookhook_dev.testing import defaults
from bookhook_dev.testing.template import dynamodb_create_table_kwargs, load_template

NOW = 1_800_000_000.0
DAY = 24 * 3600
EVENT = {
    "calendarId": defaults.CALENDAR_ID,
    "startTime": "2027-01-05T10:00:00.000Z",
    "endTime": "2027-01-05T11:00:00.000Z",
    "title": "Training",
}


class MemoryQueue(DeliveryQueue):
    def __init__(self) -> None:
        self.sent: list[tuple[QueuedBooking, int]] = []

    def send(self, message: QueuedBooking, *, delay_seconds: int = 0) -> None:
        self.sent.append((message, delay_seconds))


class BizKitHub:
    def __init__(self, *answers: AddEventOutcome) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(
        self, event: CalendarEvent, idempotency_key: str | None = None, *, deadline: float | None = None
    ) -> AddEventOutcome:
        self.calls += 1
        return self.answers.pop(0)


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=defaults.REGION)
        client.create_table(**dynamodb_create_table_kwargs(load_template(), "IdempotencyTable", "t"))
        yield client


@pytest.fixture
def records(dynamodb: Any) -> BookingRecords:
    return BookingRecords("t", dynamodb, ttl_days=7, clock=lambda: NOW)


@pytest.fixture
def pacer(dynamodb: Any) -> Pacer:
    """Pacing over the same table, Free's limit, on the worker's clock (slots far off: never slept)."""
    return Pacer("t", dynamodb, window_seconds=3600, clock=lambda: NOW, sleep=_no_sleep)


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"slept {seconds} s")


def worker(
    records: BookingRecords, bizkithub: BizKitHub, pacer: Pacer | None = None
) -> tuple[DeliveryWorker, MemoryQueue, MemoryQueue]:
    delivery, dead = MemoryQueue(), MemoryQueue()
    built = DeliveryWorker(
        records=records,
        add_event=bizkithub,
        delivery_queue=delivery,
        dead_letter_queue=dead,
        max_attempts=3,
        backoff_base_seconds=10,
        backoff_cap_seconds=900,
        lease_seconds=60,
        rate_limit_max_wait_seconds=3 * DAY,
        pacer=pacer,
        clock=lambda: NOW,
    )
    return built, delivery, dead


def message(**changes: Any) -> QueuedBooking:
    fields: dict[str, Any] = {
        "kind": "deliver",
        "source": "zapier",
        "booking_key": "booking-1",
        "identity": "identity-1",
        "event": EVENT,
        "attempts": 2,
    }
    return QueuedBooking(**(fields | changes))


def deadline() -> Deadline:
    return Deadline.after(25)


def test_a_429_counts_no_try_and_the_booking_waits_as_long_as_asked(records: BookingRecords) -> None:
    bizkithub = BizKitHub(RateLimited(429, "RATE_LIMIT_EXCEEDED", 3600))
    delivery_worker, delivery, dead = worker(records, bizkithub)

    result = delivery_worker.process(message(attempts=2), deadline())

    assert result.outcome == "RateLimited"
    [(waiting, delay)] = delivery.sent
    assert waiting.attempts == 2  # max_attempts is 3: a counted try would have dead-lettered it
    assert (waiting.not_before, waiting.rate_limited_since) == (NOW + 3600, NOW)
    assert delay == 3600  # the queue adapter clamps to SQS's 900 s; not_before keeps the rest
    assert dead.sent == []
    now = records.get("booking-1")
    assert now is not None
    assert now.state == "queued"


def test_a_message_still_inside_its_retry_after_is_put_back_without_a_call(records: BookingRecords) -> None:
    bizkithub = BizKitHub()
    delivery_worker, delivery, _ = worker(records, bizkithub)

    result = delivery_worker.process(
        message(not_before=NOW + 2_700, rate_limited_since=NOW - 900), deadline()
    )

    assert result.outcome == "StillWaiting"
    assert bizkithub.calls == 0
    [(again, delay)] = delivery.sent
    assert (again.not_before, again.rate_limited_since, delay) == (NOW + 2_700, NOW - 900, 2_700)


def test_once_the_wait_is_over_it_is_called(records: BookingRecords) -> None:
    bizkithub = BizKitHub(Created("fqdjnvzrfqjcsmvyhgjirjtvftknayzx"))
    delivery_worker, delivery, _ = worker(records, bizkithub)

    result = delivery_worker.process(message(not_before=NOW - 1, rate_limited_since=NOW - 3600), deadline())

    assert (result.outcome, bizkithub.calls, delivery.sent) == ("DeliveredLate", 1, [])
    delivered = records.get("booking-1")
    assert delivered is not None
    assert delivered.state == "delivered"
    assert delivered.fingerprint == fingerprint_of("identity-1")


def test_waiting_past_the_ceiling_dead_letters_as_rate_limited_too_long(records: BookingRecords) -> None:
    bizkithub = BizKitHub(RateLimited(429, "RATE_LIMIT_EXCEEDED", 3600))
    delivery_worker, delivery, dead = worker(records, bizkithub)

    result = delivery_worker.process(message(rate_limited_since=NOW - 3 * DAY + 600), deadline())

    assert (result.outcome, result.failure_reason) == ("DeadLettered", "rate_limited_too_long")
    [(kept, _)] = dead.sent
    assert kept.failure is not None
    assert kept.failure["reason"] == "rate_limited_too_long"
    assert delivery.sent == []


def test_another_failure_ends_the_wait_and_counts_a_try(records: BookingRecords) -> None:
    bizkithub = BizKitHub(Unavailable(True, "HTTP 503", 503))
    delivery_worker, delivery, _ = worker(records, bizkithub)

    delivery_worker.process(message(attempts=0, rate_limited_since=NOW - 600), deadline())

    [(retried, _)] = delivery.sent
    assert (retried.attempts, retried.rate_limited_since, retried.not_before) == (1, None, None)


# --- with pacing (delivery.pacing) ------------------------------------------------------------------


def test_a_booking_holding_a_slot_ahead_waits_for_it_uncalled_and_unleased(
    records: BookingRecords, pacer: Pacer
) -> None:
    bizkithub = BizKitHub()
    delivery_worker, delivery, _ = worker(records, bizkithub, pacer)

    result = delivery_worker.process(message(paced_slot=NOW + 30, rate_limited_since=NOW - 5), deadline())

    assert (result.outcome, result.calls_avoided, bizkithub.calls) == ("Paced", True, 0)
    [(waiting, delay)] = delivery.sent
    assert (waiting.paced_slot, waiting.not_before, waiting.rate_limited_since) == (
        NOW + 30,
        NOW + 30,
        NOW - 5,
    )
    assert (waiting.attempts, delay) == (2, 30)  # no try counted
    assert records.get("booking-1") is None  # no lease was written for it


def test_a_booking_whose_slot_has_come_is_called_and_the_slot_is_spent(
    records: BookingRecords, pacer: Pacer
) -> None:
    bizkithub = BizKitHub(Unavailable(True, "HTTP 503", 503))
    delivery_worker, delivery, _ = worker(records, bizkithub, pacer)

    delivery_worker.process(message(attempts=0, paced_slot=NOW - 1), deadline())

    assert bizkithub.calls == 1
    [(retried, _)] = delivery.sent
    assert (retried.attempts, retried.paced_slot) == (1, None)  # the next try takes a new slot


def test_while_paused_no_booking_is_called(records: BookingRecords, pacer: Pacer) -> None:
    bizkithub = BizKitHub(RateLimited(429, "RATE_LIMIT_EXCEEDED", 600))
    delivery_worker, delivery, _ = worker(records, bizkithub, pacer)
    first = delivery_worker.process(message(booking_key="booking-1"), deadline())

    second = delivery_worker.process(message(booking_key="booking-2", identity="identity-2"), deadline())

    assert (first.outcome, first.paused_seconds) == ("RateLimited", 600)
    assert (second.outcome, second.calls_avoided) == ("Paused", True)
    assert bizkithub.calls == 1
    [_, (waiting, delay)] = delivery.sent
    assert (waiting.not_before, waiting.paced_slot, delay) == (NOW + 600, None, 600)


def test_paced_waiting_past_the_ceiling_dead_letters_as_rate_limited_too_long(
    records: BookingRecords, pacer: Pacer
) -> None:
    bizkithub = BizKitHub()
    delivery_worker, delivery, dead = worker(records, bizkithub, pacer)

    result = delivery_worker.process(
        message(paced_slot=NOW + 900, rate_limited_since=NOW - 3 * DAY + 600), deadline()
    )

    assert (result.outcome, result.failure_reason, bizkithub.calls) == (
        "DeadLettered",
        "rate_limited_too_long",
        0,
    )
    [(kept, _)] = dead.sent
    assert kept.failure is not None
    assert kept.failure["reason"] == "rate_limited_too_long"
    assert delivery.sent == []
    dead_lettered = records.get("booking-1")
    assert dead_lettered is not None
    assert dead_lettered.state == "dead_lettered"


def test_a_booking_back_just_before_its_slot_waits_it_out_and_calls(dynamodb: Any) -> None:
    """Paced bookings come back to the second before their slot (SQS counts whole seconds)."""
    slept: list[float] = []
    records = BookingRecords("t", dynamodb, ttl_days=7, clock=lambda: NOW)
    paced = Pacer("t", dynamodb, window_seconds=3600, clock=lambda: NOW, sleep=slept.append)
    bizkithub = BizKitHub(Created("fqdjnvzrfqjcsmvyhgjirjtvftknayzx"))
    delivery_worker, delivery, _ = worker(records, bizkithub, paced)

    result = delivery_worker.process(message(paced_slot=NOW + 0.6, not_before=NOW + 0.6), deadline())

    assert (result.outcome, bizkithub.calls, delivery.sent) == ("DeliveredLate", 1, [])
    assert slept == [pytest.approx(0.6)]


def test_a_replay_held_back_by_pacing_is_still_a_replay_when_it_comes_back(
    records: BookingRecords, pacer: Pacer, dynamodb: Any
) -> None:
    """An operator replays a dead-lettered booking while calls are paced: it waits for its slot on
    the queue, and when it comes back its lease still reopens the record (it is delivered, not
    dropped as already dead-lettered)."""
    bizkithub = BizKitHub(Created("fqdjnvzrfqjcsmvyhgjirjtvftknayzx"))
    delivery_worker, delivery, _ = worker(records, bizkithub, pacer)
    owner = "worker:old"
    assert (
        records.lease("booking-1", fingerprint_of("identity-1"), owner, 60, handed_off_by=None, reopen=False)
        is None
    )
    records.record_dead_lettered("booking-1", owner, reason="rate_limited_too_long")
    dynamodb.put_item(  # calls are paced, slots reserved well ahead
        TableName="t",
        Item={
            "id": {"S": PACING_ITEM_ID},
            "limit": {"N": "1000"},
            "remaining": {"N": "2"},
            "observed_at": {"N": str(int(NOW * 1000))},
            "next_slot": {"N": str(int((NOW + 30) * 1000))},
        },
    )

    first = delivery_worker.process(message(dead_lettered=True, attempts=8), deadline())

    assert (first.outcome, bizkithub.calls) == ("Paced", 0)
    [(waiting, _)] = delivery.sent
    assert (waiting.reopen, waiting.dead_lettered, waiting.attempts) == (True, False, 0)
    # It comes back when its slot has come.
    later_worker = DeliveryWorker(
        records=BookingRecords("t", dynamodb, ttl_days=7, clock=lambda: NOW + 31),
        add_event=bizkithub,
        delivery_queue=MemoryQueue(),
        dead_letter_queue=MemoryQueue(),
        max_attempts=3,
        backoff_base_seconds=10,
        backoff_cap_seconds=900,
        lease_seconds=60,
        pacer=Pacer("t", dynamodb, window_seconds=3600, clock=lambda: NOW + 31, sleep=_no_sleep),
        clock=lambda: NOW + 31,
    )
    second = later_worker.process(waiting, deadline())
    assert (second.outcome, bizkithub.calls) == ("DeliveredLate", 1)
    delivered = records.get("booking-1")
    assert delivered is not None
    assert delivered.state == "delivered"


def test_waiting_past_the_ceiling_on_the_queue_dead_letters_without_a_call(records: BookingRecords) -> None:
    """A booking parked far ahead (a slot or a pause beyond the ceiling) is dead-lettered as
    `rate_limited_too_long` when it comes by, not passed on 900 s at a time for ever."""
    bizkithub = BizKitHub()
    delivery_worker, delivery, dead = worker(records, bizkithub)

    result = delivery_worker.process(
        message(not_before=NOW + 2 * DAY, rate_limited_since=NOW - 2 * DAY), deadline()
    )

    assert (result.outcome, result.failure_reason, bizkithub.calls) == (
        "DeadLettered",
        "rate_limited_too_long",
        0,
    )
    assert [kept.failure["reason"] for kept, _ in dead.sent if kept.failure] == ["rate_limited_too_long"]
    assert delivery.sent == []
