"""Typed errors, one per answer we give a sender.

Every layer raises one of these; the handler turns them into HTTP responses in one place
(`handlers.webhook`). Messages and fields are written for the sender's developer and must never
carry a secret, a signature or attendee data: they name the field or header that is wrong, not
its value.
"""

from __future__ import annotations


class WebhookError(Exception):
    """Base class: an HTTP status, a stable machine-readable code and a safe message."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, field: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.retry_after = retry_after


class Unauthenticated(WebhookError):
    """Missing, wrong or misplaced credentials. Always fails closed."""

    status = 401
    code = "unauthenticated"


class MalformedRequest(WebhookError):
    """The body cannot be read as the sender's format at all."""

    status = 400
    code = "malformed_request"


class PayloadTooLarge(WebhookError):
    status = 413
    code = "payload_too_large"


class UnsupportedContentType(WebhookError):
    status = 415
    code = "unsupported_content_type"


class Unmappable(WebhookError):
    """Well-formed, but it cannot become a calendar event; `field` says which input is at fault."""

    status = 422
    code = "unmappable"


class PaidNotBooked(Unmappable):
    """A payment succeeded and nothing in it can book: the customer paid for nothing. 422 (Stripe
    shows it on the endpoint), kept for a replay, and behind the PaidNotBookedAlarm."""

    code = "paid_not_booked"


class BookingConflict(WebhookError):
    """The same booking key was reused for a different booking."""

    status = 422
    code = "idempotency_key_reused"


class BookingInFlight(WebhookError):
    """The same booking is being delivered right now by another request: try again shortly."""

    status = 409
    code = "booking_in_flight"


class BookingRejected(WebhookError):
    """BizKitHub refused the event; retrying the same booking will not help."""

    status = 422
    code = "rejected_by_bizkithub"

    def __init__(self, message: str, *, upstream_status: int, upstream_code: str | None) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status
        self.upstream_code = upstream_code


class ServiceUnavailable(WebhookError):
    """A dependency (BizKitHub, Secrets Manager, DynamoDB) failed: the sender should retry later."""

    status = 503
    code = "service_unavailable"


class ConfigurationError(ServiceUnavailable):
    """The operator's secret or settings are missing or malformed. 503 so senders retry once fixed."""

    code = "configuration_error"


class BizKitHubUnavailable(ServiceUnavailable):
    """BizKitHub is down, slow, rate limiting us, or the connection failed."""

    code = "bizkithub_unavailable"

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int | None = None,
        upstream_code: str | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message, retry_after=retry_after)
        self.upstream_status = upstream_status
        self.upstream_code = upstream_code


class BizKitHubKeyRefused(ServiceUnavailable):
    """BizKitHub refused our API key even after re-reading the secret."""

    code = "bizkithub_key_refused"
