"""What the sender is told when BizKitHub fails, refuses the key, or the same booking races itself."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest

from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn, Drop, Fault, Slow, Status
from bookhook_dev.testing.lambda_emulation import LocalResources
from tests.integration.conftest import Reply, Webhook, zapier_booking

ROTATED_KEY = "PRODRotatedKey0123456789abcdefgh"[:32]


@pytest.mark.parametrize(
    ("fault", "retry_after"),
    [
        pytest.param(Status(500), "60", id="500"),
        pytest.param(Status(503, retry_after="120"), "120", id="503 with Retry-After"),
        pytest.param(Drop(), "60", id="dropped connection"),
    ],
)
def test_bizkithub_unavailable_gives_503_and_the_retry_delivers_once(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, fault: Fault, retry_after: str
) -> None:
    stand_in.script(fault)

    failed = webhook.post(zapier_booking())

    assert failed.status == 503
    assert failed.headers["retry-after"] == retry_after
    assert failed.body["error"] == "bizkithub_unavailable"
    # The failure is not remembered: nothing in the idempotency table blocks the sender's retry.
    assert boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"] == []

    retried = webhook.post(zapier_booking())

    assert retried.status == 200
    assert len(stand_in.accepted_events) == 1


def test_a_429_gives_503_and_a_retry_within_its_retry_after_is_not_sent(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources
) -> None:
    """Without a queue, the sender is told BizKitHub's Retry-After; a retry that comes sooner is
    answered 503 again without a request (pacing holds every call during the pause)."""
    stand_in.script(Status(429, retry_after="7"))

    failed = webhook.post(zapier_booking())
    early = webhook.post(zapier_booking())

    assert (failed.status, failed.headers["retry-after"]) == (503, "7")
    assert failed.body["error"] == "bizkithub_unavailable"
    assert early.status == 503
    assert 5 <= int(early.headers["retry-after"]) <= 7
    assert [call.status for call in stand_in.calls] == [429]
    # No booking record blocks the sender's later retry (only the shared pacing state is kept).
    items = boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    assert [item["id"]["S"] for item in items] == ["pacing#add-event"]


def test_read_timeout_is_ambiguous_and_answered_as_retryable(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    """A read timeout after the request was sent may still create the event (the stand-in, like a slow
    BizKitHub, finishes the call). Today the sender is told 503 and its retry delivers again: the known
    ambiguous case, counted here so the delivery-queue work (issue 5) can remove it."""
    stand_in.script(Slow(2.5))  # the function's read timeout is 2 s in these tests

    failed = webhook.post(zapier_booking())
    retried = webhook.post(zapier_booking())

    assert (failed.status, retried.status) == (503, 200)
    deadline = time.monotonic() + 5  # the slow call finishes about 0.5 s after the client gave up
    while len(stand_in.accepted_events) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(stand_in.accepted_events) == 2


@pytest.mark.parametrize(
    ("fault", "bizkithub_error"),
    [
        pytest.param(
            Status(400, body={"state": "error", "error": {"code": "SLOT_TAKEN", "message": "x"}}),
            "SLOT_TAKEN",
            id="400 with code",
        ),
        pytest.param(Status(409, body={"message": "slot taken"}), None, id="409 without code"),
    ],
)
def test_bizkithub_rejection_gives_422_with_its_error_code(
    webhook: Webhook, stand_in: BizKitHubStandIn, fault: Fault, bizkithub_error: str | None
) -> None:
    stand_in.script(fault)

    reply = webhook.post(zapier_booking())

    assert reply.status == 422
    assert reply.body["error"] == "rejected_by_bizkithub"
    assert reply.body.get("bizkithubError") == bizkithub_error
    assert "retry-after" not in reply.headers


def test_rotated_key_is_fetched_after_401_and_the_booking_delivered(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources
) -> None:
    # Given a warm function holding the old key in its secret cache
    assert webhook.post(zapier_booking(title="Warm-up booking")).status == 200
    # When the operator rotates the key in Secrets Manager and BizKitHub accepts only the new one
    document = defaults.secret_document() | {"bizkithubApiKey": ROTATED_KEY}
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.secret_arn, SecretString=json.dumps(document)
    )
    stand_in.set_accepted_keys([ROTATED_KEY])

    reply = webhook.post(zapier_booking())

    # Then one refused call with the old key, one accepted with the new
    assert reply.status == 200
    assert [(call.api_key, call.status) for call in stand_in.calls[1:]] == [
        (defaults.BIZKITHUB_API_KEY, 401),
        (ROTATED_KEY, 200),
    ]
    assert reply.body["eventId"] == stand_in.calls[-1].event_id


def test_key_refused_after_refresh_is_503(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    stand_in.set_accepted_keys([ROTATED_KEY])

    reply = webhook.post(zapier_booking())

    assert reply.status == 503
    assert reply.body["error"] == "bizkithub_key_refused"
    assert [call.status for call in stand_in.calls] == [401, 401]
    assert defaults.BIZKITHUB_API_KEY not in json.dumps(reply.body)


def _post_together(webhook: Webhook, count: int) -> list[Reply]:
    from bookhook.handlers import webhook as module

    module.current_services()  # built before the race, so both requests start on equal terms
    replies: list[Reply] = []
    barrier = threading.Barrier(count)

    def send() -> None:
        barrier.wait()
        replies.append(webhook.post(zapier_booking()))

    threads = [threading.Thread(target=send) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def test_same_booking_at_the_same_moment_books_once_and_both_get_the_event_id(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    stand_in.script(Slow(1.0))  # keep the first delivery in flight while the duplicate arrives

    replies = _post_together(webhook, 2)

    assert sorted(reply.status for reply in replies) == [200, 200]
    assert sorted(reply.body["status"] for reply in replies) == ["delivered", "duplicate"]
    assert len(stand_in.calls) == 1
    assert {reply.body["eventId"] for reply in replies} == {stand_in.calls[0].event_id}


def test_duplicate_still_in_flight_after_the_wait_gets_409_with_retry_after(
    webhook: Webhook, stand_in: BizKitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IN_FLIGHT_WAIT_SECONDS", "0.3")
    monkeypatch.setenv("BIZKITHUB_READ_TIMEOUT_SECONDS", "5")
    from bookhook.handlers import webhook as module

    module.use_services(None)
    stand_in.script(Slow(1.5))

    replies = _post_together(webhook, 2)

    by_status = {reply.status: reply for reply in replies}
    assert sorted(by_status) == [200, 409]
    assert by_status[409].headers["retry-after"] == "10"
    assert by_status[409].body["error"] == "booking_in_flight"
    assert len(stand_in.calls) == 1
    later = webhook.post(zapier_booking())
    assert later.body == {"status": "duplicate", "eventId": by_status[200].body["eventId"]}
