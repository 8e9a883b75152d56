"""Run in a fresh interpreter by test_secrecy.py: a cold start with DEBUG logging and X-Ray on.

Sends bookings through the real handler (moto AWS, the stand-in BizKitHub, a rotated key, a
BizKitHub failure, refused tokens and bad input), with every logger at DEBUG, and writes every
X-Ray entity the SDK emitted to the file named in argv[1]. Logs go to stdout/stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import boto3
from moto import mock_aws

from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn, Status
from bookhook_dev.testing.lambda_emulation import LocalLambdaContext, http_api_event, provision
from bookhook_dev.tools.stripe_samples import body_bytes as stripe_body
from bookhook_dev.tools.stripe_samples import checkout_session, stripe_event
from bookhook_dev.tools.typeform_samples import body_bytes, booking_response

ROTATED_KEY = "ROOTRotatedKeyForSecrecyProbe000"
TYPEFORM = defaults.TYPEFORM_SECRET
STRIPE = defaults.STRIPE_SECRET
BOOKING = {
    "calendarId": defaults.CALENDAR_ID,
    "startTime": "2026-12-01T10:00:00+01:00",
    "duration": "60",
    "title": "Probe booking",
    "attendeeName": "Jan Barášek",
    "attendeeEmail": "jan@barasek.com",
    "attendeePhone": "+420777123456",
}


class CapturingEmitter:
    """Stands in for the X-Ray daemon client: keeps what would be sent."""

    def __init__(self) -> None:
        self.entities: list[dict[str, Any]] = []

    def send_entity(self, entity: Any) -> None:
        self.entities.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address: str | None) -> None:
        pass

    @property
    def ip(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return 2000


def post(
    handler: Any, body: bytes, headers: dict[str, str], raw_query: str = "", path: str = "/webhooks/zapier"
) -> int:
    event = http_api_event(method="POST", path=path, body=body, headers=headers, raw_query=raw_query)
    result = handler(event, LocalLambdaContext())
    sys.stdout.write(f"probe reply {result['statusCode']} {result['body']}\n")
    return int(result["statusCode"])


@contextmanager
def _quiet() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.CRITICAL)
    botocore_level = logging.getLogger("botocore").level
    logging.getLogger("botocore").setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        root.setLevel(level)
        logging.getLogger("botocore").setLevel(botocore_level)


def _wire_event() -> dict[str, Any]:
    return {
        "calendarId": defaults.CALENDAR_ID,
        "startTime": "2026-12-01T09:00:00.000Z",
        "endTime": "2026-12-01T10:00:00.000Z",
        "title": "Probe booking",
    }


def _sqs_record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{defaults.REGION}:123456789012:delivery",
        "awsRegion": defaults.REGION,
    }


def main(trace_file: str) -> None:
    from aws_xray_sdk.core import xray_recorder

    emitter = CapturingEmitter()
    xray_recorder.configure(emitter=emitter, streaming_threshold=0, context_missing="LOG_ERROR")

    with mock_aws(), BizKitHubStandIn() as stand_in:
        resources = provision(boto3.client("secretsmanager"), boto3.client("dynamodb"), boto3.client("sqs"))
        os.environ.update(
            BOOKING_SECRET_ARN=resources.secret_arn,
            IDEMPOTENCY_TABLE_NAME=resources.table_name,
            BIZKITHUB_BASE_URL=stand_in.base_url,
            BIZKITHUB_AUTH_MODE="query",
        )
        from bookhook.handlers.webhook import lambda_handler
        from bookhook.sources.stripe import signature_header
        from bookhook.sources.typeform import expected_signature

        # The noisiest set-up a user could choose, switched on after the probe's own AWS set-up.
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

        bearer = {"content-type": "application/json", "authorization": f"Bearer {defaults.ZAPIER_TOKEN}"}
        statuses = [post(lambda_handler, json.dumps(BOOKING).encode(), bearer)]
        statuses.append(post(lambda_handler, json.dumps(BOOKING).encode(), bearer))  # duplicate
        form = {"content-type": "application/x-www-form-urlencoded", "x-webhook-token": defaults.ZAPIER_TOKEN}
        statuses.append(post(lambda_handler, urlencode(BOOKING | {"title": "Form"}).encode(), form))
        statuses.append(
            post(lambda_handler, json.dumps(BOOKING).encode(), {"content-type": "application/json"})
        )
        statuses.append(
            post(lambda_handler, json.dumps(BOOKING).encode(), bearer, f"token={defaults.ZAPIER_TOKEN}")
        )
        bad_email = BOOKING | {"attendeeEmail": "jan@barasek", "title": "Bad email"}
        statuses.append(post(lambda_handler, json.dumps(bad_email).encode(), bearer))
        stand_in.script(Status(500))
        statuses.append(post(lambda_handler, json.dumps(BOOKING | {"title": "Fails"}).encode(), bearer))
        document = defaults.secret_document() | {"bizkithubApiKey": ROTATED_KEY}
        with _quiet():  # the operator's rotation is not the function's logging
            boto3.client("secretsmanager").put_secret_value(
                SecretId=resources.secret_arn, SecretString=json.dumps(document)
            )
        stand_in.set_accepted_keys([ROTATED_KEY])
        statuses.append(post(lambda_handler, json.dumps(BOOKING | {"title": "Rotated"}).encode(), bearer))
        typeform_body = body_bytes(booking_response())
        signed = {
            "content-type": "application/json",
            "typeform-signature": expected_signature(TYPEFORM, typeform_body),
        }
        statuses.append(post(lambda_handler, typeform_body, signed, path="/webhooks/typeform"))
        paid = stripe_body(stripe_event("checkout.session.completed", checkout_session()))
        stripe_signed = {
            "content-type": "application/json",
            "stripe-signature": signature_header(paid, STRIPE, int(time.time())),
        }
        statuses.append(post(lambda_handler, paid, stripe_signed, path="/webhooks/stripe"))

        # A key with a trailing newline in the secret: refused before sending, never a 500 whose
        # exception (and trace) would hold the key.
        from bookhook.handlers import webhook

        newline_key = defaults.secret_document() | {"bizkithubApiKey": defaults.BIZKITHUB_API_KEY + "\n"}
        with _quiet():
            boto3.client("secretsmanager").put_secret_value(
                SecretId=resources.secret_arn, SecretString=json.dumps(newline_key)
            )
        webhook.use_services(None)  # a fresh container: the secret is read anew
        statuses.append(post(lambda_handler, json.dumps(BOOKING | {"title": "Newline"}).encode(), bearer))

        # The worker meets messages it cannot use: attendee data in them reaches no log or trace.
        os.environ.update(
            DELIVERY_QUEUE_URL=resources.delivery_queue_url,
            DEAD_LETTER_QUEUE_URL=resources.dead_letter_queue_url,
        )
        from bookhook.handlers.delivery_worker import lambda_handler as worker_handler

        poisoned = {
            "kind": "deliver",
            "source": "zapier",
            "booking_key": "probe-poison",
            "identity": "probe",
            "event": {**_wire_event(), "attendees": [{"name": "Jan Barášek", "phone": "+420777123456x"}]},
        }
        records = [
            _sqs_record("1", json.dumps(poisoned)),
            _sqs_record("2", "not JSON, jan@barasek.com"),
        ]
        answer = worker_handler(
            {"Records": records}, LocalLambdaContext(function_name="bookhook-probe-delivery")
        )
        statuses.append(len(answer["batchItemFailures"]))
        sys.stdout.write(f"probe statuses {statuses}\n")

    with open(trace_file, "w", encoding="utf-8") as handle:
        json.dump(emitter.entities, handle)


if __name__ == "__main__":
    main(sys.argv[1])
