"""One module per sender. Each knows its own headers, signature scheme, payload and mapping,
and nothing of AWS or HTTP clients: it takes a `WebhookRequest` and the sender's secrets, and
returns a `Booking` (or `Ignored`) or raises a typed error from `bookhook.errors`.

Each module's `source(...)` binds its configuration (settings, booking rules) once at start-up and
returns a `WebhookSource`; adding a sender means one module, one route, one sample event, tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bookhook.calendar.event import CalendarEvent
from bookhook.request import WebhookRequest


@dataclass(frozen=True)
class Booking:
    """A calendar event to create, and the sender's stable id for it (the idempotency key)."""

    key: str
    event: CalendarEvent


@dataclass(frozen=True)
class Ignored:
    """A genuine webhook we deliberately do not book on (answered 200 so the sender stops)."""

    reason: str


@dataclass(frozen=True)
class WebhookSource:
    name: str
    authenticate: Callable[[WebhookRequest, Sequence[str]], None]
    read_booking: Callable[[WebhookRequest], Booking | Ignored]
