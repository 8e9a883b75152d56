"""One sender's malformed entry in the booking secret stops that sender alone (issue 11, part 6).

Through the real handler: the sender whose entry is malformed is answered 503 (it cannot be
authenticated; it retries once the operator fixes the secret) with a reply that names no secret field
and no value, the other senders deliver, and the log line names the field for the operator, never
the value.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from bookhook.handlers import delivery_worker
from bookhook.handlers import webhook as webhook_module
from bookhook.services import build_worker
from bookhook.sources.stripe import signature_header
from bookhook.sources.typeform import expected_signature
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn, Status
from bookhook_dev.testing.lambda_emulation import LocalResources, SqsPoller
from bookhook_dev.tools import stripe_samples, typeform_samples
from tests.integration.conftest import (
    Reply,
    Webhook,
    queue_is_empty,
    queue_settings,
    zapier_booking,
)

SENDERS = ("zapier", "typeform", "stripe")
GOOD = {
    "zapier": defaults.ZAPIER_TOKEN,
    "typeform": defaults.TYPEFORM_SECRET,
    "stripe": defaults.STRIPE_SECRET,
}
# Distinctive values, so a test can tell that none of them reached a reply or a log line.
SEVEN = "Sev3n!x"
OTHER_TOKEN = "extra-secret-canary-31337-abcdef"
NUMBER = 31415926535
GENERIC_MESSAGE = (
    "this sender's credentials are not configured correctly; the operator must fix the booking secret"
)


def post_as(webhook: Webhook, sender: str) -> Reply:
    """One valid, correctly authenticated booking from `sender`, signed with its usual secret."""
    if sender == "zapier":
        return webhook.post(zapier_booking())
    if sender == "typeform":
        body = typeform_samples.body_bytes(typeform_samples.booking_response())
        signature = expected_signature(defaults.TYPEFORM_SECRET, body)
        return webhook.post(
            body, path="/webhooks/typeform", token=None, headers={"typeform-signature": signature}
        )
    body = stripe_samples.body_bytes(
        stripe_samples.stripe_event("checkout.session.completed", stripe_samples.checkout_session())
    )
    signature = signature_header(body, defaults.STRIPE_SECRET, int(time.time()))
    return webhook.post(body, path="/webhooks/stripe", token=None, headers={"stripe-signature": signature})


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the function's log handler writes (Lambda's stdout, so CloudWatch), as JSON lines.

    Powertools' handler keeps the stdout it found at import, which under pytest is the session's
    capture, not the file descriptor `capfd` reads: the handler's stream is swapped for the test."""
    handler = webhook_module.logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


def log_records(out: str) -> list[dict[str, Any]]:
    return [json.loads(text) for text in out.splitlines() if text.startswith("{")]


def put_secret(aws: LocalResources, document: dict[str, Any]) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.secret_arn, SecretString=json.dumps(document)
    )
    webhook_module.use_services(None)  # a fresh container: the secret is read anew


# Each: what the broken sender's entry holds (given its good secret), the field the log must name,
# and the values that must appear nowhere. Every shape that holds the good secret still fails closed.
SHAPES: dict[str, tuple[Callable[[str], Any], str, list[str]]] = {
    "empty list": (lambda good: [], "", []),
    "7 characters": (lambda good: SEVEN, "", [SEVEN]),
    "7 characters beside a good one": (lambda good: [good, SEVEN], ".1", [SEVEN]),
    "3 secrets": (lambda good: [good, OTHER_TOKEN, OTHER_TOKEN + "2"], "", [OTHER_TOKEN]),
    "a number": (lambda good: NUMBER, "", [str(NUMBER)]),
    "an object": (lambda good: {"token": good, "note": OTHER_TOKEN}, "", [OTHER_TOKEN]),
    "a number beside a good one": (lambda good: [good, NUMBER], ".1", [str(NUMBER)]),
    "null": (lambda good: None, "", []),
    "an empty string": (lambda good: "", "", []),
}


