"""Fault injection: 200 bookings, each sent three times, while BizKitHub misbehaves.

The stand-in fails 30 % of add-event calls with 5xx, answers some with 429 and Retry-After,
answers some only after the client's read timeout (the event is still created: the ambiguous case)
and drops some connections; it rejects the bookings whose title says CLASH. After the delivery
queue drains, every booking is in BizKitHub exactly once, except the ambiguous duplicates the
README's policy describes (counted and reported), nothing is lost, the dead-letter queue holds
exactly the rejected bookings, and no sender got a 5xx for a booking that was queued.

What is ambiguous is judged from our side, by recording what each add-event call got back: a
call that got no answer (read timeout, dropped connection) may still have created the event. On a
loaded machine an ordinary answer can also come after the 0.3 s read timeout, so the stand-in's
scripted Slow fault is not the only source of such calls.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from bookhook.calendar.client import BizKitHubClient
from bookhook.calendar.event import CalendarEvent
from bookhook.calendar.outcomes import AddEventOutcome, Created, Rejected, Unavailable
from bookhook.handlers import delivery_worker
from bookhook.handlers import webhook as webhook_module
from bookhook.services import build_worker
from bookhook.settings import WorkerSettings
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn, Drop, Fault, Slow, Status
from bookhook_dev.testing.lambda_emulation import LocalResources, SqsPoller
from tests.integration.conftest import Reply, Webhook, queue_is_empty

BOOKINGS = 200
CLASH_EVERY = 20  # every 20th booking clashes with a blocking event: 10 rejections
READ_TIMEOUT = "0.3"
CHAOS: list[tuple[Fault, float]] = [
    (Status(500), 0.20),
    (Status(503), 0.10),  # 30 % 5xx in all
    (Status(429, retry_after="1"), 0.05),
    (Slow(0.6), 0.04),  # past the read timeout: BizKitHub still creates the event
    (Drop(), 0.04),
]


def _booking(number: int) -> dict[str, Any]:
    clash = " CLASH" if number % CLASH_EVERY == 0 else ""
    return {
        "calendarId": defaults.CALENDAR_ID,
        "startTime": f"2027-01-{1 + number % 28:02d}T{8 + number % 10:02d}:00:00+01:00",
        "duration": "45",
        "title": f"Booking {number:03d}{clash}",
        "attendeeEmail": f"client{number}@example.cz",
    }


class AddEventOutcomes:
    """What every add-event call, from the webhook and the worker alike, got back, per title."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.by_title: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()
        add_event = BizKitHubClient.add_event

        def recorded(
            client: BizKitHubClient,
            event: CalendarEvent,
            key: str | None = None,
            *,
            deadline: float | None = None,
        ) -> AddEventOutcome:
            outcome = add_event(client, event, key, deadline=deadline)
            if isinstance(outcome, Created):
                self._record(event.title, "created")
            elif (
                isinstance(outcome, Unavailable) and outcome.may_have_been_received and outcome.status is None
            ):
                self._record(event.title, "no answer")
            elif isinstance(outcome, Rejected):
                self._record(event.title, "refused")
            else:
                self._record(event.title, "unavailable")
            return outcome

        monkeypatch.setattr(BizKitHubClient, "add_event", recorded)

    def _record(self, title: str, outcome: str) -> None:
        with self._lock:
            self.by_title[title].append(outcome)

    def called_again_after_created(self) -> list[str]:
        return [title for title, outcomes in self.by_title.items() if "created" in outcomes[:-1]]

    def unanswered(self) -> set[str]:
        return {title for title, outcomes in self.by_title.items() if "no answer" in outcomes}


def _dead_letters(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
        "Messages", []
    ):
        messages.extend(json.loads(message["Body"]) for message in batch)
    return messages


