"""BizKitHubClient over a fake urllib3 pool: auth modes, outcome classification, bounds, no key leaks."""

from __future__ import annotations

import email.utils
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from bookhook.calendar import client as client_module
from bookhook.calendar.client import (
    ADD_EVENT_PATH,
    MAX_BODY_BYTES,
    MAX_RETRY_AFTER_SECONDS,
    BizKitHubClient,
    build_pool,
    parse_quota,
    parse_retry_after,
)
from bookhook.calendar.event import CalendarEvent
from bookhook.calendar.outcomes import (
    KEY_NOT_FOUND,
    RATE_LIMIT_EXCEEDED,
    AddEventOutcome,
    BadResponse,
    Created,
    KeyRefused,
    Quota,
    RateLimited,
    Rejected,
    Unavailable,
)
from bookhook.errors import ConfigurationError
from bookhook.secrets import API_KEY_FIELD, BookingSecrets
from bookhook.settings import AuthMode

BASE_URL = "https://api.bizkithub.com"
API_KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"
ROTATED_KEY = "PRODRotatedKey0123456789abcdefgh"
EVENT_ID = "fqdjnvzrfqjcsmvyhgjirjtvftknayzx"
ENDPOINT = BASE_URL + ADD_EVENT_PATH

EVENT = CalendarEvent.model_validate(
    {
        "calendarId": "2WRp6X5rSqQa321EjHB2mxZz74u74H84",
        "startTime": "2024-05-01T10:00:00.000Z",
        "endTime": "2024-05-01T12:00:00.000Z",
        "title": "Trénink s Janem",
        "locationTitle": "Varšavská 11, 120 00, Praha 2 – Vinohrady",
        "agenda": "– Warm-up\n– Cool down",
        "attendees": [{"name": "Jan Barášek", "phone": "+420 777123456"}],
    }
)


@dataclass
class Call:
    method: str
    url: str
    body: Any
    headers: dict[str, str]
    options: dict[str, Any]


Scripted = urllib3.HTTPResponse | Exception


class FakePool(urllib3.PoolManager):
    """Answers each request with the next scripted response (or raises it) and records the call."""

    def __init__(self, *outcomes: Scripted, **pool_kw: Any) -> None:
        super().__init__(**pool_kw)
        self.outcomes = list(outcomes)
        self.calls: list[Call] = []

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        fields: Any = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        **urlopen_kw: Any,
    ) -> urllib3.BaseHTTPResponse:
        self.calls.append(Call(method, url, body, dict(headers or {}), urlopen_kw))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class KeySource:
    def __init__(self, *keys: str | Exception) -> None:
        self.keys = list(keys)
        self.calls: list[bool] = []

    def __call__(self, fresh: bool) -> str:
        self.calls.append(fresh)
        key = self.keys[min(len(self.calls), len(self.keys)) - 1]
        if isinstance(key, Exception):
            raise key
        return key


@dataclass
class PooledConnection:
    """Stands in for the connection behind a response, to see whether it is closed or pooled."""

    closed: bool = False
    pooled: list[bool] = field(default_factory=list)  # `closed` at each return to the pool

    def close(self) -> None:
        self.closed = True


class ConnectionPoolStub:
    def __init__(self, connection: PooledConnection) -> None:
        self.connection = connection

    def _put_conn(self, conn: PooledConnection) -> None:
        conn.pooled.append(conn.closed)


def response(
    status: int,
    payload: Any = None,
    *,
    raw: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    fp: Any = None,
    connection: PooledConnection | None = None,
) -> urllib3.HTTPResponse:
    body = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode("utf-8"))
    # Streamed, as the client asks the pool for: the client reads the body itself.
    return urllib3.HTTPResponse(
        body=fp if fp is not None else io.BytesIO(body),
        status=status,
        headers=dict(headers or {}),
        preload_content=False,
        connection=connection,  # type: ignore[arg-type]
        pool=ConnectionPoolStub(connection) if connection is not None else None,  # type: ignore[arg-type]
    )


def ok() -> urllib3.HTTPResponse:
    return response(200, {"eventId": EVENT_ID})


def client(
    pool: FakePool,
    *,
    auth_mode: AuthMode = "query",
    keys: Any = None,
    base_url: str = BASE_URL,
    **options: Any,
) -> BizKitHubClient:
    return BizKitHubClient(
        base_url=base_url, auth_mode=auth_mode, api_key=keys or KeySource(API_KEY), pool=pool, **options
    )


def assert_no_key(outcome: AddEventOutcome) -> None:
    for key in (API_KEY, ROTATED_KEY):
        assert key not in repr(outcome)
        assert key not in str(outcome)


# --- success and request shape --------------------------------------------------------------------


def test_success_is_created_with_the_event_id() -> None:
    pool = FakePool(ok())

    assert client(pool).add_event(EVENT) == Created(EVENT_ID)
    assert len(pool.calls) == 1
    assert pool.calls[0].method == "POST"


@pytest.mark.parametrize("base_url", [BASE_URL, BASE_URL + "/", "http://127.0.0.1:3000/"])
def test_query_mode_puts_the_key_in_the_query(base_url: str) -> None:
    pool = FakePool(ok())

    client(pool, base_url=base_url).add_event(EVENT)

    call = pool.calls[0]
    assert call.url == base_url.rstrip("/") + "/api/v1/calendar/add-event?apiKey=" + API_KEY
    assert "Authorization" not in call.headers


