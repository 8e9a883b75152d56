"""The same JSON body gets the same answer on every route, through the real handler.

Hostile shapes (deep nesting, duplicate keys, NaN, huge numbers, bad encodings) are authenticated
here, so the answer is the JSON reader's; unauthenticated, they are 401 before anything parses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from bookhook.jsonbody import MAX_DEPTH
from bookhook.sources.stripe import signature_header
from bookhook.sources.typeform import expected_signature
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn
from bookhook_dev.tools import stripe_samples, typeform_samples
from tests.integration.conftest import Reply, Webhook, zapier_booking

ROUTES = ("zapier", "typeform", "stripe")
BOM = b"\xef\xbb\xbf"


def post(webhook: Webhook, route: str, body: bytes, *, authentic: bool = True) -> Reply:
    """`body` to `route`, signed (or with the token) as that sender would, unless not `authentic`."""
    if route == "zapier":
        return webhook.post(body, token=defaults.ZAPIER_TOKEN if authentic else None)
    if route == "typeform":
        signature = expected_signature(defaults.TYPEFORM_SECRET if authentic else "wrong", body)
        return webhook.post(
            body, path="/webhooks/typeform", token=None, headers={"typeform-signature": signature}
        )
    signature = signature_header(
        body, defaults.STRIPE_SECRET if authentic else "whsec_wrong", int(time.time())
    )
    return webhook.post(body, path="/webhooks/stripe", token=None, headers={"stripe-signature": signature})


def valid_body(route: str) -> bytes:
    if route == "zapier":
        return json.dumps(zapier_booking()).encode()
    if route == "typeform":
        return typeform_samples.body_bytes(typeform_samples.booking_response())
    session = stripe_samples.checkout_session()
    return stripe_samples.body_bytes(stripe_samples.stripe_event("checkout.session.completed", session))


DEEP = f"the body is nested more than {MAX_DEPTH} levels deep"
NUMBER = "the body has a number longer than 40 characters"
# (body, the message every route answers with)
HOSTILE: dict[str, tuple[bytes, str]] = {
    "1,001 arrays deep": (b"[" * 1_001 + b"]" * 1_001, DEEP),
    "100,000 arrays deep": (b"[" * 100_000 + b"]" * 100_000, DEEP),
    "1,001 objects deep": (b'{"a":' * 1_001 + b"1" + b"}" * 1_001, DEEP),
    "50,000 unclosed objects deep": (b'{"a":' * 50_000, DEEP),  # 250 kB: within the size limit
    "duplicate key": (
        b'{"type": "form_response", "type": "x"}',
        "the body gives the key type twice in one object",
    ),
    "NaN": (b'{"id": "evt_1", "amount": NaN}', "the body has NaN, which is not JSON"),
    "Infinity": (b'{"id": "evt_1", "amount": -Infinity}', "the body has -Infinity, which is not JSON"),
    "10,000-digit number": (b'{"amount": ' + b"7" * 10_000 + b"}", NUMBER),
    "10,000-digit fraction": (b'{"amount": 0.' + b"7" * 10_000 + b"}", NUMBER),
    "number beyond a double": (b'{"amount": 1e999}', "the body has a number too large for a double"),
    "invalid UTF-8": (b'{"title": "Bar\xe1\x9aek"}', "the body is not UTF-8 (invalid byte at offset 14)"),
    "half a surrogate pair": (
        b'{"title": "\\ud800"}',
        "the body has a \\u escape for half a surrogate pair, which is no character",
    ),
    "truncated": (b'{"title": ', "the body is not valid JSON (Expecting value: line 1, column 11)"),
}


def replies_from_every_route(webhook: Webhook, body: bytes, **kwargs: bool) -> dict[str, Reply]:
    return {route: post(webhook, route, body, **kwargs) for route in ROUTES}


@pytest.mark.parametrize("case", HOSTILE)
def test_every_route_answers_a_hostile_body_with_the_same_400(
    webhook: Webhook, stand_in: BizKitHubStandIn, case: str
) -> None:
    body, message = HOSTILE[case]
    post(webhook, "zapier", b"{}")  # services built and secrets read before the timing below

    timed: dict[str, tuple[Reply, float]] = {}
    for route in ROUTES:
        started = time.perf_counter()
        timed[route] = (post(webhook, route, body), time.perf_counter() - started)

    for route, (reply, seconds) in timed.items():
        assert (reply.status, reply.body) == (400, {"error": "malformed_request", "message": message}), route
        assert seconds < 0.5, f"{route} took {seconds:.2f} s"
    assert stand_in.calls == []


@pytest.mark.parametrize("case", ["100,000 arrays deep", "duplicate key", "invalid UTF-8"])
def test_a_hostile_body_without_credentials_is_401_before_anything_parses_it(
    webhook: Webhook, stand_in: BizKitHubStandIn, case: str
) -> None:
    replies = replies_from_every_route(webhook, HOSTILE[case][0], authentic=False)

    assert {route: reply.status for route, reply in replies.items()} == dict.fromkeys(ROUTES, 401)
    assert stand_in.calls == []


@pytest.mark.parametrize("route", ROUTES)
def test_a_leading_byte_order_mark_is_ignored_on_every_route(
    webhook: Webhook, stand_in: BizKitHubStandIn, route: str
) -> None:
    reply = post(webhook, route, BOM + valid_body(route))

    assert (reply.status, reply.body["status"]) == (200, "delivered"), reply.body
    assert len(stand_in.accepted_events) == 1


@pytest.mark.parametrize("route", ROUTES)
def test_the_deepest_body_allowed_is_read_and_refused_by_the_sender_format_only(
    webhook: Webhook, route: str
) -> None:
    body = b'{"a":' * (MAX_DEPTH - 1) + b"[]" + b"}" * (MAX_DEPTH - 1)

    reply = post(webhook, route, body)

    assert reply.status in (400, 422)
    assert "nested" not in reply.body["message"]


SHAPES: list[Callable[[bytes], bytes]] = [
    lambda body: body.replace(b"{", b'{"x": 1, "x": 2, ', 1),
    lambda body: body[:-2] + b"\xff" + body[-2:],
]


@pytest.mark.parametrize("shape", SHAPES, ids=["duplicate key", "invalid UTF-8"])
def test_a_genuine_booking_made_ambiguous_or_unreadable_is_refused_alike_everywhere(
    webhook: Webhook, stand_in: BizKitHubStandIn, shape: Callable[[bytes], bytes]
) -> None:
    replies = {route: post(webhook, route, shape(valid_body(route))) for route in ROUTES}

    assert {route: reply.status for route, reply in replies.items()} == dict.fromkeys(ROUTES, 400)
    assert len({reply.body["message"].split(" (")[0] for reply in replies.values()}) == 1
    assert stand_in.calls == []
