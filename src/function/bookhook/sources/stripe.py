"""Stripe: a confirmed payment books the appointment.

Authentication: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, an HMAC-SHA256 with the
endpoint's signing secret (`whsec_…`) over `"{t}.{raw body}"`. Any `v1` may match (Stripe sends
several while a secret is rolled), up to two of our secrets are tried (our own rotation), all in
constant time. Unlike Stripe's library we also refuse timestamps from the future: the window is
`tolerance` seconds either way. Written here so the runtime needs no Stripe SDK; the tests use the
official library as an oracle.

What books (configurable): `checkout.session.completed` once `payment_status` is `paid`,
`checkout.session.async_payment_succeeded` (bank debits and other delayed methods), and
`payment_intent.succeeded` (integrations without Checkout). Everything else, an unpaid session,
and test-mode events when not allowed, are answered 200 "ignored" with the reason: Stripe retries
any other answer for days.

What is an event: a JSON object with a `type`, which every Stripe event has, snapshot or thin. A
body that is not JSON, or JSON without a `type`, is a 400 (it is not from Stripe's event system,
even if signed); any event we do not book from is a 200 with the reason, whatever its shape: a
thin event (`"object": "v2.core.event"`, the thin payload style of an event destination, types
`v1.…` and `v2.…`, no `data`), another `object`, no `livemode`, no `data.object`, or a
`data.object` that is not the Checkout Session or PaymentIntent the type promises. Booking from a
thin event would mean fetching the object from Stripe's API, which this function does not call:
the reason says to send snapshot events instead. A Checkout Session or PaymentIntent that is
itself malformed (no `id`, metadata values that are not strings) stays a 400, so it shows in
Stripe's dashboard; `metadata: null` (nullable in Stripe's API description) reads as `{}`.

Booking details come from the object's metadata, with the same keys as a Zapier booking
(`calendarId`, `startTime`, `endTime` or `duration`, `title`, …) over configured defaults. The
attendee comes from the Checkout Session's `customer_details` (name, email, phone), then metadata
`attendee*` keys, then, for a PaymentIntent, `shipping` and `receipt_email`.

Booking key: the PaymentIntent id when there is one, else the Checkout Session id, so the
completed, async-succeeded and payment_intent events of one payment, and all their retries, book
once. A PaymentIntent whose metadata has no booking keys at all is ignored: Checkout creates one
for every session, and its session's events are what book. The other way round, a session without
booking keys whose PaymentIntent will book (Payment Links carry the keys on
`payment_intent_data.metadata`) is ignored too. Where neither has any, the session's event is the
422 that names the missing key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bookhook.errors import MalformedRequest, PaidNotBooked, Unauthenticated, Unmappable
from bookhook.request import WebhookRequest
from bookhook.safe_names import describe
from bookhook.settings import MappingSettings, SettingsError
from bookhook.sources import (
    Booking,
    Ignored,
    ModelT,
    ReadResult,
    UnbookedHalf,
    WebhookSource,
    parse_json_body,
    safe_first_error,
)
from bookhook.sources.flat_booking import FlatBooking, flat_event

NAME = "stripe"
SIGNATURE_HEADER = "stripe-signature"
CHECKOUT_COMPLETED = "checkout.session.completed"
ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
PAYMENT_INTENT_SUCCEEDED = "payment_intent.succeeded"
BOOKABLE_EVENTS = frozenset({CHECKOUT_COMPLETED, ASYNC_SUCCEEDED, PAYMENT_INTENT_SUCCEEDED})
SNAPSHOT_EVENT_OBJECT = "event"
THIN_EVENT_OBJECT = "v2.core.event"
THIN_EVENT_TYPE_PREFIXES = ("v1.", "v2.")
CHECKOUT_SESSION_OBJECT = "checkout.session"
PAYMENT_INTENT_OBJECT = "payment_intent"
_NEVER_BOOK = {
    "checkout.session.async_payment_failed": "the payment failed",
    "checkout.session.expired": "the session expired unpaid",
}
BOOKING_METADATA_KEYS = frozenset(f.alias for f in FlatBooking.model_fields.values() if f.alias)


@dataclass(frozen=True)
class StripeConfig:
    booking_events: frozenset[str] = BOOKABLE_EVENTS
    allow_test_mode: bool = False
    metadata_defaults: Mapping[str, str] = field(default_factory=dict)
    zone: ZoneInfo | None = None
    default_calendar_id: str | None = None
    tolerance_seconds: int = 300
    phone_region: str | None = None  # DEFAULT_PHONE_REGION: how to read a phone without +


# --- signature ------------------------------------------------------------------------------


def signature_header(body: bytes, secret: str, timestamp: int) -> str:
    """The header Stripe would send (for local runs and tests)."""
    return f"t={timestamp},v1={_sign(body, secret, timestamp)}"


def _sign(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(
        secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256
    ).hexdigest()


def verify_signature(
    body: bytes, header: str | None, secrets: Sequence[str], *, now: float, tolerance_seconds: int
) -> None:
    if not header:
        raise Unauthenticated("missing Stripe-Signature header", field="Stripe-Signature")
    timestamp, signatures = _parse_header(header)
    matched = False
    for secret in secrets:  # every pair is compared, in constant time
        expected = _sign(body, secret, timestamp).encode("ascii")
        for signature in signatures:
            matched |= hmac.compare_digest(expected, signature.encode("utf-8"))
    if not matched:  # also when no secret is configured: fail closed
        raise Unauthenticated("invalid signature", field="Stripe-Signature")
    if abs(now - timestamp) > tolerance_seconds:
        raise Unauthenticated(
            f"signature timestamp outside the {tolerance_seconds} s tolerance", field="Stripe-Signature"
        )


def _parse_header(header: str) -> tuple[int, list[str]]:
    # As Stripe's libraries read it: comma-separated key=value items, no spaces; only v1 counts.
    items = [item.partition("=") for item in header.split(",")]
    timestamps = [value for key, _, value in items if key == "t"]
    signatures = [value for key, _, value in items if key == "v1" and value]
    if (
        not timestamps
        or not timestamps[0].isascii()
        or not timestamps[0].isdigit()
        or len(timestamps[0]) > 12
    ):
        raise Unauthenticated("Stripe-Signature has no valid timestamp", field="Stripe-Signature")
    if not signatures:
        raise Unauthenticated("Stripe-Signature has no v1 signature", field="Stripe-Signature")
    return int(timestamps[0]), signatures


# --- payload --------------------------------------------------------------------------------

_TOLERANT = ConfigDict(extra="allow", frozen=True)


class EventData(BaseModel):
    model_config = _TOLERANT
    object: dict[str, Any]


class StripeEvent(BaseModel):
    """What every Stripe event has, snapshot or thin: a type. The rest of the envelope (`object`,
    `livemode`, `data`) is read by `read_booking` one field at a time, so that an event we do not
    book from is acknowledged instead of refused."""

    model_config = _TOLERANT
    type: str


def _null_metadata_is_empty(value: object) -> object:
    # Stripe's API description makes `metadata` nullable on both objects: null means no keys.
    return {} if value is None else value


class CustomerDetails(BaseModel):
    model_config = _TOLERANT
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class CheckoutSession(BaseModel):
    model_config = _TOLERANT
    id: str
    payment_status: str | None = None
    payment_intent: str | dict[str, Any] | None = None  # an id, or the object when expanded
    metadata: dict[str, str] = {}
    customer_details: CustomerDetails | None = None

    null_metadata_is_empty = field_validator("metadata", mode="before")(_null_metadata_is_empty)

    @property
    def payment_intent_id(self) -> str | None:
        if isinstance(self.payment_intent, dict):
            value = self.payment_intent.get("id")
            return value if isinstance(value, str) else None
        return self.payment_intent


class Shipping(BaseModel):
    model_config = _TOLERANT
    name: str | None = None
    phone: str | None = None


class PaymentIntent(BaseModel):
    model_config = _TOLERANT
    id: str
    metadata: dict[str, str] = {}
    receipt_email: str | None = None
    shipping: Shipping | None = None

    null_metadata_is_empty = field_validator("metadata", mode="before")(_null_metadata_is_empty)


# --- mapping --------------------------------------------------------------------------------


def read_booking(request: WebhookRequest, config: StripeConfig) -> ReadResult:
    event = parse_json_body(request, StripeEvent, sender="Stripe", what="Stripe event")
    envelope = event.model_extra or {}
    kind = envelope.get("object")
    if kind == THIN_EVENT_OBJECT or event.type.startswith(THIN_EVENT_TYPE_PREFIXES):
        return Ignored(reason=_thin_event_reason(event.type))
    if kind not in (None, SNAPSHOT_EVENT_OBJECT):
        return Ignored(reason=f"not a Stripe event: object {_shown(kind)}, nothing to book")
    if event.type in _NEVER_BOOK:
        return Ignored(reason=f"{event.type}: {_NEVER_BOOK[event.type]}, nothing to book")
    if event.type not in config.booking_events:
        event_type = describe(event.type, what="event type", dotted=True)
        return Ignored(
            reason=f"{event_type} does not book (booking events: {', '.join(sorted(config.booking_events))})"
        )
    # From here the type is one of ours, safe to repeat.
    livemode = envelope.get("livemode")
    if not isinstance(livemode, bool):
        return Ignored(reason=f"{event.type} without livemode: a live payment cannot be told from a test")
    if not livemode and not config.allow_test_mode:
        return Ignored(reason="test-mode event; set STRIPE_ALLOW_TEST_MODE=true to book test payments")
    try:
        data = EventData.model_validate(envelope.get("data"))
    except ValidationError:
        return Ignored(reason=f"{event.type} without a data.object: nothing to book from")
    expected = PAYMENT_INTENT_OBJECT if event.type == PAYMENT_INTENT_SUCCEEDED else CHECKOUT_SESSION_OBJECT
    carried = data.object.get("object")
    if carried is not None and carried != expected:
        return Ignored(
            reason=f"{event.type} carrying object {_shown(carried)}, not a {expected}: nothing to book"
        )
    if event.type == PAYMENT_INTENT_SUCCEEDED:
        return _from_payment_intent(_model(data.object, PaymentIntent), config)
    return _from_checkout_session(event.type, _model(data.object, CheckoutSession), config)


def _thin_event_reason(event_type: str) -> str:
    shown = describe(event_type, what="event type", dotted=True)
    return (
        f"{shown} is a thin event ({THIN_EVENT_OBJECT}): it carries no data.object, and booking from it "
        "would need a call to Stripe's API, which this function does not make; send snapshot events "
        'to this endpoint (a webhook endpoint, or an event destination with event_payload "snapshot")'
    )


def _shown(value: object) -> str:
    """A value of the sender's where a Stripe object type is expected, safe to repeat."""
    if isinstance(value, str):
        return repr(describe(value, what="object type", dotted=True))
    return "(not a string)"