@pytest.mark.parametrize("broken", SENDERS)
@pytest.mark.parametrize("shape", SHAPES)
def test_a_malformed_entry_stops_only_its_sender(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    log_output: io.StringIO,
    broken: str,
    shape: str,
) -> None:
    entry, suffix, hidden = SHAPES[shape]
    document = defaults.secret_document()
    document["webhookSecrets"][broken] = entry(GOOD[broken])  # type: ignore[index]
    put_secret(aws, document)
    replies = {sender: post_as(webhook, sender) for sender in SENDERS}

    refused = replies[broken]
    assert refused.status == 503, refused.body
    assert refused.headers["retry-after"]
    assert refused.body == {"error": "configuration_error", "message": GENERIC_MESSAGE}
    for sender in SENDERS:
        if sender != broken:
            assert replies[sender].status == 200, (sender, replies[sender].body)
            assert replies[sender].body["status"] == "delivered"
    assert len(stand_in.accepted_events) == 2  # nothing from the broken sender reached BizKitHub

    logged = log_output.getvalue()
    [line] = [record for record in log_records(logged) if "secret_field" in record]
    assert line["level"] == "ERROR"
    assert line["secret_field"] == f"webhookSecrets.{broken}{suffix}"
    assert line["source"] == broken
    for value in [*hidden, *GOOD.values(), defaults.BIZKITHUB_API_KEY]:
        assert value not in logged
        assert value not in json.dumps(refused.body)


@pytest.mark.parametrize(
    "webhook_secrets",
    [
        pytest.param(defaults.ZAPIER_TOKEN, id="a string"),
        pytest.param([defaults.ZAPIER_TOKEN, defaults.TYPEFORM_SECRET], id="a list"),
        pytest.param(None, id="null"),
        pytest.param(NUMBER, id="a number"),
    ],
)
def test_webhook_secrets_not_an_object_stops_every_sender_but_not_the_worker(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    log_output: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    webhook_secrets: Any,
) -> None:
    # A booking is queued while the secret is good (BizKitHub briefly unavailable) ...
    monkeypatch.setenv("DELIVERY_QUEUE_URL", aws.delivery_queue_url)
    webhook_module.use_services(None)
    stand_in.script(Status(503))
    assert post_as(webhook, "zapier").status == 202
    # ... then the operator breaks `webhookSecrets`.
    put_secret(aws, {**defaults.secret_document(), "webhookSecrets": webhook_secrets})
    log_output.truncate(0)
    log_output.seek(0)

    replies = [post_as(webhook, sender) for sender in SENDERS]

    assert [reply.status for reply in replies] == [503, 503, 503]
    for reply in replies:
        assert reply.body == {"error": "configuration_error", "message": GENERIC_MESSAGE}
    out = log_output.getvalue()
    fields = [record["secret_field"] for record in log_records(out) if "secret_field" in record]
    assert fields == ["webhookSecrets"] * 3
    for value in [*GOOD.values(), str(NUMBER)]:
        assert value not in out

    # The API key is its own part of the secret: the delivery worker still books the queued booking.
    settings = queue_settings(aws, stand_in)
    delivery_worker.use_worker(build_worker(settings))
    try:
        poller = SqsPoller(boto3.client("sqs"), aws.delivery_queue_url, delivery_worker.lambda_handler)
        deadline = time.monotonic() + 20
        while not queue_is_empty(aws.delivery_queue_url) and time.monotonic() < deadline:
            if poller.poll_once() == 0:
                time.sleep(0.1)
    finally:
        delivery_worker.use_worker(None)
    assert len(stand_in.accepted_events) == 1


def test_malformed_entries_of_unknown_senders_are_ignored(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources
) -> None:
    document = defaults.secret_document()
    document["webhookSecrets"].update({"calendly": [], "Zapier": NUMBER, "": None})  # type: ignore[attr-defined]
    put_secret(aws, document)

    replies = [post_as(webhook, sender) for sender in SENDERS]

    assert [reply.status for reply in replies] == [200, 200, 200]
    assert len(stand_in.accepted_events) == 3


def test_a_malformed_key_leaves_authentication_to_each_sender(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources
) -> None:
    # The key is checked when it is used: a caller without valid credentials is still told 401, and
    # a sender with a malformed entry still 503 for its own reason, not the key's.
    document = defaults.secret_document()
    del document["bizkithubApiKey"]
    document["webhookSecrets"]["typeform"] = []  # type: ignore[index]
    put_secret(aws, document)

    unauthenticated = webhook.post(zapier_booking(), token="not-the-token-0123456789")
    typeform = post_as(webhook, "typeform")
    zapier = post_as(webhook, "zapier")

    assert unauthenticated.status == 401
    assert (typeform.status, typeform.body["message"]) == (503, GENERIC_MESSAGE)
    assert zapier.status == 503
    assert (
        "bizkithubApiKey" in zapier.body["message"]
    )  # an authenticated sender, told what the operator must fix
    assert stand_in.calls == []
