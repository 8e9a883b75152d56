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
from bookhook.calendar.outcomes import AddEventOutcome, Created, RateLimited
from bookhook.deadline import Deadline
from bookhook.delivery.queue import DeliveryQueue, QueuedBooking
from bookhook.delivery.records import BookingRecords, fingerprint_of
from bookhook.delivery.worker import DeliveryWorker
from bookhook_dev import defaults
from bookhook_dev.template import dynamodb_create_table_kwargs, load_template

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
def records() -> Iterator[BookingRecords]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=defaults.REGION)
        client.create_table(**dynamodb_create_table_kwargs(load_template(), "IdempotencyTable", "t"))
        yield BookingRecords("t", client, ttl_days=7, clock=lambda: NOW)


def worker(records: BookingRecords, bizkithub: BizKitHub) -> tuple[DeliveryWorker, MemoryQueue, MemoryQueue]:
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
    from bookhook.calendar.outcomes import Unavailable

    bizkithub = BizKitHub(Unavailable(True, "HTTP 503", 503))
    delivery_worker, delivery, _ = worker(records, bizkithub)

    delivery_worker.process(message(attempts=0, rate_limited_since=NOW - 600), deadline())

    [(retried, _)] = delivery.sent
    assert (retried.attempts, retried.rate_limited_since, retried.not_before) == (1, None, None)
