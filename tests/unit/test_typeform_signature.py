"""Typeform's webhook signature: `sha256=` + base64 HMAC-SHA256 of the exact raw body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from bookhook.errors import Unauthenticated
from bookhook.request import WebhookRequest
from bookhook.sources.typeform import authenticate, expected_signature
from bookhook_dev.testing import defaults
from bookhook_dev.tools.typeform_samples import body_bytes, booking_response

SECRET = "typeform-secret-0123456789abcdef"
PREVIOUS_SECRET = "typeform-previous-secret-fedcba98"
OTHER_SECRET = "someone-elses-secret-0000000000"
BODY = body_bytes(booking_response())
EVENTS = Path(__file__).resolve().parents[2] / "events"


def independent_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


def signed_request(signature: str | None, body: bytes = BODY) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["typeform-signature"] = signature
    return WebhookRequest(body=body, headers=headers)


# --- expected_signature -------------------------------------------------------------------------


def test_expected_signature_is_sha256_prefix_and_base64_of_hmac() -> None:
    signature = expected_signature(SECRET, BODY)

    assert signature == independent_signature(SECRET, BODY)
    assert signature.startswith("sha256=")
    decoded = base64.b64decode(signature.removeprefix("sha256="), validate=True)
    assert decoded == hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    assert len(decoded) == 32


def test_expected_signature_is_not_hex() -> None:
    hex_digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()

    assert expected_signature(SECRET, BODY) != "sha256=" + hex_digest
    assert len(expected_signature(SECRET, BODY)) == len("sha256=") + 44  # base64 of 32 bytes


def test_expected_signature_of_a_known_vector() -> None:
    # Computed once with: printf 'hello' | openssl dgst -sha256 -hmac 'secret' -binary | base64
    assert expected_signature("secret", b"hello") == "sha256=iKqz7ejTrflNJquQ07r9SiCDBww7zOnAFO4EpEOEfAs="


def test_expected_signature_depends_on_secret_and_body() -> None:
    assert expected_signature(SECRET, BODY) != expected_signature(OTHER_SECRET, BODY)
    assert expected_signature(SECRET, BODY) != expected_signature(SECRET, BODY + b" ")


@pytest.mark.parametrize("name", sorted(path.name for path in EVENTS.glob("typeform-*.json")))
def test_sample_events_carry_a_valid_signature(name: str) -> None:
    event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    request = WebhookRequest.from_http_api_event(event, max_body_bytes=10 * 1024 * 1024)

    authenticate(request, [defaults.TYPEFORM_SECRET])
    assert request.header("typeform-signature") == expected_signature(defaults.TYPEFORM_SECRET, request.body)
    assert request.header("content-length") == str(len(request.body))


# --- authenticate: accepted ---------------------------------------------------------------------


def test_accepts_the_right_signature() -> None:
    authenticate(signed_request(independent_signature(SECRET, BODY)), [SECRET])


@pytest.mark.parametrize("signing_secret", [SECRET, PREVIOUS_SECRET])
def test_accepts_either_of_two_secrets_during_rotation(signing_secret: str) -> None:
    request = signed_request(independent_signature(signing_secret, BODY))

    authenticate(request, [SECRET, PREVIOUS_SECRET])
    authenticate(request, [PREVIOUS_SECRET, SECRET])


def test_after_rotation_the_retired_secret_is_refused() -> None:
    request = signed_request(independent_signature(PREVIOUS_SECRET, BODY))

    with pytest.raises(Unauthenticated):
        authenticate(request, [SECRET])


def test_accepts_a_non_ascii_body_signed_as_bytes() -> None:
    body = '{"event_type":"form_response","x":"Barášek – ü"}'.encode()

    authenticate(signed_request(independent_signature(SECRET, body), body=body), [SECRET])


# --- authenticate: refused ----------------------------------------------------------------------


def _hex(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _sha1_prefix(secret: str, body: bytes) -> str:
    return "sha1=" + independent_signature(secret, body).removeprefix("sha256=")


def _sha1_hmac(secret: str, body: bytes) -> str:
    return "sha1=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()


def _reindented(secret: str, body: bytes) -> str:
    return independent_signature(secret, json.dumps(json.loads(body), indent=2, ensure_ascii=False).encode())


def _spaced(secret: str, body: bytes) -> str:
    return independent_signature(secret, json.dumps(json.loads(body), ensure_ascii=False).encode())


def _without_prefix(secret: str, body: bytes) -> str:
    return independent_signature(secret, body).removeprefix("sha256=")


def _of_base64_text(secret: str, body: bytes) -> str:
    return independent_signature(secret, base64.b64encode(body))


def _wrong_secret(secret: str, body: bytes) -> str:
    return independent_signature(OTHER_SECRET, body)


def _truncated(secret: str, body: bytes) -> str:
    return independent_signature(secret, body)[:-4]


def _non_ascii(secret: str, body: bytes) -> str:
    return "sha256=žluťoučký"


REFUSED: dict[str, Callable[[str, bytes], str]] = {
    "wrong secret": _wrong_secret,
    "hex digest instead of base64": _hex,
    "sha1= prefix": _sha1_prefix,
    "sha1 hmac": _sha1_hmac,
    "json re-serialised with indent": _reindented,
    "json re-serialised with default separators": _spaced,
    "no sha256= prefix": _without_prefix,
    "signature of the base64 text": _of_base64_text,
    "truncated": _truncated,
    "non-ascii header": _non_ascii,
}


def assert_refused(request: WebhookRequest, secrets: Sequence[str]) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        authenticate(request, secrets)
    error = caught.value
    assert error.field == "Typeform-Signature"
    assert error.status == 401
    for secret in secrets:
        assert secret not in error.message
        assert secret not in str(error)
    signature = request.header("typeform-signature")
    if signature:
        assert signature not in error.message
        assert signature.removeprefix("sha256=") not in error.message
    return error


@pytest.mark.parametrize("make_signature", REFUSED.values(), ids=list(REFUSED))
def test_refuses_bad_signatures(make_signature: Callable[[str, bytes], str]) -> None:
    signature = make_signature(SECRET, BODY)
    assert signature != independent_signature(SECRET, BODY)  # the case really differs

    assert_refused(signed_request(signature), [SECRET])


@pytest.mark.parametrize("make_signature", REFUSED.values(), ids=list(REFUSED))
def test_refuses_bad_signatures_with_two_secrets(make_signature: Callable[[str, bytes], str]) -> None:
    assert_refused(signed_request(make_signature(SECRET, BODY)), [PREVIOUS_SECRET, SECRET])


def test_refuses_a_signature_when_the_trailing_newline_was_stripped() -> None:
    body_with_newline = BODY + b"\n"
    signature = independent_signature(SECRET, body_with_newline)

    authenticate(signed_request(signature, body=body_with_newline), [SECRET])  # the exact bytes pass
    assert_refused(signed_request(signature, body=body_with_newline.rstrip(b"\n")), [SECRET])


def test_refuses_a_body_modified_after_signing() -> None:
    signature = independent_signature(SECRET, BODY)
    tampered = BODY.replace(b"Jan Bar", b"Eve Bar")
    assert tampered != BODY

    assert_refused(signed_request(signature, body=tampered), [SECRET])


@pytest.mark.parametrize("header", [None, ""])
def test_refuses_a_missing_header(header: str | None) -> None:
    error = assert_refused(signed_request(header), [SECRET])

    assert "missing" in error.message


def test_refuses_a_blank_header() -> None:
    assert_refused(signed_request("   "), [SECRET])


def test_fails_closed_without_secrets() -> None:
    # Even a signature made with some secret, or with an empty key, is refused when none is configured.
    assert_refused(signed_request(independent_signature(SECRET, BODY)), [])
    assert_refused(signed_request(independent_signature("", BODY)), [])


def test_signature_header_under_another_name_is_not_used() -> None:
    request = WebhookRequest(
        body=BODY,
        headers={
            "content-type": "application/json",
            "x-typeform-signature": independent_signature(SECRET, BODY),
        },
    )

    error = assert_refused(request, [SECRET])
    assert "missing" in error.message
