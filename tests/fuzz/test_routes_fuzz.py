"""Property-based fuzzing of every route through the real handler (Hypothesis).

For each sender, generated bodies (well-formed and not, plausible values and hostile ones, canary
personal data in keys and values), headers and content types, authenticated and not. On every
example:
- no exception escapes and no 5xx: AWS (moto) and BizKitHub (the stand-in) are healthy here;
- each request is answered in under a second;
- nothing reaches BizKitHub that its contract check refuses (every add-event call the stand-in
  got was accepted);
- no canary personal data in a response or a log line (the logger at DEBUG);
- an unauthenticated request gets 401 and nothing is sent;
- a delivered booking sent again is answered as a duplicate with the same eventId.

`make test` runs `FUZZ_EXAMPLES` (default 100) examples per route, derandomised (the same ones
each run); `make fuzz` runs 2,000 per route from a random seed. A failure prints the shrunk example
and a `@reproduce_failure` blob; the example is then kept as a regression test (`@example` here, or
a plain test beside the code it broke).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from bookhook.handlers import webhook as webhook_module
from bookhook.sources.stripe import signature_header
from bookhook.sources.typeform import expected_signature
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn
from bookhook_dev.testing.lambda_emulation import LocalLambdaContext, http_api_event, provision
from bookhook_dev.tools.stripe_samples import BOOKING_METADATA, checkout_session, payment_intent, stripe_event
from bookhook_dev.tools.stripe_samples import body_bytes as stripe_body
from bookhook_dev.tools.typeform_samples import answers_with, booking_response
from bookhook_dev.tools.typeform_samples import body_bytes as typeform_body

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # each request's own bound is asserted below
    derandomize=not RANDOM,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    database=None,
)

# Personal data a sender may put anywhere: never to be repeated in a reply or a log line.
PERSONAL = ("jan.canary@example.cz", "+420 603 111 222", "Kanárek Nováček", "603111222")
# A header name is the sender's text too, but one shaped like a field name may be named in a
# reply (the safe-name rule): it is a canary for the logs' header listing, put in header names only.
HEADER_NAME = "x-kanarek-hlavicka"
CANARIES = (*PERSONAL, HEADER_NAME)
ANSWER_SECONDS = 1.0

# Values that break parsers and patterns, and the plausible ones they sit among.
HOSTILE = [
    " " * 400 + "x",
    "1" * 5_000,
    "1h " * 2_000,
    "a@" * 3_000,
    "http://" + "/" * 3_000,
    "9999-12-31T23:30:00Z",
    "0001-01-01T00:00:00+14:00",
    "999-01-01T00:00:00Z",
    "2026-12-01T10:00:00.0001Z",
    "１２３４５６７８９",
    "+٤٢٠٧٧٧١٢٣٤٥٦",
    "a@b..c",
    "http:///x",
    "   ",
    "true",
    "NaN",
    "\x00",
    "\ud800",
]
PLAUSIBLE = [
    "2027-01-05T10:00:00+01:00",
    "2027-01-05T10:00:00Z",
    "2027-01-05 10:00",
    "60",
    "90",
    "1h 30m",
    "2h",
    "Training",
    "jan@barasek.com",
    "+420777123456",
    "777 123 456",
    "https://gymroom.cz/x",
    defaults.CALENDAR_ID,
    "",
]
text_values = st.one_of(
    st.sampled_from(HOSTILE + PLAUSIBLE),
    st.sampled_from(PERSONAL),
    st.text(max_size=40),
    st.builds(lambda a, b: a + b, st.sampled_from(PLAUSIBLE), st.sampled_from(PERSONAL)),
)
# What a signed JSON body can hold: a lone surrogate has no UTF-8 form (the raw-bytes cases cover it).
encodable_text = text_values.filter(lambda value: not any("\ud800" <= c <= "\udfff" for c in value))
json_values = st.one_of(
    text_values,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
FLAT_KEYS = [
    "calendarId",
    "startTime",
    "endTime",
    "duration",
    "title",
    "description",
    "agenda",
    "url",
    "notifyBefore",
    "blockingTo",
    "locationTitle",
    "isAllDay",
    "isBlocking",
    "type",
    "attendeeName",
    "attendeeEmail",
    "attendeePhone",
    "attendeeMemberId",
    "attendeeCustomerId",
]
keys = st.one_of(st.sampled_from(FLAT_KEYS), st.sampled_from(PERSONAL), st.text(max_size=30))
VALID_FLAT = {
    "calendarId": defaults.CALENDAR_ID,
    "startTime": "2027-02-01T10:00:00+01:00",
    "duration": "60",
    "title": "Training",
    "attendeeName": "Jan Barášek",
    "attendeeEmail": "jan@barasek.com",
}


@st.composite
def flat_booking(draw: st.DrawFn) -> dict[str, Any]:
    """A valid flat booking with some keys changed, removed or added."""
    booking: dict[str, Any] = dict(VALID_FLAT) if draw(st.booleans()) else {}
    booking["startTime"] = draw(
        st.sampled_from([*PLAUSIBLE[:3], f"2027-03-0{draw(st.integers(1, 9))}T09:00:00Z"])
    )
    for key, value in draw(st.dictionaries(keys, json_values, max_size=4)).items():
        booking[key] = value
    for key in draw(st.lists(st.sampled_from(FLAT_KEYS), max_size=2)):
        booking.pop(key, None)
    return booking


@dataclass
class Sent:
    status: int
    body: dict[str, Any]
    output: str
    seconds: float


@dataclass
class Harness:
    stand_in: BizKitHubStandIn

    def send(self, path: str, body: bytes, headers: dict[str, str]) -> Sent:
        event = http_api_event(method="POST", path=path, body=body, headers=headers)
        captured = io.StringIO()
        with _logs_into(captured), contextlib.redirect_stdout(captured):
            started = time.perf_counter()
            result = webhook_module.lambda_handler(event, LocalLambdaContext())
            seconds = time.perf_counter() - started
        reply = json.loads(result["body"]) if result.get("body") else {}
        return Sent(int(result["statusCode"]), reply, captured.getvalue(), seconds)


@contextlib.contextmanager
def _logs_into(stream: io.StringIO) -> Iterator[None]:
    handlers = [h for h in logging.getLogger("bookhook").handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(stream) for h in handlers]
    try:
        yield
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            if old is not None:
                handler.setStream(old)


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": defaults.REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "bookhook-fuzz-webhook",
        "BIZKITHUB_READ_TIMEOUT_SECONDS": "2",
        "DEFAULT_TIMEZONE": "Europe/Prague",
    }
    later = ["BOOKING_SECRET_ARN", "IDEMPOTENCY_TABLE_NAME", "BIZKITHUB_BASE_URL", "DELIVERY_QUEUE_URL"]
    saved = {name: os.environ.get(name) for name in [*environment, *later, "AWS_ENDPOINT_URL", "AWS_PROFILE"]}
    os.environ.update(environment)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    level = webhook_module.logger.log_level
    try:
        with mock_aws(), BizKitHubStandIn() as stand_in:
            resources = provision(
                boto3.client("secretsmanager"), boto3.client("dynamodb"), boto3.client("sqs")
            )
            os.environ.update(
                BOOKING_SECRET_ARN=resources.secret_arn,
                IDEMPOTENCY_TABLE_NAME=resources.table_name,
                BIZKITHUB_BASE_URL=stand_in.base_url,
                DELIVERY_QUEUE_URL=resources.delivery_queue_url,
            )
            webhook_module.use_services(None)
            webhook_module.logger.setLevel(logging.DEBUG)
            yield Harness(stand_in)
    finally:
        webhook_module.logger.setLevel(level)
        webhook_module.use_services(None)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check(harness: Harness, path: str, body: bytes, headers: dict[str, str], *, authentic: bool) -> None:
    calls_before = len(harness.stand_in.calls)
    sent = harness.send(path, body, headers)
    new_calls = harness.stand_in.calls[calls_before:]

    assert sent.status < 500, (sent.status, sent.body)
    assert sent.seconds < ANSWER_SECONDS, f"{sent.seconds:.2f} s"
    refused = [(call.status, call.body) for call in new_calls if call.status != 200]
    assert not refused, f"BizKitHub's contract check refused what we sent: {refused}"
    for canary in CANARIES:
        assert canary not in json.dumps(sent.body, ensure_ascii=False), ("echoed", canary, sent.body)
        assert canary not in sent.output, ("logged", canary)
    if not authentic:
        assert sent.status == 401, (sent.status, sent.body)
        assert not new_calls
    if sent.status == 200 and sent.body.get("status") == "delivered" and "eventId" in sent.body:
        again = harness.send(path, body, headers)
        assert (again.status, again.body) == (200, {"status": "duplicate", "eventId": sent.body["eventId"]})


# --- Zapier ---------------------------------------------------------------------------------

credentials = st.sampled_from(["bearer", "token-header", "wrong", "none", "basic"])
content_types = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        None,
        "application/json; charset=utf-8",
    ]
)


def zapier_headers(credential: str, content_type: str | None, extra: dict[str, str]) -> dict[str, str]:
    headers = dict(extra)
    if content_type is not None:
        headers["content-type"] = content_type
    if credential == "bearer":
        headers["authorization"] = f"Bearer {defaults.ZAPIER_TOKEN}"
    elif credential == "token-header":
        headers["x-webhook-token"] = defaults.ZAPIER_TOKEN
    elif credential == "wrong":
        headers["authorization"] = "Bearer " + "x" * len(defaults.ZAPIER_TOKEN)
    elif credential == "basic":
        headers["authorization"] = "Basic " + PERSONAL[0]
    return headers


extra_headers = st.dictionaries(
    st.sampled_from(["idempotency-key", "x-note", "user-agent", HEADER_NAME]),
    st.one_of(
        st.sampled_from(CANARIES),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    ),
    max_size=2,
)


@FUZZ
@example(  # found by make fuzz: a lone surrogate in a form body arrives as bytes that are not UTF-8
    booking={"startTime": "2027-01-05T10:00:00+01:00", "calendarId": "\ud800"},
    encoding="form",
    raw=b"",
    credential="bearer",
    content_type="application/x-www-form-urlencoded",
    extra={},
)
@given(
    booking=st.one_of(
        flat_booking(), st.builds(lambda e: {"event": e}, st.dictionaries(keys, json_values, max_size=6))
    ),
    encoding=st.sampled_from(["json", "form", "raw"]),
    raw=st.binary(max_size=200),
    credential=credentials,
    content_type=content_types,
    extra=extra_headers,
)
def test_zapier_route(
    harness: Harness,
    booking: dict[str, Any],
    encoding: str,
    raw: bytes,
    credential: str,
    content_type: str | None,
    extra: dict[str, str],
) -> None:
    if encoding == "json":
        body = json.dumps(booking, ensure_ascii=False).encode("utf-8", "surrogatepass")
    elif encoding == "form":
        # Percent-encoded bytes, so a lone surrogate becomes bytes that are not UTF-8 (as a broken
        # client would send them) rather than an error in the test itself.
        def raw_text(text: object) -> bytes:
            return str(text).encode("utf-8", "surrogatepass")

        body = urlencode({raw_text(k): raw_text(v) for k, v in booking.items()}).encode("ascii")
    else:
        body = raw
    authentic = credential in ("bearer", "token-header")
    check(
        harness,
        "/webhooks/zapier",
        body,
        zapier_headers(credential, content_type, extra),
        authentic=authentic,
    )


# --- Typeform -------------------------------------------------------------------------------


@st.composite
def typeform_body_bytes(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["sample", "sample", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=300))
    refs = ["booking_date", "booking_time", "name", "email", "phone", "notes", "age"]
    changes = draw(st.dictionaries(st.sampled_from(refs), st.one_of(encodable_text, st.none()), max_size=3))
    response = answers_with(booking_response(), **changes)
    form = response["form_response"]
    if draw(st.booleans()):
        form["hidden"] = draw(st.one_of(st.none(), st.dictionaries(keys, encodable_text, max_size=3)))
    if draw(st.integers(0, 9)) == 0:
        form["form_id"] = draw(st.one_of(st.sampled_from(PERSONAL), st.text(max_size=10)))
    if draw(st.integers(0, 9)) == 0:
        response["event_type"] = draw(st.text(max_size=10))
    if draw(st.integers(0, 4)) == 0:
        form["token"] = draw(st.text(max_size=30))
    return typeform_body(response)


@FUZZ
@given(body=typeform_body_bytes(), signed=st.sampled_from(["valid", "valid", "hex", "none", "other-secret"]))
def test_typeform_route(harness: Harness, body: bytes, signed: str) -> None:
    headers = {"content-type": "application/json"}
    if signed == "valid":
        headers["typeform-signature"] = expected_signature(defaults.TYPEFORM_SECRET, body)
    elif signed == "other-secret":
        headers["typeform-signature"] = expected_signature("not-the-secret-0123456789", body)
    elif signed == "hex":
        headers["typeform-signature"] = "sha256=" + "ab" * 32
    check(harness, "/webhooks/typeform", body, headers, authentic=signed == "valid")


# --- Stripe ---------------------------------------------------------------------------------


@st.composite
def stripe_body_bytes(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["session", "intent", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=300))
    metadata: dict[str, Any] | None = dict(BOOKING_METADATA)
    assert metadata is not None
    metadata["startTime"] = f"2027-04-{draw(st.integers(10, 28))}T{draw(st.integers(8, 18))}:00:00+02:00"
    metadata.update(draw(st.dictionaries(keys, encodable_text, max_size=3)))
    if draw(st.integers(0, 9)) == 0:
        metadata = draw(st.sampled_from([None, {}]))  # Stripe's API description lets metadata be null
    suffix = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=8))
    if kind == "session":
        data = checkout_session(
            session_id=f"cs_live_fuzz{suffix}",
            intent_id=f"pi_fuzz{suffix}",
            payment_status=draw(st.sampled_from(["paid", "paid", "unpaid", "no_payment_required"])),
            metadata=metadata,
        )
        event_type = draw(
            st.sampled_from(["checkout.session.completed", "checkout.session.async_payment_succeeded"])
        )
    else:
        data = payment_intent(intent_id=f"pi_fuzzdirect{suffix}", metadata=metadata)
        event_type = "payment_intent.succeeded"
    return stripe_body(stripe_event(event_type, data))


@FUZZ
@given(body=stripe_body_bytes(), signed=st.sampled_from(["valid", "valid", "old", "none", "other-secret"]))
def test_stripe_route(harness: Harness, body: bytes, signed: str) -> None:
    headers = {"content-type": "application/json"}
    now = int(time.time())
    if signed == "valid":
        headers["stripe-signature"] = signature_header(body, defaults.STRIPE_SECRET, now)
    elif signed == "old":
        headers["stripe-signature"] = signature_header(body, defaults.STRIPE_SECRET, now - 3600)
    elif signed == "other-secret":
        headers["stripe-signature"] = signature_header(body, "whsec_notTheSecret0123456789", now)
    check(harness, "/webhooks/stripe", body, headers, authentic=signed == "valid")