def _from_checkout_session(event_type: str, session: CheckoutSession, config: StripeConfig) -> ReadResult:
    # `no_payment_required` (a 100 % discount) is as confirmed as a paid session.
    if session.payment_status not in ("paid", "no_payment_required"):
        status = session.payment_status
        shown = "None" if status is None else repr(describe(status, what="value"))
        return Ignored(
            reason=f"{event_type} with payment_status {shown}: "
            "booked when the payment succeeds (checkout.session.async_payment_succeeded)"
        )
    if (
        not BOOKING_METADATA_KEYS & session.metadata.keys()
        and session.payment_intent_id
        and PAYMENT_INTENT_SUCCEEDED in config.booking_events
    ):
        # A Payment Link puts the booking keys on its PaymentIntents (payment_intent_data.metadata),
        # not on the session: that PaymentIntent's own event books, unless it has none either.
        return UnbookedHalf(
            payment_key=session.payment_intent_id,
            half="session",
            reason=f"{event_type} without booking metadata: payment_intent.succeeded books it",
            missing=_NOTHING_BOOKS,
        )
    details = session.customer_details or CustomerDetails()
    attendee = {
        "attendeeName": (details.name, "data.object.customer_details.name"),
        "attendeeEmail": (details.email, "data.object.customer_details.email"),
        "attendeePhone": (details.phone, "data.object.customer_details.phone"),
    }
    return _booking(session.payment_intent_id or session.id, session.metadata, attendee, config)


