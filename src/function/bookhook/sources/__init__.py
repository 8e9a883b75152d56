"""One module per sender. Each knows its own headers, signature scheme, payload and mapping,
and nothing of AWS or HTTP clients: it takes a `WebhookRequest` and the sender's secrets, and
returns a `Booking` (or `Ignored`) or raises a typed error from `bookhook.errors`.

Each module's `source(...)` binds its configuration (settings, booking rules) once at start-up and
returns a `WebhookSource`; adding a sender means one module, one route, one sample event, tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bookhook.calendar.event import CalendarEvent, first_error
from bookhook.errors import MalformedRequest, UnsupportedContentType
from bookhook.jsonbody import read_json
from bookhook.request import WebhookRequest
from bookhook.safe_names import safe_path

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Booking:
    """A calendar event to create, and the sender's stable id for it (the idempotency key).

    `fingerprint` is what must match when the key is seen again: by default the event itself (the
    same key with a different event is an error), or, for a sender whose several notifications of
    one payment carry different details, the key alone.
    """

    key: str
    event: CalendarEvent
    fingerprint: str | None = None

    def identity(self) -> str:
        if self.fingerprint is not None:
            return self.fingerprint
        return self.event.canonical_json()


@dataclass(frozen=True)
class Ignored:
    """A genuine webhook we deliberately do not book on (answered 200 so the sender stops)."""

    reason: str


@dataclass(frozen=True)
class UnbookedHalf:
    """One half of a payment (a Checkout Session, or its PaymentIntent) that is paid but carries no
    booking details. Harmless alone, since the other half may carry them; once both halves have
    said so, the customer paid and nothing books it (`PaidNotBooked`)."""

    payment_key: str  # what both halves share (the PaymentIntent id)
    half: str  # which half this is: "session" or "intent"
    reason: str  # the 200 "ignored" reason while the other half may still book
    missing: str  # what the 422 says once both halves came without booking details


ReadResult = Booking | Ignored | UnbookedHalf


@dataclass(frozen=True)
class WebhookSource:
    name: str
    authenticate: Callable[[WebhookRequest, Sequence[str]], None]
    read_booking: Callable[[WebhookRequest], ReadResult]
    # True where the sender cannot act on a refusal (a customer has already paid): BizKitHub's
    # rejection is then answered 200 "rejected", recorded and alarmed on, instead of a 422.
    acknowledge_rejections: bool = False


def parse_json_body(request: WebhookRequest, model: type[ModelT], *, sender: str, what: str) -> ModelT:
    """The body of a sender that posts JSON only, as `model`: 415 for another content type (a
    missing one is read as JSON), 400 from the one JSON reader, 400 naming the first field that
    does not fit."""
    if request.media_type not in (None, "application/json"):
        raise UnsupportedContentType(f"{sender} webhooks are application/json", field="Content-Type")
    document = read_json(request.body)
    try:
        return model.model_validate(document)
    except ValidationError as error:
        path, message = safe_first_error(error, document)
        raise MalformedRequest(f"not a {what}: {path}: {message}", field=path or None) from None


# Pydantic error types whose message quotes the input (the others quote only our own schema).
_MESSAGES_WITH_INPUT = {"union_tag_invalid": "Input tag does not match any of the expected tags"}


def safe_first_error(error: ValidationError, data: object) -> tuple[str, str]:
    """`first_error` of validating `data`, safe to answer and log: each key of `data` on the path
    that may carry personal data is described instead of repeated (`bookhook.safe_names`), and the
    message repeats no input, even where a validator's message would."""
    path, message = first_error(error)
    detail = error.errors(include_url=False, include_context=False)[0]
    message = _MESSAGES_WITH_INPUT.get(detail["type"], message)
    value = detail.get("input")
    if isinstance(value, str) and len(value) >= 3 and value in message:
        message = message.replace(value, "(the value)")
    # A check on the whole object has no location; first_error names the field its message blames.
    return (safe_path(detail["loc"], data) if detail["loc"] else path), message
