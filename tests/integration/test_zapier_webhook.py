"""The Zapier webhook end to end: handler + moto + the BizKitHub stand-in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn
from bookhook_dev.testing.lambda_emulation import LocalResources
from tests.integration.conftest import Webhook, zapier_booking
from tests.integration.function_log import all_output, function_log

EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_json_booking_reaches_bizkithub_as_add_event(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    reply = webhook.post(
        zapier_booking(notifyBefore="1h30m", agenda="– Warm-up\n– Cool down", isBlocking=True)
    )

    assert reply.status == 200
    assert reply.body["status"] == "delivered"
    [call] = stand_in.calls
    assert call.status == 200
    assert call.auth_mode == "query"
    assert call.api_key == defaults.BIZKITHUB_API_KEY
    assert reply.body["eventId"] == call.event_id
    assert call.body == {
        "event": {
            "calendarId": defaults.CALENDAR_ID,
            "startTime": "2026-12-01T09:00:00.000Z",
            "endTime": "2026-12-01T10:30:00.000Z",
            "title": "Training with Jan",
            "agenda": "– Warm-up\n– Cool down",
            "notifyBefore": "1h 30m",
            "isBlocking": True,
            "attendees": [{"name": "Jan Barášek", "email": "jan@barasek.com", "phone": "+420 777123456"}],
        }
    }


def test_form_encoded_booking_arrives_base64_and_is_delivered(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    form = urlencode(zapier_booking(isBlocking="true", attendeeMemberId="1234", description=""))

    reply = webhook.post(form, content_type="application/x-www-form-urlencoded")

    assert reply.status == 200
    [event] = stand_in.accepted_events
    assert event["isBlocking"] is True
    assert event["attendees"][0]["memberId"] == 1234
    assert "description" not in event  # Zapier's empty string means "not mapped"


def test_nested_event_object_is_forwarded_as_is(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    event = defaults.documented_example_event()

    reply = webhook.post({"event": event})

    assert reply.status == 200
    assert stand_in.accepted_events == [event]


@pytest.mark.parametrize("event_file", ["zapier-json.json", "zapier-form.json"])
def test_sample_events_are_delivered(webhook: Webhook, stand_in: BizKitHubStandIn, event_file: str) -> None:
    reply = webhook.invoke(json.loads((EVENTS / event_file).read_text()))

    assert reply.status == 200, reply.body
    assert [call.event_id for call in stand_in.calls] == [reply.body["eventId"]]


def test_same_booking_twice_creates_one_event_with_same_event_id(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources
) -> None:
    first = webhook.post(zapier_booking())
    second = webhook.post(zapier_booking(startTime="2026-12-01T09:00:00Z"))  # same instant, other offset

    assert (first.status, second.status) == (200, 200)
    assert second.body == {"status": "duplicate", "eventId": first.body["eventId"]}
    assert len(stand_in.calls) == 1
    items = boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    assert len(items) == 1
    assert items[0]["state"]["S"] == "delivered"
    assert items[0]["event_id"]["S"] == first.body["eventId"]


def test_idempotency_key_header_is_the_booking_key(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    first = webhook.post(zapier_booking(), headers={"Idempotency-Key": "zap-42"})
    other_key = webhook.post(zapier_booking(), headers={"Idempotency-Key": "zap-43"})
    reused_for_other_booking = webhook.post(
        zapier_booking(title="Another"), headers={"Idempotency-Key": "zap-42"}
    )

    assert first.status == 200
    assert other_key.status == 200
    assert other_key.body["eventId"] != first.body["eventId"]
    assert reused_for_other_booking.status == 422
    assert reused_for_other_booking.body["field"] == "Idempotency-Key"
    assert len(stand_in.accepted_events) == 2


@pytest.mark.parametrize(
    ("token", "headers", "query"),
    [
        pytest.param(None, {}, "", id="missing"),
        pytest.param("wrong-token-0123456789", {}, "", id="wrong bearer"),
        pytest.param(None, {"X-Webhook-Token": "wrong-token-0123456789"}, "", id="wrong header token"),
        pytest.param(None, {"Authorization": f"Basic {defaults.ZAPIER_TOKEN}"}, "", id="not bearer"),
        pytest.param(None, {}, f"token={defaults.ZAPIER_TOKEN}", id="query string"),
        pytest.param(
            defaults.ZAPIER_TOKEN, {}, f"token={defaults.ZAPIER_TOKEN}", id="query string beside header"
        ),
        pytest.param(
            defaults.ZAPIER_TOKEN, {"X-Webhook-Token": "wrong-token-0123456789"}, "", id="one of two wrong"
        ),
    ],
)
def test_bad_credentials_get_401_and_nothing_is_forwarded(
    webhook: Webhook, stand_in: BizKitHubStandIn, token: str | None, headers: dict[str, str], query: str
) -> None:
    reply = webhook.post(zapier_booking(), token=token, headers=headers, raw_query=query)

    assert reply.status == 401
    assert reply.body["error"] == "unauthenticated"
    assert defaults.ZAPIER_TOKEN not in json.dumps(reply.body)
    assert stand_in.calls == []


def test_x_webhook_token_header_authenticates(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    reply = webhook.post(zapier_booking(), token=None, headers={"X-Webhook-Token": defaults.ZAPIER_TOKEN})

    assert reply.status == 200
    assert len(stand_in.accepted_events) == 1


def test_no_token_configured_fails_closed(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources
) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.secret_arn, SecretString=json.dumps({"bizkithubApiKey": defaults.BIZKITHUB_API_KEY})
    )

    reply = webhook.post(zapier_booking())

    assert reply.status == 401
    assert stand_in.calls == []


@pytest.mark.parametrize(
    ("secret_string", "expected_message"),
    [
        pytest.param("not json", "not a JSON object", id="not json"),
        pytest.param(
            json.dumps({"webhookSecrets": {"zapier": [defaults.ZAPIER_TOKEN]}}),
            "bizkithubApiKey",
            id="no key",
        ),
        pytest.param(
            json.dumps(
                {"bizkithubApiKey": "sk_live_123", "webhookSecrets": {"zapier": [defaults.ZAPIER_TOKEN]}}
            ),
            "bizkithubApiKey",
            id="malformed key",
        ),
    ],
)
def test_missing_or_malformed_secret_is_503_without_values(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    aws: LocalResources,
    secret_string: str,
    expected_message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=aws.secret_arn, SecretString=secret_string)

    reply = webhook.post(zapier_booking())

    assert reply.status == 503
    assert reply.headers["retry-after"]
    assert expected_message in reply.body["message"]
    assert "sk_live_123" not in json.dumps(reply.body)
    assert stand_in.calls == []


def test_secret_that_does_not_exist_is_503(
    webhook: Webhook, stand_in: BizKitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "BOOKING_SECRET_ARN", "arn:aws:secretsmanager:eu-central-1:123456789012:secret:nope-AbCdEf"
    )
    webhook_module_reset()

    reply = webhook.post(zapier_booking())

    assert reply.status == 503
    assert reply.body["error"] == "configuration_error"


def webhook_module_reset() -> None:
    from bookhook.handlers import webhook as module

    module.use_services(None)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        pytest.param("{not json", "application/json", 400, None, id="broken json"),
        pytest.param("[1, 2]", "application/json", 400, None, id="json array"),
        pytest.param("a=1&a=2", "application/x-www-form-urlencoded", 400, "a", id="repeated form field"),
        pytest.param("<booking/>", "application/xml", 415, "Content-Type", id="xml"),
        pytest.param("title=x", None, 415, "Content-Type", id="no content type"),
        pytest.param(
            json.dumps(zapier_booking(startTime=None)), "application/json", 422, "startTime", id="no start"
        ),
        pytest.param(
            json.dumps(zapier_booking(duration=None)),
            "application/json",
            422,
            "endTime",
            id="no end or duration",
        ),
        pytest.param(
            json.dumps(zapier_booking(startTime="2026-12-01T10:00:00")),
            "application/json",
            422,
            "startTime",
            id="naive",
        ),
        pytest.param(
            json.dumps(zapier_booking(endTime="2026-12-01T08:00:00Z", duration=None)),
            "application/json",
            422,
            "endTime",
            id="end before start",
        ),
        pytest.param(
            json.dumps(zapier_booking(attendeeEmail="not-an-email")),
            "application/json",
            422,
            "attendeeEmail",
            id="email",
        ),
        pytest.param(
            json.dumps(zapier_booking(attendeePhone="777 123 456")),
            "application/json",
            422,
            "attendeePhone",
            id="phone",
        ),
        pytest.param(
            json.dumps(zapier_booking(calendarId="short")), "application/json", 422, "calendarId", id="cal"
        ),
        pytest.param(
            json.dumps(zapier_booking(notifyBefore="soon")),
            "application/json",
            422,
            "notifyBefore",
            id="notify",
        ),
        pytest.param(
            json.dumps(zapier_booking(attendeeEmial="x@y.cz")),
            "application/json",
            422,
            "attendeeEmial",
            id="typo",
        ),
    ],
)
def test_bad_input_gets_clear_error_and_nothing_forwarded(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    body: str,
    content_type: str | None,
    status: int,
    field: str | None,
) -> None:
    reply = webhook.post(body, content_type=content_type)

    assert reply.status == status, reply.body
    assert reply.body.get("field") == field
    assert "jan@barasek.com" not in json.dumps(reply.body)
    assert stand_in.calls == []


def test_body_over_256_kb_is_413(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    reply = webhook.post(zapier_booking(description="x" * (256 * 1024)))

    assert reply.status == 413
    assert stand_in.calls == []


def test_naive_time_uses_default_timezone_when_configured(
    webhook: Webhook, stand_in: BizKitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Europe/Prague")
    webhook_module_reset()

    reply = webhook.post(zapier_booking(startTime="2026-07-01 10:00", duration="1h"))

    assert reply.status == 200
    [event] = stand_in.accepted_events
    assert (event["startTime"], event["endTime"]) == ("2026-07-01T08:00:00.000Z", "2026-07-01T09:00:00.000Z")


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_national_phone_reaches_bizkithub_in_international_form_with_a_default_region(
    webhook: Webhook, stand_in: BizKitHubStandIn, monkeypatch: pytest.MonkeyPatch, content_type: str
) -> None:
    monkeypatch.setenv("DEFAULT_PHONE_REGION", "CZ")
    webhook_module_reset()
    booking = zapier_booking(attendeePhone="777 123 456")
    body = json.dumps(booking) if content_type == "application/json" else urlencode(booking)

    reply = webhook.post(body, content_type=content_type)

    assert reply.status == 200, reply.body
    [event] = stand_in.accepted_events
    assert event["attendees"][0]["phone"] == "+420 777123456"


def test_a_national_phone_without_a_default_region_is_told_it_needs_a_country_code(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    reply = webhook.post(zapier_booking(attendeePhone="777 123 456"))

    assert reply.status == 422, reply.body
    assert reply.body["field"] == "attendeePhone"
    assert "needs a country code" in reply.body["message"]
    assert "123 456" not in json.dumps(reply.body)
    assert stand_in.calls == []


@pytest.mark.parametrize("phone", ["777 123 45", "+420 123 456 789"])
def test_an_invalid_phone_is_refused_naming_the_field_even_with_a_default_region(
    webhook: Webhook, stand_in: BizKitHubStandIn, monkeypatch: pytest.MonkeyPatch, phone: str
) -> None:
    monkeypatch.setenv("DEFAULT_PHONE_REGION", "CZ")
    webhook_module_reset()

    reply = webhook.post(zapier_booking(attendeePhone=phone))

    assert reply.status == 422, reply.body
    assert reply.body["field"] == "attendeePhone"
    assert "not a valid phone number" in reply.body["message"]
    assert stand_in.calls == []


def test_bearer_auth_mode_sends_key_in_header(
    webhook: Webhook, stand_in: BizKitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIZKITHUB_AUTH_MODE", "bearer")
    webhook_module_reset()

    reply = webhook.post(zapier_booking())

    assert reply.status == 200
    [call] = stand_in.calls
    assert (call.auth_mode, call.api_key) == ("bearer", defaults.BIZKITHUB_API_KEY)


def test_numbers_typed_into_a_custom_request_are_accepted(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    reply = webhook.post(zapier_booking(duration=45, attendeeMemberId=77, isAllDay=False))

    assert reply.status == 200, reply.body
    [event] = stand_in.accepted_events
    assert (event["startTime"], event["endTime"]) == ("2026-12-01T09:00:00.000Z", "2026-12-01T09:45:00.000Z")
    assert event["attendees"][0]["memberId"] == 77
    assert event["isAllDay"] is False


# --- keys a form filled in: described, never repeated -------------------------------------------

CANARY_EMAIL = "jan.canary@example.cz"
CANARY_PHONE = "+420 603 111 222"
CANARY_KEY = f"note for {CANARY_EMAIL} {CANARY_PHONE}"
CANARIES = (CANARY_EMAIL, "canary", "example.cz", "603 111 222", "603111222", "603+111+222", "example%2Ecz")
DESCRIBED = f"<key #8, {len(CANARY_KEY)} characters>"
NESTED = {
    "calendarId": defaults.CALENDAR_ID,
    "startTime": "2026-12-01T10:00:00+01:00",
    "endTime": "2026-12-01T11:00:00+01:00",
    "title": "Training",
}


def with_canary_key(value: Any = "x") -> dict[str, Any]:
    return {**zapier_booking(), CANARY_KEY: value}  # the 8th key


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        pytest.param(json.dumps(with_canary_key()), "application/json", 422, DESCRIBED, id="unknown key"),
        pytest.param(
            json.dumps(with_canary_key(CANARY_PHONE)),
            "application/json",
            422,
            DESCRIBED,
            id="holding a phone",
        ),
        pytest.param(
            urlencode(with_canary_key()), "application/x-www-form-urlencoded", 422, DESCRIBED, id="form field"
        ),
        pytest.param(
            urlencode([*with_canary_key().items(), (CANARY_KEY, "y")]),
            "application/x-www-form-urlencoded",
            400,
            f"<field #9, {len(CANARY_KEY)} characters>",
            id="repeated form field",
        ),
        pytest.param(
            json.dumps(with_canary_key())[:-1] + f", {json.dumps(CANARY_KEY)}: 2}}",
            "application/json",
            400,
            None,
            id="repeated JSON key",
        ),
        pytest.param(
            json.dumps({"event": {**NESTED, CANARY_KEY: "y"}}),
            "application/json",
            422,
            f"event.<key #5, {len(CANARY_KEY)} characters>",
            id="inside a nested event",
        ),
        pytest.param(
            json.dumps({"event": NESTED, CANARY_KEY: "y"}),
            "application/json",
            422,
            f"<key #2, {len(CANARY_KEY)} characters>",
            id="next to a nested event",
        ),
        pytest.param(
            json.dumps({"event": {**NESTED, "attendees": [{"name": "Jan", CANARY_KEY: "y"}]}}),
            "application/json",
            422,
            f"event.attendees[0].<key #2, {len(CANARY_KEY)} characters>",
            id="inside an attendee",
        ),
    ],
)
def test_a_key_holding_personal_data_is_described_in_the_answer_and_the_log_never_repeated(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    capfd: pytest.CaptureFixture[str],
    body: str,
    content_type: str,
    status: int,
    field: str | None,
) -> None:
    """First release: the key came back whole as `field`, and in the WARNING line at the default level."""
    with function_log() as log:
        reply = webhook.post(body, content_type=content_type)

    assert reply.status == status, reply.body
    assert reply.body.get("field") == field
    logged = all_output(log, capfd)
    assert '"message":"webhook refused"' in logged  # the refusal's line was captured, and is checked:
    for canary in CANARIES:
        assert canary not in json.dumps(reply.body, ensure_ascii=False), canary
        assert canary not in logged, canary
    assert stand_in.calls == []


def test_a_plain_unknown_key_is_named_so_the_zap_can_be_fixed(webhook: Webhook) -> None:
    reply = webhook.post({**zapier_booking(), "startTme": "2026-12-01T10:00:00+01:00"})

    assert (reply.status, reply.body["field"]) == (422, "startTme")