def _from_payment_intent(intent: PaymentIntent, config: StripeConfig) -> ReadResult:
    if not BOOKING_METADATA_KEYS & intent.metadata.keys():
        # Checkout creates a PaymentIntent for every session, and the session's event books. If the
        # session has no booking metadata either, the two notes meet (pipeline: PaidNotBooked). A
        # PaymentIntent made without Checkout and without booking keys is taken for a payment that
        # is not a booking (a shop may take other payments on the same account).
        return UnbookedHalf(
            payment_key=intent.id,
            half="intent",
            reason="payment_intent.succeeded without booking metadata: a Checkout payment books from "
            "its checkout.session events",
            missing=_NOTHING_BOOKS,
        )
    shipping = intent.shipping or Shipping()
    attendee = {
        "attendeeName": (shipping.name, "data.object.shipping.name"),
        "attendeePhone": (shipping.phone, "data.object.shipping.phone"),
        "attendeeEmail": (intent.receipt_email, "data.object.receipt_email"),
    }
    # Metadata names the attendee first here: a PaymentIntent has no customer_details.
    fallback = {key: value for key, value in attendee.items() if not intent.metadata.get(key)}
    return _booking(intent.id, intent.metadata, fallback, config)


def _booking(
    payment_id: str,
    metadata: Mapping[str, str],
    attendee: Mapping[str, tuple[str | None, str]],
    config: StripeConfig,
) -> Booking:
    """`attendee` maps a flat key to (value, where in the Stripe object it came from)."""
    defaults = dict(config.metadata_defaults)
    # The payment's own end wins over a default end of the other kind.
    if "endTime" in metadata:
        defaults.pop("duration", None)
    if "duration" in metadata:
        defaults.pop("endTime", None)
    fields: dict[str, Any] = {**defaults, **metadata}
    origin = {}
    for key, (value, where) in attendee.items():
        if value:
            fields[key], origin[f"metadata.{key}"] = value, where
    try:
        event = flat_event(
            fields,
            zone=config.zone,
            default_calendar_id=config.default_calendar_id,
            prefix="metadata.",
            ignore_unknown=True,
            phone_region=config.phone_region,
        )
    except Unmappable as error:
        # The customer has paid: a payment that cannot book is PaidNotBooked (kept, alarmed on).
        if error.field in origin:  # name the Stripe field the value came from, not a metadata key
            where = origin[error.field]
            raise PaidNotBooked(error.message.replace(str(error.field), where, 1), field=where) from None
        raise PaidNotBooked(error.message, field=error.field) from None
    key = f"{NAME}:{payment_id}"
    # Every notification of one payment is the same booking, whatever details each carries.
    return Booking(key=key, event=event, fingerprint=key)


