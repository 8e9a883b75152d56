"""Each edge where "once" used to break, through the real handlers, moto and the stand-in.

One test (or parametrized set) per case the exactly-once issue lists; each failed on the first
release for the reason named in its docstring.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bookhook.delivery.records import BookingRecords
from bookhook.handlers import delivery_worker
from bookhook.handlers import webhook as webhook_module
from bookhook.services import _AWS_CONFIG, build_services, build_worker
from bookhook.settings import WebhookSettings
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn, Fault, Raw, Slow, Status
from bookhook_dev.testing.lambda_emulation import LocalLambdaContext, LocalResources, SqsPoller, sqs_record
from bookhook_dev.tools import replay
from tests.integration.conftest import (
    Webhook,
    queue_is_empty,
    queue_settings,
    queued_count,
    webhook_queue_settings,
    zapier_booking,
)
from tests.integration.function_log import all_output, function_log

ATTENDEE_PHONE = "+420777123456"


def settings_for(aws: LocalResources, stand_in: BizKitHubStandIn, **extra: str) -> WebhookSettings:
    return webhook_queue_settings(aws, stand_in, BIZKITHUB_READ_TIMEOUT_SECONDS="2", **extra)


class Intercepted:
    """A boto3 client whose calls of one name can be made to fail or to do something first."""

    def __init__(self, client: Any, name: str, *, fail_when: Callable[[dict[str, Any]], bool]) -> None:
        self._client = client
        self._name = name
        self._fail_when = fail_when
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name != self._name:
            return method

        def maybe_fail(**kwargs: Any) -> Any:
            if self._fail_when(kwargs):
                self.failed += 1
                raise ClientError(
                    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}},
                    self._name,
                )
            return method(**kwargs)

        return maybe_fail


def writes_delivered(kwargs: dict[str, Any]) -> bool:
    return ":delivered" in kwargs.get(
        "ExpressionAttributeValues", {}
    ) and "SET #state = :delivered" in kwargs.get("UpdateExpression", "")


@pytest.fixture
def worker(aws: LocalResources, stand_in: BizKitHubStandIn, function_env: None) -> Iterator[SqsPoller]:
    delivery_worker.use_worker(
        build_worker(queue_settings(aws, stand_in, BIZKITHUB_READ_TIMEOUT_SECONDS="2"))
    )
    yield SqsPoller(boto3.client("sqs"), aws.delivery_queue_url, delivery_worker.lambda_handler)
    delivery_worker.use_worker(None)


def drain(poller: SqsPoller, aws: LocalResources) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if poller.poll_once() == 0 and queue_is_empty(aws.delivery_queue_url):
            return
        time.sleep(0.05)
    raise AssertionError("the delivery queue did not drain")


def record_of(aws: LocalResources) -> dict[str, Any]:
    [item] = boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def dead_letters(aws: LocalResources) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=aws.dead_letter_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        found.extend(json.loads(message["Body"]) for message in batch)
    return found


def use_webhook(settings: WebhookSettings, **clients: Any) -> None:
    webhook_module.use_services(build_services(settings, **clients))


# --- a DynamoDB write failing after BizKitHub created the event -----------------------------


def test_an_event_id_the_record_cannot_take_goes_on_the_queue_and_the_sender_hears_200(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    worker: SqsPoller,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """First release: 503, the claim expired, the sender's retry called add-event again."""
    dynamodb = Intercepted(boto3.client("dynamodb"), "update_item", fail_when=writes_delivered)
    use_webhook(settings_for(aws, stand_in), dynamodb=dynamodb)

    reply = webhook.post(zapier_booking())

    assert reply.status == 200
    [call] = stand_in.calls
    assert reply.body == {"status": "delivered", "eventId": call.event_id}
    assert dynamodb.failed == 3  # tried again within the time left
    assert "EventIdNotRecorded" in capsys.readouterr().out

    drain(worker, aws)  # the worker records the eventId it was handed
    assert (record_of(aws)["state"], record_of(aws)["event_id"]) == ("delivered", call.event_id)

    use_webhook(settings_for(aws, stand_in))
    again = webhook.post(zapier_booking())
    assert again.body == {"status": "duplicate", "eventId": call.event_id}
    assert len(stand_in.calls) == 1


def test_with_the_table_and_the_queue_failing_the_sender_still_hears_200(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources
) -> None:
    """The event exists: a 5xx would make the sender POST it again."""
    dynamodb = Intercepted(boto3.client("dynamodb"), "update_item", fail_when=writes_delivered)
    broken_queue = settings_for(aws, stand_in, DELIVERY_QUEUE_URL=aws.delivery_queue_url + "-missing")
    use_webhook(broken_queue, dynamodb=dynamodb)

    reply = webhook.post(zapier_booking())

    assert reply.status == 200
    assert reply.body["eventId"] == stand_in.calls[0].event_id


