"""BizKitHub's add-event endpoint over urllib3, with every outcome classified.

Retry policy, chosen on purpose: only failures to *connect* are retried here (the request never
left, so a retry cannot create a second event). A read timeout or a dropped connection after the
request was sent is ambiguous (BizKitHub may have created the event), so it is not retried blindly:
it becomes `BizKitHubUnavailable` and the caller decides (today: the sender retries, and the
booking key keeps a completed delivery from repeating). Redirects are not followed: a POST to a
moved endpoint is a configuration problem, not something to replay elsewhere.

The API key never leaves this module except on the wire: errors carry no URL, and urllib3's own
log lines (which include the request path, query string and so `?apiKey=`) are redacted.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import urllib3
from urllib3.exceptions import HTTPError

from bookhook.calendar.event import CalendarEvent
from bookhook.errors import BizKitHubBadResponse, BizKitHubKeyRefused, BizKitHubUnavailable, BookingRejected
from bookhook.settings import AuthMode

ADD_EVENT_PATH = "/api/v1/calendar/add-event"
_SAFE_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_API_KEY_IN_TEXT = re.compile(r"(apiKey=)[^&\s'\"]+")
MAX_RETRY_AFTER_SECONDS = 3600
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


def build_pool(*, connect_timeout: float, read_timeout: float) -> urllib3.PoolManager:
    """One pool per container: TLS sessions and keep-alive connections survive between invocations."""
    retries = urllib3.Retry(
        total=2, connect=2, read=0, status=0, other=0, redirect=0, backoff_factor=0.2, raise_on_status=False
    )
    return urllib3.PoolManager(
        num_pools=2,
        maxsize=4,
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        retries=retries,
    )


class BizKitHubClient:
    def __init__(
        self,
        *,
        base_url: str,
        auth_mode: AuthMode,
        api_key: ApiKeySource,
        pool: urllib3.PoolManager,
        user_agent: str = "bookhook/0.1",
    ) -> None:
        self._endpoint = base_url.rstrip("/") + ADD_EVENT_PATH
        self._auth_mode = auth_mode
        self._api_key = api_key
        self._pool = pool
        self._user_agent = user_agent

    def add_event(self, event: CalendarEvent, idempotency_key: str | None = None) -> str:
        """Create the event; return BizKitHub's eventId or raise a typed error.

        A 401/403 may mean the key was rotated: the secret is re-read once and the call repeated
        once (a refused call created nothing, so repeating it is safe).
        """
        body = json.dumps(event.request_body(), ensure_ascii=False).encode("utf-8")
        response = self._post(body, self._api_key(False), idempotency_key)
        if response.status in (401, 403):
            response = self._post(body, self._api_key(True), idempotency_key)
            if response.status in (401, 403):
                raise BizKitHubKeyRefused("BizKitHub refused the API key from the booking secret")
        return _classify(response)

    def _post(self, body: bytes, api_key: str, idempotency_key: str | None) -> urllib3.BaseHTTPResponse:
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
        started = time.monotonic()
        try:
            response = self._pool.request("POST", url, body=body, headers=headers)
        except HTTPError as error:
            # The urllib3 error's text holds the URL (and so the key in query mode): keep only its type.
            raise BizKitHubUnavailable(f"BizKitHub could not be reached ({type(error).__name__})") from None
        _log.debug(
            "BizKitHub answered %s in %.0f ms (auth %s)",
            response.status,
            (time.monotonic() - started) * 1000,
            self._auth_mode,
        )
        return response


def _classify(response: urllib3.BaseHTTPResponse) -> str:
    status = response.status
    payload = _json_or_none(response.data)
    if 200 <= status < 300:
        if isinstance(payload, dict) and _signals_error(payload):
            raise BookingRejected(
                "BizKitHub answered with an error", upstream_status=status, upstream_code=_error_code(payload)
            )
        event_id = payload.get("eventId") if isinstance(payload, dict) else None
        if isinstance(event_id, str) and event_id:
            return event_id
        raise BizKitHubBadResponse("BizKitHub answered success without an eventId")
    if status == 429 or status == 408 or status >= 500:
        raise BizKitHubUnavailable(
            f"BizKitHub answered {status}",
            upstream_status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    raise BookingRejected(
        f"BizKitHub rejected the event ({status})",
        upstream_status=status,
        upstream_code=_error_code(payload) if isinstance(payload, dict) else None,
    )


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _signals_error(payload: dict[str, Any]) -> bool:
    return payload.get("state") == "error" or payload.get("success") is False or bool(payload.get("error"))


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
            if _SAFE_ERROR_CODE.match(text):
                return text
    return None


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
