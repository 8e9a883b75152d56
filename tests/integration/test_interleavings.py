"""Exactly once under every interleaving: a webhook request, a second copy of it, a sender's retry,
the worker and a duplicate SQS delivery of the worker's message, run step by step in seeded random
orders against moto's DynamoDB (conditional writes atomic, as in DynamoDB), with BizKitHub
answering each call with success, a failure, no answer (the event may exist) or a rejection, and
with actors crashing between steps (their lease then expires; a crashed worker's message returns).

Each run asserts:
- at most one add-event call got a 2xx for the booking;
- once the record says delivered, it always says delivered, with the same eventId;
- no sender got a 5xx after BizKitHub had created the event;
- after the queue drains, the booking is delivered, rejected or dead-lettered if anything accepted
  it (a 2xx to a sender, or a message on the queue); nothing is left queued with an empty queue.

`INTERLEAVINGS` sets how many seeds run (make test: 200; `make interleavings`: 2,000).
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bookhook.calendar.event import CalendarEvent
from bookhook.calendar.outcomes import AddEventOutcome, Created, Rejected, Unavailable
from bookhook.deadline import Deadline
from bookhook.delivery import booking as booking_module
from bookhook.delivery import worker as worker_module
from bookhook.delivery.booking import BookingDelivery
from bookhook.delivery.queue import DeliveryQueue, QueuedBooking
from bookhook.delivery.records import BookingRecords, record_id
from bookhook.delivery.worker import DeliveryWorker
from bookhook.errors import ServiceUnavailable, WebhookError
from bookhook.pipeline import deliver_booking
from bookhook.sources import Booking, WebhookSource
from bookhook_dev.testing import defaults
from bookhook_dev.testing.template import dynamodb_create_table_kwargs, load_template
from tests.interleavings import Scheduler, Stepped

RUNS = int(os.environ.get("INTERLEAVINGS", "200"))
TABLE = "bookings"
ANSWERS = ("created", "created", "failure", "no_answer", "rejected")
EVENT = CalendarEvent.model_validate(
    {
        "calendarId": defaults.CALENDAR_ID,
        "startTime": "2027-03-01T10:00:00.000Z",
        "endTime": "2027-03-01T11:00:00.000Z",
        "title": "Training",
    }
)
SOURCE = WebhookSource(name="zapier", authenticate=lambda request, secrets: None, read_booking=lambda r: None)  # type: ignore[arg-type,return-value]


class FakeClock:
    """Monotonic time that moves only when an actor sleeps (a poll), so runs are deterministic."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@dataclass
class Entry:
    body: str
    visible: bool = True


@dataclass
class Call:
    sequence: int
    actor: str
    answer: str
    # False when the caller crashed before its next step: it never acted on the answer, so a
    # 2xx it got is, for everyone else, a call that got no answer (the documented ambiguous case).
    received: bool = True

    @property
    def event_id(self) -> str:
        return f"{self.sequence:032d}".translate(str.maketrans("0123456789", "abcdefghij"))


@dataclass
class Run:
    seed: int
    key: str
    scheduler: Scheduler
    rng: random.Random
    sequence: itertools.count[int] = field(default_factory=itertools.count)
    calls: list[Call] = field(default_factory=list)
    answers: list[tuple[int, str, int]] = field(default_factory=list)  # (sequence, actor, status)
    delivered_ids: list[str | None] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)
    taken: dict[str, Entry] = field(default_factory=dict)
    draining: bool = False
    ever_queued: bool = False

    def tick(self) -> int:
        return next(self.sequence)


class MemoryQueue(DeliveryQueue):
    """The delivery queue in memory: messages stay until a worker deletes them (at least once)."""

    def __init__(self, run: Run, *, dead_letter: bool = False) -> None:
        self._run = run
        self._dead_letter = dead_letter

    def send(self, message: QueuedBooking, *, delay_seconds: int = 0) -> None:
        self._run.scheduler.step("sqs.send")
        body = message.model_dump_json(exclude_none=True)
        if self._dead_letter:
            self._run.dead_letters.append(body)
        else:
            self._run.entries.append(Entry(body))
            self._run.ever_queued = True