def test_query_mode_url_quotes_the_key() -> None:
    pool = FakePool(ok())

    client(pool, keys=KeySource("PROD+a/b=c&d e")).add_event(EVENT)

    assert pool.calls[0].url == ENDPOINT + "?apiKey=PROD%2Ba%2Fb%3Dc%26d%20e"


def test_bearer_mode_puts_the_key_in_the_header() -> None:
    pool = FakePool(ok())

    client(pool, auth_mode="bearer").add_event(EVENT)

    call = pool.calls[0]
    assert call.url == ENDPOINT
    assert call.headers["Authorization"] == f"Bearer {API_KEY}"
    assert API_KEY not in call.url


@pytest.mark.parametrize("auth_mode", ["query", "bearer"])
def test_body_is_the_event_as_utf8_json(auth_mode: AuthMode) -> None:
    pool = FakePool(ok())

    client(pool, auth_mode=auth_mode).add_event(EVENT, "booking-key-1")

    call = pool.calls[0]
    assert isinstance(call.body, bytes)
    assert json.loads(call.body.decode("utf-8")) == {"event": EVENT.wire_event()}
    assert "Varšavská 11, 120 00, Praha 2 – Vinohrady".encode() in call.body
    assert "Jan Barášek".encode() in call.body
    assert b"\\u" not in call.body
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["Accept"] == "application/json"
    assert call.headers["User-Agent"] == "bookhook/0.1"
    assert call.headers["Idempotency-Key"] == "booking-key-1"


def test_the_body_is_streamed_and_redirects_are_not_followed() -> None:
    pool = FakePool(ok())

    client(pool).add_event(EVENT)

    options = pool.calls[0].options
    assert options["preload_content"] is False
    assert options["redirect"] is False
    retries = options["retries"]
    assert isinstance(retries, urllib3.Retry)
    assert (retries.read, retries.status, retries.redirect, retries.other) == (0, 0, 0, 0)


# --- per-call timeouts and the deadline -----------------------------------------------------------


def test_per_call_timeouts_are_the_configured_ones_when_time_allows() -> None:
    pool = FakePool(ok(), timeout=urllib3.Timeout(connect=1.5, read=4.0))

    client(pool).add_event(EVENT, deadline=time.monotonic() + 60)

    options = pool.calls[0].options
    assert (options["timeout"].connect_timeout, options["timeout"].read_timeout) == (1.5, 4.0)
    assert options["retries"].connect == 2


def test_per_call_timeouts_shrink_to_the_time_left() -> None:
    pool = FakePool(ok(), timeout=urllib3.Timeout(connect=3.0, read=8.0))

    client(pool).add_event(EVENT, deadline=time.monotonic() + 2.0)

    timeout = pool.calls[0].options["timeout"]
    assert 1.5 < timeout.connect_timeout <= 2.0
    assert 1.5 < timeout.read_timeout <= 2.0
    assert pool.calls[0].options["retries"].connect == 0  # a second connect attempt would not fit


@pytest.mark.parametrize(("seconds_left", "retries"), [(3.0, 0), (6.5, 1), (9.5, 2), (60.0, 2)])
def test_connect_retries_only_while_the_time_left_can_hold_them(seconds_left: float, retries: int) -> None:
    pool = FakePool(ok(), timeout=urllib3.Timeout(connect=3.0, read=8.0))

    client(pool).add_event(EVENT, deadline=time.monotonic() + seconds_left)

    assert pool.calls[0].options["retries"].connect == retries
    assert pool.calls[0].options["retries"].total == retries


def test_constructor_timeouts_override_the_pools() -> None:
    pool = FakePool(ok(), timeout=urllib3.Timeout(connect=3.0, read=8.0))

    client(pool, connect_timeout=0.5, read_timeout=1.0).add_event(EVENT)

    timeout = pool.calls[0].options["timeout"]
    assert (timeout.connect_timeout, timeout.read_timeout) == (0.5, 1.0)


def test_a_deadline_already_past_sends_nothing() -> None:
    pool = FakePool(ok())

    outcome = client(pool).add_event(EVENT, deadline=time.monotonic() - 0.01)

    assert outcome == Unavailable(may_have_been_received=False, cause="deadline")
    assert pool.calls == []


class DrippingBody(io.RawIOBase):
    """A body that gives one byte per read, slowly, as a server dripping its answer would."""

    def __init__(self, data: bytes, seconds_per_byte: float) -> None:
        self.data, self.seconds_per_byte, self.position = data, seconds_per_byte, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.position >= len(self.data):
            return 0
        time.sleep(self.seconds_per_byte)
        buffer[0] = self.data[self.position]
        self.position += 1
        return 1

    def read1(self, size: int = -1) -> bytes:
        chunk = bytearray(1)
        return bytes(chunk[: self.readinto(chunk)])


def test_a_2xx_body_still_arriving_at_the_deadline_is_a_creation_without_an_id() -> None:
    body = json.dumps({"eventId": EVENT_ID}).encode()
    pool = FakePool(response(200, fp=DrippingBody(body, 0.02)))
    started = time.monotonic()

    outcome = client(pool).add_event(EVENT, deadline=started + 0.2)

    assert time.monotonic() - started < 0.4
    assert outcome == Created(None)  # the status said 200: the event exists


