"""The Typeform webhook end to end: signature, rules, exactly-once, and what Typeform is told."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from bookhook.handlers import webhook as webhook_module
from bookhook.sources.typeform import expected_signature
from bookhook.sources.typeform.rules import RulesError
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn
from bookhook_dev.testing.lambda_emulation import LocalResources
from bookhook_dev.tools.typeform_samples import (
    answers_with,
    body_bytes,
    booking_response,
    documented_shape_response,
)
from tests.integration.conftest import Reply, Webhook
from tests.integration.function_log import all_output, function_log
from tests.typeform_expected import SAMPLE_ADD_EVENT_BODY

EVENTS = Path(__file__).resolve().parents[2] / "events"


def post_typeform(
    webhook: Webhook,
    body: bytes,
    *,
    secret: str | None = defaults.TYPEFORM_SECRET,
    signature: str | None = None,
) -> Reply:
    headers = {"user-agent": "Typeform Webhooks"}
    if signature is None and secret is not None:
        signature = expected_signature(secret, body)
    if signature is not None:
        headers["typeform-signature"] = signature
    return webhook.post(body, path="/webhooks/typeform", token=None, headers=headers)


@pytest.mark.parametrize(
    "event_file",
    [
        "typeform-booking.json",
        # A JSON body base64-encoded, which a real HTTP API does not send: decoded all the same.
        "typeform-booking-base64-robustness.json",
        # Typeform's documented shape: refs only in definition.fields. First release: 422.
        "typeform-booking-documented-shape.json",
    ],
)
def test_signed_sample_reaches_bizkithub_as_the_rules_describe(
    webhook: Webhook, stand_in: BizKitHubStandIn, event_file: str
) -> None:
    reply = webhook.invoke(json.loads((EVENTS / event_file).read_text()))

    assert reply.status == 200, reply.body
    assert reply.body["status"] == "delivered"
    [call] = stand_in.calls
    assert reply.body["eventId"] == call.event_id
    assert call.body == SAMPLE_ADD_EVENT_BODY


def test_the_documented_shape_is_its_own_response_the_base64_sample_a_repeat(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    files = [
        "typeform-booking.json",
        "typeform-booking-base64-robustness.json",
        "typeform-booking-documented-shape.json",
    ]
    replies = [webhook.invoke(json.loads((EVENTS / name).read_text())) for name in files]

    assert [r.body["status"] for r in replies] == ["delivered", "duplicate", "delivered"]
    assert replies[0].body["eventId"] == replies[1].body["eventId"] != replies[2].body["eventId"]
    assert [call.body for call in stand_in.calls] == [SAMPLE_ADD_EVENT_BODY] * 2


# --- Typeform's documented shapes (tests/fidelity has the published example itself) ---------------


def _without_refs_on_answers(response: dict[str, Any]) -> dict[str, Any]:
    for answer in response["form_response"]["answers"]:
        answer["field"].pop("ref", None)
    return response


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(documented_shape_response(), id="documented shape"),
        pytest.param(_without_refs_on_answers(booking_response()), id="sample, refs only in the definition"),
    ],
)
def test_refs_only_in_the_definition_book_like_refs_on_the_answers(
    webhook: Webhook, stand_in: BizKitHubStandIn, response: dict[str, Any]
) -> None:
    """First release: 422 naming booking_date, since refs were looked up only on the answers."""
    reply = post_typeform(webhook, body_bytes(response))

    assert reply.status == 200, reply.body
    [call] = stand_in.calls
    assert call.body == SAMPLE_ADD_EVENT_BODY


@pytest.mark.parametrize("key", ["hidden", "variables", "calculated", "definition", "ending"])
def test_optional_parts_sent_as_null_read_as_absent(
    webhook: Webhook, stand_in: BizKitHubStandIn, key: str
) -> None:
    """First release: `hidden: null` and `variables: null` were answered 400."""
    reply = post_typeform(webhook, body_bytes(booking_response(**{key: None})))

    assert reply.status == 200, reply.body
    [event] = stand_in.accepted_events
    branch = "" if key == "hidden" else "Vinohrady"
    assert event["locationTitle"] == f"GymRoom {branch}".strip()


def test_without_a_definition_answers_without_refs_are_422_saying_why(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    reply = post_typeform(webhook, body_bytes(documented_shape_response(definition=None)))

    assert reply.status == 422, reply.body
    assert reply.body["field"] == "booking_date"
    assert "14 answers of the response name no ref" in reply.body["message"]
    assert stand_in.calls == []


@pytest.mark.parametrize(
    ("booking_date", "booking_time", "start_utc"),
    [
        pytest.param("2026-03-28", "10:00", "2026-03-28T09:00:00.000Z", id="day before spring change: CET"),
        pytest.param("2026-03-29", "10:00", "2026-03-29T08:00:00.000Z", id="spring change day: CEST"),
        pytest.param("2026-10-25", "10:00", "2026-10-25T09:00:00.000Z", id="autumn change day: CET"),
        pytest.param("2026-10-24", "10:00", "2026-10-24T08:00:00.000Z", id="day before autumn change: CEST"),
        pytest.param("2026-10-25", "02:30", "2026-10-25T00:30:00.000Z", id="ambiguous: first occurrence"),
    ],
)
def test_start_is_converted_from_the_forms_timezone_across_daylight_saving(
    webhook: Webhook, stand_in: BizKitHubStandIn, booking_date: str, booking_time: str, start_utc: str
) -> None:
    response = answers_with(
        booking_response(), booking_date=booking_date, booking_time={"id": "t", "label": booking_time}
    )

    reply = post_typeform(webhook, body_bytes(response))

    assert reply.status == 200, reply.body
    [event] = stand_in.accepted_events
    assert event["startTime"] == start_utc


def test_local_time_skipped_by_the_spring_change_is_422_naming_the_field(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    response = answers_with(
        booking_response(), booking_date="2026-03-29", booking_time={"id": "t", "label": "02:30"}
    )

    reply = post_typeform(webhook, body_bytes(response))

    assert reply.status == 422
    assert reply.body["field"] == "booking_time"
    assert "does not exist" in reply.body["message"]
    assert stand_in.calls == []


def _reserialised(body: bytes) -> bytes:
    return json.dumps(json.loads(body), ensure_ascii=False, indent=2).encode("utf-8")


def _hex_signature(body: bytes) -> str:
    # The common bug: a hex digest where Typeform sends base64.
    return "sha256=" + hmac.new(defaults.TYPEFORM_SECRET.encode(), body, hashlib.sha256).hexdigest()


SAMPLE = body_bytes(booking_response())


@pytest.mark.parametrize(
    ("body", "secret", "signature"),
    [
        pytest.param(
            _reserialised(SAMPLE),
            None,
            expected_signature(defaults.TYPEFORM_SECRET, SAMPLE),
            id="re-serialised body, original signature",
        ),
        pytest.param(SAMPLE, "a-different-secret-000", None, id="wrong secret"),
        pytest.param(SAMPLE, None, None, id="no header"),
        pytest.param(SAMPLE, None, _hex_signature(SAMPLE), id="hex digest instead of base64"),
    ],
)
def test_unauthentic_typeform_requests_get_401_and_nothing_is_sent(
    webhook: Webhook, stand_in: BizKitHubStandIn, body: bytes, secret: str | None, signature: str | None
) -> None:
    reply = post_typeform(webhook, body, secret=secret, signature=signature)

    assert reply.status == 401
    assert reply.body["field"] == "Typeform-Signature"
    assert stand_in.calls == []


def test_the_same_response_delivered_three_times_books_once(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    body = body_bytes(booking_response())

    replies = [post_typeform(webhook, body) for _ in range(3)]

    assert [r.status for r in replies] == [200, 200, 200]
    assert [r.body["status"] for r in replies] == ["delivered", "duplicate", "duplicate"]
    assert len({r.body["eventId"] for r in replies}) == 1
    assert len(stand_in.calls) == 1


def test_a_resent_response_with_another_event_id_books_once(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    # Typeform's "resend" gives a new event_id; the response token stays, and it is the booking key.
    first = booking_response()
    resent = booking_response()
    resent["event_id"] = "01JDXKZZZZZZZZZZZZZZZZZZZZ"

    replies = [post_typeform(webhook, body_bytes(first)), post_typeform(webhook, body_bytes(resent))]

    assert [r.body["status"] for r in replies] == ["delivered", "duplicate"]
    assert len(stand_in.calls) == 1


def test_both_secrets_verify_while_one_is_rotated(
    webhook: Webhook, stand_in: BizKitHubStandIn, aws: LocalResources
) -> None:
    new_secret = "rotated-typeform-secret-42"
    document = defaults.secret_document()
    document["webhookSecrets"]["typeform"] = [new_secret, defaults.TYPEFORM_SECRET]  # type: ignore[index]
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.secret_arn, SecretString=json.dumps(document)
    )
    other_response = booking_response(token="b4b23fd78b2476038109b717218bgd26")

    old = post_typeform(webhook, body_bytes(booking_response()), secret=defaults.TYPEFORM_SECRET)
    new = post_typeform(webhook, body_bytes(other_response), secret=new_secret)

    assert (old.status, new.status) == (200, 200)
    assert len(stand_in.accepted_events) == 2


@pytest.mark.parametrize(
    ("response", "status", "field"),
    [
        pytest.param(
            booking_response(form_id="NoRules1"), 422, "form_response.form_id", id="form without rules"
        ),
        pytest.param(
            answers_with(booking_response(), booking_date=None), 422, "booking_date", id="skipped date"
        ),
        pytest.param(
            answers_with(booking_response(), email="jan@barasek"), 422, "email", id="invalid email answer"
        ),
        pytest.param(
            {"event_type": "form_response", "form_response": {"form_id": "x"}}, 400, None, id="no token"
        ),
    ],
)
def test_unmappable_responses_get_4xx_naming_the_field_never_404_or_410(
    webhook: Webhook, stand_in: BizKitHubStandIn, response: dict[str, Any], status: int, field: str | None
) -> None:
    reply = post_typeform(webhook, body_bytes(response))

    assert reply.status == status, reply.body
    assert reply.body.get("field", "").startswith(field or "")
    assert "jan@barasek" not in json.dumps(reply.body)
    assert stand_in.calls == []


def test_form_without_rules_names_the_form_id(webhook: Webhook) -> None:
    reply = post_typeform(webhook, body_bytes(booking_response(form_id="NoRules1")))

    assert "NoRules1" in reply.body["message"]


def test_other_event_types_are_acknowledged_and_ignored(webhook: Webhook, stand_in: BizKitHubStandIn) -> None:
    response = booking_response()
    response["event_type"] = "form_partial_response"

    reply = post_typeform(webhook, body_bytes(response))

    assert reply.status == 200
    assert reply.body["status"] == "ignored"
    assert stand_in.calls == []


def test_a_broken_rules_file_stops_the_function_at_start_naming_form_and_key(
    webhook: Webhook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        (Path(webhook_module.__file__).parents[2] / "typeform_rules.toml")
        .read_text(encoding="utf-8")
        .replace('timezone = "Europe/Prague"', 'timezone = "Europe/Prag"'),
        encoding="utf-8",
    )
    monkeypatch.setenv("TYPEFORM_RULES_FILE", str(rules))
    webhook_module.use_services(None)

    with pytest.raises(RulesError, match=r"form GymB00k1, key timezone"):
        post_typeform(webhook, body_bytes(booking_response()))


# --- what the response names: described, never repeated --------------------------------------------

CANARY_EMAIL = "jan.canary@example.cz"
CANARY = f"note for {CANARY_EMAIL} +420 603 111 222"
CANARIES = (CANARY_EMAIL, "canary", "example.cz", "603 111 222", "603111222")


def _with_canary_hidden_field(response: dict[str, Any]) -> dict[str, Any]:
    response["form_response"]["hidden"] = {**response["form_response"].get("hidden", {}), CANARY: CANARY}
    return response


@pytest.mark.parametrize(
    ("response", "status", "field"),
    [
        pytest.param(booking_response(form_id=CANARY), 422, "form_response.form_id", id="form id"),
        pytest.param({**booking_response(), "event_type": CANARY}, 200, None, id="event type"),
        pytest.param(
            _with_canary_hidden_field(answers_with(booking_response(), booking_time={"label": "whenever"})),
            422,
            "booking_time",
            id="hidden field name beside a bad answer",
        ),
        pytest.param(
            _with_canary_hidden_field(booking_response(form_id="NoRules1")),
            422,
            "form_response.form_id",
            id="hidden field name, form without rules",
        ),
    ],
)
def test_names_in_the_response_are_described_in_the_answer_and_the_log(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    capfd: pytest.CaptureFixture[str],
    response: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    """First release: a form id without rules came back whole in the message, an event type whole
    in the reason."""
    with function_log() as log:
        reply = post_typeform(webhook, body_bytes(response))

    assert reply.status == status, reply.body
    assert reply.body.get("field") == field
    logged = all_output(log, capfd)
    for canary in CANARIES:
        assert canary not in json.dumps(reply.body, ensure_ascii=False), canary
        assert canary not in logged, canary
    assert stand_in.calls == []
