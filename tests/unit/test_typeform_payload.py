"""Typeform's webhook body: every documented answer type, hidden fields, variables, unknown keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bookhook.errors import Unmappable
from bookhook.request import WebhookRequest
from bookhook.settings import FUNCTION_ROOT
from bookhook.sources import Booking
from bookhook.sources.typeform.mapping import Answers, read_booking, unresolved_answers
from bookhook.sources.typeform.payload import TypeformWebhook
from bookhook.sources.typeform.rules import AnswerTemplate, BookingRules, load_rules, parse_rules
from bookhook_dev.tools.typeform_samples import (
    FORM_ID,
    answers_with,
    body_bytes,
    booking_response,
    documented_shape_response,
)

SHIPPED_RULES: BookingRules = load_rules(FUNCTION_ROOT / "typeform_rules.toml")
EVENTS = Path(__file__).resolve().parents[2] / "events"


def parse(document: dict[str, Any]) -> TypeformWebhook:
    return TypeformWebhook.model_validate_json(body_bytes(document))


def answers_of(document: dict[str, Any]) -> Answers:
    webhook = parse(document)
    assert webhook.form_response is not None
    return Answers(webhook.form_response)


def answer(ref: str, answer_type: str, value: Any, field_type: str = "short_text") -> dict[str, Any]:
    return {
        "type": answer_type,
        answer_type: value,
        "field": {"id": f"id_{ref}", "type": field_type, "ref": ref},
    }


def response_with_answers(*extra: dict[str, Any]) -> dict[str, Any]:
    document = booking_response()
    document["form_response"]["answers"].extend(extra)
    return document


def request(document: dict[str, Any]) -> WebhookRequest:
    return WebhookRequest(body=body_bytes(document), headers={"content-type": "application/json"})


def sample_wire_event(document: dict[str, Any], rules: BookingRules = SHIPPED_RULES) -> dict[str, Any]:
    result = read_booking(request(document), rules)
    assert isinstance(result, Booking)
    return result.event.wire_event()


# --- the sample ---------------------------------------------------------------------------------


def test_sample_parses() -> None:
    webhook = parse(booking_response())

    assert webhook.event_type == "form_response"
    assert webhook.event_id == "01JDXKQ3M4ZV6P9W2R8T5Y7B1C"
    response = webhook.form_response
    assert response is not None
    assert response.form_id == FORM_ID
    assert response.token == "a3a12ec67a1365927098a606107fac15"
    assert response.submitted_at is not None
    assert response.submitted_at.isoformat() == "2026-11-24T10:01:47+00:00"
    assert response.hidden == {"branch": "Vinohrady"}
    assert [(v.key, v.type) for v in response.variables] == [("score", "number"), ("plan", "text")]
    assert response.definition is not None
    assert response.definition.title == "Book a training"
    assert len(response.answers) == 14
    assert [a.field.ref for a in response.answers][:3] == ["booking_date", "booking_time", "name"]


def test_sample_event_file_body_parses() -> None:
    event = json.loads((EVENTS / "typeform-booking.json").read_text(encoding="utf-8"))
    webhook = TypeformWebhook.model_validate_json(event["body"])

    assert webhook.form_response is not None
    assert webhook.form_response.form_id == FORM_ID


SAMPLE_TEXTS = {
    "booking_date": "2026-12-03",
    "booking_time": "10:30",
    "name": "Jan Barášek",
    "email": "jan@barasek.com",
    "phone": "+420777123456",
    "goals": "Strength, Mobility",
    "experience": "Intermediate",
    "notes": "Knee surgery in 2024 – please go easy.\nThanks!",
    "age": "34",
    "newsletter": "no",
    "website": "https://barasek.example",
    "medical_note": "https://api.typeform.com/responses/files/abc/note.pdf",
    "deposit": "200.00",
    "rating": "5",
    "hidden.branch": "Vinohrady",
    "variables.score": "0",
    "variables.plan": "trial",
    "calculated.score": "0",
}


@pytest.mark.parametrize(("ref", "expected"), SAMPLE_TEXTS.items())
def test_sample_answer_texts(ref: str, expected: str) -> None:
    answers = answers_of(booking_response())

    assert answers.text(ref) == expected
    assert answers[ref] == expected


def test_answers_are_also_addressed_by_field_id() -> None:
    answers = answers_of(booking_response())

    assert answers.text("q_name") == "Jan Barášek"
    assert answers.text("q_date") == "2026-12-03"


# --- every documented answer type ---------------------------------------------------------------

TYPED_ANSWERS: list[tuple[str, Any, str]] = [
    ("text", "Hello there", "Hello there"),
    ("email", "someone@example.com", "someone@example.com"),
    ("date", "2026-12-03", "2026-12-03"),
    ("phone_number", "+420777123456", "+420777123456"),
    ("choice", {"id": "c1", "label": "Evening", "ref": "evening"}, "Evening"),
    ("choice", {"other": "After lunch"}, "After lunch"),
    ("choice", {"id": "c1", "label": "Evening", "ref": "evening", "other": "After lunch"}, "After lunch"),
    (
        "choices",
        {"ids": ["a", "b"], "labels": ["Strength", "Mobility"], "refs": ["s", "m"]},
        "Strength, Mobility",
    ),
    (
        "choices",
        {"ids": ["a"], "labels": ["Strength"], "refs": ["s"], "other": "Boxing"},
        "Strength, Boxing",
    ),
    ("choices", {"labels": [], "other": "Boxing"}, "Boxing"),
    ("number", 34, "34"),
    ("number", 34.0, "34"),
    ("number", 2.5, "2.5"),
    ("number", 0, "0"),
    ("boolean", True, "yes"),
    ("boolean", False, "no"),
    ("url", "https://example.com/x?y=1", "https://example.com/x?y=1"),
    (
        "file_url",
        "https://api.typeform.com/responses/files/abc/photo.jpg",
        "https://api.typeform.com/responses/files/abc/photo.jpg",
    ),
    ("payment", {"amount": "200.00", "last4": "4242", "name": "Jan", "success": True}, "200.00"),
]


@pytest.mark.parametrize(
    ("answer_type", "value", "expected"),
    TYPED_ANSWERS,
    ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(TYPED_ANSWERS)],
)
def test_answer_type_text(answer_type: str, value: Any, expected: str) -> None:
    answers = answers_of(response_with_answers(answer("probe", answer_type, value)))

    assert answers.text("probe") == expected
    assert answers["probe"] == expected
    assert AnswerTemplate("[${probe}]").substitute(answers) == f"[{expected}]"


def test_date_answer_is_typed() -> None:
    webhook = parse(response_with_answers(answer("probe", "date", "2026-02-28")))
    assert webhook.form_response is not None
    probe = webhook.form_response.answers[-1]

    assert probe.date is not None
    assert (probe.date.year, probe.date.month, probe.date.day) == (2026, 2, 28)


# --- hidden fields, variables, calculated score ------------------------------------------------


def test_hidden_fields() -> None:
    answers = answers_of(booking_response(hidden={"branch": "Karlín", "utm_source": "newsletter"}))

    assert answers.text("hidden.branch") == "Karlín"
    assert answers.text("hidden.utm_source") == "newsletter"
    assert answers.text("hidden.absent") is None
    assert answers.text("branch") is None  # hidden fields only under hidden.<name>


def test_variables_text_and_number() -> None:
    document = booking_response(
        variables=[
            {"key": "plan", "type": "text", "text": "premium"},
            {"key": "price", "type": "number", "number": 1290},
            {"key": "ratio", "type": "number", "number": 2.5},
        ]
    )
    answers = answers_of(document)

    assert answers.text("variables.plan") == "premium"
    assert answers.text("variables.price") == "1290"
    assert answers.text("variables.ratio") == "2.5"
    assert answers.text("variables.missing") is None


def test_calculated_score() -> None:
    assert answers_of(booking_response(calculated={"score": 42})).text("calculated.score") == "42"
    assert answers_of(booking_response(calculated={"score": 7.5})).text("calculated.score") == "7.5"
    assert answers_of(booking_response(calculated={})).text("calculated.score") is None


def test_hidden_and_variables_render_in_templates() -> None:
    answers = answers_of(booking_response(hidden={"branch": "Karlín"}))

    rendered = AnswerTemplate("${hidden.branch}/${variables.plan}/${calculated.score}").substitute(answers)
    assert rendered == "Karlín/trial/0"


# --- unknown answer types and unknown keys ------------------------------------------------------

MULTI_FORMAT = {
    "type": "multi_format",
    "multi_format": {"video_url": "https://video.typeform.com/abc.mp4", "audio_url": None},
    "field": {"id": "q_video", "type": "video_answer", "ref": "video"},
}


def test_unknown_answer_type_parses_and_has_no_text() -> None:
    document = response_with_answers(MULTI_FORMAT)
    answers = answers_of(document)

    assert answers.text("video") is None
    assert answers["video"] == ""
    assert answers.text("name") == "Jan Barášek"  # the others still read


def test_unknown_scalar_answer_type_reads_as_text() -> None:
    answers = answers_of(response_with_answers(answer("probe", "future_type", "a value")))

    assert answers.text("probe") == "a value"


def test_unknown_answer_type_does_not_break_a_booking_that_does_not_use_it() -> None:
    expected = sample_wire_event(booking_response())

    assert sample_wire_event(response_with_answers(MULTI_FORMAT)) == expected


def test_unknown_answer_type_fails_only_a_booking_that_uses_it() -> None:
    rules = parse_rules(
        f"""
        [forms.{FORM_ID}]
        calendar_id = "2WRp6X5rSqQa321EjHB2mxZz74u74H84"
        timezone = "Europe/Prague"
        title = "${{video}}"
        start = {{ date = "booking_date", time = "booking_time" }}
        end = {{ duration = "60" }}
        """
    )

    with pytest.raises(Unmappable) as caught:
        read_booking(request(response_with_answers(MULTI_FORMAT)), rules)
    assert caught.value.field == "title"


def add_unknown_keys(document: dict[str, Any]) -> dict[str, Any]:
    document["future_top_level"] = {"nested": [1, 2, 3]}
    response = document["form_response"]
    response["future_response_key"] = "x"
    response["calculated"]["future"] = True
    response["variables"][0]["future"] = "y"
    response["definition"]["future"] = {"a": 1}
    response["definition"]["fields"][0]["choices"] = [{"id": "c", "label": "L"}]
    for item in response["answers"]:
        item["future_answer_key"] = 1
        item["field"]["future_field_key"] = "z"
        for key in ("choice", "choices", "payment"):
            if key in item:
                item[key]["future_value_key"] = "w"
    return document


def test_unknown_keys_anywhere_parse() -> None:
    answers = answers_of(add_unknown_keys(booking_response()))

    assert answers.text("booking_time") == "10:30"
    assert answers.text("goals") == "Strength, Mobility"
    assert answers.text("deposit") == "200.00"


def test_unknown_keys_anywhere_do_not_change_the_booking() -> None:
    expected = sample_wire_event(booking_response())

    assert sample_wire_event(add_unknown_keys(response_with_answers(MULTI_FORMAT))) == expected


# --- skipped answers ----------------------------------------------------------------------------


def test_skipped_answer_reads_as_none_and_empty_in_templates() -> None:
    answers = answers_of(answers_with(booking_response(), notes=None))

    assert answers.text("notes") is None
    assert answers["notes"] == ""
    assert "notes" not in list(answers)
    assert AnswerTemplate("Notes: [${notes}] [$notes]").substitute(answers) == "Notes: [] []"


def test_skipped_answer_renders_empty_in_a_booking() -> None:
    rules = parse_rules(
        f"""
        [forms.{FORM_ID}]
        calendar_id = "2WRp6X5rSqQa321EjHB2mxZz74u74H84"
        timezone = "Europe/Prague"
        title = "Training: ${{name}} ${{notes}}"
        description = "${{notes}}"
        agenda = "Notes: ${{notes}}"
        start = {{ date = "booking_date", time = "booking_time" }}
        end = {{ duration = "60" }}
        """
    )

    event = sample_wire_event(answers_with(booking_response(), notes=None), rules)

    assert event["title"] == "Training: Jan Barášek"
    assert "description" not in event  # rendered empty: left out
    assert event["agenda"] == "Notes:"


# --- refs: on the answer, else in definition.fields -------------------------------------------------
# Typeform's published example payload (https://www.typeform.com/developers/webhooks/example-payload/)
# gives answers only `field: {id, type}`; the ref is on the field of the same id in the definition.


@pytest.mark.parametrize(("ref", "expected"), SAMPLE_TEXTS.items())
def test_documented_shape_answer_texts_by_the_definitions_refs(ref: str, expected: str) -> None:
    answers = answers_of(documented_shape_response())

    assert answers.text(ref) == expected


def test_documented_shape_has_no_ref_on_any_answer() -> None:
    response = parse(documented_shape_response()).form_response

    assert response is not None
    assert [answer.field.ref for answer in response.answers] == [None] * 14
    assert unresolved_answers(response) == []


def test_documented_shape_books_exactly_the_sample() -> None:
    assert sample_wire_event(documented_shape_response()) == sample_wire_event(booking_response())


def test_a_ref_on_the_answer_wins_over_the_definition() -> None:
    document = booking_response()
    for field in document["form_response"]["definition"]["fields"]:
        field["ref"] = f"definition_{field['ref']}"

    answers = answers_of(document)

    assert answers.text("name") == "Jan Barášek"
    assert answers.text("definition_name") is None


def test_answers_without_any_ref_are_addressed_by_id_and_listed() -> None:
    document = documented_shape_response()
    fields = document["form_response"]["definition"]["fields"]
    document["form_response"]["definition"]["fields"] = [f for f in fields if f["ref"] != "notes"]
    response = parse(document).form_response
    assert response is not None

    answers = Answers(response)

    assert answers.text("q_notes") == "Knee surgery in 2024 – please go easy.\nThanks!"
    assert answers.text("notes") is None
    assert [(position, answer.field.id) for position, answer in unresolved_answers(response)] == [
        (8, "q_notes")
    ]


def test_definition_fields_without_a_ref_resolve_nothing() -> None:
    document = documented_shape_response()
    for field in document["form_response"]["definition"]["fields"]:
        field["ref"] = None
    response = parse(document).form_response
    assert response is not None

    assert len(unresolved_answers(response)) == 14
    assert Answers(response).text("q_date") == "2026-12-03"


def test_missing_answer_names_the_unresolved_answers_count() -> None:
    with pytest.raises(Unmappable) as caught:
        read_booking(request(documented_shape_response(definition=None)), SHIPPED_RULES)

    assert caught.value.field == "booking_date"
    assert caught.value.message.startswith(
        "answer booking_date is missing (14 answers of the response name no ref"
    )


def test_a_missing_answer_without_unresolved_answers_has_no_hint() -> None:
    with pytest.raises(Unmappable) as caught:
        read_booking(request(answers_with(booking_response(), booking_date=None)), SHIPPED_RULES)

    assert caught.value.message == "answer booking_date is missing"


# --- null reads as absent ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "empty"),
    [
        ("hidden", {}),
        ("variables", []),
        ("calculated", None),
        ("definition", None),
        ("answers", []),
    ],
)
def test_null_parts_of_a_response_read_as_absent(key: str, empty: Any) -> None:
    """First release: `hidden: null`, `variables: null` and `answers: null` were 400."""
    from_null = parse(booking_response(**{key: None})).form_response
    document = booking_response()
    del document["form_response"][key]
    from_absent = parse(document).form_response

    assert from_null is not None
    assert from_absent is not None
    assert getattr(from_null, key) == getattr(from_absent, key) == empty


def test_null_ending_parses() -> None:
    assert parse(booking_response(ending=None)).form_response is not None


@pytest.mark.parametrize("key", ["ids", "labels", "refs"])
def test_null_lists_of_a_choices_answer_read_as_empty(key: str) -> None:
    document = response_with_answers(
        answer("ranked", "choices", {"ids": ["a"], "labels": ["A"], "refs": ["a"], key: None})
    )

    assert answers_of(document).text("ranked") == ("" if key == "labels" else "A")


def test_null_definition_fields_read_as_empty() -> None:
    document = documented_shape_response()
    document["form_response"]["definition"]["fields"] = None
    response = parse(document).form_response

    assert response is not None
    assert len(unresolved_answers(response)) == 14


def test_the_hint_counts_one_unresolved_answer_in_the_singular() -> None:
    document = answers_with(booking_response(), booking_date=None)
    del document["form_response"]["answers"][-1]["field"]["ref"]
    document["form_response"]["definition"] = None

    with pytest.raises(Unmappable) as caught:
        read_booking(request(document), SHIPPED_RULES)

    assert caught.value.message.startswith(
        "answer booking_date is missing (1 answer of the response names no ref"
    )