@pytest.mark.slow
def test_two_hundred_bookings_three_times_each_through_chaos(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = AddEventOutcomes(monkeypatch)  # before the clients are built: they bind add_event
    monkeypatch.setenv("DELIVERY_QUEUE_URL", aws.delivery_queue_url)
    monkeypatch.setenv("BIZKITHUB_READ_TIMEOUT_SECONDS", READ_TIMEOUT)
    webhook_module.use_services(None)
    webhook_module.current_services()
    worker_settings = WorkerSettings.from_environ(
        {
            "BOOKING_SECRET_ARN": aws.secret_arn,
            "IDEMPOTENCY_TABLE_NAME": aws.table_name,
            "BIZKITHUB_BASE_URL": stand_in.base_url,
            "BIZKITHUB_READ_TIMEOUT_SECONDS": READ_TIMEOUT,
            "DELIVERY_QUEUE_URL": aws.delivery_queue_url,
            "DEAD_LETTER_QUEUE_URL": aws.dead_letter_queue_url,
            "DELIVERY_MAX_ATTEMPTS": "15",
            "DELIVERY_BACKOFF_BASE_SECONDS": "0",
            "DELIVERY_BACKOFF_CAP_SECONDS": "1",  # Retry-After "1" is honoured as a 1 s delay
        }
    )
    delivery_worker.use_worker(build_worker(worker_settings))
    stand_in.set_chaos(CHAOS, seed=20261124)
    stand_in.reject_titles_containing("CLASH")
    bookings = [_booking(n) for n in range(BOOKINGS)]
    replies: dict[str, list[Reply]] = defaultdict(list)
    lock = threading.Lock()

    one_container = threading.Lock()

    def send(booking: dict[str, Any]) -> None:
        # One invocation at a time: in one process, concurrent invocations would share Powertools'
        # current request and could answer one booking with another's. Copies racing in separate
        # containers are test_interleavings' subject; here the senders' threads only queue up.
        with one_container:
            reply = webhook.post(booking)
        with lock:
            replies[booking["title"]].append(reply)

    # When: each booking is sent twice in a row by two senders, then once more after all first sends
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, [b for b in bookings for _ in range(2)]))
        list(pool.map(send, bookings))

    # And the delivery worker drains the queue, as Lambda's poller would
    sqs = boto3.client("sqs")
    poller = SqsPoller(sqs, aws.delivery_queue_url, delivery_worker.lambda_handler)
    deadline = time.monotonic() + 240
    while not queue_is_empty(aws.delivery_queue_url, sqs) and time.monotonic() < deadline:
        if poller.poll_once() == 0:
            time.sleep(0.2)  # messages delayed by backoff or Retry-After
    assert queue_is_empty(aws.delivery_queue_url, sqs), "the delivery queue did not drain"
    time.sleep(1)  # let slow calls the clients gave up on finish, so BizKitHub's count is final

    # Then: every booking is in BizKitHub exactly once, but for ambiguous duplicates, which are counted
    clashing = {b["title"] for b in bookings if "CLASH" in b["title"]}
    accepted = Counter(event["title"] for event in stand_in.accepted_events)
    assert set(accepted) <= set(outcomes.by_title), "an event in BizKitHub from a call not recorded"
    assert outcomes.called_again_after_created() == [], "BizKitHub called again after it created the event"
    duplicated = {title for title, count in accepted.items() if count > 1}
    assert duplicated <= outcomes.unanswered(), "a duplicate without an unanswered call behind it"
    assert all(accepted[b["title"]] >= 1 for b in bookings if b["title"] not in clashing), (
        "a booking was lost"
    )
    assert not clashing & set(accepted)
    print(
        f"\nambiguous duplicates (an add-event call got no answer, yet created the event): "
        f"{len(duplicated)} of {BOOKINGS}"
    )

    # The dead-letter queue holds exactly the rejected bookings, once each, with the reason
    dead = _dead_letters(sqs, aws.dead_letter_queue_url)
    assert sorted(message["event"]["title"] for message in dead) == sorted(clashing)
    assert {message["failure"]["bizkithubError"] for message in dead} == {"SLOT_BLOCKED"}
    assert all(defaults.BIZKITHUB_API_KEY not in json.dumps(message) for message in dead)

    # No sender got a 5xx for a booking that was queued
    statuses = {title: [reply.status for reply in sent] for title, sent in replies.items()}
    assert all(len(sent) == 3 for sent in statuses.values())
    for title, sent in statuses.items():
        if 202 in sent:
            assert not [status for status in sent if status >= 500], (title, sent)
    assert all(status in (200, 202, 409, 422) for sent in statuses.values() for status in sent)
    print(f"sender replies: {Counter(s for sent in statuses.values() for s in sent)}")

    # And a later retry of each delivered booking gets its eventId from the record the worker wrote
    first_ids = {event["title"]: event for event in stand_in.accepted_events}
    for booking in bookings:
        if booking["title"] in clashing:
            continue
        again = webhook.post(booking)
        assert again.status == 200, (booking["title"], again.body)
        assert again.body["status"] == "duplicate"
        assert booking["title"] in first_ids