def test_an_error_body_still_arriving_at_the_deadline_is_unavailable() -> None:
    body = json.dumps({"error": {"code": "SLOT_BLOCKED"}}).encode()
    pool = FakePool(response(409, fp=DrippingBody(body, 0.02)))
    started = time.monotonic()

    outcome = client(pool).add_event(EVENT, deadline=started + 0.2)

    assert time.monotonic() - started < 0.4
    assert outcome == Unavailable(True, "deadline", status=409)


# --- key rotation and key refusal ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (401, {"error": "unauthorized"}),
        (403, None),
        (401, {"error": {"code": KEY_NOT_FOUND, "message": "no such key"}}),
        (500, {"error": {"code": KEY_NOT_FOUND, "message": "no such key"}}),
        (404, {"error": {"code": KEY_NOT_FOUND}}),
        (400, {"state": "error", "error": {"code": KEY_NOT_FOUND}}),
    ],
)
@pytest.mark.parametrize("auth_mode", ["query", "bearer"])
def test_refused_key_is_re_read_once_and_the_call_repeated(
    status: int, payload: Any, auth_mode: AuthMode
) -> None:
    pool = FakePool(response(status, payload), ok())
    keys = KeySource(API_KEY, ROTATED_KEY)

    assert client(pool, auth_mode=auth_mode, keys=keys).add_event(EVENT) == Created(EVENT_ID)

    assert keys.calls == [False, True]
    assert len(pool.calls) == 2
    first, second = pool.calls
    if auth_mode == "query":
        assert (first.url, second.url) == (
            ENDPOINT + "?apiKey=" + API_KEY,
            ENDPOINT + "?apiKey=" + ROTATED_KEY,
        )
    else:
        assert (first.headers["Authorization"], second.headers["Authorization"]) == (
            f"Bearer {API_KEY}",
            f"Bearer {ROTATED_KEY}",
        )
    assert first.body == second.body


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (response(401), response(401), KeyRefused(401, None)),
        (response(401), response(403), KeyRefused(403, None)),
        (response(403), response(401, {"error": "UNAUTHORIZED"}), KeyRefused(401, "UNAUTHORIZED")),
        (
            response(500, {"error": {"code": KEY_NOT_FOUND}}),
            response(500, {"error": {"code": KEY_NOT_FOUND}}),
            KeyRefused(500, KEY_NOT_FOUND),
        ),
        (
            response(404, {"error": {"code": KEY_NOT_FOUND}}),
            response(404, {"error": {"code": KEY_NOT_FOUND}}),
            KeyRefused(404, KEY_NOT_FOUND),
        ),
    ],
)
def test_key_refused_twice(
    first: urllib3.HTTPResponse, second: urllib3.HTTPResponse, expected: KeyRefused
) -> None:
    pool = FakePool(first, second)
    keys = KeySource(API_KEY, ROTATED_KEY)

    outcome = client(pool, keys=keys).add_event(EVENT)

    assert outcome == expected
    assert keys.calls == [False, True]
    assert len(pool.calls) == 2
    assert_no_key(outcome)


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        (response(503), Unavailable(True, "HTTP 503", status=503)),
        (response(409, {"error": {"code": "SLOT_BLOCKED"}}), Rejected(409, "SLOT_BLOCKED")),
        (NewConnectionError(None, "refused"), Unavailable(False, "NewConnectionError")),  # type: ignore[arg-type]
    ],
)
def test_refused_then_another_outcome_is_that_outcome(second: Scripted, expected: AddEventOutcome) -> None:
    pool = FakePool(response(401), second)

    assert client(pool, keys=KeySource(API_KEY, ROTATED_KEY)).add_event(EVENT) == expected


def test_success_reads_the_key_once_without_refresh() -> None:
    keys = KeySource(API_KEY)

    client(FakePool(ok()), keys=keys).add_event(EVENT)

    assert keys.calls == [False]


