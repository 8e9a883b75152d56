"""Stripe's webhook signature, checked against the official `stripe` library as an oracle.

The library reads the real clock, so every header is signed relative to `int(time.time())` and our
check is given that same `now`. The one intended difference: the library accepts a timestamp from
the future however far ahead it is; we refuse one more than the tolerance away in either direction.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
import stripe

from bookhook.errors import Unauthenticated
from bookhook.sources.stripe import signature_header, verify_signature
from bookhook_dev.tools.stripe_samples import body_bytes, checkout_session, stripe_event

SECRET = "whsec_testEndpointSecret0123456789abcdef"
PREVIOUS_SECRET = "whsec_previousEndpointSecret9876543210"
OTHER_SECRET = "whsec_someoneElsesSecret000000000000000"
TOLERANCE = 300
BODY = body_bytes(stripe_event("checkout.session.completed", checkout_session()))


def hex_signature(body: bytes, secret: str, timestamp: int) -> str:
    """Independent of both implementations: HMAC-SHA256 over `"{t}.{body}"`, hex."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def library_header(body: bytes, secret: str, timestamp: int) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(body.decode("utf-8"), secret, timestamp)
    return header


def library_accepts(body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """The library takes one secret: it accepts when any of ours would verify on its own."""
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(body, header, secret, tolerance=TOLERANCE)
        except stripe.SignatureVerificationError:
            continue
        return True
    return False


def we_accept(body: bytes, header: str | None, secrets: Sequence[str], now: int) -> bool:
    try:
        verify_signature(body, header, secrets, now=now, tolerance_seconds=TOLERANCE)
    except Unauthenticated:
        return False
    return True


def tampered(body: bytes) -> bytes:
    index = body.index(b"90000")
    changed = body[:index] + b"90001" + body[index + 5 :]
    assert len(changed) == len(body)
    assert sum(a != b for a, b in zip(body, changed, strict=True)) == 1
    return changed


@dataclass(frozen=True)
class Case:
    header: str | None
    accepted: bool  # our verdict
    library_accepted: bool | None = None  # None: the same as ours
    body: bytes = BODY
    secrets: tuple[str, ...] = (SECRET,)


def _signed(now: int, offset: int = 0, secret: str = SECRET, body: bytes = BODY) -> str:
    return library_header(body, secret, now + offset)


CASES: dict[str, Callable[[int], Case]] = {
    "valid": lambda now: Case(_signed(now), accepted=True),
    "several_v1_last_matches": lambda now: Case(
        f"t={now},v1={hex_signature(BODY, OTHER_SECRET, now)},v1={hex_signature(BODY, SECRET, now)}",
        accepted=True,
    ),
    "several_v1_first_matches": lambda now: Case(
        f"t={now},v1={hex_signature(BODY, SECRET, now)},v1={hex_signature(BODY, OTHER_SECRET, now)}",
        accepted=True,
    ),
    "v0_only": lambda now: Case(f"t={now},v0={hex_signature(BODY, SECRET, now)}", accepted=False),
    "v0_and_matching_v1": lambda now: Case(
        f"t={now},v1={hex_signature(BODY, SECRET, now)},v0={hex_signature(BODY, OTHER_SECRET, now)}",
        accepted=True,
    ),
    "wrong_secret": lambda now: Case(_signed(now, secret=OTHER_SECRET), accepted=False),
    "tampered_body": lambda now: Case(_signed(now), accepted=False, body=tampered(BODY)),
    "trailing_newline_stripped": lambda now: Case(_signed(now), accepted=False, body=BODY.rstrip(b"\n")),
    "299_s_old": lambda now: Case(_signed(now, -299), accepted=True),
    "301_s_old": lambda now: Case(_signed(now, -301), accepted=False),
    "299_s_in_future": lambda now: Case(_signed(now, 299), accepted=True),
    # The one difference: the library never refuses a timestamp from the future.
    "301_s_in_future": lambda now: Case(_signed(now, 301), accepted=False, library_accepted=True),
    "an_hour_in_future": lambda now: Case(_signed(now, 3600), accepted=False, library_accepted=True),
    "spaces_after_commas": lambda now: Case(_signed(now).replace(",", ", "), accepted=False),
    "missing_t": lambda now: Case(f"v1={hex_signature(BODY, SECRET, now)}", accepted=False),
    "non_numeric_t": lambda now: Case(f"t=now,v1={hex_signature(BODY, SECRET, now)}", accepted=False),
    "empty_v1": lambda now: Case(f"t={now},v1=", accepted=False),
    "empty_header": lambda now: Case("", accepted=False),
    "no_header": lambda now: Case(None, accepted=False),
    "second_of_our_secrets_matches": lambda now: Case(
        _signed(now), accepted=True, secrets=(PREVIOUS_SECRET, SECRET)
    ),
    "first_of_our_secrets_matches": lambda now: Case(
        _signed(now), accepted=True, secrets=(SECRET, PREVIOUS_SECRET)
    ),
    "neither_of_our_secrets_matches": lambda now: Case(
        _signed(now, secret=OTHER_SECRET), accepted=False, secrets=(SECRET, PREVIOUS_SECRET)
    ),
    "uppercase_hex": lambda now: Case(
        f"t={now},v1={hex_signature(BODY, SECRET, now).upper()}", accepted=False
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_verdict_matches_the_official_library(name: str) -> None:
    now = int(time.time())
    case = CASES[name](now)

    ours = we_accept(case.body, case.header, case.secrets, now)
    theirs = library_accepts(case.body, case.header, case.secrets)

    assert ours is case.accepted
    expected_library = case.accepted if case.library_accepted is None else case.library_accepted
    assert theirs is expected_library


REFUSED = sorted(name for name, build in CASES.items() if not build(0).accepted)


def test_the_table_has_both_verdicts() -> None:
    assert len(REFUSED) >= 10
    assert len(CASES) - len(REFUSED) >= 6


@pytest.mark.parametrize("name", REFUSED)
def test_a_refusal_never_echoes_the_secret_or_the_signature(name: str) -> None:
    now = int(time.time())
    case = CASES[name](now)

    with pytest.raises(Unauthenticated) as caught:
        verify_signature(case.body, case.header, case.secrets, now=now, tolerance_seconds=TOLERANCE)

    error = caught.value
    assert error.field == "Stripe-Signature"
    assert error.status == 401
    assert error.message == str(error)
    secret_like = [*case.secrets, SECRET, PREVIOUS_SECRET, OTHER_SECRET]
    signatures = [
        item.partition("=")[2] for item in (case.header or "").split(",") if item.strip().startswith("v")
    ]
    for text in (error.message, str(error), error.field or ""):
        for secret in secret_like:
            assert secret not in text
            assert secret.removeprefix("whsec_") not in text
        for signature in signatures:
            if signature:
                assert signature not in text
        assert hex_signature(case.body, SECRET, now) not in text


@pytest.mark.parametrize("header", ["", None])
def test_a_missing_header_is_unauthenticated(header: str | None) -> None:
    with pytest.raises(Unauthenticated) as caught:
        verify_signature(BODY, header, [SECRET], now=time.time(), tolerance_seconds=TOLERANCE)

    assert caught.value.field == "Stripe-Signature"
    assert "missing" in caught.value.message


def test_no_secret_configured_fails_closed() -> None:
    now = int(time.time())
    header = signature_header(BODY, SECRET, now)

    with pytest.raises(Unauthenticated) as caught:
        verify_signature(BODY, header, [], now=now, tolerance_seconds=TOLERANCE)

    assert caught.value.message == "invalid signature"
    assert caught.value.field == "Stripe-Signature"


def test_an_old_timestamp_is_refused_for_its_age_not_its_signature() -> None:
    now = int(time.time())

    with pytest.raises(Unauthenticated) as caught:
        verify_signature(BODY, _signed(now, -301), [SECRET], now=now, tolerance_seconds=TOLERANCE)

    assert "tolerance" in caught.value.message
    assert str(now - 301) not in caught.value.message


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-300, True), (300, True), (-301, False), (301, False), (0, True)]
)
def test_the_window_is_the_tolerance_either_way(offset: int, accepted: bool) -> None:
    now = 1_800_000_000
    header = signature_header(BODY, SECRET, now + offset)

    assert we_accept(BODY, header, [SECRET], now) is accepted


