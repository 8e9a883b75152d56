"""A local HTTP stand-in for BizKitHub's ``POST /api/v1/calendar/add-event``.

BizKitHub is not reachable from build machines, so local runs and integration tests talk to
this server instead. It enforces the documented contract (see the project's reference notes)
strictly, so a client that passes here sends only what the real API documents, and it can be
scripted to misbehave (error statuses, slowness, dropped connections, arbitrary bytes, answers
dripped a byte at a time, endless bodies) one request at a time. When asked (`RateLimit`), it also
enforces BizKitHub's documented per-key rate limits, on a clock that can be sped up; by default it
has no limits.

Standard library only: it must never add dependencies to whatever imports it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import random
import re
import secrets
import socket
import string
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any, TypeAlias
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "ADD_EVENT_PATH",
    "CALLS_PATH",
    "KEY_NOT_FOUND",
    "RATE_LIMIT_EXCEEDED",
    "RATE_LIMIT_PLANS",
    "BizKitHubStandIn",
    "Drip",
    "Drop",
    "Fault",
    "Huge",
    "RateLimit",
    "RateLimitCounts",
    "Raw",
    "ReceivedCall",
    "Slow",
    "Status",
]

ADD_EVENT_PATH = "/api/v1/calendar/add-event"
CALLS_PATH = "/__stand-in/calls"
_CONTROL_PREFIX = "/__stand-in/"
_MAX_BODY_BYTES = 1 << 20
# BizKitHub's documented code for a missing key or one that resolves to no live registration.
KEY_NOT_FOUND = "PUBLIC_API_KEY_DOES_NOT_EXIST"
# BizKitHub's documented code for a request over the key's rate limit (HTTP 429).
RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"

# Python's \d and $ accept Unicode digits and a trailing newline; the contract means neither,
# so every pattern spells out [0-9] and is applied with fullmatch.
_API_KEY = re.compile(r"(?:PROD|DEV_|ROOT)[A-Za-z0-9]{28}")
_CALENDAR_ID = re.compile(r"[A-Za-z0-9]{32}")
_CUSTOMER_ID = re.compile(r"[A-Za-z0-9]{16}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# d, h, m in that order, each at most once, separated by exactly one space.
_NOTIFY_BEFORE = re.compile(r"[0-9]+d(?: [0-9]+h)?(?: [0-9]+m)?|[0-9]+h(?: [0-9]+m)?|[0-9]+m")
_PHONE = re.compile(r"\+[1-9][0-9]{0,2} [0-9]{4,14}")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")


# --- faults ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """Answer this status instead of processing the request (body defaults to an error body)."""

    code: int
    body: dict[str, Any] | None = None
    retry_after: str | None = None

    def __post_init__(self) -> None:
        if not 200 <= self.code <= 599:
            raise ValueError(f"Status code must be a final HTTP status (200-599), got {self.code}")


@dataclass(frozen=True)
class Slow:
    """Wait this many seconds, then answer normally (to provoke a client read timeout)."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError("Slow.seconds must not be negative")


@dataclass(frozen=True)
class Drop:
    """Read the request, then close the connection without answering."""


def _check_status_line(status: int) -> None:
    # http.client reads any three-digit status; what a client makes of it is what these faults test.
    if not 100 <= status <= 999:
        raise ValueError(f"the status must be three digits (100-999), got {status}")


@dataclass(frozen=True)
class Raw:
    """Answer exactly these bytes: the status line, `headers` as given, then `body`.

    Content-Length is added unless `headers` frame the body themselves or the status carries no body
    (1xx, 204, 304); in those cases, or when a bodiless status is given body bytes anyway, the
    connection is closed after the answer (its framing cannot be trusted).
    """

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _check_status_line(self.status)


_DRIP_BODY = b'{"eventId": "dripdripdripdripdripdripdripdrip"}'


@dataclass(frozen=True)
class Drip:
    """Answer with an honest Content-Length, then the body one byte every `seconds_per_byte`
    (each wait well under any read timeout, so only a deadline on the whole call ends it).
    `drip_headers` drips the status line and headers the same way."""

    status: int = 200
    body: bytes = _DRIP_BODY
    seconds_per_byte: float = 0.5
    drip_headers: bool = False

    def __post_init__(self) -> None:
        _check_status_line(self.status)
        if self.seconds_per_byte < 0:
            raise ValueError("Drip.seconds_per_byte must not be negative")


_HUGE_PREFIX = b'{"eventId": "hugehugehugehugehugehugehugehuge"}'
_HUGE_CHUNK = b" " * (64 * 1024)