@pytest.mark.parametrize(
    "error",
    [
        ConfigurationError("secret field bizkithubApiKey is not a BizKitHub API key"),
        ConfigurationError("the booking secret could not be read (missing, empty or no access)"),
        RuntimeError("Secrets Manager exploded"),
        KeyError("bizkithubApiKey"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_an_unreadable_key_is_refused_and_nothing_is_sent(error: Exception) -> None:
    pool = FakePool(ok())

    outcome = client(pool, keys=KeySource(error)).add_event(EVENT)

    assert outcome == KeyRefused(status=None, code=None)
    assert pool.calls == []


@pytest.mark.parametrize("bad", [None, "", 12345])
def test_a_key_source_returning_no_string_is_refused(bad: Any) -> None:
    pool = FakePool(ok())

    assert client(pool, keys=lambda fresh: bad).add_event(EVENT) == KeyRefused(None, None)
    assert pool.calls == []


def test_a_re_read_that_fails_is_refused_after_one_call() -> None:
    pool = FakePool(response(401), ok())

    outcome = client(pool, keys=KeySource(API_KEY, ConfigurationError("unreadable"))).add_event(EVENT)

    assert outcome == KeyRefused(None, None)
    assert len(pool.calls) == 1


@pytest.mark.parametrize("trailing", ["\n", " ", "\r\n", "\t"])
@pytest.mark.parametrize("auth_mode", ["query", "bearer"])
def test_a_key_with_trailing_whitespace_is_refused_before_sending(trailing: str, auth_mode: AuthMode) -> None:
    # `$` in a pattern accepts a trailing newline; a key is checked with fullmatch.
    secrets = BookingSecrets.model_validate({API_KEY_FIELD: API_KEY + trailing})
    pool = FakePool(ok())

    outcome = client(pool, auth_mode=auth_mode, keys=lambda fresh: secrets.bizkithub_key()).add_event(EVENT)

    assert outcome == KeyRefused(status=None, code=None)
    assert pool.calls == []


# --- classification: the code first, the status when the code is unknown ---------------------------

OVERSIZED_JSON = json.dumps({"eventId": EVENT_ID}).encode() + b" " * MAX_BODY_BYTES
OVERSIZED_ERROR = json.dumps({"error": {"code": KEY_NOT_FOUND}}).encode() + b" " * MAX_BODY_BYTES


@pytest.mark.parametrize(
    ("status", "raw", "headers", "expected"),
    [
        # Any 2xx: the event exists; an id only when it is 32 lowercase letters.
        (200, json.dumps({"eventId": EVENT_ID}).encode(), {}, Created(EVENT_ID)),
        (201, json.dumps({"eventId": EVENT_ID, "state": "ok"}).encode(), {}, Created(EVENT_ID)),
        (299, json.dumps({"eventId": EVENT_ID}).encode(), {}, Created(EVENT_ID)),
        (200, b"<html>OK</html>", {}, Created(None)),
        (204, b"", {}, Created(None)),
        (200, b"", {}, Created(None)),
        (200, b'{"id": 7}', {}, Created(None)),
        (200, b"{}", {}, Created(None)),
        (200, b'{"eventId": ""}', {}, Created(None)),
        (200, b'{"eventId": 123}', {}, Created(None)),
        (200, b'{"eventId": null}', {}, Created(None)),
        (200, json.dumps({"eventId": EVENT_ID.upper()}).encode(), {}, Created(None)),
        (200, json.dumps({"eventId": EVENT_ID[:-1]}).encode(), {}, Created(None)),
        (200, json.dumps({"eventId": EVENT_ID + "a"}).encode(), {}, Created(None)),
        (200, json.dumps({"eventId": EVENT_ID + "\n"}).encode(), {}, Created(None)),
        (200, json.dumps({"eventId": "é" * 32}, ensure_ascii=False).encode(), {}, Created(None)),
        (200, json.dumps([EVENT_ID]).encode(), {}, Created(None)),
        (201, json.dumps({"id": EVENT_ID}).encode(), {}, Created(None)),
        (200, b"\xff\xfe", {}, Created(None)),
        (200, b"[" * 60000, {}, Created(None)),
        (200, json.dumps("x" * 500_000).encode(), {}, Created(None)),
        (200, OVERSIZED_JSON, {}, Created(None)),
        (
            200,
            json.dumps({"error": {"code": KEY_NOT_FOUND}, "eventId": EVENT_ID}).encode(),
            {},
            Created(EVENT_ID),
        ),
        (200, json.dumps({"state": "error", "error": {"code": "SLOT_TAKEN"}}).encode(), {}, Created(None)),
        # A documented code wins over the status.
        (500, json.dumps({"error": {"code": KEY_NOT_FOUND}}).encode(), {}, KeyRefused(500, KEY_NOT_FOUND)),
        (
            429,
            json.dumps({"error": {"code": RATE_LIMIT_EXCEEDED, "retry_after": 3600}}).encode(),
            {"Retry-After": "7"},
            RateLimited(429, RATE_LIMIT_EXCEEDED, 7),
        ),
        (
            429,
            json.dumps(
                {"error": {"code": RATE_LIMIT_EXCEEDED, "message": "Too many", "retry_after": 3600}}
            ).encode(),
            {},
            RateLimited(429, RATE_LIMIT_EXCEEDED, 3600),
        ),
        (
            500,
            json.dumps({"error": {"code": RATE_LIMIT_EXCEEDED, "retry_after": 99999}}).encode(),
            {},
            RateLimited(500, RATE_LIMIT_EXCEEDED, MAX_RETRY_AFTER_SECONDS),
        ),
        (
            400,
            json.dumps({"error": {"code": RATE_LIMIT_EXCEEDED}}).encode(),
            {},
            RateLimited(400, RATE_LIMIT_EXCEEDED, None),
        ),
        (
            429,
            json.dumps({"error": {"code": RATE_LIMIT_EXCEEDED, "retry_after": True}}).encode(),
            {},
            RateLimited(429, RATE_LIMIT_EXCEEDED, None),
        ),
        # Unknown code (or none): the status decides.
        (429, b"", {"Retry-After": "7"}, RateLimited(429, None, 7)),
        (429, json.dumps({"error": "rate limited"}).encode(), {}, RateLimited(429, None, None)),
        (429, json.dumps({"error": {"code": "TOO_FAST"}}).encode(), {}, RateLimited(429, "TOO_FAST", None)),
        (
            500,
            json.dumps({"error": {"code": "SERVER_ERROR"}}).encode(),
            {},
            Unavailable(True, "HTTP 500", 500, "SERVER_ERROR"),
        ),
        (503, b"", {"Retry-After": "30"}, Unavailable(True, "HTTP 503", 503, None, 30)),
        (502, b"<html>Bad gateway</html>", {}, Unavailable(True, "HTTP 502", 502)),
        (504, b"", {}, Unavailable(True, "HTTP 504", 504)),
        (599, b"", {}, Unavailable(True, "HTTP 599", 599)),
        (408, b"", {}, Unavailable(True, "HTTP 408", 408)),
        (500, OVERSIZED_ERROR, {}, Unavailable(True, "HTTP 500", 500)),
        (100, b"", {}, BadResponse(100, None)),
        (101, b"", {}, BadResponse(101, None)),
        (103, b"", {}, BadResponse(103, None)),
        (301, b"", {"Location": "https://elsewhere.example/"}, BadResponse(301, None)),
        (302, b"", {"Location": "/login"}, BadResponse(302, None)),
        (304, b"", {}, BadResponse(304, None)),
        (307, b"", {"Location": "/v2"}, BadResponse(307, None)),
        (404, b"", {}, BadResponse(404, None)),
        (404, b"<html>Not found</html>", {}, BadResponse(404, None)),
        (404, json.dumps({"error": {"code": "NOT_FOUND"}}).encode(), {}, BadResponse(404, "NOT_FOUND")),
        (405, b"", {"Allow": "GET"}, BadResponse(405, None)),
        (410, json.dumps(["SLOT_TAKEN"]).encode(), {}, BadResponse(410, None)),
        (600, b"", {}, BadResponse(600, None)),
        (799, b"", {}, BadResponse(799, None)),
        (999, b"{}", {}, BadResponse(999, None)),
        (
            400,
            json.dumps({"state": "error", "error": {"code": "SLOT_TAKEN"}}).encode(),
            {},
            Rejected(400, "SLOT_TAKEN"),
        ),
        (
            400,
            json.dumps({"state": "error", "error": "SLOT_TAKEN"}).encode(),
            {},
            Rejected(400, "SLOT_TAKEN"),
        ),
        (
            422,
            json.dumps({"errorCode": "calendar.not_found"}).encode(),
            {},
            Rejected(422, "calendar.not_found"),
        ),
        (409, json.dumps({"error": {"code": 4091}}).encode(), {}, Rejected(409, "4091")),
        (409, json.dumps({"success": False, "code": "X"}).encode(), {}, Rejected(409, "X")),
        (413, b"", {}, Rejected(413, None)),
        (400, json.dumps({"state": "error"}).encode(), {}, Rejected(400, None)),
        (418, b"teapot", {}, Rejected(418, None)),
        (499, b"", {}, Rejected(499, None)),
        (400, OVERSIZED_ERROR, {}, Rejected(400, None)),
    ],
)
def test_classification(status: int, raw: bytes, headers: dict[str, str], expected: AddEventOutcome) -> None:
    # A second answer is scripted only so a key refusal has something to repeat into.
    pool = FakePool(response(status, raw=raw, headers=headers), response(status, raw=raw, headers=headers))

    outcome = client(pool).add_event(EVENT)

    assert outcome == expected
    assert len(pool.calls) == (2 if isinstance(expected, KeyRefused) else 1)


def test_an_http_date_retry_after_is_honoured() -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    pool = FakePool(response(503, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)}))

    outcome = client(pool).add_event(EVENT)

    assert isinstance(outcome, Unavailable)
    assert outcome.retry_after is not None
    assert 115 <= outcome.retry_after <= 120


@pytest.mark.parametrize(
    "payload",
    [
        {"error": {"code": "slot taken by Jan Barášek"}},
        {"error": "Jan Barášek already has a booking at 10:00"},
        {"state": "error", "code": "x" * 65},
        {"state": "error", "code": "new\nline"},
        {"state": "error", "code": "SLOT_TAKEN\n"},
        {"state": "error", "code": True},
        {"state": "error", "error": {"code": ["SLOT_TAKEN"]}},
    ],
)
def test_free_text_error_codes_are_not_repeated(payload: dict[str, Any]) -> None:
    outcome = client(FakePool(response(400, payload))).add_event(EVENT)

    assert outcome == Rejected(400, None)
    assert "Barášek" not in repr(outcome)


def test_an_unknown_code_is_logged_with_the_status_but_not_the_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bookhook.calendar.client")
    body = {"error": {"code": "CALENDAR_LOCKED", "message": "Calendar of Jan Barášek is locked"}}

    outcome = client(FakePool(response(500, body))).add_event(EVENT)

    assert outcome == Unavailable(True, "HTTP 500", status=500, code="CALENDAR_LOCKED")
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].name == "bookhook.calendar.client"
    assert "CALENDAR_LOCKED" in warnings[0].getMessage()
    assert "500" in warnings[0].getMessage()
    assert "Barášek" not in caplog.text
    assert "locked" not in caplog.text