def test_the_tolerance_is_a_parameter() -> None:
    now = 1_800_000_000
    header = signature_header(BODY, SECRET, now - 500)

    verify_signature(BODY, header, [SECRET], now=now, tolerance_seconds=600)
    with pytest.raises(Unauthenticated):
        verify_signature(BODY, header, [SECRET], now=now, tolerance_seconds=400)


def test_a_fractional_now_is_compared_exactly() -> None:
    now = 1_800_000_000
    header = signature_header(BODY, SECRET, now)

    verify_signature(BODY, header, [SECRET], now=now + 300.0, tolerance_seconds=300)
    with pytest.raises(Unauthenticated):
        verify_signature(BODY, header, [SECRET], now=now + 300.5, tolerance_seconds=300)


@pytest.mark.parametrize("timestamp", ["+1800000000", "1_800_000_000", " 1800000000", "١٨٠٠٠٠٠٠٠٠"])
def test_only_plain_ascii_digits_are_a_timestamp(timestamp: str) -> None:
    now = 1_800_000_000
    header = f"t={timestamp},v1={hex_signature(BODY, SECRET, now)}"

    with pytest.raises(Unauthenticated) as caught:
        verify_signature(BODY, header, [SECRET], now=now, tolerance_seconds=TOLERANCE)

    assert "timestamp" in caught.value.message


