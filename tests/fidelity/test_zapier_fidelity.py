"""Zapier as Zapier sends: "Webhooks by Zapier" POST bodies in both payload types, and a Custom
Request, through the real webhook handler (AWS from moto, BizKitHub as the local stand-in), with
the answer the Zap step gets and what reached BizKitHub asserted for each.

Sources of the shapes, written out by hand:
- [HELP] help.zapier.com "Send webhooks in Zaps": the POST action's Payload Type (Form, JSON, XML,
  Raw), its data rows as flat keys (`first_name=Bryan&last_name=Helmig&age=27` for Form, an object
  of the same keys for JSON), headers and Basic auth the user adds; Custom Request for a raw body the
  user types (nested JSON) and for sending empty values.
- [CAPTURED] `events/zapier-json.json` and `events/zapier-form.json`, this project's requests as
  API Gateway passed them on: `user-agent: Zapier`, `accept: */*`, `content-type` without a
  charset, the token the user added as `Authorization: Bearer …`, a form body arriving base64.
- [FORM] the WHATWG URL Standard, "application/x-www-form-urlencoded serializing" (what Python's
  `urlencode` and Zapier's form payload produce): UTF-8, percent-encoded, a space as `+`.
- [JSON] Python's `json.dumps` defaults, which escape every non-ASCII character as `\\uXXXX`, and
  RFC 8259, which allows either form: both are sent below.
- [SENDERS] ../shared/reference/senders.md, "Zapier" and "API Gateway": fields are whatever the user
  maps, as flat keys; rows left empty arrive as empty strings; no signature, no event id (the user
  maps an Idempotency-Key header); Autoreplay resends a failed step; a form body arrives base64.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn

# The integration suite's fixtures (the real handler, moto, the stand-in), used here as they are.
from tests.integration.conftest import Reply, Webhook, aws, function_env, stand_in, webhook

__all__ = ["aws", "function_env", "stand_in", "webhook"]

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# [CAPTURED] what Zapier adds on its own; the user adds the token.
ZAPIER_HEADERS = {"accept": "*/*", "user-agent": "Zapier"}

# [HELP] the data rows of a booking Zap, as text: Zapier's editor has no types. Every row the Zap
# defines is sent; the ones the trigger left empty for this run arrive as empty strings [SENDERS].
ROWS: dict[str, str] = {
    "calendarId": defaults.CALENDAR_ID,
    "startTime": "2026-12-03T09:30:00+01:00",
    "duration": "45",
    "title": "Fyzioterapie – první návštěva",
    "description": "",
    "locationTitle": "Ordinace Karlín, Sokolovská 22, Praha 8",
    "notifyBefore": "1d",
    "isBlocking": "true",
    "type": "",
    "attendeeName": "Žofie Dvořáková",
    "attendeeEmail": "zofie.dvorakova@example.cz",
    "attendeePhone": "",
    "attendeeMemberId": "",
    "attendeeCustomerId": "",
}
EXPECTED = {
    "calendarId": defaults.CALENDAR_ID,
    "startTime": "2026-12-03T08:30:00.000Z",
    "endTime": "2026-12-03T09:15:00.000Z",
    "title": "Fyzioterapie – první návštěva",
    "locationTitle": "Ordinace Karlín, Sokolovská 22, Praha 8",
    "notifyBefore": "1d",
    "isBlocking": True,
    "attendees": [{"name": "Žofie Dvořáková", "email": "zofie.dvorakova@example.cz"}],
}


def send(
    webhook: Webhook,
    body: bytes,
    content_type: str,
    *,
    headers: dict[str, str] | None = None,
    token: bool = True,
) -> Reply:
    all_headers = {**ZAPIER_HEADERS, **(headers or {})}
    return webhook.post(
        body, content_type=content_type, token=defaults.ZAPIER_TOKEN if token else None, headers=all_headers
    )


def form_body(rows: dict[str, str], *, space: str = "+") -> bytes:
    """[FORM] as Zapier's Form payload type encodes it; `space="%20"` for encoders that write it so."""
    if space == "+":
        return urlencode(rows).encode("ascii")
    return urlencode(rows, quote_via=quote).encode("ascii")


def assert_delivered_as_expected(reply: Reply, stand_in: BizKitHubStandIn, expected: dict[str, Any]) -> None:
    assert (reply.status, reply.body["status"]) == (200, "delivered"), reply.body
    assert reply.body["eventId"] == stand_in.calls[0].event_id  # later Zap steps can use it
    [event] = stand_in.accepted_events
    for key, value in expected.items():
        assert event[key] == value, key
    # Rows the trigger left empty are absent, not empty strings that BizKitHub would store.
    for key in ("description", "type"):
        assert key not in event, key


# --- JSON payload type ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["unicode escaped", "raw UTF-8"])
def test_a_json_post_with_empty_rows_books(
    webhook: Webhook, stand_in: BizKitHubStandIn, ensure_ascii: bool
) -> None:
    body = json.dumps(ROWS, ensure_ascii=ensure_ascii).encode("utf-8")

    reply = send(webhook, body, JSON)

    assert_delivered_as_expected(reply, stand_in, EXPECTED)