@pytest.mark.parametrize("code", [KEY_NOT_FOUND, RATE_LIMIT_EXCEEDED])
def test_known_codes_are_not_warned_about(code: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bookhook.calendar.client")
    body = {"error": {"code": code}}

    client(FakePool(response(500, body), response(500, body))).add_event(EVENT)

    assert caplog.records == []


# --- connections: read whole and pooled, or closed -------------------------------------------------


def test_a_body_read_to_its_end_goes_back_to_the_pool_open() -> None:
    connection = PooledConnection()

    client(FakePool(response(200, {"eventId": EVENT_ID}, connection=connection))).add_event(EVENT)

    assert connection.pooled == [False]
    assert not connection.closed


@pytest.mark.parametrize("status", [200, 400, 500])
def test_an_oversized_body_is_not_drained_its_connection_is_closed(status: int) -> None:
    connection = PooledConnection()
    body = CountingBody(b"x" * (10 * MAX_BODY_BYTES))

    client(FakePool(response(status, fp=body, connection=connection))).add_event(EVENT)

    assert connection.closed
    assert connection.pooled == [True]  # only its slot goes back, closed
    assert body.served <= MAX_BODY_BYTES + 1


class CountingBody(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.served = 0

    def read1(self, size: int | None = -1) -> bytes:
        chunk = super().read1(size)
        self.served += len(chunk)
        return chunk

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.served += len(chunk)
        return chunk


class BrokenBody(io.BytesIO):
    def read1(self, size: int | None = -1) -> bytes:
        raise ConnectionResetError(104, f"reset while reading {ENDPOINT}?apiKey={API_KEY}")


def test_a_2xx_body_broken_off_is_a_creation_and_the_connection_closed() -> None:
    connection = PooledConnection()

    outcome = client(FakePool(response(200, fp=BrokenBody(b""), connection=connection))).add_event(EVENT)

    assert outcome == Created(None)  # the status said 200: the event exists
    assert connection.closed


def test_an_error_body_broken_off_is_unavailable_and_the_connection_closed() -> None:
    connection = PooledConnection()

    outcome = client(FakePool(response(503, fp=BrokenBody(b""), connection=connection))).add_event(EVENT)

    assert outcome == Unavailable(True, "ProtocolError", status=503)
    assert connection.closed
    assert_no_key(outcome)


# --- failures while sending: never raised, never leak the key --------------------------------------

URL_WITH_KEY = f"{ADD_EVENT_PATH}?apiKey={API_KEY}"


def sending_errors() -> list[tuple[Exception, bool, str]]:
    pool = urllib3.HTTPSConnectionPool("api.bizkithub.com", 443)
    connection = urllib3.connection.HTTPSConnection("api.bizkithub.com", 443)
    new_connection = NewConnectionError(
        connection, f"Failed to establish a new connection for {URL_WITH_KEY}"
    )
    timed_out = ConnectTimeoutError(connection, f"Connection to {URL_WITH_KEY} timed out")
    no_name = NameResolutionError("api.bizkithub.com", connection, socket.gaierror(f"no {URL_WITH_KEY}"))
    read_timeout = ReadTimeoutError(pool, URL_WITH_KEY, f"Read timed out. url={URL_WITH_KEY}")
    return [
        (new_connection, False, "NewConnectionError"),
        (timed_out, False, "ConnectTimeoutError"),
        (no_name, False, "NameResolutionError"),
        (MaxRetryError(pool, URL_WITH_KEY, new_connection), False, "NewConnectionError"),
        (MaxRetryError(pool, URL_WITH_KEY, timed_out), False, "ConnectTimeoutError"),
        (MaxRetryError(pool, URL_WITH_KEY, no_name), False, "NameResolutionError"),
        (ValueError(f"Invalid header value b'Bearer {API_KEY}\\n'"), False, "ValueError"),
        (read_timeout, True, "ReadTimeoutError"),
        (MaxRetryError(pool, URL_WITH_KEY, read_timeout), True, "ReadTimeoutError"),
        (
            ProtocolError(
                f"Connection aborted while sending {URL_WITH_KEY}", ConnectionResetError(104, "reset")
            ),
            True,
            "ProtocolError",
        ),
        (SSLError(f"certificate verify failed for {BASE_URL}{URL_WITH_KEY}"), True, "SSLError"),
        (MaxRetryError(pool, URL_WITH_KEY, None), True, "MaxRetryError"),
        (HTTPError(f"something about {URL_WITH_KEY}"), True, "HTTPError"),
        (ZeroDivisionError(f"{API_KEY}"), True, "ZeroDivisionError"),
        (RuntimeError(f"{URL_WITH_KEY}"), True, "RuntimeError"),
        (OSError(f"{URL_WITH_KEY}"), True, "OSError"),
    ]


@pytest.mark.parametrize(
    ("error", "received", "cause"), sending_errors(), ids=lambda value: type(value).__name__
)
@pytest.mark.parametrize("auth_mode", ["query", "bearer"])
def test_sending_failures_are_outcomes_without_the_key(
    error: Exception, received: bool, cause: str, auth_mode: AuthMode
) -> None:
    assert API_KEY in str(error)  # the exception's own text carries the key
    pool = FakePool(error)

    outcome = client(pool, auth_mode=auth_mode).add_event(EVENT)

    assert outcome == Unavailable(may_have_been_received=received, cause=cause)
    assert_no_key(outcome)
    assert len(pool.calls) == 1


# --- the watchdog behind build_pool (socketpair: no network) ---------------------------------------


def test_the_watchdog_cuts_a_blocked_read_at_the_deadline() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        watchdog = client_module._Watchdog(time.monotonic() + 0.2)
        watchdog.watch(object(), ours)
        started = time.monotonic()

        assert ours.recv(10) == b""  # the server sent nothing; the cut ends the wait

        assert 0.15 < time.monotonic() - started < 0.5
        assert watchdog.fired
        watchdog.close()


def test_the_watchdog_leaves_released_and_closed_calls_alone() -> None:
    released, theirs = socket.socketpair()
    with released, theirs:
        watchdog = client_module._Watchdog(time.monotonic() + 0.05)
        connection = object()
        watchdog.watch(connection, released)
        assert watchdog.release(connection) is False
        time.sleep(0.15)
        assert watchdog.fired
        theirs.sendall(b"still open")
        assert released.recv(20) == b"still open"
        watchdog.close()

    closed, theirs = socket.socketpair()
    with closed, theirs:
        watchdog = client_module._Watchdog(time.monotonic() + 0.05)
        watchdog.watch(object(), closed)
        watchdog.close()
        time.sleep(0.15)
        assert not watchdog.fired
        theirs.sendall(b"x")
        assert closed.recv(1) == b"x"


def test_the_watchdog_cuts_a_socket_shown_after_it_fired() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        watchdog = client_module._Watchdog(time.monotonic())
        deadline = time.monotonic() + 1
        while not watchdog.fired and time.monotonic() < deadline:
            time.sleep(0.005)

        watchdog.watch(object(), ours)

        assert ours.recv(1) == b""
        watchdog.close()


def test_the_watchdog_timer_thread_ends_with_the_call() -> None:
    before = threading.active_count()
    pool = FakePool(ok())
    watched = client(pool)
    watched._watched = True  # a FakePool is not built by build_pool; arm the watchdog anyway

    assert watched.add_event(EVENT, deadline=time.monotonic() + 30) == Created(EVENT_ID)

    deadline = time.monotonic() + 1
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


# --- Retry-After ----------------------------------------------------------------------------------

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def http_date(seconds_from_now: float) -> str:
    return email.utils.format_datetime(NOW + timedelta(seconds=seconds_from_now), usegmt=True)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7),
        (" 12 ", 12),
        ("1", 1),
        ("0", 1),
        ("3600", 3600),
        ("3601", 3600),
        ("86400", 3600),
        (http_date(120), 120),
        (http_date(0.5), 1),
        (http_date(-300), 1),
        (http_date(7200), 3600),
        ("Fri, 01 May 2026 14:00:00 +0200", 1),
        ("Fri, 01 May 2026 12:10:00 +0000", 600),
    ],
)
def test_parse_retry_after(value: str, seconds: int) -> None:
    assert parse_retry_after(value, now=NOW.timestamp()) == seconds


