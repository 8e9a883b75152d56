"""WebhookRequest.from_http_api_event: exact body bytes, size limit, headers, media type, query."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from bookhook.errors import MalformedRequest, PayloadTooLarge
from bookhook.request import WebhookRequest

MAX = 256 * 1024

# The shape `sam local generate-event apigateway http-api-proxy` writes (payload format 2.0), with
# header names in mixed case as that generator and `sam local start-api` leave them.
SAM_EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "POST /webhooks/zapier",
    "rawPath": "/webhooks/zapier",
    "rawQueryString": "",
    "cookies": ["cookie1"],
    "headers": {
        "Header1": "value1",
        "Content-Type": "Application/JSON; charset=utf-8",
        "Authorization": "Bearer token-0123456789",
        "X-Webhook-Token": "token-0123456789",
        "Idempotency-Key": "sub-42",
        "User-Agent": "Zapier",
    },
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "api-id",
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "http": {
            "method": "POST",
            "path": "/webhooks/zapier",
            "protocol": "HTTP/1.1",
            "sourceIp": "192.168.0.1/32",
            "userAgent": "agent",
        },
        "requestId": "id",
        "routeKey": "POST /webhooks/zapier",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    },
    "body": '{"title": "Trénink s Janem – Vinohrady"}\n',
    "pathParameters": {},
    "isBase64Encoded": False,
    "stageVariables": {},
}


def event(**overrides: Any) -> dict[str, Any]:
    copied = copy.deepcopy(SAM_EVENT)
    copied.update(overrides)
    return copied


def build(max_body_bytes: int = MAX, **overrides: Any) -> WebhookRequest:
    return WebhookRequest.from_http_api_event(event(**overrides), max_body_bytes=max_body_bytes)


# --- body -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"title": "Trénink s Janem – Vinohrady"}\n',
        "title=Tr%C3%A9nink&duration=90\r\n",
        "agenda: – Warm-up\n– Cool down\n\n",
        "  spaces around  ",
        "😀 emoji",
    ],
)
def test_text_body_is_its_utf8_bytes_exactly(text: str) -> None:
    assert build(body=text).body == text.encode("utf-8")


@pytest.mark.parametrize("overrides", [{"body": None}, {"body": ""}, {}])
def test_absent_body_is_empty(overrides: dict[str, Any]) -> None:
    raw = event(**overrides)
    if not overrides:
        del raw["body"]

    assert WebhookRequest.from_http_api_event(raw, max_body_bytes=MAX).body == b""


@pytest.mark.parametrize(
    "raw",
    [
        b"title=Tr%C3%A9nink+s+Janem&isBlocking=true",
        "Trénink – Vinohrady\n".encode(),
        b"\x00\xff\xfe\x80 binary \r\n",
        b"",
        b"a",
        b"ab",
    ],
)
def test_base64_body_is_decoded_exactly(raw: bytes) -> None:
    request = build(body=base64.b64encode(raw).decode("ascii"), isBase64Encoded=True)

    assert request.body == raw


@pytest.mark.parametrize(
    "encoded", ["not base64!", "=YWJj", "YW=Jj", "YWJjZA", "YW Jj", "YWJj\nZGVm", "w6k=ü"]
)
def test_invalid_base64_is_malformed(encoded: str) -> None:
    with pytest.raises(MalformedRequest) as caught:
        build(body=encoded, isBase64Encoded=True)

    assert caught.value.status == 400
    assert "base64" in caught.value.message


def test_base64_flag_false_keeps_base64_looking_text() -> None:
    assert build(body="YWJj", isBase64Encoded=False).body == b"YWJj"


# --- size limit -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "limit"), [("x" * 10, 10), ("š" * 5, 10), ("", 1), ("x" * MAX, MAX)])
def test_text_body_at_the_limit_is_accepted(text: str, limit: int) -> None:
    assert len(build(max_body_bytes=limit, body=text).body) == len(text.encode("utf-8"))


@pytest.mark.parametrize(
    ("text", "limit"), [("x" * 11, 10), ("š" * 6, 10), ("šx", 2), ("x" * (MAX + 1), MAX)]
)
def test_text_body_over_the_limit_is_too_large(text: str, limit: int) -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        build(max_body_bytes=limit, body=text)

    assert caught.value.status == 413
    assert str(limit) in caught.value.message


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 10, 1000])
def test_base64_body_at_the_limit_is_accepted(size: int) -> None:
    raw = bytes(range(256)) * (size // 256) + bytes(range(size % 256))

    request = build(max_body_bytes=size, body=base64.b64encode(raw).decode("ascii"), isBase64Encoded=True)

    assert request.body == raw


@pytest.mark.parametrize("size", [1, 2, 3, 4, 10, 1000])
def test_base64_body_over_the_limit_is_too_large(size: int) -> None:
    encoded = base64.b64encode(b"x" * (size + 1)).decode("ascii")

    with pytest.raises(PayloadTooLarge):
        build(max_body_bytes=size, body=encoded, isBase64Encoded=True)


def test_huge_base64_body_is_refused_before_decoding() -> None:
    # Not valid base64 at all: the size check comes first, so this is 413, not 400.
    with pytest.raises(PayloadTooLarge):
        build(max_body_bytes=10, body="!" * 100, isBase64Encoded=True)


# --- headers --------------------------------------------------------------------------------------


def test_header_names_are_lower_cased() -> None:
    request = build()

    assert dict(request.headers) == {
        "header1": "value1",
        "content-type": "Application/JSON; charset=utf-8",
        "authorization": "Bearer token-0123456789",
        "x-webhook-token": "token-0123456789",
        "idempotency-key": "sub-42",
        "user-agent": "Zapier",
    }


@pytest.mark.parametrize("name", ["X-Webhook-Token", "x-webhook-token", "X-WEBHOOK-TOKEN", "x-Webhook-token"])
def test_header_lookup_ignores_case(name: str) -> None:
    assert build().header(name) == "token-0123456789"


def test_header_values_keep_their_case_and_missing_headers_are_none() -> None:
    request = build()

    assert request.header("Authorization") == "Bearer token-0123456789"
    assert request.header("X-Signature") is None


@pytest.mark.parametrize("headers", [None, {}])
def test_no_headers(headers: dict[str, str] | None) -> None:
    request = build(headers=headers)

    assert (dict(request.headers), request.media_type) == ({}, None)


# --- media type -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "media_type"),
    [
        ("application/json", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        (" application/x-www-form-urlencoded ;charset=UTF-8", "application/x-www-form-urlencoded"),
        ("text/plain;charset=us-ascii", "text/plain"),
        ("multipart/form-data; boundary=----abc", "multipart/form-data"),
        ("", None),
        ("   ", None),
        ("; charset=utf-8", None),
    ],
)
def test_media_type(content_type: str, media_type: str | None) -> None:
    assert build(headers={"Content-Type": content_type}).media_type == media_type


def test_media_type_of_a_request_without_content_type_is_none() -> None:
    assert build(headers={"Authorization": "Bearer x"}).media_type is None


# --- query ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_query", "query"),
    [
        ("", {}),
        (None, {}),
        ("a=1", {"a": ["1"]}),
        ("a=1&a=2&b=3&a=4", {"a": ["1", "2", "4"], "b": ["3"]}),
        ("empty=&flag", {"empty": [""], "flag": [""]}),
        ("name=Jan+Bar%C3%A1%C5%A1ek&x=%26%3D", {"name": ["Jan Barášek"], "x": ["&="]}),
        ("apiKey=PRODabc&token=t", {"apiKey": ["PRODabc"], "token": ["t"]}),
    ],
)
def test_raw_query_string_is_parsed_with_repeated_names(
    raw_query: str | None, query: dict[str, list[str]]
) -> None:
    assert dict(build(rawQueryString=raw_query).query) == query


def test_missing_raw_query_string_is_an_empty_query() -> None:
    raw = event()
    del raw["rawQueryString"]

    assert dict(WebhookRequest.from_http_api_event(raw, max_body_bytes=MAX).query) == {}


def test_the_request_is_frozen() -> None:
    request = build()

    with pytest.raises(AttributeError):
        request.body = b"changed"  # type: ignore[misc]