def bizkithub(run: Run) -> Any:
    def add_event(
        event: CalendarEvent, idempotency_key: str | None = None, *, deadline: float | None = None
    ) -> AddEventOutcome:
        run.scheduler.step("bizkithub")
        answer = "created" if run.draining else run.rng.choice(ANSWERS)
        call = Call(run.tick(), threading.current_thread().name, answer)
        run.calls.append(call)
        if answer == "created":
            return Created(call.event_id)
        if answer == "rejected":
            return Rejected(409, "SLOT_BLOCKED")
        return Unavailable(may_have_been_received=answer == "no_answer", cause="test", status=None)

    return add_event


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=defaults.REGION)
        client.create_table(**dynamodb_create_table_kwargs(load_template(), "IdempotencyTable", TABLE))
        yield client


def owner_ids_name_the_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lease owners carry the actor's name, so a crash can expire exactly the crashed actor's lease."""
    counter = itertools.count()

    def named_uuid4() -> Any:
        return types.SimpleNamespace(hex=f"{threading.current_thread().name}-{next(counter)}")

    monkeypatch.setattr(booking_module, "uuid", types.SimpleNamespace(uuid4=named_uuid4))
    monkeypatch.setattr(worker_module, "uuid", types.SimpleNamespace(uuid4=named_uuid4))


def one_run(seed: int, dynamodb: Any) -> Run:
    scheduler = Scheduler(seed, crash_probability=0.02)
    run = Run(seed=seed, key=f"booking-{seed}", scheduler=scheduler, rng=random.Random(seed * 7919))
    clock = FakeClock()
    item_key = {"id": {"S": record_id(run.key)}}

    def check_record(_: str) -> None:
        stored = dynamodb.get_item(TableName=TABLE, Key=item_key).get("Item")
        state = stored.get("state", {}).get("S") if stored else None
        event_id = stored.get("event_id", {}).get("S") if stored else None
        if run.delivered_ids:
            assert state == "delivered", f"seed {seed}: the record left delivered for {state}"
            assert event_id == run.delivered_ids[0], f"seed {seed}: the recorded eventId changed"
        elif state == "delivered":
            run.delivered_ids.append(event_id)

    records = BookingRecords(TABLE, Stepped(scheduler, dynamodb, after=check_record), ttl_days=7)  # type: ignore[arg-type]
    add_event = bizkithub(run)
    queue = MemoryQueue(run)

    def stepped_sleep(seconds: float) -> None:
        scheduler.step("sleep")
        clock.sleep(seconds)

    delivery = BookingDelivery(
        records=records,
        add_event=add_event,
        in_flight_wait_seconds=5,
        lease_seconds=15,
        queue=queue,
        sleep=stepped_sleep,
    )
    worker = DeliveryWorker(
        records=records,
        add_event=add_event,
        delivery_queue=queue,
        dead_letter_queue=MemoryQueue(run, dead_letter=True),
        max_attempts=3,
        backoff_base_seconds=0,
        backoff_cap_seconds=0,
        lease_seconds=60,
    )
    booking = Booking(key=run.key, event=EVENT)

    def sender(name: str) -> None:
        try:
            status = deliver_booking(SOURCE, booking, delivery, Deadline.after(10, clock)).status
        except WebhookError as error:
            status = error.status
        run.answers.append((run.tick(), name, status))

    def take(name: str, entry: Entry) -> None:
        run.taken[name] = entry
        try:
            worker.process(QueuedBooking.model_validate_json(entry.body), Deadline.after(25, clock))
        except ServiceUnavailable:
            entry.visible = True  # reported to SQS: offered again
            return
        if entry in run.entries:
            run.entries.remove(entry)

    def sqs_worker(name: str) -> None:
        for _ in range(40):
            scheduler.step("receive")
            entry = next((e for e in run.entries if e.visible), None)
            if entry is not None:
                entry.visible = False
                take(name, entry)
                return

    def duplicate_delivery(name: str) -> None:
        """The same message handed to a second invocation, as at-least-once delivery may."""
        for _ in range(40):
            scheduler.step("receive")
            first = run.taken.get("worker")
            if first is not None:
                take(name, first)
                return

    def on_crash(name: str) -> None:
        mine = [call for call in run.calls if call.actor == name]
        if mine and mine[-1].answer == "created" and mine[-1].event_id not in run.delivered_ids:
            mine[-1].received = False  # it crashed before recording what it got
        # The crashed actor's lease runs out; a worker's message comes back after its visibility timeout.
        stored = dynamodb.get_item(TableName=TABLE, Key=item_key).get("Item") or {}
        if f":{name}-" in stored.get("lease_owner", {}).get("S", ""):
            dynamodb.update_item(
                TableName=TABLE,
                Key=item_key,
                UpdateExpression="SET lease_until = :zero",
                ExpressionAttributeValues={":zero": {"N": "0"}},
            )
        if name in run.taken:
            run.taken[name].visible = True

    scheduler.on_crash = on_crash
    scheduler.add("sender", lambda: sender("sender"))
    scheduler.add("copy", lambda: sender("copy"))
    scheduler.add("retry", lambda: sender("retry"))
    scheduler.add("worker", lambda: sqs_worker("worker"))
    scheduler.add("duplicate", lambda: duplicate_delivery("duplicate"))
    scheduler.run()
    assert not scheduler.errors, f"seed {seed}: {scheduler.errors}"

    # Drain: what is left on the queue is delivered by a worker that meets a healthy BizKitHub.
    run.draining = True
    drain = Scheduler(seed)
    drain.add("drain", lambda: _drain(run, take))
    drain.run()
    run.scheduler = drain
    assert not drain.errors, f"seed {seed}: {drain.errors}"
    records_after = dynamodb.get_item(TableName=TABLE, Key=item_key).get("Item")
    _check_invariants(run, records_after)
    return run


def _drain(run: Run, take: Any) -> None:
    for _ in range(50):
        entry = next((e for e in run.entries if e.visible), None)
        if entry is None:
            return
        entry.visible = False
        take("drain", entry)
    raise AssertionError(f"seed {run.seed}: the queue did not drain")


def _check_invariants(run: Run, stored: dict[str, Any] | None) -> None:
    created = [call.sequence for call in run.calls if call.answer == "created" and call.received]
    assert len(created) <= 1, f"seed {run.seed}: {len(created)} add-event calls got a 2xx"
    for sequence, name, status in run.answers:
        if created and created[0] < sequence:
            assert status < 500, f"seed {run.seed}: {name} got {status} after the event was created"
    state = stored.get("state", {}).get("S") if stored else None
    if created:
        assert state == "delivered", f"seed {run.seed}: an event was created but the record says {state}"
    accepted = any(status in (200, 202) for _, _, status in run.answers)
    if accepted or run.ever_queued:
        assert state in ("delivered", "rejected", "dead_lettered"), (
            f"seed {run.seed}: left {state}; answers {run.answers}"
        )
    assert not [e for e in run.entries if e.visible], f"seed {run.seed}: messages left on the queue"


def test_every_interleaving_delivers_at_most_once(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    owner_ids_name_the_actor(monkeypatch)
    outcomes: dict[str, int] = {}
    for seed in range(RUNS):
        run = one_run(seed, dynamodb)
        created = sum(1 for call in run.calls if call.answer == "created")
        label = f"created={created} crashed={len(run.scheduler.crashed) > 0}"
        outcomes[label] = outcomes.get(label, 0) + 1
    # The sample must reach the interesting cases, or it proves little.
    assert any(label.startswith("created=1") for label in outcomes), outcomes
