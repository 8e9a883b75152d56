"""The delivery queue: bookings waiting for BizKitHub, and what could not be used, with the reason.

The webhook function only ever sends to the DeliveryQueue (least privilege). A message is one of:
- a booking to deliver (`kind: "deliver"`), with the owner of the lease that sent it
  (`handed_off_by`), so the worker may take that lease over at once;
- an eventId to record (`kind: "record"`): BizKitHub created the event but the booking record could
  not be written in time; the worker records it, and never calls BizKitHub for it;
- something to keep for an operator (`kind: "keep"`): a booking BizKitHub rejected, or a verified
  webhook that could not be mapped (its raw body kept so it can be replayed once the rules or
  metadata are fixed). The worker moves these to the DeadLetterQueue, where nothing expires for
  14 days.

Messages carry no secrets. They do carry the booking (attendee data included): both queues are
encrypted at rest.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bookhook.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_DELAY_SECONDS = 900  # SQS's limit for DelaySeconds
REPLAY_HEADERS = frozenset({"content-type", "idempotency-key"})


class QueuedBooking(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["deliver", "record", "keep"]
    source: str
    booking_key: str | None = None
    identity: str | None = None
    event: dict[str, Any] | None = None  # the add-event `event` object, as it goes on the wire
    attempts: int = 0
    # `record`: the eventId BizKitHub gave (None: a 2xx that carried none).
    event_id: str | None = None
    # `deliver`: the lease holder that queued it; it has stopped calling BizKitHub for this booking.
    handed_off_by: str | None = None
    # BizKitHub's rate limit: not to be called before this Unix time (its Retry-After), which may be
    # later than SQS's longest delay; and since when this booking has been waiting on the limit.
    not_before: float | None = None
    rate_limited_since: float | None = None
    # Pacing: the call slot (Unix time) reserved for this booking; it calls then without reserving
    # again (see delivery.pacing). Consumed by the call.
    paced_slot: float | None = None
    # Why it is kept: {"reason": ..., "status": ..., "bizkithubError": ...}; never a secret.
    failure: dict[str, Any] | None = None
    # For webhooks that could not be mapped: the body exactly as received, and its content type.
    raw_body_base64: str | None = None
    # Set by the worker when it gives up; a message that comes back with it set was sent back on
    # purpose (an SQS redrive), so its tries start again.
    dead_lettered: bool = False
    # An operator's replay not yet leased: its first lease may reopen a dead-lettered or rejected
    # record, though it waited on the queue (for its Retry-After or its slot) after being taken back.
    reopen: bool = False

    # The request headers a replay needs to map the body as the sender meant it (never credentials).
    headers: dict[str, str] | None = None

    @classmethod
    def unmappable(
        cls, *, source: str, body: bytes, headers: dict[str, str], reason: dict[str, Any]
    ) -> QueuedBooking:
        kept = {name: value for name, value in headers.items() if name in REPLAY_HEADERS}
        return cls(
            kind="keep",
            source=source,
            raw_body_base64=base64.b64encode(body).decode("ascii"),
            headers=kept,
            failure=reason,
        )

    def raw_body(self) -> bytes | None:
        return None if self.raw_body_base64 is None else base64.b64decode(self.raw_body_base64)


class DeliveryQueue:
    """SQS adapter; takes an injectable client (moto in tests)."""

    def __init__(self, queue_url: str, client: SQSClient) -> None:
        self._queue_url = queue_url
        self._client = client

    def send(self, message: QueuedBooking, *, delay_seconds: int = 0) -> None:
        try:
            self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=message.model_dump_json(exclude_none=True),
                DelaySeconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)),
            )
        except Exception as error:  # botocore raises many types; all mean "not queued"
            raise ServiceUnavailable(
                f"the delivery queue could not be written ({type(error).__name__})"
            ) from None


def field_names(error: ValidationError, *, whole: str) -> list[str]:
    """The fields a message or an event failed on, for the dead-letter queue: names, never values;
    `whole` names a failure of the whole object (a check across fields)."""
    return sorted({".".join(str(p) for p in d["loc"]) or whole for d in error.errors(include_input=False)})


def parse_message(body: str) -> QueuedBooking:
    return QueuedBooking.model_validate(json.loads(body))