def test_an_absurdly_long_timestamp_is_refused() -> None:
    header = f"t={'9' * 40},v1={'0' * 64}"

    with pytest.raises(Unauthenticated) as caught:
        verify_signature(BODY, header, [SECRET], now=1_800_000_000, tolerance_seconds=TOLERANCE)

    assert "timestamp" in caught.value.message


def test_the_first_timestamp_counts_as_in_the_library() -> None:
    now = int(time.time())
    header = f"t={now},t={now - 1000},v1={hex_signature(BODY, SECRET, now)}"

    assert we_accept(BODY, header, [SECRET], now) is True
    assert library_accepts(BODY, header, [SECRET]) is True


# --- signature_header -----------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", [0, 1_700_000_000, 1_795_514_508])
@pytest.mark.parametrize("body", [BODY, b"{}", '{"name": "Eva Nováková"}\n'.encode()])
def test_signature_header_equals_the_librarys(timestamp: int, body: bytes) -> None:
    ours = signature_header(body, SECRET, timestamp)

    assert ours == library_header(body, SECRET, timestamp)
    assert ours == f"t={timestamp},v1={hex_signature(body, SECRET, timestamp)}"


def test_signature_header_depends_on_secret_timestamp_and_body() -> None:
    base = signature_header(BODY, SECRET, 1_700_000_000)

    assert signature_header(BODY, OTHER_SECRET, 1_700_000_000) != base
    assert signature_header(BODY, SECRET, 1_700_000_001).split(",")[1] != base.split(",")[1]
    assert signature_header(tampered(BODY), SECRET, 1_700_000_000) != base


def test_our_header_passes_the_library_and_the_librarys_passes_ours() -> None:
    now = int(time.time())

    stripe.WebhookSignature.verify_header(
        BODY, signature_header(BODY, SECRET, now), SECRET, tolerance=TOLERANCE
    )
    verify_signature(BODY, library_header(BODY, SECRET, now), [SECRET], now=now, tolerance_seconds=TOLERANCE)
