"""BizKitHubClient over a fake urllib3 pool: auth modes, outcome classification, no key leaks."""

from __future__ import annotations

import email.utils
import io
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import urllib3
from urllib3.exceptions import (
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from bookhook.calendar.client import (
    ADD_EVENT_PATH,
    MAX_RETRY_AFTER_SECONDS,
    BizKitHubClient,
    build_pool,
    parse_retry_after,
)
from bookhook.calendar.event import CalendarEvent
from bookhook.errors import (
    BizKitHubBadResponse,
    BizKitHubKeyRefused,
    BizKitHubUnavailable,
    BookingRejected,
    ServiceUnavailable,
)
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


Outcome = urllib3.HTTPResponse | Exception


class FakePool(urllib3.PoolManager):
    """Answers each request with the next scripted response (or raises it) and records the call."""

    def __init__(self, *outcomes: Outcome) -> None:
        super().__init__()
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
        self.calls.append(Call(method, url, body, dict(headers or {})))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class KeySource:
    def __init__(self, *keys: str) -> None:
        self.keys = list(keys)
        self.calls: list[bool] = []

    def __call__(self, fresh: bool) -> str:
        self.calls.append(fresh)
        return self.keys[min(len(self.calls), len(self.keys)) - 1]


def response(
    status: int, payload: Any = None, *, raw: bytes | None = None, headers: Mapping[str, str] | None = None
) -> urllib3.HTTPResponse:
    body = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode("utf-8"))
    # A file object, as a real connection gives: a bytes body of b"" would make `.data` None.
    return urllib3.HTTPResponse(
        body=io.BytesIO(body), status=status, headers=dict(headers or {}), preload_content=True
    )


def ok() -> urllib3.HTTPResponse:
    return response(200, {"eventId": EVENT_ID})


def client(
    pool: FakePool, *, auth_mode: AuthMode = "query", keys: KeySource | None = None, base_url: str = BASE_URL
) -> BizKitHubClient:
    return BizKitHubClient(
        base_url=base_url, auth_mode=auth_mode, api_key=keys or KeySource(API_KEY), pool=pool
    )


# --- success and request shape --------------------------------------------------------------------


def test_success_returns_the_event_id() -> None:
    pool = FakePool(ok())

    assert client(pool).add_event(EVENT) == EVENT_ID
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

    client(pool, auth_mode=auth_mode).add_event(EVENT)

    call = pool.calls[0]
    assert isinstance(call.body, bytes)
    assert json.loads(call.body.decode("utf-8")) == {"event": EVENT.wire_event()}
    assert "Varšavská 11, 120 00, Praha 2 – Vinohrady".encode() in call.body
    assert "Jan Barášek".encode() in call.body
    assert b"\\u" not in call.body
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["Accept"] == "application/json"
    assert call.headers["User-Agent"] == "bookhook/0.1"


# --- key rotation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("refused", [401, 403])
@pytest.mark.parametrize("auth_mode", ["query", "bearer"])
def test_refused_key_is_re_read_once_and_the_call_repeated(refused: int, auth_mode: AuthMode) -> None:
    pool = FakePool(response(refused, {"error": "unauthorized"}), ok())
    keys = KeySource(API_KEY, ROTATED_KEY)

    assert client(pool, auth_mode=auth_mode, keys=keys).add_event(EVENT) == EVENT_ID

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


@pytest.mark.parametrize(("first", "second"), [(401, 401), (401, 403), (403, 403), (403, 401)])
def test_key_refused_twice(first: int, second: int) -> None:
    pool = FakePool(response(first), response(second))
    keys = KeySource(API_KEY, ROTATED_KEY)

    with pytest.raises(BizKitHubKeyRefused) as caught:
        client(pool, keys=keys).add_event(EVENT)

    assert keys.calls == [False, True]
    assert len(pool.calls) == 2
    assert caught.value.status == 503
    assert API_KEY not in str(caught.value)
    assert ROTATED_KEY not in str(caught.value)


def test_refused_then_unavailable_is_unavailable() -> None:
    pool = FakePool(response(401), response(503))

    with pytest.raises(BizKitHubUnavailable) as caught:
        client(pool, keys=KeySource(API_KEY, ROTATED_KEY)).add_event(EVENT)

    assert caught.value.upstream_status == 503


def test_success_reads_the_key_once_without_refresh() -> None:
    keys = KeySource(API_KEY)

    client(FakePool(ok()), keys=keys).add_event(EVENT)

    assert keys.calls == [False]


# --- unavailable ----------------------------------------------------------------------------------


def test_rate_limited_with_retry_after_seconds() -> None:
    pool = FakePool(response(429, {"error": "rate limited"}, headers={"Retry-After": "7"}))

    with pytest.raises(BizKitHubUnavailable) as caught:
        client(pool).add_event(EVENT)

    assert (caught.value.upstream_status, caught.value.retry_after, caught.value.status) == (429, 7, 503)
    assert len(pool.calls) == 1


def test_unavailable_with_an_http_date_retry_after() -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    pool = FakePool(response(503, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)}))

    with pytest.raises(BizKitHubUnavailable) as caught:
        client(pool).add_event(EVENT)

    assert caught.value.upstream_status == 503
    assert caught.value.retry_after is not None
    assert 115 <= caught.value.retry_after <= 120


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429, 599])
def test_server_errors_without_retry_after(status: int) -> None:
    pool = FakePool(response(status, raw=b"<html>Bad gateway</html>"))

    with pytest.raises(BizKitHubUnavailable) as caught:
        client(pool).add_event(EVENT)

    assert caught.value.upstream_status == status
    assert caught.value.retry_after is None
    assert isinstance(caught.value, ServiceUnavailable)


