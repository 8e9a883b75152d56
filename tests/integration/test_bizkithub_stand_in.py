"""The BizKitHub stand-in over real sockets: contract enforcement, recording and scripted faults."""

from __future__ import annotations

import copy
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import (
    ADD_EVENT_PATH,
    CALLS_PATH,
    KEY_NOT_FOUND,
    BizKitHubStandIn,
    Drip,
    Drop,
    Huge,
    Raw,
    Slow,
    Status,
)

KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"
OTHER_KEY = "DEV_abcdefghijklmnopqrstuvwxyz12"
ROOT_KEY = "ROOT0123456789abcdefghijklmnopqr"

EXAMPLE_EVENT: dict[str, Any] = defaults.documented_example_event()
EVENT_ID = re.compile(r"[a-z]{32}")
DELETE = object()


@pytest.fixture
def stand_in() -> Iterator[BizKitHubStandIn]:
    with BizKitHubStandIn() as server:
        yield server


@pytest.fixture
def http() -> Iterator[urllib3.PoolManager]:
    # No retries: every fault must reach the test exactly as the stand-in produced it.
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2.0, read=5.0))
    yield pool
    pool.clear()


def example_body() -> dict[str, Any]:
    return {"event": copy.deepcopy(EXAMPLE_EVENT)}


def post(
    http: urllib3.PoolManager,
    stand_in: BizKitHubStandIn,
    body: Any = None,
    *,
    key: str | None = KEY,
    mode: str = "bearer",
    raw: bytes | None = None,
    content_type: str | None = "application/json",
    path: str = ADD_EVENT_PATH,
    **kwargs: Any,
) -> urllib3.BaseHTTPResponse:
    headers: dict[str, str] = {}
    url = stand_in.base_url + path
    if key is not None and mode == "bearer":
        headers["Authorization"] = f"Bearer {key}"
    elif key is not None:
        url += f"?apiKey={key}"
    if content_type is not None:
        headers["Content-Type"] = content_type
    payload = raw if raw is not None else json.dumps(example_body() if body is None else body).encode()
    return http.request("POST", url, body=payload, headers=headers, **kwargs)


def with_value(path: str, value: Any) -> dict[str, Any]:
    """The example body with one field (dotted path, [i] for list items) replaced or deleted."""
    body = example_body()
    parts = [int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", path)]
    target: Any = body
    for part in parts[:-1]:
        target = target[part]
    if value is DELETE:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return body


def error_of(response: urllib3.BaseHTTPResponse) -> dict[str, Any]:
    payload = response.json()
    assert payload["state"] == "error"
    error: dict[str, Any] = payload["error"]
    return error


# --- the happy path ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["query", "bearer"])
def test_documented_example_is_accepted_and_recorded(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager, mode: str
) -> None:
    response = post(http, stand_in, mode=mode)

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    event_id = response.json()["eventId"]
    assert EVENT_ID.fullmatch(event_id)
    [call] = stand_in.calls
    assert (call.method, call.path, call.status, call.event_id) == ("POST", ADD_EVENT_PATH, 200, event_id)
    assert (call.auth_mode, call.api_key) == (mode, KEY)
    assert "authorization" not in call.headers
    assert call.headers["content-type"] == "application/json"
    # Diacritics, en dashes and newlines round-trip unchanged.
    assert stand_in.accepted_events == [EXAMPLE_EVENT]


def test_minimal_event_with_charset_parameter_is_accepted(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    event = {key: EXAMPLE_EVENT[key] for key in ("calendarId", "startTime", "endTime", "title")}
    response = post(http, stand_in, {"event": event}, content_type="Application/JSON; charset=UTF-8")
    assert response.status == 200
    assert stand_in.accepted_events == [event]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("event.notifyBefore", "2d"),
        ("event.notifyBefore", "15m"),
        ("event.notifyBefore", "1d 2h 30m"),
        ("event.notifyBefore", "1d 30m"),
        ("event.attendees", []),
        ("event.attendees[0].phone", "+1 5551234567"),
        ("event.url", "http://example.com"),
        ("event.description", ""),
        ("event.blockingTo", "2024-05-01T10:00:00.000Z"),
        ("event.startTime", "2024-02-29T10:00:00.000Z"),
    ],
)
def test_valid_variants_are_accepted(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager, path: str, value: Any
) -> None:
    response = post(http, stand_in, with_value(path, value))
    assert response.status == 200, response.data


