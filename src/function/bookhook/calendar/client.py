"""BizKitHubClient.add_event: one BizKitHub add-event call, turned into exactly one typed outcome.

It raises nothing, so callers decide in one place what each `AddEventOutcome` means. It fails
closed: a key that cannot be read or does not match the documented format is `KeyRefused` and
nothing is sent; an answer outside the contract is taken neither for success nor for a final refusal.

Classification follows BizKitHub's advice: the internal error code first, the HTTP status only when
the code is unknown (BizKitHub's statuses default to 500, so a 500 may be a key refusal). Any 2xx
means the event exists, with or without a usable eventId.

Only failures to *connect* are retried (the request never left, so a retry cannot create a second
event), and only while the deadline can hold them. A timeout or a dropped connection after the
request was sent is ambiguous (the event may exist): `Unavailable(may_have_been_received=True)`.
Redirects are not followed: a POST to a moved endpoint is a configuration problem.

Bounded in time and memory whatever the server does: the whole call ends by its deadline (a server
dripping bytes keeps each read under its timeout forever), and at most 64 KiB of an answer is read
(a connection left mid-body is closed, never drained). Only a pool from `build_pool` can cut a
connection at the deadline; with any other pool the call is bounded by the per-read timeouts and a
deadline check between body chunks, so it may overrun by up to one read timeout (and dripped headers
are not bounded at all).

The API key never leaves this module except on the wire: outcomes carry no URL and no exception
text, and urllib3's own log lines (which include the query string and so `?apiKey=`) are redacted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

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
from bookhook.settings import AuthMode

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection  # a Protocol, only for type checking

ADD_EVENT_PATH = "/api/v1/calendar/add-event"
MAX_RETRY_AFTER_SECONDS = 3600
MAX_BODY_BYTES = 64 * 1024  # BizKitHub's answers are a few hundred bytes; more is not an answer
CONNECT_RETRIES = 2
_BACKOFF_FACTOR = 0.2
_DEFAULT_CONNECT_TIMEOUT = 3.0
_DEFAULT_READ_TIMEOUT = 8.0
_EVENT_ID = re.compile(r"[a-z]{32}")
_SAFE_ERROR_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,12}")
# A Reset below this is not a Unix time (it would be before 2001): read it as seconds from now.
_EARLIEST_UNIX_RESET = 1_000_000_000
_API_KEY_IN_TEXT = re.compile(r"(apiKey=)[^&\s'\"]+")
_log = logging.getLogger(__name__)

ApiKeySource = Callable[[bool], str]
"""Returns the API key; called with True to force a fresh read of the secret."""


class _RedactApiKey(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "apiKey=" in message:
            record.msg, record.args = _API_KEY_IN_TEXT.sub(r"\1REDACTED", message), None
        return True


def _redact_urllib3_logs() -> None:
    redactor = _RedactApiKey()
    # A filter applies only to records logged on its own logger, so every urllib3 module's logger gets one.
    for name in (
        "urllib3",
        "urllib3.connection",
        "urllib3.connectionpool",
        "urllib3.poolmanager",
        "urllib3.response",
        "urllib3.util.retry",
    ):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, _RedactApiKey) for existing in logger.filters):
            logger.addFilter(redactor)


_redact_urllib3_logs()


# --- the deadline watchdog ------------------------------------------------------------------------


class _Watchdog:
    """Cuts the socket of the call in progress when its deadline passes.

    A timeout bounds each read, not the call: a server that drips bytes keeps every read short. So a
    timer shuts the socket down at the deadline, which ends any blocked read at once. The watchdog
    holds its own duplicate of the socket, so it can cut it during the TLS handshake (when urllib3's
    raw socket object is already detached) and never touches a descriptor number reused elsewhere.
    """

    def __init__(self, deadline: float) -> None:
        self._lock = threading.Lock()
        self._connection: object | None = None
        self._socket: socket.socket | None = None
        self._closed = False
        self.fired = False
        self.request_started = False  # whether any request (and so any byte) may have gone out
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._closed:
                return
            self.fired = True
            self._cut()

    def watch(self, connection: object, sock: socket.socket) -> None:
        try:
            duplicate = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except OSError:  # already closed: nothing left to cut
            duplicate = None
        with self._lock:
            self._forget()
            if self._closed:
                if duplicate is not None:
                    duplicate.close()
                return
            self._connection, self._socket = connection, duplicate
            if self.fired:
                self._cut()

    def release(self, connection: object) -> bool:
        """Stop watching a connection going back to the pool; True if the deadline has passed."""
        with self._lock:
            if self._connection is connection:
                self._forget()
            return self.fired

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            self._forget()

    def _cut(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)

    def _forget(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._connection, self._socket = None, None


class _DeadlinePassed(Exception):
    """The deadline passed: raised by this module only, never carrying a URL."""


class _NothingSent(_DeadlinePassed):
    """The deadline passed before the request went out. Not a urllib3 error, so urllib3 does not
    retry it (a connect retry after the deadline would only overrun it)."""


_calls = threading.local()  # the watchdog of the call running on this thread, if any


def _current_watchdog() -> _Watchdog | None:
    watchdog: _Watchdog | None = getattr(_calls, "watchdog", None)
    return watchdog


class _WatchedHTTPConnection(HTTPConnection):
    """Shows each socket it uses to the running call's watchdog."""

    def _new_conn(self) -> socket.socket:
        watchdog = _current_watchdog()
        if watchdog is not None and watchdog.fired:
            raise _NothingSent
        sock = super()._new_conn()
        if watchdog is not None:
            if watchdog.fired:  # connecting took the time left: send nothing
                sock.close()
                raise _NothingSent
            watchdog.watch(self, sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        watchdog = _current_watchdog()
        if watchdog is not None:
            if watchdog.fired:
                raise _NothingSent
            watchdog.request_started = True
            if self.sock is not None:  # a kept-alive connection, or the TLS-wrapped socket
                watchdog.watch(self, self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


def _release_to_pool(connection: BaseHTTPConnection | None) -> None:
    watchdog = _current_watchdog()
    if watchdog is not None and connection is not None and watchdog.release(connection):
        # Its socket may have been cut: the next call must not find it in the pool.
        connection.close()


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection

    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        _release_to_pool(conn)
        super()._put_conn(conn)


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        _release_to_pool(conn)
        super()._put_conn(conn)


class _WatchedPoolManager(urllib3.PoolManager):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def build_pool(*, connect_timeout: float, read_timeout: float) -> urllib3.PoolManager:
    """One pool per container: TLS sessions and keep-alive connections survive between invocations.

    Its connections report their sockets to the deadline watchdog; `add_event` overrides the
    timeouts and retries per call (to fit its deadline), the values here are the per-step limits.
    """
    return _WatchedPoolManager(
        num_pools=2,
        maxsize=4,
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        retries=_retries(CONNECT_RETRIES),
    )


def _retries(connect: int) -> urllib3.Retry:
    return urllib3.Retry(
        total=connect,
        connect=connect,
        read=0,
        status=0,
        other=0,
        redirect=0,
        backoff_factor=_BACKOFF_FACTOR,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def _connect_retries_within(remaining: float, connect_timeout: float) -> int:
    """How many connect retries the time left can hold, each attempt taking its full timeout."""
    retries = 0
    while retries < CONNECT_RETRIES:
        attempts = retries + 2
        # urllib3 sleeps nothing before the first retry, then backoff * 2**(n-1) before the nth.
        backoff = sum(_BACKOFF_FACTOR * 2 ** (n - 1) for n in range(2, attempts))
        if attempts * connect_timeout + backoff > remaining:
            break
        retries += 1
    return retries


# --- the client -----------------------------------------------------------------------------------


class BizKitHubClient:
    def __init__(
        self,
        *,
        base_url: str,
        auth_mode: AuthMode,
        api_key: ApiKeySource,
        pool: urllib3.PoolManager,
        user_agent: str = "bookhook/0.1",
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self._endpoint = base_url.rstrip("/") + ADD_EVENT_PATH
        self._auth_mode = auth_mode
        self._api_key = api_key
        self._pool = pool
        self._user_agent = user_agent
        # The per-step limits: given here, else the pool's, else the settings' defaults.
        configured = pool.connection_pool_kw.get("timeout")
        pool_timeout = configured if isinstance(configured, urllib3.Timeout) else urllib3.Timeout()
        self._connect_timeout = _first_positive(
            connect_timeout, pool_timeout.connect_timeout, default=_DEFAULT_CONNECT_TIMEOUT
        )
        self._read_timeout = _first_positive(
            read_timeout, pool_timeout.read_timeout, default=_DEFAULT_READ_TIMEOUT
        )
        self._watched = isinstance(pool, _WatchedPoolManager)

    def add_event(
        self, event: CalendarEvent, idempotency_key: str | None = None, *, deadline: float | None = None
    ) -> AddEventOutcome:
        """Create the event; raises nothing, whatever the key source, the network or BizKitHub do.

        `deadline` is a `time.monotonic()` instant by which the whole call is over (default: now
        plus the connect and read timeouts). A refused key may have been rotated: the secret is
        re-read once and the call repeated once (a refused call created nothing, so that is safe).
        """
        if deadline is None:
            deadline = time.monotonic() + self._connect_timeout + self._read_timeout
        body = json.dumps(event.request_body(), ensure_ascii=False).encode("utf-8")
        watchdog: _Watchdog | None = None
        if self._watched:
            with contextlib.suppress(RuntimeError):  # no thread to spare: the per-chunk checks remain
                watchdog = _Watchdog(deadline)
        _calls.watchdog = watchdog
        try:
            outcome = self._attempt(body, idempotency_key, deadline, watchdog, fresh_key=False)
            if isinstance(outcome, KeyRefused) and outcome.status is not None:
                outcome = self._attempt(body, idempotency_key, deadline, watchdog, fresh_key=True)
            return outcome
        finally:
            if watchdog is not None:
                watchdog.close()
            _calls.watchdog = None

    def _attempt(
        self,
        body: bytes,
        idempotency_key: str | None,
        deadline: float,
        watchdog: _Watchdog | None,
        *,
        fresh_key: bool,
    ) -> AddEventOutcome:
        try:
            api_key = self._api_key(fresh_key)
        except Exception:
            api_key = None
        if not isinstance(api_key, str) or not api_key:
            # An unreadable or malformed secret: nothing can go out until the operator fixes it.
            return KeyRefused(status=None, code=None)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Unavailable(may_have_been_received=False, cause="deadline")
        url, headers = self._request_parts(api_key, idempotency_key)
        if watchdog is not None:
            watchdog.request_started = False
        connect_timeout = min(self._connect_timeout, remaining)
        started = time.monotonic()
        try:
            response = self._pool.request(
                "POST",
                url,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(connect=connect_timeout, read=min(self._read_timeout, remaining)),
                retries=_retries(_connect_retries_within(remaining, connect_timeout)),
                redirect=False,
                preload_content=False,
            )
        except Exception as error:
            # urllib3's and http.client's texts hold the URL or a header value (so the key): type only.
            return _unavailable(error, watchdog)
        status = response.status
        try:
            data = _read_bounded(response, deadline, watchdog)
        except Exception as error:
            _discard(response)
            if 200 <= status <= 299:
                # The status line said success: the event exists, whatever became of the body.
                return Created(None, quota=parse_quota(response.headers))
            return Unavailable(True, _cause(error, watchdog), status=status)
        if data is None:
            _discard(response)  # never drain an oversized body: close the connection instead
        else:
            with contextlib.suppress(Exception):
                response.release_conn()  # read to the end: the connection can be kept alive
        _log.debug(
            "BizKitHub answered %s in %.0f ms (auth %s)",
            status,
            (time.monotonic() - started) * 1000,
            self._auth_mode,
        )
        return _classify(status, response.headers, data)

    def _request_parts(self, api_key: str, idempotency_key: str | None) -> tuple[str, dict[str, str]]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": self._user_agent,
        }
        if idempotency_key:
            # Not in BizKitHub's docs; harmless if ignored, and lets it drop a repeat if it honours it.
            headers["Idempotency-Key"] = idempotency_key
        url = self._endpoint
        if self._auth_mode == "bearer":
            headers["Authorization"] = f"Bearer {api_key}"
        else:
            url = f"{url}?apiKey={quote(api_key, safe='')}"
        return url, headers


def _first_positive(*candidates: object, default: float) -> float:
    for candidate in candidates:
        if isinstance(candidate, int | float) and not isinstance(candidate, bool) and candidate > 0:
            return float(candidate)
    return default


# --- reading the answer ---------------------------------------------------------------------------


def _read_bounded(
    response: urllib3.BaseHTTPResponse, deadline: float, watchdog: _Watchdog | None
) -> bytes | None:
    """The whole body if it fits in MAX_BODY_BYTES, None if it does not."""
    received = bytearray()
    while len(received) <= MAX_BODY_BYTES:
        if time.monotonic() >= deadline:
            raise _DeadlinePassed
        # read1 returns what one socket read gives, so the deadline is checked between drips too;
        # undecoded, so a compressed body cannot expand past the limit.
        chunk = response.read1(MAX_BODY_BYTES + 1 - len(received), decode_content=False)
        if not chunk:
            if watchdog is not None and watchdog.fired:
                raise _DeadlinePassed  # a cut socket also reads as the end: a truncated answer is no answer
            return bytes(received)
        received += chunk
    return None


def _discard(response: urllib3.BaseHTTPResponse) -> None:
    """Close a connection whose answer was not read to its end; only its pool slot goes back."""
    with contextlib.suppress(Exception):
        response.close()
    with contextlib.suppress(Exception):
        response.release_conn()


def _unavailable(error: Exception, watchdog: _Watchdog | None) -> Unavailable:
    reason = error.reason if isinstance(error, MaxRetryError) and error.reason is not None else error
    # Not received when it provably never left: no connection, an invalid header value (http.client
    # checks those before sending anything), or the request never started on a watched connection.
    not_sent = (
        isinstance(
            reason, ConnectTimeoutError | _NothingSent
        )  # includes NewConnectionError, NameResolutionError
        or isinstance(error, ValueError)
        or (watchdog is not None and not watchdog.request_started)
    )
    return Unavailable(may_have_been_received=not not_sent, cause=_cause(reason, watchdog))


def _cause(error: BaseException, watchdog: _Watchdog | None) -> str:
    if isinstance(error, _DeadlinePassed) or (watchdog is not None and watchdog.fired):
        return "deadline"
    return type(error).__name__


def _classify(status: int, headers: Mapping[str, str], data: bytes | None) -> AddEventOutcome:
    """The outcome, carrying what the answer's rate-limit headers said (for pacing)."""
    return dataclasses.replace(_outcome_of(status, headers, data), quota=parse_quota(headers))


def _outcome_of(status: int, headers: Mapping[str, str], data: bytes | None) -> AddEventOutcome:
    """BizKitHub's advice: switch on the internal code, fall back on the status when it is unknown."""
    payload = _json_or_none(data) if data is not None else None
    if 200 <= status <= 299:
        event_id = payload.get("eventId") if isinstance(payload, dict) else None
        valid = isinstance(event_id, str) and _EVENT_ID.fullmatch(event_id)
        return Created(event_id if valid else None)
    code = _error_code(payload) if isinstance(payload, dict) else None
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if code == KEY_NOT_FOUND:
        return KeyRefused(status, code)
    if code == RATE_LIMIT_EXCEEDED:
        return RateLimited(status, code, retry_after or _body_retry_after(payload))
    if code is not None:
        # The code is a checked short token; the message is free text and is never logged.
        _log.warning("BizKitHub answered %s with an error code we do not know: %s", status, code)
    if status in (401, 403):
        return KeyRefused(status, code)
    if status == 429:
        return RateLimited(status, code, retry_after or _body_retry_after(payload))
    if status == 408 or 500 <= status <= 599:
        return Unavailable(True, f"HTTP {status}", status=status, code=code, retry_after=retry_after)
    if 400 <= status <= 499 and status not in (404, 405, 410):
        return Rejected(status, code)
    # A redirect, an informational or unknown status, or no such endpoint: the configuration is wrong.
    return BadResponse(status, code)


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # deep nesting fits in 64 KiB too
        return None


def _error_code(payload: dict[str, Any]) -> str | None:
    """BizKitHub's error code, if it gave one we can safely repeat (a short token, never free text)."""
    error = payload.get("error")
    candidates = [
        error.get("code") if isinstance(error, dict) else error,
        payload.get("code"),
        payload.get("errorCode"),
    ]
    for candidate in candidates:
        if isinstance(candidate, str | int) and not isinstance(candidate, bool):
            text = str(candidate)
            if _SAFE_ERROR_CODE.fullmatch(text):
                return text
    return None


def _body_retry_after(payload: Any) -> int | None:
    """`error.retry_after` from the documented rate-limit body, when the header is missing."""
    error = payload.get("error") if isinstance(payload, dict) else None
    value = error.get("retry_after") if isinstance(error, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return max(1, min(value, MAX_RETRY_AFTER_SECONDS))
    return None


def parse_quota(headers: Mapping[str, str], *, now: float | None = None) -> Quota | None:
    """`X-RateLimit-Limit`, `-Remaining` and `-Reset`, each read only if it is a plain whole number
    of at most 12 digits (None otherwise); None when the answer carried none of them."""
    limit, remaining, reset = (
        _whole_number(headers.get(f"X-RateLimit-{name}")) for name in ("Limit", "Remaining", "Reset")
    )
    if limit is None and remaining is None and reset is None:
        return None
    reset_at: float | None = None
    if reset is not None:
        reset_at = (
            float(reset) if reset >= _EARLIEST_UNIX_RESET else (time.time() if now is None else now) + reset
        )
    return Quota(limit=limit if limit else None, remaining=remaining, reset_at=reset_at)


def _whole_number(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if _WHOLE_NUMBER.fullmatch(value) else None


def parse_retry_after(value: str | None, *, now: float | None = None) -> int | None:
    """Seconds to wait from a `Retry-After` header (seconds or an HTTP date), capped at an hour."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,10}", value):
        seconds = int(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = int(when.timestamp() - (time.time() if now is None else now) + 0.999)
    return max(1, min(seconds, MAX_RETRY_AFTER_SECONDS))