# --- the webhook's "queued" write and the worker's "delivered" -------------------------------


def test_a_worker_faster_than_the_webhooks_queued_write_keeps_its_delivered(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, worker: SqsPoller
) -> None:
    """First release: the webhook wrote "queued" after the worker's "delivered"; the record said
    queued for ever and a redrive booked a second event."""

    class FastWorker:
        """SQS whose every send is followed at once by the worker draining the queue."""

        def __init__(self, sqs: Any) -> None:
            self._sqs = sqs

        def __getattr__(self, name: str) -> Any:
            return getattr(self._sqs, name)

        def send_message(self, **kwargs: Any) -> Any:
            sent = self._sqs.send_message(**kwargs)
            drain(worker, aws)
            return sent

    stand_in.script(Status(503))
    use_webhook(settings_for(aws, stand_in), sqs=FastWorker(boto3.client("sqs")))

    reply = webhook.post(zapier_booking())

    assert reply.status == 202
    [_, delivered] = stand_in.calls
    again = webhook.post(zapier_booking())
    assert again.body == {"status": "duplicate", "eventId": delivered.event_id}
    assert (record_of(aws)["state"], record_of(aws)["event_id"]) == ("delivered", delivered.event_id)


# --- the worker takes a lease ---------------------------------------------------------------


def test_two_invocations_holding_the_same_message_call_bizkithub_once(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, worker: SqsPoller
) -> None:
    """First release: SQS's at-least-once delivery let both invocations POST."""
    use_webhook(settings_for(aws, stand_in))
    stand_in.script(Status(503), Slow(1.0))  # the webhook queues it; the first worker call is slow
    assert webhook.post(zapier_booking()).status == 202
    sqs = boto3.client("sqs")
    [message] = sqs.receive_message(QueueUrl=aws.delivery_queue_url, MaxNumberOfMessages=1)["Messages"]
    event = {"Records": [sqs_record(message, "arn:aws:sqs:eu-central-1:123456789012:delivery")]}
    answers: list[Any] = []

    def invoke() -> None:
        answers.append(delivery_worker.lambda_handler(event, LocalLambdaContext()))

    first = threading.Thread(target=invoke)
    first.start()
    time.sleep(0.3)  # the first holds the lease and waits on BizKitHub
    invoke()
    first.join()

    assert len(stand_in.accepted_events) == 1
    assert [call.status for call in stand_in.calls] == [503, 200]
    # The second gave the message back to SQS; when it returns, the booking is delivered.
    assert sorted(len(answer["batchItemFailures"]) for answer in answers) == [0, 1]
    assert record_of(aws)["state"] == "delivered"


