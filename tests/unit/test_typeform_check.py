"""The `typeform_check` command: validates rules and dry-runs payloads through them."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bookhook.settings import FUNCTION_ROOT
from bookhook_dev.testing.lambda_emulation import is_text_media_type
from bookhook_dev.tools import typeform_check, typeform_samples
from bookhook_dev.tools.typeform_samples import (
    DOCUMENTED_SHAPE_TOKEN,
    answers_with,
    body_bytes,
    booking_response,
    documented_shape_response,
)
from tests.typeform_expected import SAMPLE_ADD_EVENT_BODY, SAMPLE_BOOKING_KEY

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
TYPEFORM_EVENTS = sorted(EVENTS.glob("typeform-*.json"))
SHIPPED_RULES = FUNCTION_ROOT / "typeform_rules.toml"


def run(*argv: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    status = typeform_check.main([str(arg) for arg in argv], out=out)
    return status, out.getvalue()


def printed_bodies(output: str) -> list[dict[str, Any]]:
    """The JSON documents printed after each 'add-event body:' line."""
    decoder = json.JSONDecoder()
    bodies = []
    for match in re.finditer(r"add-event body:\n", output):
        document, _ = decoder.raw_decode(output, match.end())
        bodies.append(document)
    return bodies


def write_body(tmp_path: Path, name: str, document: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_bytes(body_bytes(document))
    return path


# What each sample is booked under: the documented-shape sample is a response of its own.
SAMPLE_KEYS = {
    "typeform-booking.json": SAMPLE_BOOKING_KEY,
    "typeform-booking-base64-robustness.json": SAMPLE_BOOKING_KEY,
    "typeform-booking-documented-shape.json": f"typeform:GymB00k1:{DOCUMENTED_SHAPE_TOKEN}",
}


def test_there_are_typeform_sample_events() -> None:
    assert sorted(path.name for path in TYPEFORM_EVENTS) == sorted(SAMPLE_KEYS)


def test_sample_event_files_are_what_typeform_samples_writes(tmp_path: Path) -> None:
    """So they are signed with the local secret and cannot drift from the sample they show."""
    assert typeform_samples.main(["write", str(tmp_path)]) == 0

    for path in TYPEFORM_EVENTS:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("event_file", TYPEFORM_EVENTS, ids=[path.name for path in TYPEFORM_EVENTS])
def test_samples_are_encoded_as_an_http_api_would_or_named_a_robustness_case(event_file: Path) -> None:
    """An HTTP API passes text/*, JSON, XML and JavaScript bodies as text and base64-encodes the
    rest (../shared/reference/senders.md). The first release shipped a base64 JSON sample as if
    API Gateway sent it (`typeform-booking-base64.json`)."""
    event = json.loads(event_file.read_text(encoding="utf-8"))
    as_an_http_api_would = event["isBase64Encoded"] != is_text_media_type(
        event["headers"].get("content-type")
    )

    assert as_an_http_api_would or "robustness" in event_file.name


def test_rules_only() -> None:
    status, output = run()

    assert status == 0
    assert output == f"rules: {SHIPPED_RULES}: OK, forms GymB00k1\n"


@pytest.mark.parametrize("event_file", TYPEFORM_EVENTS, ids=[path.name for path in TYPEFORM_EVENTS])
def test_each_sample_event_prints_the_add_event_body(event_file: Path) -> None:
    status, output = run(event_file)

    assert status == 0
    assert f"{event_file}: booking key {SAMPLE_KEYS[event_file.name]}; add-event body:" in output
    assert printed_bodies(output) == [SAMPLE_ADD_EVENT_BODY]
    assert "warning" not in output


def test_all_sample_events_at_once() -> None:
    status, output = run("--rules", SHIPPED_RULES, *TYPEFORM_EVENTS)

    assert status == 0
    assert printed_bodies(output) == [SAMPLE_ADD_EVENT_BODY] * len(TYPEFORM_EVENTS)
    assert "Jan Barášek" in output  # printed as UTF-8, not \\u escapes


def test_raw_typeform_body_file(tmp_path: Path) -> None:
    path = write_body(tmp_path, "body.json", booking_response())

    status, output = run(path)
    assert status == 0
    assert printed_bodies(output) == [SAMPLE_ADD_EVENT_BODY]


def test_raw_and_api_gateway_files_give_the_same_body(tmp_path: Path) -> None:
    raw = write_body(tmp_path, "body.json", booking_response())

    _, raw_output = run(raw)
    _, event_output = run(EVENTS / "typeform-booking.json")
    assert printed_bodies(raw_output) == printed_bodies(event_output)


def test_broken_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(SHIPPED_RULES.read_text(encoding="utf-8").replace("Europe/Prague", "Mars/Olympus"))

    status, output = run("--rules", rules, EVENTS / "typeform-booking.json")
    assert status == 1
    assert output.startswith(f"rules: {rules}: ")
    assert "form GymB00k1, key timezone" in output
    assert "add-event body" not in output


def test_rules_file_with_a_misspelt_key(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(SHIPPED_RULES.read_text(encoding="utf-8").replace("calendar_id =", "calendar =", 1))

    status, output = run("--rules", rules)
    assert status == 1
    assert "form GymB00k1, key calendar: " in output
    assert "form GymB00k1, key calendar_id: " in output


def test_rules_file_that_is_not_toml(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[forms.GymB00k1\n", encoding="utf-8")

    status, output = run("--rules", rules)
    assert status == 1
    assert "not valid TOML" in output


def test_missing_rules_file(tmp_path: Path) -> None:
    status, output = run("--rules", tmp_path / "absent.toml")

    assert status == 1
    assert "cannot be read" in output


def test_empty_rules_file_is_ok_but_every_payload_is_unknown(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("", encoding="utf-8")

    assert run("--rules", rules) == (0, f"rules: {rules}: OK, forms (none)\n")
    status, output = run("--rules", rules, EVENTS / "typeform-booking.json")
    assert status == 1
    assert "form_response.form_id" in output


def test_payload_of_an_unknown_form(tmp_path: Path) -> None:
    path = write_body(tmp_path, "other.json", booking_response(form_id="Unknown42"))

    status, output = run(path)
    assert status == 1
    assert f"{path}: 422 unmappable (field form_response.form_id): " in output
    assert "Unknown42" in output
    assert printed_bodies(output) == []


def test_one_bad_payload_fails_the_run_but_the_others_are_still_printed(tmp_path: Path) -> None:
    bad = write_body(tmp_path, "bad.json", answers_with(booking_response(), booking_date=None))

    status, output = run(EVENTS / "typeform-booking.json", bad)
    assert status == 1
    assert printed_bodies(output) == [SAMPLE_ADD_EVENT_BODY]
    assert f"{bad}: 422 unmappable (field booking_date): " in output


def test_ignored_payload_is_ok(tmp_path: Path) -> None:
    document = booking_response()
    document["event_type"] = "something_else"
    path = write_body(tmp_path, "ignored.json", document)

    status, output = run(path)
    assert status == 0
    assert f"{path}: ignored: " in output


@pytest.mark.parametrize("content", [b"not json", b"\xff\xfe\x00"])
def test_unreadable_payload(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)

    status, output = run(path)
    assert status == 1
    assert f"{path}: cannot be read" in output


def test_missing_payload_file(tmp_path: Path) -> None:
    status, output = run(tmp_path / "absent.json")

    assert status == 1
    assert "cannot be read" in output


def test_api_gateway_event_with_a_non_json_body(tmp_path: Path) -> None:
    event = json.loads((EVENTS / "typeform-booking.json").read_text(encoding="utf-8"))
    event["body"] = "<xml/>"
    event["isBase64Encoded"] = False
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")

    status, output = run(path)
    assert status == 1
    assert "400 malformed_request" in output


# --- refs: on the answer, else in the form definition ----------------------------------------------


def test_refs_only_in_the_definition_map_without_warnings(tmp_path: Path) -> None:
    path = write_body(tmp_path, "documented.json", documented_shape_response())

    status, output = run(path)

    assert status == 0
    assert printed_bodies(output) == [SAMPLE_ADD_EVENT_BODY]
    assert "warning" not in output


def test_an_answer_whose_ref_cannot_be_resolved_is_reported(tmp_path: Path) -> None:
    document = documented_shape_response()
    fields = document["form_response"]["definition"]["fields"]
    notes = next(field for field in fields if field["ref"] == "notes")
    del notes["ref"]  # the rules do not use it: the booking still maps
    path = write_body(tmp_path, "no-ref.json", document)

    status, output = run(path)

    assert status == 0
    [warning] = [line for line in output.splitlines() if "warning" in line]
    assert warning == (
        f"{path}: warning: answer #8 (field id q_notes, type long_text) has no ref: neither field.ref"
        " nor definition.fields names one; rules can address it only by its field id"
    )
    assert printed_bodies(output) == [SAMPLE_ADD_EVENT_BODY]


def test_without_a_definition_every_unresolved_answer_is_reported_and_the_error_says_why(
    tmp_path: Path,
) -> None:
    path = write_body(tmp_path, "no-definition.json", documented_shape_response(definition=None))

    status, output = run(path)

    assert status == 1
    assert output.count(f"{path}: warning: answer #") == 14
    assert "answer #1 (field id q_date, type date) has no ref" in output
    assert (
        f"{path}: 422 unmappable (field booking_date): answer booking_date is missing (14 answers" in output
    )


def test_a_ref_on_the_answer_is_never_reported(tmp_path: Path) -> None:
    path = write_body(tmp_path, "body.json", booking_response(definition=None))

    status, output = run(path)

    assert status == 0
    assert "warning" not in output
