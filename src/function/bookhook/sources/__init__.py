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
from bookhook.request import WebhookRequest

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
class WebhookSource:
    name: str
    authenticate: Callable[[WebhookRequest, Sequence[str]], None]
    read_booking: Callable[[WebhookRequest], Booking | Ignored]
    # True where the sender cannot act on a refusal (a customer has already paid): BizKitHub's
    # rejection is then answered 200 "rejected", recorded and alarmed on, instead of a 422.
    acknowledge_rejections: bool = False


def parse_json_body(request: WebhookRequest, model: type[ModelT], *, sender: str, what: str) -> ModelT:
    """The body of a sender that posts JSON only, as `model`: 415 for another content type (a
    missing one is read as JSON), 400 naming the first field that does not fit."""
    if request.media_type not in (None, "application/json"):
        raise UnsupportedContentType(f"{sender} webhooks are application/json", field="Content-Type")
    try:
        return model.model_validate_json(request.body)
    except ValidationError as error:
        path, message = first_error(error)
        raise MalformedRequest(f"not a {what}: {path}: {message}", field=path or None) from None