@pytest.mark.parametrize(
    "value", [None, "", "   ", "soon", "-5", "1.5", "7s", "Fri, 01 May 2026 12:10:00", "Friday", "0x10"]
)
def test_parse_retry_after_rejects_garbage(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW.timestamp()) is None


def test_parse_retry_after_uses_the_clock_by_default() -> None:
    value = email.utils.formatdate(time.time() + 600, usegmt=True)

    result = parse_retry_after(value)

    assert result is not None
    assert 595 <= result <= MAX_RETRY_AFTER_SECONDS


@pytest.mark.parametrize(
    "value", [pytest.param("²", id="superscript-two"), pytest.param("9" * 5000, id="5000-digits")]
)
def test_parse_retry_after_survives_odd_digits(value: str) -> None:
    assert parse_retry_after(value) in (None, MAX_RETRY_AFTER_SECONDS)


# --- the pool -------------------------------------------------------------------------------------


def test_build_pool_retries_only_connecting() -> None:
    pool = build_pool(connect_timeout=3.0, read_timeout=8.0)

    retries = pool.connection_pool_kw["retries"]
    assert isinstance(retries, urllib3.Retry)
    assert (retries.read, retries.status, retries.redirect, retries.other) == (0, 0, 0, 0)
    assert isinstance(retries.connect, int)
    assert retries.connect > 0
    assert retries.raise_on_status is False


