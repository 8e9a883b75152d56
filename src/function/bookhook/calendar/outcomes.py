"""What one add-event call came to, as BizKitHub's docs define its answers; no HTTP status of ours.

BizKitHub names every failure with an internal code and advises clients to switch on the code and
fall back on the HTTP status only when the code is unknown (its status defaults to 500, so a 500 is
not necessarily an outage). `BizKitHubClient.add_event` turns each answer, or the lack of one, into
exactly one of these; the webhook pipeline and the delivery worker each decide, in one place, what
an outcome means for the sender and for the booking record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KEY_NOT_FOUND = "PUBLIC_API_KEY_DOES_NOT_EXIST"
RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
KNOWN_CODES = frozenset({KEY_NOT_FOUND, RATE_LIMIT_EXCEEDED})


@dataclass(frozen=True)
class Quota:
    """What an answer's `X-RateLimit-*` headers said about the API key's rate limit.

    `limit`: requests allowed in the window; `remaining`: how many more may go now; `reset_at`: the
    Unix time the window resets (BizKitHub's docs) or, as some limiters mean it, when `remaining`
    next rises. Each is None when its header was missing or unreadable.
    """

    limit: int | None
    remaining: int | None
    reset_at: float | None


@dataclass(frozen=True)
class Created:
    """Any 2xx: the event exists. `event_id` is None when the answer carried no usable eventId
    (no body, not JSON, another shape, an id not of 32 lowercase letters)."""

    event_id: str | None
    quota: Quota | None = field(default=None, compare=False)  # the answer's rate-limit headers


@dataclass(frozen=True)
class Rejected:
    """BizKitHub refused this event (a clash, a validation error): the same call will not succeed."""

    status: int
    code: str | None
    quota: Quota | None = field(default=None, compare=False)  # the answer's rate-limit headers


@dataclass(frozen=True)
class Unavailable:
    """No usable answer: BizKitHub down, slow, or the connection failed. `may_have_been_received`
    is True when the request left us and no answer says what became of it (a read timeout, a dropped
    connection, a 5xx): the event may exist, so a repeat carries the same Idempotency-Key."""

    may_have_been_received: bool
    cause: str  # a short safe description: an exception type or "HTTP 503"; never a URL or key
    status: int | None = None
    code: str | None = None
    retry_after: int | None = None
    quota: Quota | None = field(default=None, compare=False)  # the answer's rate-limit headers


@dataclass(frozen=True)
class RateLimited:
    """Over the key's rate limit (`RATE_LIMIT_EXCEEDED`, or a 429 without a code we know)."""

    status: int
    code: str | None
    retry_after: int | None
    quota: Quota | None = field(default=None, compare=False)  # the answer's rate-limit headers


@dataclass(frozen=True)
class KeyRefused:
    """The API key was refused (`PUBLIC_API_KEY_DOES_NOT_EXIST` at any status, or 401/403), even
    after a fresh read of the secret; or `status` None: the secret's key is unreadable or malformed,
    so nothing was sent. Either way the operator must fix the secret."""

    status: int | None
    code: str | None
    quota: Quota | None = field(default=None, compare=False)  # the answer's rate-limit headers


@dataclass(frozen=True)
class BadResponse:
    """An answer outside the contract that created nothing: a redirect, a 404/405 for the endpoint
    (a wrong base URL), an informational or unknown status. A configuration problem, not the booking's."""

    status: int
    code: str | None
    quota: Quota | None = field(default=None, compare=False)  # the answer's rate-limit headers


AddEventOutcome = Created | Rejected | Unavailable | RateLimited | KeyRefused | BadResponse
"""Everything `add_event` can return; it raises nothing."""

Retryable = Unavailable | RateLimited | KeyRefused | BadResponse
"""Outcomes after which the booking waits (on the queue) and is tried again."""


def reason_of(outcome: AddEventOutcome) -> str:
    """A stable name for logs, metrics and the dead-letter queue."""
    return type(outcome).__name__


def retry_after_of(outcome: AddEventOutcome) -> int | None:
    return outcome.retry_after if isinstance(outcome, Unavailable | RateLimited) else None


def unknown_code(outcome: AddEventOutcome) -> str | None:
    """BizKitHub's error code when it is one we do not recognise (to be logged and counted by code)."""
    code = getattr(outcome, "code", None)
    return code if code is not None and code not in KNOWN_CODES else None
