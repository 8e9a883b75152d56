"""Deliver now, else queue: the webhook's 202, the worker, the dead-letter queue and replays."""

from __future__ import annotations

import io
import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from bookhook.calendar.client import BizKitHubClient
from bookhook.delivery.pacing import SPACING_MARGIN
from bookhook.handlers import delivery_worker
from bookhook.handlers import webhook as webhook_module
from bookhook.request import WebhookRequest
from bookhook.services import build_worker
from bookhook.settings import MappingSettings
from bookhook.sources import zapier
from bookhook.sources.typeform import expected_signature
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn, RateLimit, Status
from bookhook_dev.testing.lambda_emulation import LocalResources, SqsPoller
from bookhook_dev.tools import replay
from bookhook_dev.tools.typeform_samples import body_bytes, booking_response
from tests.integration.conftest import Webhook, queue_is_empty, queue_settings, queued_count, zapier_booking

MAX_ATTEMPTS = 3
SCALED_HOUR_SECONDS = 60  # RateLimit(..., time_scale=60): BizKitHub's hour lasts a minute


@pytest.fixture
def drain(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], None]]:
    """The webhook with a delivery queue, and a function that runs the worker until the queue is empty.
    Rate limits set on the stand-in here run BizKitHub's hour in a minute: pacing is told so."""
    monkeypatch.setenv("DELIVERY_QUEUE_URL", aws.delivery_queue_url)
    monkeypatch.setenv("BIZKITHUB_RATE_LIMIT_WINDOW_SECONDS", str(SCALED_HOUR_SECONDS))
    webhook_module.use_services(None)
    settings = queue_settings(
        aws,
        stand_in,
        DELIVERY_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        BIZKITHUB_RATE_LIMIT_WINDOW_SECONDS=str(SCALED_HOUR_SECONDS),
        BIZKITHUB_PACING=os.environ.get("BIZKITHUB_PACING", "on"),
    )
    delivery_worker.use_worker(build_worker(settings))
    poller = SqsPoller(boto3.client("sqs"), aws.delivery_queue_url, delivery_worker.lambda_handler)

    def run() -> None:
        # Until nothing is left, delayed messages (BizKitHub's Retry-After) included; generous, for
        # a loaded machine (a burst without pacing waits out several Retry-Afters).
        deadline = time.monotonic() + 60
        while not queue_is_empty(aws.delivery_queue_url) and time.monotonic() < deadline:
            if poller.poll_once() == 0:
                time.sleep(0.1)

    yield run
    delivery_worker.use_worker(None)


def _messages(queue_url: str) -> list[dict[str, Any]]:
    """Every message on the queue, left there (visible again) for whoever reads next."""
    sqs = boto3.client("sqs")
    received: list[Any] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
        "Messages", []
    ):
        received.extend(batch)
    for message in received:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return [json.loads(message["Body"]) for message in received]


def test_a_booking_bizkithub_cannot_take_is_queued_once_and_delivered_by_the_worker(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, drain: Callable[[], None]
) -> None:
    stand_in.script(Status(503, retry_after="1"))

    first = webhook.post(zapier_booking())
    again = webhook.post(zapier_booking())

    assert (first.status, first.body) == (202, {"status": "queued"})
    assert (again.status, again.body) == (202, {"status": "queued"})
    assert queued_count(aws.delivery_queue_url) == 1  # not queued twice

    drain()

    [event_call] = [call for call in stand_in.calls if call.status == 200]
    assert [call.status for call in stand_in.calls] == [503, 200]
    # The same Idempotency-Key on every try, so BizKitHub could drop a repeat.
    assert len({call.headers["idempotency-key"] for call in stand_in.calls}) == 1
    later = webhook.post(zapier_booking())
    assert (later.status, later.body) == (200, {"status": "duplicate", "eventId": event_call.event_id})
    assert queued_count(aws.delivery_queue_url) == 0