def test_event_ids_are_fresh(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    ids = {post(http, stand_in).json()["eventId"] for _ in range(3)}
    assert len(ids) == 3


def test_concurrent_calls_are_all_recorded(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        status = post(http, stand_in).status
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    assert len(stand_in.calls) == 8
    assert len(stand_in.accepted_events) == 8


def test_chunked_body_is_read(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    data = json.dumps(example_body()).encode()
    response = http.request(
        "POST",
        stand_in.base_url + ADD_EVENT_PATH,
        body=iter([data[:10], data[10:]]),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        chunked=True,
    )
    assert response.status == 200
    assert stand_in.accepted_events == [EXAMPLE_EVENT]


# --- field rules -------------------------------------------------------------------------


INVALID_FIELDS = [
    # unknown keys and nulls
    ("event.location", "Praha"),
    ("event.description", None),
    ("event.title", None),
    ("event.attendees[0].email", None),
    ("event.attendees[0].nickname", "Honza"),
    # required fields
    ("event.calendarId", DELETE),
    ("event.startTime", DELETE),
    ("event.endTime", DELETE),
    ("event.title", DELETE),
    # calendarId
    ("event.calendarId", "2WRp6X5rSqQa321EjHB2mxZz74u74H8"),
    ("event.calendarId", "2WRp6X5rSqQa321EjHB2mxZz74u74H84x"),
    ("event.calendarId", "2WRp6X5rSqQa321EjHB2mxZz74u74H8-"),
    ("event.calendarId", "é" * 32),
    ("event.calendarId", 12345),
    # times
    ("event.startTime", "2024-05-01T10:00:00Z"),
    ("event.startTime", "2024-05-01T10:00:00.000+00:00"),
    ("event.startTime", "2024-05-01 10:00:00.000Z"),
    ("event.startTime", "2024-05-01T10:00:00.000Z\n"),
    ("event.startTime", "2024-05-01T10:00:00.0000Z"),
    ("event.startTime", "2023-02-29T10:00:00.000Z"),
    ("event.startTime", "2024-05-01T24:00:00.000Z"),
    ("event.startTime", "٢٠٢٤-05-01T10:00:00.000Z"),
    ("event.startTime", 1714557600000),
    ("event.endTime", "2024-05-01T10:00:00.000Z"),
    ("event.endTime", "2024-05-01T09:59:59.999Z"),
    ("event.endTime", "2024-05-01"),
    ("event.blockingTo", "2024-05-01T09:00:00.000Z"),
    ("event.blockingTo", "tomorrow"),
    # text
    ("event.title", ""),
    ("event.title", "   "),
    ("event.title", 5),
    ("event.description", 1),
    ("event.agenda", ["Warm-up"]),
    ("event.locationTitle", {"city": "Praha"}),
    ("event.type", True),
    # url
    ("event.url", "ftp://gymroom.cz"),
    ("event.url", "gymroom.cz/pobocky"),
    ("event.url", "https://"),
    # notifyBefore
    ("event.notifyBefore", "1h30m"),
    ("event.notifyBefore", ""),
    ("event.notifyBefore", "30m 1h"),
    ("event.notifyBefore", "1h  30m"),
    ("event.notifyBefore", " 1h"),
    ("event.notifyBefore", "1h "),
    ("event.notifyBefore", "1h 1h"),
    ("event.notifyBefore", "90"),
    ("event.notifyBefore", "1w"),
    ("event.notifyBefore", 90),
    # booleans
    ("event.isAllDay", "false"),
    ("event.isBlocking", 1),
    # attendees
    ("event.attendees", {"name": "Jan"}),
    ("event.attendees[0]", "Jan Barášek"),
    ("event.attendees[0].memberId", "1234"),
    ("event.attendees[0].memberId", True),
    ("event.attendees[0].memberId", 0),
    ("event.attendees[0].memberId", -5),
    ("event.attendees[0].memberId", 12.5),
    ("event.attendees[0].customerId", "HxanU4a1n4El61z"),
    ("event.attendees[0].customerId", "HxanU4a1n4El61zxy"),
    ("event.attendees[0].customerId", "HxanU4a1n4El61z!"),
    ("event.attendees[0].name", ""),
    ("event.attendees[0].name", 7),
    ("event.attendees[0].email", "jan.barasek.com"),
    ("event.attendees[0].email", "jan@@barasek.com"),
    ("event.attendees[0].email", "jan@bar@asek.com"),
    ("event.attendees[0].email", "@barasek.com"),
    ("event.attendees[0].email", "jan@barasek"),
    ("event.attendees[0].email", "jan @barasek.com"),
    ("event.attendees[0].email", "jan@barasek.com\n"),
    ("event.attendees[0].phone", "+420777123456"),
    ("event.attendees[0].phone", "420 777123456"),
    ("event.attendees[0].phone", "+0420 777123456"),
    ("event.attendees[0].phone", "+4201 777123456"),
    ("event.attendees[0].phone", "+420 777 123 456"),
    ("event.attendees[0].phone", "+420 123"),
    ("event.attendees[0].phone", "+420  777123456"),
    ("event.attendees[0].phone", 420777123456),
]


@pytest.mark.parametrize(("path", "value"), INVALID_FIELDS)
def test_field_rule_violations_are_refused(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager, path: str, value: Any
) -> None:
    response = post(http, stand_in, with_value(path, value))

    assert response.status == 400
    error = error_of(response)
    assert error["code"] == "INVALID_FIELD"
    assert error["field"] == path
    assert error["message"]
    assert stand_in.calls[-1].status == 400
    assert stand_in.calls[-1].event_id is None
    assert stand_in.accepted_events == []


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"not json", "INVALID_JSON"),
        (b"", "INVALID_JSON"),
        (json.dumps(example_body(), ensure_ascii=False).encode("latin-1", "replace"), "INVALID_JSON"),
        (json.dumps(example_body(), ensure_ascii=False).encode("utf-16"), "INVALID_JSON"),
        (b"\xef\xbb\xbf" + json.dumps(example_body()).encode(), "INVALID_JSON"),
        (b'{"event": {}, "event": {}}', "INVALID_JSON"),
        (b'{"event": {"calendarId": NaN}}', "INVALID_JSON"),
        (b"[]", "INVALID_BODY"),
        (b'"event"', "INVALID_BODY"),
        (b"{}", "INVALID_FIELD"),
        (b'{"event": "training"}', "INVALID_FIELD"),
        (b'{"event": null}', "INVALID_FIELD"),
        (json.dumps({**example_body(), "calendar": "x"}).encode(), "INVALID_FIELD"),
        (json.dumps(example_body()["event"]).encode(), "INVALID_FIELD"),
    ],
)
def test_malformed_bodies_are_refused(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager, raw: bytes, code: str
) -> None:
    response = post(http, stand_in, raw=raw)
    assert response.status == 400
    assert error_of(response)["code"] == code
    assert stand_in.accepted_events == []


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_wrong_content_type_is_refused(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager, content_type: str | None
) -> None:
    response = post(http, stand_in, content_type=content_type)
    assert response.status == 415
    assert stand_in.calls[-1].status == 415


