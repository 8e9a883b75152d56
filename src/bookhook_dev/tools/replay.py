"""Send dead-lettered bookings back for delivery: `bookhook replay`.

    .venv/bin/bookhook replay \\
        --dead-letter-queue-url URL --delivery-queue-url URL [--message-id ID] [--rules FILE]

Each message in the DeadLetterQueue (or only `--message-id`) is handled by kind:
- a booking the worker gave up on, or BizKitHub rejected: sent back to the DeliveryQueue marked as
  an operator's replay, so the worker starts its tries afresh and may reopen the booking's record
  (dead-lettered or rejected; a booking already delivered is skipped by the worker);
- a verified webhook that could not be mapped: its kept raw body is mapped again with the current
  settings and rules (environment variables as the function has them, and `--rules`); if it maps
  now, the booking goes to the DeliveryQueue; if not, the error is printed and it stays.
A replayed message is deleted from the DeadLetterQueue only once the DeliveryQueue has it.
Uses the AWS credentials and region of the environment (`AWS_PROFILE`, `AWS_REGION`, …).
Plain re-delivery without re-mapping can also be done with SQS's redrive (README runbook).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bookhook.delivery.queue import DeliveryQueue, QueuedBooking, parse_message
from bookhook.errors import WebhookError
from bookhook.request import WebhookRequest
from bookhook.services import build_sources
from bookhook.settings import MappingSettings
from bookhook.sources import Booking, Ignored, UnbookedHalf, WebhookSource
from bookhook.sources.typeform.rules import RulesError
from bookhook_dev.tools import cli

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def replay(
    sqs: SQSClient,
    *,
    dead_letter_queue_url: str,
    delivery_queue_url: str,
    sources: Mapping[str, WebhookSource],
    message_id: str | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Returns how many messages went back to the DeliveryQueue."""
    delivery = DeliveryQueue(delivery_queue_url, sqs)
    replayed = 0
    seen: set[str] = set()
    while True:
        batch = sqs.receive_message(
            QueueUrl=dead_letter_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30
        )
        messages = [m for m in batch.get("Messages", []) if m["MessageId"] not in seen]
        if not messages:
            return replayed
        for received in messages:
            seen.add(received["MessageId"])
            if message_id is not None and received["MessageId"] != message_id:
                continue
            again = _again(parse_message(received["Body"]), sources, received["MessageId"], out)
            if again is None:
                continue
            delivery.send(again)
            sqs.delete_message(QueueUrl=dead_letter_queue_url, ReceiptHandle=received["ReceiptHandle"])
            replayed += 1
            print(f"{received['MessageId']}: back on the delivery queue ({again.booking_key})", file=out)


def _again(
    message: QueuedBooking, sources: Mapping[str, WebhookSource], message_id: str, out: TextIO
) -> QueuedBooking | None:
    if message.kind == "record" or message.event_id is not None:
        # An eventId BizKitHub gave: to be recorded, never delivered again.
        return message.model_copy(update={"attempts": 0, "failure": None})
    if message.event is not None and message.booking_key is not None:
        # `dead_lettered` tells the worker this came back from the dead-letter queue on purpose.
        return message.model_copy(
            update={
                "kind": "deliver",
                "attempts": 0,
                "dead_lettered": True,
                "failure": None,
                "handed_off_by": None,
            }
        )
    body = message.raw_body()
    source = sources.get(message.source)
    if body is None or source is None:
        print(f"{message_id}: nothing to replay (source {message.source!r})", file=out)
        return None
    try:
        result = source.read_booking(WebhookRequest(body=body, headers=message.headers or {}))
    except WebhookError as error:
        print(
            f"{message_id}: still cannot be mapped: {error.status} {error.field or ''} {error.message}",
            file=out,
        )
        return None
    if isinstance(result, UnbookedHalf):
        print(f"{message_id}: still has no booking details ({result.missing}); left", file=out)
        return None
    if isinstance(result, Ignored):
        print(f"{message_id}: now ignored ({result.reason}); left in the dead-letter queue", file=out)
        return None
    return _deliver_message(message.source, result)


def _deliver_message(source: str, booking: Booking) -> QueuedBooking:
    return QueuedBooking(
        kind="deliver",
        source=source,
        booking_key=booking.key,
        identity=booking.identity(),
        event=booking.event.wire_event(),
        dead_lettered=True,  # an operator's replay: the worker may reopen the booking's record
    )


def configure(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """`bookhook replay`'s options."""
    parser.add_argument(
        "--dead-letter-queue-url",
        default=os.environ.get("DEAD_LETTER_QUEUE_URL"),
        metavar="URL",
        help="the stack's DeadLetterQueueUrl output (default: DEAD_LETTER_QUEUE_URL)",
    )
    parser.add_argument(
        "--delivery-queue-url",
        default=os.environ.get("DELIVERY_QUEUE_URL"),
        metavar="URL",
        help="the stack's DeliveryQueueUrl output (default: DELIVERY_QUEUE_URL)",
    )
    parser.add_argument("--message-id", metavar="ID", help="replay only this message (default: every one)")
    parser.add_argument(
        "--rules",
        type=Path,
        metavar="FILE",
        help="the Typeform rules to map kept webhooks with (default: the deployed ones)",
    )
    return run


def run(args: argparse.Namespace, *, sqs: Any = None, out: TextIO = sys.stdout) -> int:
    if not args.dead_letter_queue_url or not args.delivery_queue_url:
        raise cli.CommandError(
            "give --dead-letter-queue-url and --delivery-queue-url (the stack's outputs)", code=2
        )
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        # Re-mapped as the webhook function maps (its mapping settings from this environment).
        sources = build_sources(MappingSettings.from_environ(), args.rules)
    except (RulesError, ValueError) as error:  # the rules file, or a setting in the environment
        raise cli.CommandError(f"cannot map as the function does: {error}") from None
    try:
        if sqs is None:
            import boto3

            sqs = boto3.client("sqs")
        count = replay(
            sqs,
            dead_letter_queue_url=args.dead_letter_queue_url,
            delivery_queue_url=args.delivery_queue_url,
            sources=sources,
            message_id=args.message_id,
            out=out,
        )
    except (BotoCoreError, ClientError) as error:  # no credentials or region, a wrong URL, …
        raise cli.CommandError(f"AWS: {error}") from None
    print(f"{count} message(s) sent back for delivery", file=out)
    return 0


def main(argv: list[str], *, sqs: Any = None, out: TextIO = sys.stdout) -> int:
    """`bookhook replay ARGV…` with the given SQS client; what it did written to `out`."""
    args, _ = cli.parse(["replay", *argv])
    return run(args, sqs=sqs, out=out)


if __name__ == "__main__":
    raise SystemExit(cli.main(["replay", *sys.argv[1:]]))