@pytest.mark.parametrize(("connect", "read"), [(3.0, 8.0), (0.5, 20.0)])
def test_build_pool_has_explicit_timeouts(connect: float, read: float) -> None:
    pool = build_pool(connect_timeout=connect, read_timeout=read)

    timeout = pool.connection_pool_kw["timeout"]
    assert isinstance(timeout, urllib3.Timeout)
    assert (timeout.connect_timeout, timeout.read_timeout) == (connect, read)


@pytest.mark.parametrize("url", ["https://api.bizkithub.com", "http://127.0.0.1:3000"])
def test_build_pool_connections_report_to_the_watchdog(url: str) -> None:
    pool = build_pool(connect_timeout=1, read_timeout=1).connection_from_url(url)  # no socket yet

    assert issubclass(pool.ConnectionCls, client_module._WatchedHTTPConnection)


def test_build_pool_retry_policy_in_action() -> None:
    retries = build_pool(connect_timeout=1, read_timeout=1).connection_pool_kw["retries"]
    connection = urllib3.connection.HTTPSConnection("api.bizkithub.com", 443)

    after_connect_failure = retries.increment(
        "POST", ADD_EVENT_PATH, error=NewConnectionError(connection, "refused")
    )
    assert after_connect_failure.connect == retries.connect - 1

    with pytest.raises((ReadTimeoutError, MaxRetryError)):
        retries.increment("POST", ADD_EVENT_PATH, error=ReadTimeoutError(None, ADD_EVENT_PATH, "timed out"))  # type: ignore[arg-type]
    assert retries.is_retry("POST", 503) is False
    assert retries.is_retry("POST", 429, has_retry_after=True) is False