# --- a 2xx is a creation --------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            Raw(200, b"<html><body>Created</body></html>", (("Content-Type", "text/html"),)), id="html"
        ),
        pytest.param(Raw(204, b""), id="204"),
        pytest.param(Status(200, body={"id": 7}), id="another shape"),
        pytest.param(Status(201, body={"eventId": "SHORT"}), id="malformed id"),
        pytest.param(Raw(200, b'"' + b"x" * 500_000 + b'"'), id="500 KB string"),
        pytest.param(Status(200, body={"state": "error", "error": {"code": "ODD"}}), id="error-looking body"),
    ],
)
def test_a_2xx_without_a_usable_event_id_is_delivered_and_never_sent_again(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    fault: Fault,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """First release: treated as retryable, so add-event was called again after a success."""
    use_webhook(settings_for(aws, stand_in))
    stand_in.script(fault)

    reply = webhook.post(zapier_booking())
    again = webhook.post(zapier_booking())

    assert (reply.status, reply.body) == (200, {"status": "delivered"})
    assert (again.status, again.body) == (200, {"status": "duplicate"})
    assert len(stand_in.calls) == 1
    assert record_of(aws)["state"] == "delivered"
    assert "event_id" not in record_of(aws)
    assert "EventIdUnknown" in capsys.readouterr().out
    assert queued_count(aws.delivery_queue_url) == 0


# --- BizKitHub's codes before its statuses ---------------------------------------------------


@pytest.mark.parametrize("status", [500, 404, 401])
def test_an_unknown_key_is_a_key_refusal_at_any_status(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    status: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """First release: PUBLIC_API_KEY_DOES_NOT_EXIST at 500 was an outage (no key alarm, no secret
    re-read), and at 404 a rejected booking that fired the paid-booking-rejected alarm."""
    stand_in.set_key_refusal_status(status)
    stand_in.set_accepted_keys(["PRODSomeOtherKey0123456789abcdef"])

    reply = webhook.post(zapier_booking())

    assert reply.status == 503
    assert reply.body["error"] == "bizkithub_key_refused"
    assert len(stand_in.calls) == 2  # the secret was re-read and the call repeated once
    out = capsys.readouterr().out
    assert '"BizKitHubKeyRefused"' in out
    assert "BookingRejected" not in out


def test_an_unknown_error_code_is_counted_by_code_and_the_status_decides(
    webhook: Webhook, stand_in: BizKitHubStandIn, capfd: pytest.CaptureFixture[str]
) -> None:
    stand_in.script(Status(500, body={"error": {"code": "CALENDAR_MIGRATING", "message": "Jan's calendar"}}))

    with function_log() as log:
        reply = webhook.post(zapier_booking())

    assert (reply.status, reply.body["error"]) == (503, "bizkithub_unavailable")
    out = all_output(log, capfd)
    assert '"BizKitHubUnknownErrorCode"' in out
    assert "an error code we do not know: CALENDAR_MIGRATING" in log.getvalue()  # the log line
    assert "Jan's calendar" not in out


# --- a key that fails open ------------------------------------------------------------------


@pytest.mark.parametrize("auth_mode", ["query", "bearer"])
@pytest.mark.parametrize("suffix", ["\n", " ", "\r\n"])
def test_a_key_with_trailing_whitespace_is_refused_before_sending(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    monkeypatch: pytest.MonkeyPatch,
    auth_mode: str,
    suffix: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """First release: the key passed the `$` check, http.client raised ValueError, every booking got
    500, and the trace held the whole key."""
    monkeypatch.setenv("BIZKITHUB_AUTH_MODE", auth_mode)
    webhook_module.use_services(None)
    document = defaults.secret_document() | {"bizkithubApiKey": defaults.BIZKITHUB_API_KEY + suffix}
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.secret_arn, SecretString=json.dumps(document)
    )

    with function_log() as log:
        reply = webhook.post(zapier_booking())

    assert reply.status == 503
    assert "bizkithubApiKey" in reply.body["message"]
    assert stand_in.calls == []
    assert defaults.BIZKITHUB_API_KEY not in all_output(log, capfd)


# --- poison messages ------------------------------------------------------------------------


def test_a_message_the_worker_cannot_read_is_dead_lettered_without_failing_the_batch(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    worker: SqsPoller,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """First release: an uncaught ValidationError (with the attendee's phone in its text) failed the
    whole batch, again and again, until the redrive moved it."""
    use_webhook(settings_for(aws, stand_in))
    stand_in.script(Status(503))
    assert webhook.post(zapier_booking()).status == 202
    sqs = boto3.client("sqs")
    [queued] = sqs.receive_message(QueueUrl=aws.delivery_queue_url)["Messages"]
    sqs.delete_message(QueueUrl=aws.delivery_queue_url, ReceiptHandle=queued["ReceiptHandle"])
    good = json.loads(queued["Body"])
    poisoned = good | {
        "booking_key": "other",
        "event": good["event"] | {"attendees": [{"phone": "+420 7x7 " + ATTENDEE_PHONE}]},
    }
    for body in (
        json.dumps(poisoned),
        "not json " + ATTENDEE_PHONE,
        json.dumps({"kind": 7}),
        json.dumps(good),
    ):
        sqs.send_message(QueueUrl=aws.delivery_queue_url, MessageBody=body)

    with function_log() as log:
        assert worker.poll_once() == 4

    assert queued_count(aws.delivery_queue_url) == 0  # no item of the batch came back
    assert len(stand_in.accepted_events) == 1
    kept = sorted(dead_letters(aws), key=lambda message: message["failure"]["reason"])
    assert [message["failure"]["reason"] for message in kept] == [
        "invalid_event",
        "unreadable_message",
        "unreadable_message",
    ]
    assert kept[0]["failure"]["fields"] == ["attendees.0.phone"]
    output = log.getvalue() + capfd.readouterr().out
    assert '"delivery message handled"' in output  # the worker's log lines were captured
    assert ATTENDEE_PHONE not in output


# --- Retry-After on the first hand-off ------------------------------------------------------


def test_a_booking_queued_after_a_429_waits_as_long_as_bizkithub_asked(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, worker: SqsPoller
) -> None:
    """First release: queued with no delay; the worker called again 0.06 s later."""
    use_webhook(settings_for(aws, stand_in))
    stand_in.script(Status(429, retry_after="2"))

    assert webhook.post(zapier_booking()).status == 202
    assert worker.poll_once() == 0  # nothing to take before BizKitHub's two seconds are up
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws.delivery_queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"

    drain(worker, aws)
    assert [call.status for call in stand_in.calls] == [429, 200]


# --- an answer within the deadline, whatever the dependencies do ----------------------------


@pytest.fixture
def unanswering() -> Iterator[str]:
    """A TCP endpoint that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def _client(service: str, endpoint: str) -> Any:
    make: Any = boto3.client  # the service name is a parameter here
    return make(service, endpoint_url=endpoint, config=_AWS_CONFIG, region_name=defaults.REGION)


@pytest.mark.parametrize("silent", ["dynamodb", "secretsmanager", "sqs"])
def test_the_sender_is_answered_within_the_deadline_when_a_dependency_does_not_answer(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, unanswering: str, silent: str
) -> None:
    """First release: 23-24 s, next to the function's 25 s timeout."""
    if silent == "sqs":
        stand_in.script(Status(503))  # so the booking must be queued
    use_webhook(settings_for(aws, stand_in), **{silent: _client(silent, unanswering)})

    started = time.monotonic()
    reply = webhook.post(zapier_booking())
    elapsed = time.monotonic() - started

    assert reply.status == 503
    assert elapsed < 10
    assert len(stand_in.accepted_events) == 0


def test_a_repeat_while_the_worker_delivers_is_accepted_not_refused(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources
) -> None:
    """The booking is on the queue and the worker holds it: the repeat waits briefly for the result,
    then hears 202 (accepted), not 409."""
    settings = settings_for(aws, stand_in, IN_FLIGHT_WAIT_SECONDS="0.5")
    use_webhook(settings)
    stand_in.script(Status(503))
    assert webhook.post(zapier_booking()).status == 202
    records = BookingRecords(aws.table_name, boto3.client("dynamodb"), ttl_days=7)
    [item] = boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    fingerprint = item["fingerprint"]["S"]
    [message] = boto3.client("sqs").receive_message(QueueUrl=aws.delivery_queue_url)["Messages"]
    key = json.loads(message["Body"])["booking_key"]
    assert records.lease(key, fingerprint, "worker:busy", 60, handed_off_by=None, reopen=False) is None

    again = webhook.post(zapier_booking())

    assert (again.status, again.body) == (202, {"status": "queued"})
    assert len(stand_in.calls) == 1


def test_a_replayed_record_message_records_and_never_calls_again(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, worker: SqsPoller
) -> None:
    """A `record` message that SQS moved to the dead-letter queue (the table down for every try)
    and an operator replayed: it stays a record, so BizKitHub is not called a second time."""
    dynamodb = Intercepted(boto3.client("dynamodb"), "update_item", fail_when=writes_delivered)
    broken_queue = settings_for(aws, stand_in, DELIVERY_QUEUE_URL=aws.dead_letter_queue_url)
    use_webhook(broken_queue, dynamodb=dynamodb)  # the record message lands in the DLQ directly
    reply = webhook.post(zapier_booking())
    assert reply.status == 200

    out = io.StringIO()
    arguments = [
        "--dead-letter-queue-url",
        aws.dead_letter_queue_url,
        "--delivery-queue-url",
        aws.delivery_queue_url,
    ]
    assert replay.main(arguments, sqs=boto3.client("sqs"), out=out) == 0
    drain(worker, aws)

    assert len(stand_in.calls) == 1
    assert (record_of(aws)["state"], record_of(aws)["event_id"]) == ("delivered", reply.body["eventId"])


def test_a_message_there_is_no_time_for_is_put_back_untried(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources, worker: SqsPoller
) -> None:
    """Failing it would count a receive: five such and SQS dead-letters a booking never tried."""
    use_webhook(settings_for(aws, stand_in))
    stand_in.script(Status(503))
    assert webhook.post(zapier_booking()).status == 202
    sqs = boto3.client("sqs")
    [message] = sqs.receive_message(QueueUrl=aws.delivery_queue_url)["Messages"]
    event = {"Records": [sqs_record(message, "arn:aws:sqs:eu-central-1:123456789012:delivery")]}

    answer = delivery_worker.lambda_handler(event, LocalLambdaContext(timeout_seconds=8))

    assert answer["batchItemFailures"] == []
    assert len(stand_in.calls) == 1  # only the webhook's try
    sqs.delete_message(QueueUrl=aws.delivery_queue_url, ReceiptHandle=message["ReceiptHandle"])
    [again] = sqs.receive_message(QueueUrl=aws.delivery_queue_url)["Messages"]
    assert json.loads(again["Body"])["handed_off_by"] == json.loads(message["Body"])["handed_off_by"]