@dataclass(frozen=True)
class Huge:
    """Answer a body of `size_bytes` (Content-Length given), streamed in 64 KiB chunks and never held
    whole: a JSON object with an eventId, padded with whitespace, so only a client that reads it
    all can find the id."""

    status: int = 200
    size_bytes: int = 50 * 1024 * 1024

    def __post_init__(self) -> None:
        _check_status_line(self.status)
        if self.size_bytes < len(_HUGE_PREFIX):
            raise ValueError(f"Huge.size_bytes must be at least {len(_HUGE_PREFIX)}")


Fault: TypeAlias = Status | Slow | Drop | Raw | Drip | Huge
_Streamed: TypeAlias = Raw | Drip | Huge


# --- rate limits -------------------------------------------------------------------------

# BizKitHub's published plans: (requests per window, burst), the window being an hour.
# Enterprise is negotiated: give its numbers to RateLimit directly.
RATE_LIMIT_PLANS: Mapping[str, tuple[int, int]] = {
    "Free": (1_000, 50),
    "Starter": (10_000, 200),
    "Professional": (100_000, 1_000),
}
_HOUR = 3600.0
_WALL_AT_IMPORT = time.time()
_MONOTONIC_AT_IMPORT = time.monotonic()


def _monotonic_unix_time() -> float:
    """Unix time that never steps back (the wall clock read once, then advanced monotonically)."""
    return _WALL_AT_IMPORT + (time.monotonic() - _MONOTONIC_AT_IMPORT)