_NOTHING_BOOKS = (
    "paid, but neither the Checkout Session nor its PaymentIntent carries booking metadata "
    "(startTime, title, …): add it to the Payment Link or Checkout Session and replay the kept webhook"
)


def _model(data: dict[str, Any], model: type[ModelT]) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        path, message = safe_first_error(error, data)
        field = f"data.object.{path}" if path else "data.object"
        raise MalformedRequest(f"not a Stripe {model.__name__}: {path}: {message}", field=field) from None


def config_from_settings(settings: MappingSettings) -> StripeConfig:
    """Stripe's part of the settings, checked at start-up; errors name the variable."""
    events = frozenset(name.strip() for name in settings.stripe_booking_events.split(",") if name.strip())
    if not events or not events <= BOOKABLE_EVENTS:
        raise SettingsError(
            f"invalid configuration: STRIPE_BOOKING_EVENTS: use some of {', '.join(sorted(BOOKABLE_EVENTS))}"
        )
    try:
        defaults = json.loads(settings.stripe_metadata_defaults)
    except ValueError:
        defaults = None
    if not isinstance(defaults, dict) or not all(isinstance(v, str) for v in defaults.values()):
        raise SettingsError(
            "invalid configuration: STRIPE_METADATA_DEFAULTS: must be a JSON object of strings"
        )
    unknown = sorted(set(defaults) - BOOKING_METADATA_KEYS)
    if unknown:
        raise SettingsError(
            f"invalid configuration: STRIPE_METADATA_DEFAULTS: unknown keys {', '.join(unknown)}"
        )
    return StripeConfig(
        booking_events=events,
        allow_test_mode=settings.stripe_allow_test_mode,
        metadata_defaults=defaults,
        zone=settings.zone,
        default_calendar_id=settings.default_calendar_id,
        tolerance_seconds=settings.stripe_signature_tolerance_seconds,
        phone_region=settings.default_phone_region,
    )


def source(config: StripeConfig, *, clock: Callable[[], float] = time.time) -> WebhookSource:
    def check(request: WebhookRequest, secrets: Sequence[str]) -> None:
        verify_signature(
            request.body,
            request.header(SIGNATURE_HEADER),
            secrets,
            now=clock(),
            tolerance_seconds=config.tolerance_seconds,
        )

    def read(request: WebhookRequest) -> ReadResult:
        return read_booking(request, config)

    return WebhookSource(name=NAME, authenticate=check, read_booking=read, acknowledge_rejections=True)
