"""The functions' configuration: environment variables read once into one validated model each.

Each function reads only what it uses, so nothing passes placeholders for the rest:
- `MappingSettings`: how a webhook becomes a booking (defaults, the Typeform rules, Stripe's
  options); the webhook function's, and `replay`'s, which maps kept webhooks again;
- `BizKitHubSettings`: what calling BizKitHub takes (its URL and auth, the secret, the booking
  table, pacing); both functions';
- `WebhookSettings` (the webhook function: both of the above and its own limits) and
  `WorkerSettings` (the delivery worker: BizKitHub, both queues, tries and backoff).

Secrets never live here (they come from Secrets Manager, see `secrets`). A bad variable fails the
cold start with an error that names the variable, never a half-configured function.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bookhook import phones
from bookhook.calendar.event import CALENDAR_ID_PATTERN

AuthMode = Literal["query", "bearer"]
FUNCTION_ROOT = Path(__file__).resolve().parents[1]


class SettingsError(Exception):
    """An environment variable is missing or malformed; the message names it (never a secret)."""


def _empty_means_unset(value: object) -> object:
    # CloudFormation parameters cannot be absent, only empty.
    return None if value == "" else value


class _FromEnviron(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        environ = os.environ if environ is None else environ
        try:
            return cls.model_validate(dict(environ))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in detail['loc'])}: {detail['msg']}"
                for detail in error.errors(include_url=False, include_input=False)
            )
            raise SettingsError(f"invalid configuration: {problems}") from None


class MappingSettings(_FromEnviron):
    """How a webhook becomes a booking: read by the webhook function and by `replay`."""

    default_timezone: Annotated[str | None, Field(alias="DEFAULT_TIMEZONE")] = None
    default_calendar_id: Annotated[
        str | None, Field(alias="DEFAULT_CALENDAR_ID", pattern=CALENDAR_ID_PATTERN)
    ] = None
    # The country of a phone number written without a country code (`777 123 456`): a two-letter
    # region code libphonenumber knows (CZ, SK, DE, US). Unset: such a number is refused (422).
    default_phone_region: Annotated[str | None, Field(alias="DEFAULT_PHONE_REGION")] = None
    # Relative paths are read from the function's root (where `bookhook/` is), so the file deployed
    # beside the code is found whatever the working directory.
    typeform_rules_file: Annotated[str, Field(alias="TYPEFORM_RULES_FILE", min_length=1)] = (
        "typeform_rules.toml"
    )
    # Stripe: which events book (comma-separated), whether test-mode payments book, defaults for
    # booking metadata keys a shop leaves out (a JSON object), and the signature's time window.
    stripe_booking_events: Annotated[str, Field(alias="STRIPE_BOOKING_EVENTS")] = (
        "checkout.session.completed,checkout.session.async_payment_succeeded,payment_intent.succeeded"
    )
    stripe_allow_test_mode: Annotated[bool, Field(alias="STRIPE_ALLOW_TEST_MODE")] = False
    stripe_metadata_defaults: Annotated[str, Field(alias="STRIPE_METADATA_DEFAULTS")] = "{}"
    stripe_signature_tolerance_seconds: Annotated[
        int, Field(alias="STRIPE_SIGNATURE_TOLERANCE_SECONDS", ge=1, le=3600)
    ] = 300

    @property
    def typeform_rules_path(self) -> Path:
        path = Path(self.typeform_rules_file)
        return path if path.is_absolute() else FUNCTION_ROOT / path

    @property
    def zone(self) -> ZoneInfo | None:
        return ZoneInfo(self.default_timezone) if self.default_timezone else None

    _unset_when_empty = field_validator(
        "default_timezone", "default_calendar_id", "default_phone_region", mode="before"
    )(_empty_means_unset)

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: 'Europe' is a tzdata directory
                raise ValueError("must be an IANA time zone name such as Europe/Prague") from None
        return value

    @field_validator("default_phone_region")
    @classmethod
    def _known_phone_region(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.strip().upper()
            if not phones.known_region(value):
                raise ValueError(
                    "must be a two-letter region code such as CZ (ISO 3166-1, as libphonenumber knows it)"
                )
        return value


class BizKitHubSettings(_FromEnviron):
    """What calling BizKitHub takes, and the booking table both functions keep: read by both."""

    booking_secret_arn: Annotated[str, Field(alias="BOOKING_SECRET_ARN", min_length=1)]
    idempotency_table_name: Annotated[str, Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=1)]
    bizkithub_base_url: Annotated[str, Field(alias="BIZKITHUB_BASE_URL", pattern=r"^https?://[^\s?#]+$")] = (
        "https://api.bizkithub.com"
    )
    # `query` because both of BizKitHub's doc sources show `?apiKey=`; `bearer` keeps the key out of
    # access logs and is preferred when the operator's account accepts it.
    bizkithub_auth_mode: Annotated[AuthMode, Field(alias="BIZKITHUB_AUTH_MODE")] = "query"
    bizkithub_connect_timeout_seconds: Annotated[
        float, Field(alias="BIZKITHUB_CONNECT_TIMEOUT_SECONDS", gt=0, le=10)
    ] = 3.0
    bizkithub_read_timeout_seconds: Annotated[
        float, Field(alias="BIZKITHUB_READ_TIMEOUT_SECONDS", gt=0, le=20)
    ] = 8.0
    # Pacing (bookhook.delivery.pacing): `on` spaces calls at BizKitHub's rate limit when its
    # headers say the window is nearly spent, and holds every call during a 429's Retry-After;
    # `off` calls at once and meets the limit as it comes (a 429 is still waited out).
    bizkithub_pacing: Annotated[Literal["on", "off"], Field(alias="BIZKITHUB_PACING")] = "on"
    # The length of BizKitHub's rate-limit window: an hour in every published plan. With the limit
    # from the X-RateLimit-Limit header, it gives the sustained rate paced calls are spaced at.
    bizkithub_rate_limit_window_seconds: Annotated[
        float, Field(alias="BIZKITHUB_RATE_LIMIT_WINDOW_SECONDS", gt=0, le=24 * 3600)
    ] = 3600
    secret_max_age_seconds: Annotated[int, Field(alias="SECRET_MAX_AGE_SECONDS", ge=0, le=3600)] = 300
    # Stripe retries for 3 days, Typeform for about 10 hours: a week covers every sender's retries.
    idempotency_ttl_days: Annotated[int, Field(alias="IDEMPOTENCY_TTL_DAYS", ge=7, le=365)] = 7


class WebhookSettings(BizKitHubSettings, MappingSettings):
    """The webhook function's."""

    # A duplicate that arrives while the first copy is being delivered waits up to this long (at
    # most half the time left) for its result; then it is told 409 + Retry-After, or 202 if the
    # delivery worker holds the booking.
    in_flight_wait_seconds: Annotated[float, Field(alias="IN_FLIGHT_WAIT_SECONDS", ge=0, le=10)] = 5.0
    # The webhook answers every sender within this many seconds, whatever its dependencies do
    # (each step starts only when the time left can hold its worst case; see bookhook.deadline).
    # At least 8: the claim, a short BizKitHub call and the writes after it must fit.
    webhook_deadline_seconds: Annotated[float, Field(alias="WEBHOOK_DEADLINE_SECONDS", ge=8, le=25)] = 10.0
    max_body_bytes: Annotated[int, Field(alias="MAX_BODY_BYTES", gt=0, le=10 * 1024 * 1024)] = 256 * 1024
    # Where bookings wait when BizKitHub is unavailable. Unset: the sender is told 503 and retries.
    delivery_queue_url: Annotated[str | None, Field(alias="DELIVERY_QUEUE_URL")] = None

    _queue_unset_when_empty = field_validator("delivery_queue_url", mode="before")(_empty_means_unset)