def test_when_the_queue_itself_fails_the_sender_gets_503_and_nothing_is_remembered(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DELIVERY_QUEUE_URL", aws.delivery_queue_url + "-missing")
    webhook_module.use_services(None)
    stand_in.script(Status(500))

    failed = webhook.post(zapier_booking())
    retried = webhook.post(zapier_booking())

    assert failed.status == 503
    assert failed.body["error"] == "service_unavailable"
    assert retried.status == 200  # the claim was released, so the retry delivered


def test_after_every_try_fails_the_booking_is_dead_lettered_with_the_reason(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, drain: Callable[[], None]
) -> None:
    stand_in.script(*[Status(503)] * (MAX_ATTEMPTS + 1))

    assert webhook.post(zapier_booking()).status == 202
    drain()

    [dead] = _messages(aws.dead_letter_queue_url)
    assert dead["kind"] == "deliver"
    assert dead["attempts"] == MAX_ATTEMPTS
    assert dead["failure"]["status"] == 503
    assert dead["failure"]["reason"] == "Unavailable"
    assert defaults.BIZKITHUB_API_KEY not in json.dumps(dead)
    assert len(stand_in.calls) == MAX_ATTEMPTS
    assert webhook.post(zapier_booking()).body == {"status": "dead_lettered"}


def test_a_rejected_booking_is_kept_in_the_dead_letter_queue_and_refused_again_without_a_call(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, drain: Callable[[], None]
) -> None:
    stand_in.reject_titles_containing("CLASH")

    first = webhook.post(zapier_booking(title="CLASH at ten"))
    drain()
    again = webhook.post(zapier_booking(title="CLASH at ten"))

    assert (first.status, first.body["bizkithubError"]) == (422, "SLOT_BLOCKED")
    assert (again.status, again.body["bizkithubError"]) == (422, "SLOT_BLOCKED")
    assert len(stand_in.calls) == 1
    [dead] = _messages(aws.dead_letter_queue_url)
    assert (dead["event"]["title"], dead["failure"]["bizkithubError"]) == ("CLASH at ten", "SLOT_BLOCKED")


def test_an_unmappable_webhook_is_kept_and_replayed_once_the_rules_are_fixed(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    drain: Callable[[], None],
    tmp_path: Path,
) -> None:
    body = body_bytes(booking_response(form_id="NewForm1"))
    signature = expected_signature(defaults.TYPEFORM_SECRET, body)

    reply = webhook.post(
        body, path="/webhooks/typeform", token=None, headers={"typeform-signature": signature}
    )
    drain()

    assert reply.status == 422
    [kept] = _messages(aws.dead_letter_queue_url)
    assert (kept["kind"], kept["source"], kept["failure"]["field"]) == (
        "keep",
        "typeform",
        "form_response.form_id",
    )
    assert "typeform-signature" not in kept["headers"]

    # When the operator adds rules for the form and replays
    shipped = (Path(webhook_module.__file__).parents[2] / "typeform_rules.toml").read_text(encoding="utf-8")
    rules = tmp_path / "rules.toml"
    rules.write_text(shipped.replace("[forms.GymB00k1]", "[forms.NewForm1]"), encoding="utf-8")
    out = io.StringIO()
    arguments = [
        "--dead-letter-queue-url",
        aws.dead_letter_queue_url,
        "--delivery-queue-url",
        aws.delivery_queue_url,
        "--rules",
        str(rules),
    ]
    assert replay.main(arguments, sqs=boto3.client("sqs"), out=out) == 0
    drain()

    # Then the booking is delivered, and replaying again sends nothing
    assert "1 message(s) sent back" in out.getvalue()
    assert [event["title"] for event in stand_in.accepted_events] == ["Training: Jan Barášek"]
    out = io.StringIO()
    replay.main(arguments, sqs=boto3.client("sqs"), out=out)
    assert "0 message(s) sent back" in out.getvalue()


def test_replaying_an_already_delivered_booking_delivers_nothing(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, drain: Callable[[], None]
) -> None:
    stand_in.script(*[Status(503)] * MAX_ATTEMPTS)
    webhook.post(zapier_booking())
    drain()  # dead-lettered after MAX_ATTEMPTS tries
    sqs = boto3.client("sqs")
    assert (
        replay.replay(
            sqs,
            dead_letter_queue_url=aws.dead_letter_queue_url,
            delivery_queue_url=aws.delivery_queue_url,
            sources={},
        )
        == 1
    )
    drain()  # now delivered
    delivered = len(stand_in.accepted_events)

    # An operator's SQS redrive of a stale copy of the same booking
    sqs.send_message(
        QueueUrl=aws.delivery_queue_url, MessageBody=json.dumps({**_deliver_copy(), "dead_lettered": True})
    )
    drain()

    assert delivered == 1
    assert len(stand_in.accepted_events) == 1


def _deliver_copy() -> dict[str, Any]:
    settings = MappingSettings.from_environ({})
    request = WebhookRequest(
        body=json.dumps(zapier_booking()).encode(), headers={"content-type": "application/json"}
    )
    booking = zapier.read_booking(request, settings)
    return {
        "kind": "deliver",
        "source": "zapier",
        "booking_key": booking.key,
        "identity": booking.identity(),
        "event": booking.event.wire_event(),
        "attempts": 1,
    }


@pytest.fixture
def call_times(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """When each add-event call went out, from the webhook and the worker alike (requested before
    `drain`, so the clients it builds bind the timed method)."""
    called_at: list[float] = []
    add_event = BizKitHubClient.add_event

    def timed(client: BizKitHubClient, *args: Any, **kwargs: Any) -> Any:
        called_at.append(time.monotonic())
        return add_event(client, *args, **kwargs)

    monkeypatch.setattr(BizKitHubClient, "add_event", timed)
    return called_at


def test_a_booking_rate_limited_for_more_tries_than_allowed_is_delivered_once_on_time(
    call_times: list[float],
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    drain: Callable[[], None],
) -> None:
    """A 429 counts no try (DELIVERY_MAX_ATTEMPTS is 3 here), and no call goes out before the
    Retry-After BizKitHub gave has passed."""
    stand_in.script(*[Status(429, retry_after="1")] * (MAX_ATTEMPTS + 2))

    assert webhook.post(zapier_booking()).status == 202
    drain()

    assert [call.status for call in stand_in.calls] == [429] * (MAX_ATTEMPTS + 2) + [200]
    assert len(stand_in.accepted_events) == 1
    assert _messages(aws.dead_letter_queue_url) == []
    gaps = [later - earlier for earlier, later in itertools.pairwise(call_times)]
    assert len(gaps) == MAX_ATTEMPTS + 2
    assert min(gaps) >= 0.95, gaps  # Retry-After: 1, honoured every time


def test_while_bizkithub_has_paused_us_bookings_are_queued_without_a_call(
    capsys: pytest.CaptureFixture[str],
    call_times: list[float],
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    drain: Callable[[], None],
) -> None:
    """One booking meets a 429 with Retry-After 2: the bookings that arrive during the pause are
    queued (202) without a request, and no call goes out until the Retry-After has passed."""
    stand_in.script(Status(429, retry_after="2"))
    titles = ["First booking", *(f"Booking during the pause {n}" for n in range(3))]

    replies = [webhook.post(zapier_booking(title=title)) for title in titles]

    assert [reply.status for reply in replies] == [202] * 4
    assert [call.status for call in stand_in.calls] == [429]  # one request, not four
    lines = capsys.readouterr().out.splitlines()  # one metric document per line
    assert sum('"BizKitHubCallsAvoided"' in line for line in lines) == 3
    assert sum('"BizKitHubRateLimited"' in line for line in lines) == 1
    assert sum('"BizKitHubPausedSeconds"' in line for line in lines) == 1  # BizKitHubRateLimitPausedAlarm
    drain()
    assert sorted(event["title"] for event in stand_in.accepted_events) == sorted(titles)
    assert [call.status for call in stand_in.calls] == [429, 200, 200, 200, 200]
    assert min(later - call_times[0] for later in call_times[1:]) >= 2  # the pause, honoured
    assert _messages(aws.dead_letter_queue_url) == []


def test_without_a_queue_a_pause_is_answered_503_with_its_retry_after_and_no_call(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    """No DELIVERY_QUEUE_URL: the booking that meets the 429 is answered 503, and so is one arriving
    during the pause, with the time left as Retry-After, and without a request."""
    stand_in.script(Status(429, retry_after="30"))

    first = webhook.post(zapier_booking(title="First"))
    second = webhook.post(zapier_booking(title="During the pause"))

    assert (first.status, second.status) == (503, 503)
    assert [call.status for call in stand_in.calls] == [429]
    assert 28 <= int(second.headers["retry-after"]) <= 30


def test_once_the_window_is_nearly_spent_calls_go_out_no_faster_than_the_plan_allows(
    call_times: list[float],
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    drain: Callable[[], None],
) -> None:
    """A plan of 30 an hour with a burst of 12, the hour a minute long (a call every 2 s). Once the
    headers say 10 are left, each call takes a slot, 2.04 s apart: the first tight one is at once
    (200); the others, each more than a second off, are queued with their slots (202, no request).
    The k-th call from that point goes out no sooner than k slots later, and none is answered 429.
    """
    stand_in.set_rate_limit(RateLimit(30, 12, time_scale=SCALED_HOUR_SECONDS))
    spacing = SCALED_HOUR_SECONDS / 30 * SPACING_MARGIN
    titles = [f"Paced booking {n:02d}" for n in range(6)]

    replies = [webhook.post(zapier_booking(title=title)) for title in titles]
    drain()

    # 11 left (quiet), 10 left (tight: shared), the first slot at once, then queued with a slot each
    assert [reply.status for reply in replies] == [200, 200, 200, 202, 202, 202]
    assert len(stand_in.calls) == 6  # one request each: none wasted, none repeated
    assert sorted(event["title"] for event in stand_in.accepted_events) == sorted(titles)
    assert stand_in.rate_limit_counts().total_limited == 0
    paced = sorted(call_times[2:])
    for k, called_at in enumerate(paced):
        assert called_at >= paced[0] + k * spacing - 0.01, (k, called_at - paced[0])


@pytest.mark.parametrize("pacing", ["on", "off"])
def test_a_burst_past_the_free_plan_is_delivered_once_each_with_nothing_dead_lettered(
    pacing: str,
    monkeypatch: pytest.MonkeyPatch,
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    request: pytest.FixtureRequest,
) -> None:
    """80 bookings in a row against the Free plan (a burst of 50, then 1,000 an hour, the hour
    compressed to a minute). With pacing, the headers warn before the limit is met: the rest are
    queued and spaced at the plan's rate, and no call is answered 429. Without it, those past the
    limit meet 429s and wait as BizKitHub asks. Either way each is delivered once, and none is
    dead-lettered (waiting counts no tries; MAX_ATTEMPTS is 3)."""
    monkeypatch.setenv("BIZKITHUB_PACING", pacing)
    drain: Callable[[], None] = request.getfixturevalue("drain")
    stand_in.set_rate_limit(RateLimit.plan("Free", time_scale=SCALED_HOUR_SECONDS))
    bookings = [zapier_booking(title=f"Burst booking {n:02d}") for n in range(80)]

    replies = [webhook.post(booking) for booking in bookings]
    drain()

    # The first ones are delivered at once; the rest queued: after a 429 without pacing, uncalled
    # with a slot each with it. (How many of each depends on how fast the posts go.)
    assert {reply.status for reply in replies} <= {200, 202}
    delivered = sorted(event["title"] for event in stand_in.accepted_events)
    assert delivered == sorted(booking["title"] for booking in bookings)  # each once
    assert _messages(aws.dead_letter_queue_url) == []
    if pacing == "on":
        # One process: every caller knew what the last answer said. (Without pacing, how many 429s
        # the burst meets depends on how fast the posts go: `make bench` measures both.)
        assert stand_in.rate_limit_counts().total_limited == 0