# --- log redaction --------------------------------------------------------------------------------

REQUEST_LINE = '%s://%s:%s "%s %s %s" %s %s'


@pytest.mark.parametrize(
    "logger_name", ["urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager", "urllib3.response"]
)
def test_urllib3_log_lines_have_the_key_redacted(logger_name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=logger_name)
    path = f"{ADD_EVENT_PATH}?apiKey={API_KEY}&x=1"

    logging.getLogger(logger_name).debug(
        REQUEST_LINE, "https", "api.bizkithub.com", 443, "POST", path, "HTTP/1.1", 200, 44
    )

    assert len(caplog.records) == 1
    assert API_KEY not in caplog.text
    assert caplog.records[0].getMessage() == (
        f'https://api.bizkithub.com:443 "POST {ADD_EVENT_PATH}?apiKey=REDACTED&x=1 HTTP/1.1" 200 44'
    )


def test_log_lines_without_a_key_are_untouched(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")

    logging.getLogger("urllib3.connectionpool").debug(
        "Starting new HTTPS connection (%d): %s:%s", 1, "h", 443
    )

    assert caplog.records[0].getMessage() == "Starting new HTTPS connection (1): h:443"
    assert caplog.records[0].args == (1, "h", 443)


def test_urllib3_connection_warning_has_the_key_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3.connection")

    logging.getLogger("urllib3.connection").warning(
        "Failed to parse headers (url=%s): %s", f"{BASE_URL}{ADD_EVENT_PATH}?apiKey={API_KEY}", "bad header"
    )

    assert API_KEY not in caplog.text


# --- rate-limit headers (for pacing) ---------------------------------------------------------------

UNIX_NOW = 1_800_000_000.0
RATE_HEADERS = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "1800000060"}


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (200, {"eventId": EVENT_ID}),
        (409, {"error": {"code": "SLOT_TAKEN"}}),
        (429, {"error": {"code": RATE_LIMIT_EXCEEDED, "retry_after": 60}}),
        (503, None),
        (401, {"error": {"code": KEY_NOT_FOUND}}),
        (404, None),
    ],
)
def test_every_answer_carries_its_rate_limit_headers(status: int, payload: Any) -> None:
    pool = FakePool(
        response(status, payload, headers=RATE_HEADERS), response(status, payload, headers=RATE_HEADERS)
    )
    client = BizKitHubClient(base_url=BASE_URL, auth_mode="bearer", api_key=KeySource(API_KEY), pool=pool)

    outcome = client.add_event(EVENT)

    assert outcome.quota == Quota(limit=1000, remaining=7, reset_at=1_800_000_060.0)


def test_a_2xx_whose_body_breaks_off_still_carries_the_headers() -> None:
    broken = io.BytesIO(b'{"eventId": "')

    def read1(*_: Any, **__: Any) -> bytes:
        raise urllib3.exceptions.ProtocolError("connection broken")

    broken.read1 = read1  # type: ignore[method-assign]
    pool = FakePool(response(201, fp=broken, headers=RATE_HEADERS))
    client = BizKitHubClient(base_url=BASE_URL, auth_mode="bearer", api_key=KeySource(API_KEY), pool=pool)

    outcome = client.add_event(EVENT)

    assert outcome == Created(None)
    assert outcome.quota is not None
    assert outcome.quota.remaining == 7


def test_no_rate_limit_headers_means_no_quota() -> None:
    """A ROOT key's answers (no limits) carry none."""
    assert parse_quota({}) is None
    assert parse_quota({"Content-Type": "application/json"}) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Remaining": "0"}, Quota(None, 0, None)),
        ({"x-ratelimit-limit": "50", "x-ratelimit-remaining": " 3 "}, Quota(50, 3, None)),
        ({"X-RateLimit-Limit": "0", "X-RateLimit-Remaining": "0"}, Quota(None, 0, None)),  # no limit known
        # A Reset too small to be a Unix time is read as seconds from now.
        ({"X-RateLimit-Reset": "30"}, Quota(None, None, UNIX_NOW + 30)),
        ({"X-RateLimit-Reset": "1800000000"}, Quota(None, None, 1_800_000_000.0)),
        # Anything but a plain whole number of at most 12 digits is not read.
        ({"X-RateLimit-Remaining": "-1"}, None),
        ({"X-RateLimit-Remaining": "1.5"}, None),
        ({"X-RateLimit-Remaining": "1e3"}, None),
        ({"X-RateLimit-Remaining": "٣"}, None),  # a digit, but not an ASCII one
        ({"X-RateLimit-Remaining": "9" * 13}, None),
        ({"X-RateLimit-Reset": "Tue, 01 Dec 2026 10:00:00 GMT"}, None),
        ({"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "many"}, Quota(1000, None, None)),
    ],
)
def test_rate_limit_headers_are_read_strictly(headers: dict[str, str], expected: Quota | None) -> None:
    assert parse_quota(urllib3.HTTPHeaderDict(headers), now=UNIX_NOW) == expected


def test_a_huge_rate_limit_header_is_refused_in_linear_time() -> None:
    started = time.perf_counter()
    assert parse_quota({"X-RateLimit-Remaining": "1" * 100_000 + "x"}) is None
    assert time.perf_counter() - started < 0.1