class WorkerSettings(BizKitHubSettings):
    """The delivery worker's: it takes bookings off the delivery queue and gives up to the other."""

    delivery_queue_url: Annotated[str, Field(alias="DELIVERY_QUEUE_URL", min_length=1)]
    dead_letter_queue_url: Annotated[str, Field(alias="DEAD_LETTER_QUEUE_URL", min_length=1)]
    # Tries per booking before the dead-letter queue, and capped exponential backoff with full
    # jitter between them (a longer Retry-After from BizKitHub wins, up to the cap).
    delivery_max_attempts: Annotated[int, Field(alias="DELIVERY_MAX_ATTEMPTS", ge=1, le=50)] = 8
    delivery_backoff_base_seconds: Annotated[
        float, Field(alias="DELIVERY_BACKOFF_BASE_SECONDS", ge=0, le=900)
    ] = 10
    delivery_backoff_cap_seconds: Annotated[
        float, Field(alias="DELIVERY_BACKOFF_CAP_SECONDS", ge=0, le=900)
    ] = 900
    # The worker's lease on a booking while it calls BizKitHub: longer than the worker's own timeout
    # (so it cannot lapse mid-call) and shorter than the queue's visibility timeout (so a message SQS
    # offers again finds it expired).
    delivery_lease_seconds: Annotated[int, Field(alias="DELIVERY_LEASE_SECONDS", ge=10, le=900)] = 60
    # How long in all a booking may wait on BizKitHub's rate limit before it is dead-lettered as
    # `rate_limited_too_long` (waiting counts no tries). Three days: Stripe's own retry horizon.
    delivery_rate_limit_max_wait_seconds: Annotated[
        int, Field(alias="DELIVERY_RATE_LIMIT_MAX_WAIT_SECONDS", ge=900, le=14 * 24 * 3600)
    ] = 3 * 24 * 3600