def test_a_json_post_with_a_charset_books(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    reply = send(webhook, json.dumps(ROWS).encode(), "application/json; charset=utf-8")

    assert_delivered_as_expected(reply, stand_in, EXPECTED)


def test_a_json_post_with_rows_left_out_books_the_same(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    """[HELP] Custom Request is the way to send empty values: a POST may leave empty rows out."""
    rows = {key: value for key, value in ROWS.items() if value}

    reply = send(webhook, json.dumps(rows).encode(), JSON)

    assert_delivered_as_expected(reply, stand_in, EXPECTED)


# --- Form payload type ------------------------------------------------------------------------------


@pytest.mark.parametrize("space", ["+", "%20"])
def test_a_form_post_with_unicode_and_empty_rows_books(
    webhook: Webhook, stand_in: BizKitHubStandIn, space: str
) -> None:
    body = form_body(ROWS, space=space)
    assert b"%C5%BDofie" in body  # Ž as UTF-8, percent-encoded
    assert b"attendeePhone=&" in body

    reply = send(webhook, body, FORM)

    assert_delivered_as_expected(reply, stand_in, EXPECTED)


def test_a_form_post_with_a_charset_books(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    reply = send(webhook, form_body(ROWS), f"{FORM}; charset=utf-8")

    assert_delivered_as_expected(reply, stand_in, EXPECTED)


def test_a_form_post_arrives_base64_as_api_gateway_passes_it(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    """[SENDERS] An HTTP API base64-encodes a form body; the function reads the decoded bytes."""
    reply = webhook.post(
        form_body(ROWS),
        content_type=FORM,
        token=defaults.ZAPIER_TOKEN,
        headers=ZAPIER_HEADERS,
        force_base64=True,
    )

    assert_delivered_as_expected(reply, stand_in, EXPECTED)


def test_json_and_form_of_the_same_rows_are_one_booking(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    """A Zap switched from Form to JSON (or replayed after the switch) does not book twice."""
    replies = [send(webhook, form_body(ROWS), FORM), send(webhook, json.dumps(ROWS).encode(), JSON)]

    assert [reply.body["status"] for reply in replies] == ["delivered", "duplicate"]
    assert replies[0].body["eventId"] == replies[1].body["eventId"]
    assert len(stand_in.accepted_events) == 1


# --- what the user adds: headers, Custom Request -------------------------------------------------------


def test_an_idempotency_key_header_mapped_from_the_trigger_keys_the_booking(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    """[SENDERS] No event id: the user maps one (a form's submission id) into a header. A second
    submission with the same answers is another booking; Autoreplay of the first is not."""
    first = {"idempotency-key": "typeform-response-a3a12ec67a1365927098a606107fac15"}
    second = {"idempotency-key": "typeform-response-b7c0de5a1f2e4d3c9b8a706150fedcba"}

    replies = [
        send(webhook, form_body(ROWS), FORM, headers=first),
        send(webhook, form_body(ROWS), FORM, headers=first),  # Autoreplay
        send(webhook, form_body(ROWS), FORM, headers=second),
    ]

    assert [reply.body["status"] for reply in replies] == ["delivered", "duplicate", "delivered"]
    assert len(stand_in.accepted_events) == 2


def test_a_custom_header_token_instead_of_authorization_books(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    reply = send(
        webhook,
        json.dumps(ROWS).encode(),
        JSON,
        headers={"x-webhook-token": defaults.ZAPIER_TOKEN},
        token=False,
    )

    assert_delivered_as_expected(reply, stand_in, EXPECTED)


def test_a_custom_request_with_bizkithubs_event_object_books_it_as_it_is(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    """[HELP] Custom Request: a raw body the user types, nested JSON included."""
    # As typed into the Zap, the calendar id mapped in where CALENDAR_ID stands.
    typed = """{
  "event": {
    "calendarId": "CALENDAR_ID",
    "startTime": "2026-12-03T09:30:00+01:00",
    "endTime": "2026-12-03T10:15:00+01:00",
    "title": "Fyzioterapie – první návštěva",
    "isBlocking": true,
    "attendees": [{"name": "Žofie Dvořáková", "email": "zofie.dvorakova@example.cz"}]
  }
}"""
    body = typed.replace("CALENDAR_ID", defaults.CALENDAR_ID)

    reply = send(webhook, body.encode("utf-8"), JSON)

    assert (reply.status, reply.body["status"]) == (200, "delivered"), reply.body
    [event] = stand_in.accepted_events
    assert (event["startTime"], event["endTime"], event["title"]) == (
        "2026-12-03T08:30:00.000Z",
        "2026-12-03T09:15:00.000Z",
        "Fyzioterapie – první návštěva",
    )
    assert event["attendees"] == [{"name": "Žofie Dvořáková", "email": "zofie.dvorakova@example.cz"}]


# --- what the Zap step is told when the Zap is wrong ---------------------------------------------------


@pytest.mark.parametrize("content_type", [JSON, FORM])
def test_a_required_row_left_empty_is_the_422_naming_it(
    webhook: Webhook, stand_in: BizKitHubStandIn, content_type: str
) -> None:
    rows = {**ROWS, "startTime": ""}
    body = json.dumps(rows).encode() if content_type == JSON else form_body(rows)

    reply = send(webhook, body, content_type)

    assert reply.status == 422
    assert reply.body["field"] == "startTime"
    assert stand_in.calls == []


@pytest.mark.parametrize("content_type", [JSON, FORM])
def test_a_zap_without_the_token_header_is_401(
    webhook: Webhook, stand_in: BizKitHubStandIn, content_type: str
) -> None:
    body = json.dumps(ROWS).encode() if content_type == JSON else form_body(ROWS)

    reply = send(webhook, body, content_type, token=False)

    assert reply.status == 401
    assert stand_in.calls == []


def test_the_xml_payload_type_is_415_naming_the_two_that_work(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    """[HELP] XML is a Payload Type too; the answer tells the user to pick JSON or Form."""
    body = b"<calendarId>x</calendarId><title>Training</title>"

    reply = send(webhook, body, "application/xml")

    assert reply.status == 415
    assert "application/json" in reply.body["message"]
    assert stand_in.calls == []