# --- auth --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({}, "", 401),
        ({"Authorization": f"Bearer {KEY}"}, f"?apiKey={OTHER_KEY}", 400),
        ({}, f"?apiKey={KEY}&apiKey={OTHER_KEY}", 400),
        ({}, "?apiKey=", 401),
        ({}, "?apikey=" + KEY, 401),
        ({"Authorization": "Bearer TEST" + KEY[4:]}, "", 401),
        ({"Authorization": "Bearer " + KEY[:-1]}, "", 401),
        ({"Authorization": "Bearer " + KEY + "x"}, "", 401),
        ({"Authorization": "Bearer " + KEY[:-1] + "-"}, "", 401),
        ({"Authorization": "Bearer prod" + KEY[4:]}, "", 401),
        ({"Authorization": "Bearer "}, "", 401),
        ({"Authorization": KEY}, "", 401),
        ({"Authorization": f"Basic {KEY}"}, "", 401),
    ],
)
def test_bad_credentials_are_refused(
    stand_in: BizKitHubStandIn,
    http: urllib3.PoolManager,
    headers: dict[str, str],
    query: str,
    status: int,
) -> None:
    response = http.request(
        "POST",
        stand_in.base_url + ADD_EVENT_PATH + query,
        body=json.dumps(example_body()).encode(),
        headers={"Content-Type": "application/json", **headers},
    )
    assert response.status == status
    if status == 401:
        assert error_of(response)["code"] == KEY_NOT_FOUND
    assert stand_in.calls[-1].status == status
    assert stand_in.accepted_events == []