# --- rejected -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "payload", "code"),
    [
        (400, {"state": "error", "error": {"code": "SLOT_TAKEN"}}, "SLOT_TAKEN"),
        (400, {"state": "error", "error": "SLOT_TAKEN"}, "SLOT_TAKEN"),
        (422, {"errorCode": "calendar.not_found"}, "calendar.not_found"),
        (409, {"error": {"code": 4091}}, "4091"),
        (404, None, None),
        (400, {"state": "error"}, None),
        (410, ["SLOT_TAKEN"], None),
    ],
)
def test_client_errors_are_rejections(status: int, payload: Any, code: str | None) -> None:
    pool = FakePool(response(status, payload))

    with pytest.raises(BookingRejected) as caught:
        client(pool).add_event(EVENT)

    assert (caught.value.upstream_status, caught.value.upstream_code) == (status, code)
    assert caught.value.status == 422
    assert len(pool.calls) == 1


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"success": False, "code": "X"}, "X"),
        ({"error": {"code": "E1"}}, "E1"),
        ({"state": "error", "error": {"code": "SLOT_TAKEN"}, "eventId": EVENT_ID}, "SLOT_TAKEN"),
        ({"error": "boom", "eventId": EVENT_ID}, "boom"),
        ({"success": False}, None),
    ],
)
def test_success_status_with_an_error_body_is_a_rejection(payload: dict[str, Any], code: str | None) -> None:
    with pytest.raises(BookingRejected) as caught:
        client(FakePool(response(200, payload))).add_event(EVENT)

    assert (caught.value.upstream_status, caught.value.upstream_code) == (200, code)


@pytest.mark.parametrize(
    "payload",
    [
        {"error": {"code": "slot taken by Jan Barášek"}},
        {"error": "Jan Barášek already has a booking at 10:00"},
        {"state": "error", "code": "x" * 65},
        {"state": "error", "code": "new\nline"},
        {"state": "error", "code": True},
        {"state": "error", "error": {"code": ["SLOT_TAKEN"]}},
    ],
)
def test_free_text_error_codes_are_not_repeated(payload: dict[str, Any]) -> None:
    with pytest.raises(BookingRejected) as caught:
        client(FakePool(response(400, payload))).add_event(EVENT)

    assert caught.value.upstream_code is None
    assert "Barášek" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "raw"),
    [
        (200, b"{}"),
        (200, b'{"eventId": ""}'),
        (200, b'{"eventId": 123}'),
        (200, b'{"eventId": null}'),
        (200, b""),
        (200, b"<html>OK</html>"),
        (200, b'["fqdjnvzrfqjcsmvyhgjirjtvftknayzx"]'),
        (201, b'{"id": "fqdjnvzrfqjcsmvyhgjirjtvftknayzx"}'),
        (200, b"\xff\xfe"),
    ],
)
def test_success_without_event_id_is_a_bad_response(status: int, raw: bytes) -> None:
    with pytest.raises(BizKitHubBadResponse) as caught:
        client(FakePool(response(status, raw=raw))).add_event(EVENT)

    assert caught.value.status == 502


def test_any_2xx_with_an_event_id_succeeds() -> None:
    assert client(FakePool(response(201, {"eventId": EVENT_ID, "state": "ok"}))).add_event(EVENT) == EVENT_ID


# --- connection failures never leak the key -------------------------------------------------------

URL_WITH_KEY = f"{ADD_EVENT_PATH}?apiKey={API_KEY}"


def connection_errors() -> list[HTTPError]:
    pool = urllib3.HTTPSConnectionPool("api.bizkithub.com", 443)
    connection = urllib3.connection.HTTPSConnection("api.bizkithub.com", 443)
    new_connection = NewConnectionError(
        connection, f"Failed to establish a new connection for {URL_WITH_KEY}"
    )
    return [
        ReadTimeoutError(pool, URL_WITH_KEY, f"Read timed out. (read timeout=8.0) url={URL_WITH_KEY}"),
        ProtocolError(f"Connection aborted while sending {URL_WITH_KEY}", ConnectionResetError(104, "reset")),
        new_connection,
        MaxRetryError(pool, URL_WITH_KEY, new_connection),
        SSLError(f"certificate verify failed for {BASE_URL}{URL_WITH_KEY}"),
    ]


@pytest.mark.parametrize("error", connection_errors(), ids=lambda error: type(error).__name__)
@pytest.mark.parametrize("auth_mode", ["query", "bearer"])
def test_connection_failures_are_unavailable_without_the_key(error: HTTPError, auth_mode: AuthMode) -> None:
    assert API_KEY in str(error)  # the urllib3 text itself carries the key
    pool = FakePool(error)

    with pytest.raises(BizKitHubUnavailable) as caught:
        client(pool, auth_mode=auth_mode).add_event(EVENT)

    raised = caught.value
    assert API_KEY not in str(raised)
    assert API_KEY not in repr(raised)
    assert API_KEY not in raised.message
    assert type(error).__name__ in str(raised)
    assert raised.__cause__ is None
    assert raised.__suppress_context__ is True
    assert (raised.upstream_status, raised.retry_after) == (None, None)
    assert len(pool.calls) == 1


def test_non_urllib3_errors_are_not_swallowed() -> None:
    with pytest.raises(ZeroDivisionError):
        client(FakePool(ZeroDivisionError())).add_event(EVENT)


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