def _positive_finite(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ValueError(f"RateLimit.{name} must be a positive finite number of seconds, got {value!r}")


@dataclass(frozen=True)
class RateLimit:
    """BizKitHub's per-key rate limit, as the stand-in enforces it when given one.

    Semantics (every time below is in the stand-in's scaled clock; see `time_scale`):

    - A request of a limited key is admitted only when both rules allow it:
      1. sliding window: fewer than `limit` requests of that key were admitted in the last `window`
         seconds (the half-open span (now - window, now]); so never more than `limit` in any window;
      2. burst allowance: a token bucket of `burst` tokens, full at the key's first request and
         refilled continuously at `limit / window` tokens a second, holds a whole token; each
         admitted request takes one. So up to `burst` requests at once, then `limit / window` a
         second sustained; time spent waiting is never lost (tokens accrue up to `burst`).
      A client that sends evenly at most `limit / window` a second is never refused; one that
      spends a full burst and then sends at that rate meets rule 1 once per window (it has sent
      `burst` more than `limit`), which `X-RateLimit-Remaining` shows before it happens.
    - Counted: every add-event POST whose key passed authentication and that was admitted, whatever
      its answer (200, or a refused body: 400, 409, 415). Not counted: requests answered 429 (a
      client that retries on time is not punished for having asked), requests refused for their
      key, and answers shaped by a scripted or chaos fault other than `Slow` (those stand for a
      gateway in front of the API). `ROOT` keys have no limits (documented) and get no
      `X-RateLimit-*` headers; their requests are still counted in `RateLimitCounts.requests`.
    - Every answer to a counted or refused (429) request of a limited key carries:
      `X-RateLimit-Limit` = `limit`; `X-RateLimit-Remaining` = how many more requests would be
      admitted right now, back to back (the smaller of the window's room and the bucket's whole
      tokens, so at most `burst`), after this request; `X-RateLimit-Reset` = the Unix time, rounded
      up to a whole second, at which Remaining next goes up if the key sends nothing more (the
      oldest request leaving the window, or the next token, whichever binds; now when Remaining is
      already `burst`). A 429 adds `Retry-After` = whole seconds until that moment, rounded up and
      at least 1, and the documented body with `retry_after` equal to it: a request sent after
      waiting it is admitted.
    - `time_scale`: the clock runs `time_scale` times faster than real time, so with 60.0 an "hour"
      window lasts 60 real seconds (Free: 50 at once, then a token every 0.06 s, at most 1,000 a real
      minute). The headers are in real seconds: Reset is real Unix time and Retry-After real seconds
      (both rounded up, Retry-After at least 1), so a client that waits that long by its own real
      clock is on time, never early (up to a second late: that is the headers' resolution).
    - `clock`: real Unix time in seconds, injectable so a test can step time instead of sleeping;
      the default never steps back. Times are taken to the microsecond and computed exactly.
    """

    limit: int
    burst: int
    window: float = _HOUR
    time_scale: float = 1.0
    clock: Callable[[], float] = field(default=_monotonic_unix_time, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name, value in (("limit", self.limit), ("burst", self.burst)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"RateLimit.{name} must be a positive integer, got {value!r}")
        if self.burst > self.limit:
            raise ValueError(f"RateLimit.burst must not exceed the limit ({self.burst} > {self.limit})")
        _positive_finite(self.window, "window")
        _positive_finite(self.time_scale, "time_scale")

    @classmethod
    def plan(
        cls,
        name: str,
        *,
        window: float = _HOUR,
        time_scale: float = 1.0,
        clock: Callable[[], float] = _monotonic_unix_time,
    ) -> RateLimit:
        """A published plan by name (Free, Starter, Professional; any case)."""
        for plan_name, (limit, burst) in RATE_LIMIT_PLANS.items():
            if plan_name.lower() == name.strip().lower():
                return cls(limit, burst, window=window, time_scale=time_scale, clock=clock)
        raise ValueError(f"unknown plan {name!r}; known: {', '.join(RATE_LIMIT_PLANS)}")

    @property
    def real_window(self) -> float:
        """The window's length in real seconds."""
        return self.window / self.time_scale


@dataclass(frozen=True)
class RateLimitCounts:
    """What the limiter saw, per API key (kept in memory for tests and benches; never served).

    `requests`: add-event POSTs whose key passed authentication and that no fault other than Slow
    shaped, counted whether or not limits were on (ROOT keys included); `limited`: those answered 429.
    """

    requests: Mapping[str, int]
    limited: Mapping[str, int]

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def total_limited(self) -> int:
        return sum(self.limited.values())


@dataclass
class _KeyWindow:
    admitted: deque[Fraction]  # admission times still inside the window, oldest first
    bucket_full_at: Fraction  # when the bucket is full again (GCRA's theoretical arrival time)


@dataclass(frozen=True)
class _Verdict:
    admitted: bool
    headers: tuple[tuple[str, str], ...]
    retry_after: int  # meaningful when not admitted


class _RateLimiter:
    """The per-key state of one RateLimit; every method runs under the stand-in's lock."""

    def __init__(self, config: RateLimit) -> None:
        self.config = config
        self._window = Fraction(config.window) / Fraction(config.time_scale)  # real seconds
        self._interval = self._window / config.limit  # real seconds per token
        self._keys: dict[str, _KeyWindow] = {}

    def _now(self) -> Fraction:
        return Fraction(round(self.config.clock() * 1_000_000), 1_000_000)

    def admit(self, key: str) -> _Verdict:
        now = self._now()
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyWindow(deque(), now)
        while state.admitted and state.admitted[0] + self._window <= now:
            state.admitted.popleft()
        admitted = len(state.admitted) < self.config.limit and self._whole_tokens(state, now) >= 1
        if admitted:
            state.admitted.append(now)
            state.bucket_full_at = max(state.bucket_full_at, now) + self._interval
        remaining, reset = self._remaining_and_reset(state, now)
        headers = (
            ("X-RateLimit-Limit", str(self.config.limit)),
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", str(math.ceil(reset))),
        )
        return _Verdict(admitted, headers, max(1, math.ceil(reset - now)))

    def _whole_tokens(self, state: _KeyWindow, now: Fraction) -> int:
        burst = self.config.burst
        return max(0, min(burst, math.floor((now - state.bucket_full_at) / self._interval) + burst))

    def _remaining_and_reset(self, state: _KeyWindow, now: Fraction) -> tuple[int, Fraction]:
        """Remaining, and when it next goes up if nothing more is sent (now if it cannot)."""
        burst = self.config.burst
        room = self.config.limit - len(state.admitted)
        tokens = self._whole_tokens(state, now)
        remaining = min(room, tokens)
        if remaining >= burst:
            return remaining, now
        # The window gains room when its oldest request leaves; the bucket its next whole token.
        window_rises = state.admitted[0] + self._window if room < self.config.limit else now
        bucket_rises = state.bucket_full_at + (tokens + 1 - burst) * self._interval
        if room < tokens:
            return remaining, window_rises
        if tokens < room:
            return remaining, bucket_rises
        return remaining, max(window_rises, bucket_rises)


# --- records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedCall:
    """One request the stand-in answered (or dropped: status 0)."""

    method: str
    path: str
    auth_mode: str | None
    # Kept in memory for assertions only; never printed, logged or served.
    api_key: str | None
    headers: dict[str, str]
    body: Any
    status: int
    event_id: str | None
    # "status", "slow", "drop", "raw", "drip" or "huge" when a scripted or chaos fault shaped the answer
    fault: str | None = None
    # Unix time (time.time()) when the request had been read, before it was answered: benches and
    # tests measure rates and spacing from the server's side with it.
    received_at: float = field(default_factory=time.time)

    def public_view(self) -> dict[str, Any]:
        """The call as served by the control endpoint: everything except the key."""
        return {
            "method": self.method,
            "path": self.path,
            "auth_mode": self.auth_mode,
            "headers": self.headers,
            "body": self.body,
            "status": self.status,
            "event_id": self.event_id,
            "fault": self.fault,
            "received_at": self.received_at,
        }


@dataclass(frozen=True)
class _Answer:
    status: int  # 0: drop the connection without a response
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    event_id: str | None = None
    fault: str | None = None
    streamed: _Streamed | None = None  # written by the fault itself, bytes as they come


_DROPPED = _Answer(status=0)


def _error(status: int, code: str, message: str, **extra: object) -> _Answer:
    return _Answer(status, {"state": "error", "error": {"code": code, **extra, "message": message}})


def _key_refused(status: int, message: str) -> _Answer:
    return _error(status, KEY_NOT_FOUND, message)


# BizKitHub's documented codes where its docs name one; other scripted answers carry codes of the
# stand-in's own, as an error BizKitHub has not documented would. A scripted 5xx is an outage (a
# gateway or a crash), not a named error: its body has no code.
_DEFAULT_FAULT_CODES = {
    400: "BAD_REQUEST",
    401: KEY_NOT_FOUND,
    403: KEY_NOT_FOUND,
    404: "NOT_FOUND",
    429: RATE_LIMIT_EXCEEDED,
}


def _fault_answer(fault: Status) -> _Answer:
    headers = (("Retry-After", fault.retry_after),) if fault.retry_after is not None else ()
    if fault.body is not None:
        return _Answer(fault.code, fault.body, headers)
    message = f"scripted fault: HTTP {fault.code}"
    code = _DEFAULT_FAULT_CODES.get(fault.code)
    if code is None:  # 5xx, and anything unlisted (a 200 carrying an error included)
        return _Answer(fault.code, {"state": "error", "error": {"message": message}}, headers)
    # The documented rate-limit body repeats Retry-After as a number.
    seconds = fault.retry_after if fault.code == 429 and fault.retry_after else ""
    extra = {"retry_after": int(seconds)} if seconds.isascii() and seconds.isdigit() else {}
    default = _error(fault.code, code, message, **extra)
    return _Answer(fault.code, default.body, headers)


# --- request parsing ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Credentials:
    mode: str | None
    key: str | None
    problem: _Answer | None = None  # set when the auth parts contradict each other
    no_key: str | None = None  # why no usable key was given (answered as a key refusal)


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    credentials: _Credentials
    headers: dict[str, str]  # lower-cased names, no authorization
    raw_body: bytes
    framing_error: _Answer | None


class _FramingError(Exception):
    """The body could not be read as HTTP framing says; the connection cannot be reused."""

    def __init__(self, answer: _Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def _read_credentials(query: str, authorization: str | None) -> _Credentials:
    query_keys = set(parse_qs(query, keep_blank_values=True).get("apiKey", []))
    bearer: str | None = None
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _Credentials(None, None, no_key="Authorization must be 'Bearer <API key>'")
        bearer = token.strip()
    if query_keys:
        # With both forms present the key still travelled in the URL, which is what matters.
        key = bearer if bearer is not None else next(iter(query_keys))
        if len(query_keys | ({bearer} if bearer is not None else set())) > 1:
            return _Credentials("query", key, _error(400, "BAD_REQUEST", "conflicting API keys given"))
        return _Credentials("query", key)
    if bearer is not None:
        return _Credentials("bearer", bearer)
    return _Credentials(None, None, no_key="missing API key")


def _visible_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in items:
        lowered = name.lower()
        if lowered == "authorization":
            continue
        headers[lowered] = f"{headers[lowered]}, {value}" if lowered in headers else value
    return headers


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key in JSON object")
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8 only (no BOM), no duplicate keys, no NaN/Infinity."""
    return json.loads(
        raw.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
    )


def _parse_json_or_none(raw: bytes) -> Any:
    try:
        return _parse_json(raw)
    except ValueError:
        return None


# --- contract checks ---------------------------------------------------------------------


class _Invalid(Exception):
    """A contract violation inside the body; field is a JSON path, None for the body itself."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def answer(self) -> _Answer:
        if self.field is None:
            return _error(400, "INVALID_BODY", self.message)
        return _error(400, "INVALID_FIELD", self.message, field=self.field)


_FieldCheck = Callable[[Any, str], None]


def _check_auth(
    credentials: _Credentials, accepted_keys: frozenset[str] | None, refusal_status: int
) -> _Answer | None:
    """A missing, malformed or unknown key all resolve to no live registration: one documented code."""
    if credentials.problem is not None:
        return credentials.problem
    if credentials.no_key is not None:
        return _key_refused(refusal_status, credentials.no_key)
    key = credentials.key or ""
    if not _API_KEY.fullmatch(key):
        return _key_refused(refusal_status, "API key has an invalid format")
    if accepted_keys is not None and key not in accepted_keys:
        return _key_refused(refusal_status, "API key does not exist")
    return None


def _check_content_type(value: str | None) -> _Answer | None:
    refusal = _error(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json (UTF-8)")
    if value is None:
        return refusal
    media_type, *parameters = value.split(";")
    if media_type.strip().lower() != "application/json":
        return refusal
    for parameter in parameters:
        name, _, charset = parameter.partition("=")
        if name.strip().lower() == "charset" and charset.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return refusal
    return None


def _require_string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(path, "must be a string")
    return value


def _check_text(value: Any, path: str) -> None:
    _require_string(value, path)


def _check_non_empty_text(value: Any, path: str) -> None:
    if not _require_string(value, path).strip():
        raise _Invalid(path, "must not be empty")


def _check_calendar_id(value: Any, path: str) -> None:
    if not _CALENDAR_ID.fullmatch(_require_string(value, path)):
        raise _Invalid(path, "must be 32 alphanumeric characters")


def _parse_timestamp(value: str) -> datetime:
    return datetime.strptime(value, _TIMESTAMP_FORMAT)


def _check_timestamp(value: Any, path: str) -> None:
    text = _require_string(value, path)
    if not _TIMESTAMP.fullmatch(text):
        raise _Invalid(path, "must look like 2024-05-01T10:00:00.000Z")
    try:
        _parse_timestamp(text)
    except ValueError:
        raise _Invalid(path, "is not a real date and time") from None


def _check_url(value: Any, path: str) -> None:
    text = _require_string(value, path)
    if not text.startswith(("http://", "https://")) or not urlsplit(text).netloc:
        raise _Invalid(path, "must be an http:// or https:// URL")


def _check_notify_before(value: Any, path: str) -> None:
    if not _NOTIFY_BEFORE.fullmatch(_require_string(value, path)):
        raise _Invalid(path, "must be a duration like '1d 2h 30m' (d, h, m in order, single spaces)")


def _check_bool(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        raise _Invalid(path, "must be a JSON boolean")


def _check_member_id(value: Any, path: str) -> None:
    # bool is an int subclass in Python, but true is not a member id.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _Invalid(path, "must be a positive integer")


def _check_customer_id(value: Any, path: str) -> None:
    if not _CUSTOMER_ID.fullmatch(_require_string(value, path)):
        raise _Invalid(path, "must be 16 alphanumeric characters")


def _check_email(value: Any, path: str) -> None:
    text = _require_string(value, path)
    local, _, domain = text.partition("@")
    labels = domain.split(".")
    if (
        text.count("@") != 1
        or not local
        or len(labels) < 2
        or not all(labels)
        or any(char.isspace() for char in text)
    ):
        raise _Invalid(path, "must be an e-mail address")


def _check_phone(value: Any, path: str) -> None:
    if not _PHONE.fullmatch(_require_string(value, path)):
        raise _Invalid(path, "must be international with one space after the country code (+420 777123456)")


def _check_object(value: Any, path: str, fields: Mapping[str, _FieldCheck], required: Iterable[str]) -> None:
    """Shared shape rules: an object, only known keys, no nulls, every present field valid."""
    if not isinstance(value, dict):
        raise _Invalid(path, "must be an object")
    for key, item in value.items():
        item_path = f"{path}.{key}"
        if key not in fields:
            raise _Invalid(item_path, "is not a documented field")
        if item is None:
            raise _Invalid(item_path, "must be omitted instead of null")
        fields[key](item, item_path)
    for key in required:
        if key not in value:
            raise _Invalid(f"{path}.{key}", "is required")


_ATTENDEE_FIELDS: Mapping[str, _FieldCheck] = {
    "memberId": _check_member_id,
    "customerId": _check_customer_id,
    "name": _check_non_empty_text,
    "email": _check_email,
    "phone": _check_phone,
}


def _check_attendees(value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise _Invalid(path, "must be a list")
    for index, attendee in enumerate(value):
        _check_object(attendee, f"{path}[{index}]", _ATTENDEE_FIELDS, ())


_EVENT_FIELDS: Mapping[str, _FieldCheck] = {
    "calendarId": _check_calendar_id,
    "startTime": _check_timestamp,
    "endTime": _check_timestamp,
    "title": _check_non_empty_text,
    "description": _check_text,
    "agenda": _check_text,
    "url": _check_url,
    "notifyBefore": _check_notify_before,
    "blockingTo": _check_timestamp,
    "locationTitle": _check_text,
    "isAllDay": _check_bool,
    "isBlocking": _check_bool,
    "attendees": _check_attendees,
    "type": _check_text,
}
_EVENT_REQUIRED = ("calendarId", "startTime", "endTime", "title")


def _check_event_times(event: Mapping[str, Any]) -> None:
    """Cross-field order; runs after each timestamp was checked on its own."""
    start = _parse_timestamp(event["startTime"])
    if _parse_timestamp(event["endTime"]) <= start:
        raise _Invalid("event.endTime", "must be after startTime")
    if "blockingTo" in event and _parse_timestamp(event["blockingTo"]) < start:
        raise _Invalid("event.blockingTo", "must not be before startTime")


def _check_envelope(body: Any) -> None:
    if not isinstance(body, dict):
        raise _Invalid(None, "body must be a JSON object")
    for key in body:
        if key != "event":
            raise _Invalid(key, "is not a documented field (the body has exactly one key, event)")
    if "event" not in body:
        raise _Invalid("event", "is required")
    _check_object(body["event"], "event", _EVENT_FIELDS, _EVENT_REQUIRED)
    _check_event_times(body["event"])


def _new_event_id() -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(32))


# --- HTTP plumbing -----------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so clients can keep connections alive, as they would against the real API.
    protocol_version = "HTTP/1.1"
    server_version = "BizKitHubStandIn"
    # Headers and body go out in separate writes; with Nagle on, each answer waits ~40 ms.
    disable_nagle_algorithm = True
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # The default logs every request line to stderr, and request lines can carry ?apiKey=.
        return

    def do_POST(self) -> None:
        self._serve()

    do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_POST

    def _serve(self) -> None:
        target = urlsplit(self.path)
        framing_error: _Answer | None = None
        try:
            raw_body = self._read_body()
        except _FramingError as exc:
            framing_error, raw_body = exc.answer, b""
            self.close_connection = True
        if target.path.startswith(_CONTROL_PREFIX):
            self._send(framing_error or self.server.stand_in._answer_control(self.command, target.path))
            return
        request = _Request(
            method=self.command,
            path=target.path,
            credentials=_read_credentials(target.query, self.headers.get("Authorization")),
            headers=_visible_headers(self.headers.items()),
            raw_body=raw_body,
            framing_error=framing_error,
        )
        self._send(self.server.stand_in._answer_and_record(request))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        if not (length_text.isascii() and length_text.isdigit()):
            raise _FramingError(_error(400, "BAD_REQUEST", "invalid Content-Length"))
        length = int(length_text)
        if length > _MAX_BODY_BYTES:
            raise _FramingError(_error(413, "PAYLOAD_TOO_LARGE", "body too large"))
        body = self.rfile.read(length)
        if len(body) != length:
            raise _FramingError(_error(400, "BAD_REQUEST", "body shorter than Content-Length"))
        return body

    def _read_chunked_body(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_text = self.rfile.readline(1024).split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise _FramingError(_error(400, "BAD_REQUEST", "invalid chunked encoding"))
            size = int(size_text, 16)
            if size == 0:
                break
            total += size
            if total > _MAX_BODY_BYTES:
                raise _FramingError(_error(413, "PAYLOAD_TOO_LARGE", "body too large"))
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(1024).strip():
                raise _FramingError(_error(400, "BAD_REQUEST", "invalid chunked encoding"))
            chunks.append(chunk)
        while self.rfile.readline(1024).strip():  # skip trailers up to the blank line
            pass
        return b"".join(chunks)

    def _send(self, answer: _Answer) -> None:
        if answer.status == 0:
            self.close_connection = True
            return
        if answer.streamed is not None:
            self._send_streamed(answer.streamed)
            return
        payload = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _send_streamed(self, fault: _Streamed) -> None:
        stopping = self.server.stand_in._stopping
        try:
            if isinstance(fault, Raw):
                self._send_raw(fault)
            elif isinstance(fault, Drip):
                headers = [("Content-Type", "application/json"), ("Content-Length", str(len(fault.body)))]
                head = _status_and_headers(fault.status, headers)
                if fault.drip_headers:
                    self._drip(head, fault.seconds_per_byte, stopping)
                else:
                    self.wfile.write(head)
                self._drip(fault.body, fault.seconds_per_byte, stopping)
            else:
                self._send_huge(fault, stopping)
        except (OSError, _StandInStopping):
            # The client hung up (as one past its deadline or its size limit does), or we are stopping.
            self.close_connection = True

    def _send_raw(self, fault: Raw) -> None:
        headers = list(fault.headers)
        framed = any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers)
        bodiless = fault.status < 200 or fault.status in (204, 304)
        if framed or (bodiless and fault.body):
            self.close_connection = True
            headers.append(("Connection", "close"))
        elif not bodiless:
            headers.append(("Content-Length", str(len(fault.body))))
        self.wfile.write(_status_and_headers(fault.status, headers) + fault.body)

    def _send_huge(self, fault: Huge, stopping: threading.Event) -> None:
        headers = [("Content-Type", "application/json"), ("Content-Length", str(fault.size_bytes))]
        self.wfile.write(_status_and_headers(fault.status, headers) + _HUGE_PREFIX)
        left = fault.size_bytes - len(_HUGE_PREFIX)
        while left > 0:
            if stopping.is_set():
                raise _StandInStopping
            # A memoryview slice copies nothing: the body is never held, even in pieces.
            self.wfile.write(memoryview(_HUGE_CHUNK)[: min(left, len(_HUGE_CHUNK))])
            left -= len(_HUGE_CHUNK)

    def _drip(self, data: bytes, seconds_per_byte: float, stopping: threading.Event) -> None:
        for index in range(len(data)):
            if stopping.wait(seconds_per_byte):
                raise _StandInStopping
            self.wfile.write(data[index : index + 1])


class _StandInStopping(Exception):
    """Raised inside a streaming fault when the stand-in stops, to end it at once."""


def _status_and_headers(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connections of a burst of concurrent clients (they
    # then retry a second later), which would distort rate-limit tests and benches.
    request_queue_size = 128

    def __init__(self, host: str, port: int, stand_in: BizKitHubStandIn) -> None:
        self.stand_in = stand_in
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall for seconds.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        # Registered here, on the serving thread, so stop() sees every accepted connection.
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (after a read timeout, say) are expected here, and the default
        # traceback on stderr would only be noise.
        return

    def close_connections(self) -> None:
        """Unblock handler threads idling on keep-alive connections (server_close joins them)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


# --- the stand-in ------------------------------------------------------------------------


def _check_refusal_status(status: int) -> None:
    if not 200 <= status <= 599:
        raise ValueError(f"the key refusal status must be a final HTTP status (200-599), got {status}")


class BizKitHubStandIn:
    """A BizKitHub add-event endpoint on a local port, enforcing the documented contract."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        accepted_keys: Iterable[str] | None = None,
        *,
        key_refusal_status: int = 401,
        rate_limit: RateLimit | None = None,
    ) -> None:
        """`key_refusal_status`: the status of the PUBLIC_API_KEY_DOES_NOT_EXIST answer to a missing,
        malformed or unknown key. BizKitHub documents the code, not the status, and its statuses
        default to 500: clients must switch on the code.

        `rate_limit`: enforce this per-key limit (see RateLimit); None, the default: no limits."""
        _check_refusal_status(key_refusal_status)
        self._key_refusal_status = key_refusal_status
        self._lock = threading.Lock()
        self._calls: list[ReceivedCall] = []
        self._faults: deque[Fault] = deque()
        self._chaos: list[tuple[Fault, float]] = []
        self._chaos_random = random.Random(0)
        self._reject_marker: str | None = None
        self._accepted_keys = frozenset(accepted_keys) if accepted_keys is not None else None
        self._rate_limiter = _RateLimiter(rate_limit) if rate_limit is not None else None
        self._rate_requests: Counter[str] = Counter()
        self._rate_limited: Counter[str] = Counter()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        # Bound now so base_url is known before start() (port=0 picks a free port).
        self._server = _Server(host, port, self)

    @property
    def base_url(self) -> str:
        host, port = str(self._server.server_address[0]), int(self._server.server_address[1])
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> BizKitHubStandIn:
        with self._lock:
            if self._thread is not None or self._stopped:
                raise RuntimeError("a stand-in can be started only once")
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.01},  # shutdown() waits up to one interval
                name="bizkithub-stand-in",
                daemon=True,
            )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
        self._stopping.set()  # wakes handlers sleeping on a Slow fault
        if thread is not None:
            self._server.shutdown()
            thread.join()
        self._server.close_connections()
        self._server.server_close()

    def __enter__(self) -> BizKitHubStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def calls(self) -> list[ReceivedCall]:
        with self._lock:
            return list(self._calls)

    @property
    def accepted_events(self) -> list[dict[str, Any]]:
        """The event objects of calls answered 200 with an eventId (scripted 200s excluded)."""
        return [copy.deepcopy(call.body["event"]) for call in self.calls if call.event_id is not None]

    def set_accepted_keys(self, keys: Iterable[str] | None) -> None:
        with self._lock:
            self._accepted_keys = frozenset(keys) if keys is not None else None

    def set_key_refusal_status(self, status: int) -> None:
        _check_refusal_status(status)
        with self._lock:
            self._key_refusal_status = status

    @property
    def rate_limit(self) -> RateLimit | None:
        with self._lock:
            return self._rate_limiter.config if self._rate_limiter is not None else None

    def set_rate_limit(self, rate_limit: RateLimit | None) -> None:
        """Enforce `rate_limit` from now on, every key starting with a fresh window and a full bucket;
        None: no limits. The counts (rate_limit_counts) are kept."""
        with self._lock:
            self._rate_limiter = _RateLimiter(rate_limit) if rate_limit is not None else None

    def rate_limit_counts(self) -> RateLimitCounts:
        """Requests per key and how many of them were answered 429, since start or reset()."""
        with self._lock:
            return RateLimitCounts(dict(self._rate_requests), dict(self._rate_limited))

    def script(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def set_chaos(self, faults: Iterable[tuple[Fault, float]] | None, *, seed: int = 0) -> None:
        """Once the scripted faults are used up, each add-event request meets fault F with
        probability p, for each (F, p) in turn (p's summing to at most 1); None: no chaos."""
        with self._lock:
            self._chaos = list(faults or [])
            self._chaos_random = random.Random(seed)

    def reject_titles_containing(self, marker: str | None) -> None:
        """Refuse valid events whose title contains `marker` with 409 SLOT_BLOCKED, as a clash would be."""
        with self._lock:
            self._reject_marker = marker

    def reset(self) -> None:
        """Forget calls, faults, chaos, the title marker, rate-limit windows and counts (the limit
        itself, the accepted keys and the refusal status stay as configured)."""
        with self._lock:
            if self._rate_limiter is not None:
                self._rate_limiter = _RateLimiter(self._rate_limiter.config)
            self._rate_requests.clear()
            self._rate_limited.clear()
            self._calls.clear()
            self._faults.clear()
            self._chaos = []
            self._reject_marker = None

    # Called from handler threads.

    def _answer_control(self, method: str, path: str) -> _Answer:
        if path != CALLS_PATH:
            return _error(404, "NOT_FOUND", "no such control endpoint")
        if method not in ("GET", "HEAD"):
            return _Answer(405, _error(405, "METHOD_NOT_ALLOWED", "use GET").body, (("Allow", "GET"),))
        return _Answer(200, [call.public_view() for call in self.calls])

    def _answer_and_record(self, request: _Request) -> _Answer:
        received_at = time.time()  # before answering: a Slow fault must not move it
        answer = self._answer(request)
        # Recorded before the response is written, so a client that got its answer sees the call.
        call = ReceivedCall(
            method=request.method,
            path=request.path,
            auth_mode=request.credentials.mode,
            api_key=request.credentials.key,
            headers=request.headers,
            body=_parse_json_or_none(request.raw_body),
            status=answer.status,
            event_id=answer.event_id,
            fault=answer.fault,
            received_at=received_at,
        )
        with self._lock:
            self._calls.append(call)
        return answer

    def _answer(self, request: _Request) -> _Answer:
        if request.framing_error is not None:
            return request.framing_error
        if request.path != ADD_EVENT_PATH:
            return _error(404, "NOT_FOUND", "no such endpoint")
        if request.method != "POST":
            body = _error(405, "METHOD_NOT_ALLOWED", "use POST").body
            return _Answer(405, body, (("Allow", "POST"),))
        fault = self._next_fault()
        if isinstance(fault, Status):
            return dataclasses.replace(_fault_answer(fault), fault="status")
        if isinstance(fault, Drop):
            return dataclasses.replace(_DROPPED, fault="drop")
        if isinstance(fault, Raw | Drip | Huge):
            return _Answer(fault.status, fault=type(fault).__name__.lower(), streamed=fault)
        if isinstance(fault, Slow):
            if self._stopping.wait(fault.seconds):
                return dataclasses.replace(_DROPPED, fault="drop")  # stopping: nobody waits any more
            return dataclasses.replace(self._answer_add_event(request), fault="slow")
        return self._answer_add_event(request)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            draw = self._chaos_random.random()
            for fault, probability in self._chaos:
                if draw < probability:
                    return fault
                draw -= probability
            return None

    def _answer_add_event(self, request: _Request) -> _Answer:
        with self._lock:
            accepted_keys, refusal_status = self._accepted_keys, self._key_refusal_status
        refusal = _check_auth(request.credentials, accepted_keys, refusal_status)
        if refusal is not None:
            return refusal
        verdict = self._admit(request.credentials.key or "")
        if verdict is None:
            return self._answer_admitted(request)
        if not verdict.admitted:
            seconds = verdict.retry_after
            limited = _error(429, RATE_LIMIT_EXCEEDED, "Too many requests", retry_after=seconds)
            return dataclasses.replace(limited, headers=(*verdict.headers, ("Retry-After", str(seconds))))
        answer = self._answer_admitted(request)
        return dataclasses.replace(answer, headers=(*answer.headers, *verdict.headers))

    def _admit(self, key: str) -> _Verdict | None:
        """Count the request of an authenticated key; None when no limit applies to it."""
        with self._lock:
            # The check and the count happen under one lock: concurrent requests never overshoot.
            self._rate_requests[key] += 1
            if self._rate_limiter is None or key.startswith("ROOT"):
                return None
            verdict = self._rate_limiter.admit(key)
            if not verdict.admitted:
                self._rate_limited[key] += 1
            return verdict

    def _answer_admitted(self, request: _Request) -> _Answer:
        refusal = _check_content_type(request.headers.get("content-type"))
        if refusal is not None:
            return refusal
        try:
            body = _parse_json(request.raw_body)
        except ValueError:
            return _error(400, "INVALID_JSON", "body must be UTF-8 encoded JSON")
        try:
            _check_envelope(body)
        except _Invalid as invalid:
            return invalid.answer()
        with self._lock:
            marker = self._reject_marker
        if marker is not None and marker in str(body["event"].get("title", "")):
            return _error(409, "SLOT_BLOCKED", "the slot clashes with a blocking event")
        event_id = _new_event_id()
        return _Answer(200, {"eventId": event_id}, event_id=event_id)