def test_same_key_in_query_and_header_is_accepted_and_recorded_as_query(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    response = http.request(
        "POST",
        f"{stand_in.base_url}{ADD_EVENT_PATH}?apiKey={KEY}",
        body=json.dumps(example_body()).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"},
    )
    assert response.status == 200
    assert stand_in.calls[-1].auth_mode == "query"


@pytest.mark.parametrize("status", [500, 404, 403])
@pytest.mark.parametrize("key", [None, OTHER_KEY, "PROD" + "a" * 27 + "-"])
def test_key_refusal_status_is_configurable(http: urllib3.PoolManager, status: int, key: str | None) -> None:
    # BizKitHub documents the code, not the status (its statuses default to 500).
    with BizKitHubStandIn(accepted_keys=[KEY], key_refusal_status=status) as stand_in:
        refused = post(http, stand_in, key=key)

        assert refused.status == status
        assert error_of(refused)["code"] == KEY_NOT_FOUND
        assert post(http, stand_in, key=KEY).status == 200


def test_key_refusal_status_can_be_changed(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    assert post(http, stand_in, key=None).status == 401
    stand_in.set_key_refusal_status(500)
    assert post(http, stand_in, key=None).status == 500
    assert error_of(post(http, stand_in, mode="query", key="PROD")).get("code") == KEY_NOT_FOUND
    with pytest.raises(ValueError, match="must"):
        stand_in.set_key_refusal_status(99)
    with pytest.raises(ValueError, match="must"):
        BizKitHubStandIn(key_refusal_status=600)


def test_auth_is_checked_before_the_body(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    response = post(http, stand_in, raw=b"not json", key=None, content_type="text/plain")
    assert response.status == 401


def test_accepted_keys_restrict(http: urllib3.PoolManager) -> None:
    with BizKitHubStandIn(accepted_keys=[KEY, ROOT_KEY]) as stand_in:
        assert post(http, stand_in, key=KEY).status == 200
        assert post(http, stand_in, key=ROOT_KEY, mode="query").status == 200
        refused = post(http, stand_in, key=OTHER_KEY)
        assert refused.status == 401
        assert error_of(refused)["code"] == KEY_NOT_FOUND

        stand_in.set_accepted_keys([OTHER_KEY])
        assert post(http, stand_in, key=KEY).status == 401
        assert post(http, stand_in, key=OTHER_KEY).status == 200

        stand_in.set_accepted_keys(None)
        assert post(http, stand_in, key=KEY).status == 200
        assert [call.status for call in stand_in.calls] == [200, 200, 401, 401, 200, 200]


# --- routing and control -----------------------------------------------------------------


def test_unknown_path_is_404_and_other_methods_405(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    assert post(http, stand_in, path="/api/v1/calendar/add-events").status == 404
    assert post(http, stand_in, path="/api/v1/calendar/add-event/").status == 404
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        response = http.request(method, stand_in.base_url + ADD_EVENT_PATH)
        assert response.status == 405
        assert response.headers["Allow"] == "POST"
    assert [call.status for call in stand_in.calls] == [404, 404, 405, 405, 405, 405]


def test_calls_endpoint_lists_calls_without_keys(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    post(http, stand_in, mode="query")
    post(http, stand_in, mode="bearer", key=OTHER_KEY)
    post(http, stand_in, key=None)

    response = http.request("GET", stand_in.base_url + CALLS_PATH)

    assert response.status == 200
    assert KEY.encode() not in response.data
    assert OTHER_KEY.encode() not in response.data
    listed = response.json()
    assert [call["auth_mode"] for call in listed] == ["query", "bearer", None]
    assert [call["status"] for call in listed] == [200, 200, 401]
    assert all("api_key" not in call for call in listed)
    assert listed[0]["body"] == example_body()
    assert EVENT_ID.fullmatch(listed[0]["event_id"])
    # Control requests are not recorded themselves.
    assert len(stand_in.calls) == 3


def test_keys_never_reach_the_console(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager, capfd: pytest.CaptureFixture[str]
) -> None:
    post(http, stand_in, mode="query")
    post(http, stand_in, mode="bearer")
    post(http, stand_in, key=OTHER_KEY, raw=b"{")
    stand_in.script(Drop())
    with pytest.raises(ProtocolError):
        post(http, stand_in, mode="query")

    out, err = capfd.readouterr()
    assert KEY not in out + err
    assert OTHER_KEY not in out + err
    assert err == ""


def test_framing_errors_are_answered(stand_in: BizKitHubStandIn) -> None:
    # urllib3 always frames bodies correctly, so these go over a raw socket.
    host, port = stand_in.base_url.removeprefix("http://").split(":")

    def exchange(head: bytes) -> bytes:
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(head)
            return conn.recv(65536)

    bad_length = exchange(
        f"POST {ADD_EVENT_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".encode()
    )
    too_large = exchange(
        f"POST {ADD_EVENT_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: {2 << 20}\r\n\r\n{{}}".encode()
    )
    assert bad_length.startswith(b"HTTP/1.1 400")
    assert too_large.startswith(b"HTTP/1.1 413")
    assert [call.status for call in stand_in.calls] == [400, 413]


# --- scripted faults ---------------------------------------------------------------------


def test_status_503_applies_once_then_normal(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    stand_in.script(Status(503))

    failed = post(http, stand_in)
    assert failed.status == 503
    assert "code" not in error_of(failed)  # an outage, not a named error
    assert post(http, stand_in).status == 200
    assert [(call.status, call.event_id is None) for call in stand_in.calls] == [(503, True), (200, False)]
    assert len(stand_in.accepted_events) == 1


def test_status_429_with_retry_after_applies_once(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    stand_in.script(Status(429, retry_after="7"))

    limited = post(http, stand_in)
    assert limited.status == 429
    assert limited.headers["Retry-After"] == "7"
    assert error_of(limited)["code"] == "RATE_LIMIT_EXCEEDED"  # as BizKitHub documents it
    assert error_of(limited)["retry_after"] == 7
    normal = post(http, stand_in)
    assert normal.status == 200
    assert "Retry-After" not in normal.headers


def test_scripted_status_applies_before_validation(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    stand_in.script(Status(500), Status(401))
    assert post(http, stand_in, raw=b"garbage", key=None, content_type=None).status == 500
    assert error_of(post(http, stand_in))["code"] == "PUBLIC_API_KEY_DOES_NOT_EXIST"
    assert post(http, stand_in).status == 200


def test_status_200_with_error_body_is_not_an_acceptance(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    custom = {"state": "error", "error": {"code": "CALENDAR_NOT_FOUND", "message": "no such calendar"}}
    stand_in.script(Status(200), Status(200, body=custom))

    first = post(http, stand_in)
    assert first.status == 200
    assert "eventId" not in first.json()
    assert "code" not in error_of(first)
    assert post(http, stand_in).json() == custom
    assert stand_in.accepted_events == []
    assert [call.event_id for call in stand_in.calls] == [None, None]


def test_slow_provokes_a_read_timeout_once(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    stand_in.script(Slow(1.0))

    with pytest.raises(ReadTimeoutError):
        post(http, stand_in, timeout=urllib3.Timeout(connect=2.0, read=0.2))
    response = post(http, stand_in, timeout=urllib3.Timeout(connect=2.0, read=0.5))
    assert response.status == 200


def test_slow_still_answers_a_patient_client(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    stand_in.script(Slow(0.2))
    assert post(http, stand_in).status == 200
    assert stand_in.calls[-1].status == 200


def test_drop_closes_without_response_once(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    stand_in.script(Drop())

    with pytest.raises(ProtocolError):
        post(http, stand_in)
    assert post(http, stand_in).status == 200
    assert [call.status for call in stand_in.calls] == [0, 200]
    assert stand_in.calls[0].body == example_body()


def test_faults_are_consumed_in_order_only_by_add_event_posts(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    stand_in.script(Status(502), Status(504))

    assert http.request("GET", stand_in.base_url + CALLS_PATH).status == 200
    assert http.request("GET", stand_in.base_url + ADD_EVENT_PATH).status == 405
    assert post(http, stand_in, path="/elsewhere").status == 404
    assert post(http, stand_in).status == 502
    assert post(http, stand_in).status == 504
    assert post(http, stand_in).status == 200


def test_reset_clears_calls_and_faults(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    post(http, stand_in)
    stand_in.script(Status(500))
    stand_in.reset()

    assert stand_in.calls == []
    assert post(http, stand_in).status == 200
    assert len(stand_in.calls) == 1


def test_calls_is_a_copy(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    post(http, stand_in)
    stand_in.calls.clear()
    stand_in.accepted_events[0]["title"] = "changed"
    assert len(stand_in.calls) == 1
    assert stand_in.accepted_events == [EXAMPLE_EVENT]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Status(99),
        lambda: Status(600),
        lambda: Slow(-1.0),
        lambda: Raw(99, b""),
        lambda: Raw(1000, b""),
        lambda: Drip(seconds_per_byte=-1),
        lambda: Drip(status=42),
        lambda: Huge(size_bytes=10),
    ],
)
def test_nonsense_faults_are_rejected(make: Any) -> None:
    with pytest.raises(ValueError, match="must"):
        make()


def test_stop_is_idempotent_and_frees_keep_alive_connections(http: urllib3.PoolManager) -> None:
    stand_in = BizKitHubStandIn().start()
    assert post(http, stand_in).status == 200  # leaves a pooled keep-alive connection open
    stand_in.stop()
    stand_in.stop()
    with pytest.raises(RuntimeError):
        stand_in.start()


# --- streamed faults: raw bytes, drips, huge bodies ----------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "data"),
    [
        (Raw(200, b"<html>OK</html>", (("Content-Type", "text/html"),)), 200, b"<html>OK</html>"),
        (Raw(204, b""), 204, b""),
        (Raw(302, b"", (("Location", "https://elsewhere.example/"),)), 302, b""),
        (Raw(500, b'{"error": {"code": "X"}}'), 500, b'{"error": {"code": "X"}}'),
        (Raw(799, b"odd"), 799, b"odd"),
    ],
)
def test_raw_answers_these_bytes_once_and_is_recorded(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager, fault: Raw, status: int, data: bytes
) -> None:
    stand_in.script(fault)

    response = post(http, stand_in, redirect=False)

    assert (response.status, response.data) == (status, data)
    for name, value in fault.headers:
        assert response.headers[name] == value
    assert post(http, stand_in).status == 200  # the kept-alive connection is still sound
    first = stand_in.calls[0]
    assert (first.status, first.fault, first.event_id, first.api_key) == (status, "raw", None, KEY)
    assert first.body == example_body()
    assert len(stand_in.accepted_events) == 1


def test_raw_with_its_own_framing_closes_the_connection(
    stand_in: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    stand_in.script(Raw(200, b"abc", (("Content-Length", "3"),)))

    response = post(http, stand_in)

    assert (response.status, response.data, response.headers["Connection"]) == (200, b"abc", "close")
    assert post(http, stand_in).status == 200


def test_drip_sends_the_body_a_byte_at_a_time(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    stand_in.script(Drip(body=b'{"a": 1}', seconds_per_byte=0.05))
    started = time.monotonic()

    response = post(http, stand_in, preload_content=False, timeout=urllib3.Timeout(connect=2, read=1))
    headers_after = time.monotonic() - started
    pieces = list(response.stream(1))
    body_after = time.monotonic() - started

    assert response.status == 200
    assert b"".join(pieces) == b'{"a": 1}'
    assert headers_after < 0.3
    assert body_after >= 8 * 0.05 * 0.9
    assert stand_in.calls[0].fault == "drip"
    assert post(http, stand_in).status == 200


def test_drip_headers_too(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    stand_in.script(Drip(body=b"{}", seconds_per_byte=0.005, drip_headers=True))
    started = time.monotonic()

    response = post(http, stand_in)

    assert (response.status, response.data) == (200, b"{}")
    # The status line and headers alone are ~70 bytes.
    assert time.monotonic() - started >= 70 * 0.005
    assert stand_in.calls[0].fault == "drip"


def test_huge_streams_the_whole_declared_size(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    size = 3 * 1024 * 1024 + 7
    stand_in.script(Huge(size_bytes=size))

    response = post(http, stand_in, preload_content=False)
    received = sum(len(chunk) for chunk in response.stream(1 << 16))

    assert (response.status, int(response.headers["Content-Length"]), received) == (200, size, size)
    assert stand_in.calls[0].fault == "huge"
    assert stand_in.calls[0].event_id is None
    assert stand_in.accepted_events == []


def test_huge_ends_when_the_client_hangs_up(stand_in: BizKitHubStandIn, http: urllib3.PoolManager) -> None:
    stand_in.script(Huge(size_bytes=1 << 30))

    response = post(http, stand_in, preload_content=False)
    assert response.read(1000).startswith(b'{"eventId": "')
    response.close()  # closes the connection without reading the gigabyte

    assert post(http, stand_in).status == 200


def handler_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if "process_request_thread" in thread.name]


@pytest.mark.parametrize(
    "fault",
    [Drip(seconds_per_byte=5.0), Drip(seconds_per_byte=5.0, drip_headers=True), Huge(size_bytes=1 << 30)],
    ids=["drip", "drip-headers", "huge-unread"],
)
def test_streamed_faults_stop_promptly_with_the_stand_in(fault: Drip | Huge) -> None:
    stand_in = BizKitHubStandIn().start()
    stand_in.script(fault)
    host, port = stand_in.base_url.removeprefix("http://").split(":")
    body = json.dumps(example_body()).encode()
    head = (
        f"POST {ADD_EVENT_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    # A client that reads nothing leaves a huge body blocked in the server's send.
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(head.encode() + body)
        deadline = time.monotonic() + 2
        while not stand_in.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        busy = handler_threads()
        assert busy

        started = time.monotonic()
        stand_in.stop()
        for thread in busy:
            thread.join(max(0.0, started + 1.0 - time.monotonic()))

        assert not any(thread.is_alive() for thread in busy)
    assert [call.fault for call in stand_in.calls] == [type(fault).__name__.lower()]
