"""A Typeform response plus its form's booking rules → the BizKitHub event (times, DST, errors)."""

from __future__ import annotations

from typing import Any

import pytest

from bookhook.errors import MalformedRequest, Unmappable, UnsupportedContentType
from bookhook.request import WebhookRequest
from bookhook.settings import FUNCTION_ROOT
from bookhook.sources import Booking, Ignored
from bookhook.sources.typeform import source
from bookhook.sources.typeform.mapping import read_booking
from bookhook.sources.typeform.rules import BookingRules, load_rules, parse_rules
from bookhook_dev.tools.typeform_samples import FORM_ID, answers_with, body_bytes, booking_response
from tests.typeform_expected import SAMPLE_ADD_EVENT_BODY, SAMPLE_BOOKING_KEY

CALENDAR_ID = "2WRp6X5rSqQa321EjHB2mxZz74u74H84"
SHIPPED_RULES = load_rules(FUNCTION_ROOT / "typeform_rules.toml")
DATE_AND_TIME = '{ date = "booking_date", time = "booking_time" }'


def rules(
    *extra: str,
    start: str = DATE_AND_TIME,
    end: str = '{ duration = "60" }',
    title: str = '"Training: ${name}"',
    timezone: str = "Europe/Prague",
) -> BookingRules:
    lines = [
        f"[forms.{FORM_ID}]",
        f'calendar_id = "{CALENDAR_ID}"',
        f'timezone = "{timezone}"',
        f"title = {title}",
        f"start = {start}",
        f"end = {end}",
        *extra,
    ]
    return parse_rules("\n".join(lines) + "\n")


def request(payload: dict[str, Any] | bytes, content_type: str | None = "application/json") -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else body_bytes(payload)
    headers = {} if content_type is None else {"content-type": content_type}
    return WebhookRequest(body=body, headers=headers)


def book(payload: dict[str, Any] | bytes, booking_rules: BookingRules) -> Booking:
    result = read_booking(request(payload), booking_rules)
    assert isinstance(result, Booking)
    return result


def wire(payload: dict[str, Any] | bytes, booking_rules: BookingRules) -> dict[str, Any]:
    return book(payload, booking_rules).event.wire_event()


def unmappable(payload: dict[str, Any] | bytes, booking_rules: BookingRules) -> Unmappable:
    with pytest.raises(Unmappable) as caught:
        read_booking(request(payload), booking_rules)
    assert caught.value.status == 422
    return caught.value


def slot(label: str) -> dict[str, str]:
    return {"id": "t", "label": label, "ref": "slot"}


def at(day: str, time_label: str) -> dict[str, Any]:
    """The sample, booked for `day` at the time-dropdown label `time_label`."""
    return answers_with(booking_response(), booking_date=day, booking_time=slot(time_label))


def with_answer(document: dict[str, Any], ref: str, answer_type: str, value: Any) -> dict[str, Any]:
    document["form_response"]["answers"].append(
        {
            "type": answer_type,
            answer_type: value,
            "field": {"id": f"id_{ref}", "type": "short_text", "ref": ref},
        }
    )
    return document


# --- the sample with the shipped rules ----------------------------------------------------------


def test_sample_maps_to_exactly_the_shipped_event() -> None:
    booking = book(booking_response(), SHIPPED_RULES)

    assert booking.key == SAMPLE_BOOKING_KEY
    assert booking.event.request_body() == SAMPLE_ADD_EVENT_BODY


def test_source_binds_the_rules() -> None:
    webhook_source = source(SHIPPED_RULES)
    result = webhook_source.read_booking(request(booking_response()))

    assert webhook_source.name == "typeform"
    assert isinstance(result, Booking)
    assert result.key == SAMPLE_BOOKING_KEY


def test_booking_key_is_form_and_token() -> None:
    booking = book(booking_response(token="tok123"), SHIPPED_RULES)

    assert booking.key == "typeform:GymB00k1:tok123"


def test_missing_content_type_is_accepted_as_json() -> None:
    result = read_booking(request(booking_response(), content_type=None), SHIPPED_RULES)

    assert isinstance(result, Booking)


def test_json_content_type_with_charset() -> None:
    result = read_booking(request(booking_response(), "Application/JSON; charset=utf-8"), SHIPPED_RULES)

    assert isinstance(result, Booking)


# --- Europe/Prague daylight saving -------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "time_label", "start_utc"),
    [
        ("2026-03-28", "10:00", "2026-03-28T09:00:00.000Z"),  # winter, +01:00
        ("2026-03-29", "10:00", "2026-03-29T08:00:00.000Z"),  # summer from 02:00 that day, +02:00
        ("2026-03-29", "01:59", "2026-03-29T00:59:00.000Z"),  # still winter
        ("2026-03-29", "03:00", "2026-03-29T01:00:00.000Z"),  # first summer minute
        ("2026-10-25", "10:00", "2026-10-25T09:00:00.000Z"),  # winter again
        ("2026-10-24", "10:00", "2026-10-24T08:00:00.000Z"),  # last summer day
        ("2026-07-01", "23:30", "2026-07-01T21:30:00.000Z"),
    ],
)
def test_prague_local_times(day: str, time_label: str, start_utc: str) -> None:
    assert wire(at(day, time_label), rules())["startTime"] == start_utc


@pytest.mark.parametrize("time_label", ["02:30", "02:00", "02:59"])
def test_time_skipped_by_spring_change_does_not_exist(time_label: str) -> None:
    error = unmappable(at("2026-03-29", time_label), rules())

    assert error.field == "booking_time"
    assert "booking_time" in error.message
    assert "does not exist" in error.message
    assert "Europe/Prague" in error.message


def test_ambiguous_autumn_time_is_the_first_occurrence() -> None:
    # 02:30 happens twice on 2026-10-25; documented: the first, still on summer time (+02:00).
    event = wire(at("2026-10-25", "02:30"), rules())

    assert event["startTime"] == "2026-10-25T00:30:00.000Z"
    assert event["endTime"] == "2026-10-25T01:30:00.000Z"


def test_fixed_duration_across_the_autumn_change_is_elapsed_time() -> None:
    # 01:00 local is 23:00Z (summer); three real hours later it is 02:00Z, 03:00 local winter time.
    event = wire(at("2026-10-25", "01:00"), rules(end='{ duration = "3h" }'))

    assert event["startTime"] == "2026-10-24T23:00:00.000Z"
    assert event["endTime"] == "2026-10-25T02:00:00.000Z"


def test_fixed_duration_across_the_spring_change_is_elapsed_time() -> None:
    event = wire(at("2026-03-29", "01:00"), rules(end='{ duration = "180" }'))

    assert event["startTime"] == "2026-03-29T00:00:00.000Z"
    assert event["endTime"] == "2026-03-29T03:00:00.000Z"


def test_other_timezone() -> None:
    event = wire(at("2026-12-03", "10:30"), rules(timezone="America/New_York"))

    assert event["startTime"] == "2026-12-03T15:30:00.000Z"


# --- time labels --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "start_utc"),
    [
        ("10:30", "2026-12-03T09:30:00.000Z"),
        ("9.30", "2026-12-03T08:30:00.000Z"),
        ("09:30", "2026-12-03T08:30:00.000Z"),
        (" 9:30 ", "2026-12-03T08:30:00.000Z"),
        ("10:30 AM", "2026-12-03T09:30:00.000Z"),
        ("10:30am", "2026-12-03T09:30:00.000Z"),
        ("2:15 pm", "2026-12-03T13:15:00.000Z"),
        ("2:15 PM", "2026-12-03T13:15:00.000Z"),
        ("12:00 pm", "2026-12-03T11:00:00.000Z"),
        ("12:15 am", "2026-12-02T23:15:00.000Z"),
        ("0:00", "2026-12-02T23:00:00.000Z"),
        ("23:59", "2026-12-03T22:59:00.000Z"),
        ("10:30 – 11:30", "2026-12-03T09:30:00.000Z"),
        ("10:30-11:30", "2026-12-03T09:30:00.000Z"),
        ("2:15 pm – 3:15 pm", "2026-12-03T13:15:00.000Z"),
    ],
)
def test_time_labels(label: str, start_utc: str) -> None:
    assert wire(at("2026-12-03", label), rules())["startTime"] == start_utc


@pytest.mark.parametrize(
    "label", ["morning", "24:00", "10:60", "10", "1030", "13:00 pm", "0:30 am", "10:305", "at 10:30"]
)
def test_time_labels_that_are_not_times(label: str) -> None:
    error = unmappable(at("2026-12-03", label), rules())

    assert error.field == "booking_time"
    assert "booking_time" in error.message
    if label not in "such as 10:30":  # the message's own example
        assert label not in error.message


@pytest.mark.parametrize("label", ["2:15 p.m.", "2:15 P.M.", "2:15 p.m. – 3:15 p.m."])
def test_dotted_pm_is_not_silently_read_as_morning(label: str) -> None:
    # Either refused (naming the ref) or read as 14:15; never booked twelve hours early.
    try:
        outcome = wire(at("2026-12-03", label), rules())["startTime"]
    except Unmappable as error:
        outcome = f"refused, field {error.field}"
    assert outcome in {"2026-12-03T13:15:00.000Z", "refused, field booking_time"}


def test_time_from_a_text_answer() -> None:
    document = with_answer(booking_response(), "typed_time", "text", "18:45")

    event = wire(document, rules(start='{ date = "booking_date", time = "typed_time" }'))
    assert event["startTime"] == "2026-12-03T17:45:00.000Z"


def test_date_from_a_hidden_field() -> None:
    document = answers_with(booking_response(hidden={"day": "2026-12-24"}), booking_date=None)

    event = wire(document, rules(start='{ date = "hidden.day", time = "booking_time" }'))
    assert event["startTime"] == "2026-12-24T09:30:00.000Z"


# --- start from a datetime ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "start_utc"),
    [
        ("2026-12-03T10:30:00+01:00", "2026-12-03T09:30:00.000Z"),
        ("2026-12-03T10:30:00+05:00", "2026-12-03T05:30:00.000Z"),
        ("2026-12-03T10:30:00Z", "2026-12-03T10:30:00.000Z"),
        ("2026-12-03T10:30", "2026-12-03T09:30:00.000Z"),  # naive: the form's time zone
        ("2026-07-03T10:30", "2026-07-03T08:30:00.000Z"),  # naive in summer
    ],
)
def test_start_from_a_datetime_hidden_field(value: str, start_utc: str) -> None:
    document = booking_response(hidden={"branch": "Vinohrady", "slot": value})

    event = wire(document, rules(start='{ datetime = "hidden.slot" }'))
    assert event["startTime"] == start_utc


def test_start_from_a_naive_datetime_in_the_spring_gap() -> None:
    document = booking_response(hidden={"slot": "2026-03-29T02:30"})

    error = unmappable(document, rules(start='{ datetime = "hidden.slot" }'))
    assert error.field == "hidden.slot"
    assert "does not exist" in error.message


@pytest.mark.parametrize("value", ["tomorrow", "03/12/2026 10:30", ""])
def test_start_datetime_that_is_not_one(value: str) -> None:
    document = booking_response(hidden={"slot": value})

    error = unmappable(document, rules(start='{ datetime = "hidden.slot" }'))
    assert error.field == "hidden.slot"
    assert "hidden.slot" in error.message
    if value:
        assert value not in error.message


def test_start_datetime_missing() -> None:
    error = unmappable(booking_response(hidden={}), rules(start='{ datetime = "hidden.slot" }'))

    assert error.field == "hidden.slot"
    assert "missing" in error.message


# --- the end ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "end_utc"), [(90, "2026-12-03T11:00:00.000Z"), (45, "2026-12-03T10:15:00.000Z")]
)
def test_end_duration_from_a_number_answer(minutes: int, end_utc: str) -> None:
    document = answers_with(booking_response(), age=minutes)

    event = wire(document, rules(end='{ duration_from = "age" }'))
    assert event["startTime"] == "2026-12-03T09:30:00.000Z"
    assert event["endTime"] == end_utc


@pytest.mark.parametrize(
    ("label", "end_utc"),
    [
        ("60 min", "2026-12-03T10:30:00.000Z"),
        ("90", "2026-12-03T11:00:00.000Z"),
        ("1h 30m", "2026-12-03T11:00:00.000Z"),
        ("2h", "2026-12-03T11:30:00.000Z"),
    ],
)
def test_end_duration_from_a_choice_label(label: str, end_utc: str) -> None:
    document = answers_with(booking_response(), experience=slot(label))

    assert wire(document, rules(end='{ duration_from = "experience" }'))["endTime"] == end_utc


@pytest.mark.parametrize("minutes", [2.5, 0, -30])
def test_end_duration_from_a_number_that_is_not_whole_positive_minutes(minutes: float) -> None:
    document = answers_with(booking_response(), age=minutes)

    error = unmappable(document, rules(end='{ duration_from = "age" }'))
    assert error.field == "age"


def test_end_duration_from_a_skipped_answer() -> None:
    error = unmappable(answers_with(booking_response(), age=None), rules(end='{ duration_from = "age" }'))

    assert error.field == "age"
    assert "missing" in error.message


def test_end_duration_from_an_unreadable_choice() -> None:
    document = answers_with(booking_response(), experience=slot("a long one"))

    error = unmappable(document, rules(end='{ duration_from = "experience" }'))
    assert error.field == "experience"
    assert "a long one" not in error.message


def test_end_from_a_time_answer() -> None:
    document = with_answer(booking_response(), "end_time", "choice", slot("12:15"))

    event = wire(document, rules(end='{ time = "end_time" }'))
    assert event["startTime"] == "2026-12-03T09:30:00.000Z"
    assert event["endTime"] == "2026-12-03T11:15:00.000Z"


def test_end_time_across_the_autumn_change_is_wall_clock() -> None:
    document = with_answer(at("2026-10-25", "01:00"), "end_time", "text", "04:00")

    event = wire(document, rules(end='{ time = "end_time" }'))
    assert event["startTime"] == "2026-10-24T23:00:00.000Z"  # 01:00 +02:00
    assert event["endTime"] == "2026-10-25T03:00:00.000Z"  # 04:00 +01:00


def test_end_time_in_the_spring_gap() -> None:
    document = with_answer(at("2026-03-29", "01:00"), "end_time", "text", "02:30")

    error = unmappable(document, rules(end='{ time = "end_time" }'))
    assert error.field == "end_time"
    assert "does not exist" in error.message


def test_end_time_before_start_is_unmappable() -> None:
    document = with_answer(booking_response(), "end_time", "text", "09:00")

    error = unmappable(document, rules(end='{ time = "end_time" }'))
    assert "endTime must be after startTime" in error.message


def test_end_from_a_datetime() -> None:
    document = booking_response(hidden={"until": "2026-12-03T12:00:00+01:00"})

    event = wire(document, rules(end='{ datetime = "hidden.until" }'))
    assert event["endTime"] == "2026-12-03T11:00:00.000Z"


def test_end_from_a_naive_datetime_is_local() -> None:
    document = booking_response(hidden={"until": "2026-12-03T12:00"})

    event = wire(document, rules(end='{ datetime = "hidden.until" }'))
    assert event["endTime"] == "2026-12-03T11:00:00.000Z"


def test_start_and_end_both_from_datetimes() -> None:
    document = booking_response(hidden={"from": "2026-12-03T08:00", "to": "2026-12-05T08:00"})

    event = wire(document, rules(start='{ datetime = "hidden.from" }', end='{ datetime = "hidden.to" }'))
    assert (event["startTime"], event["endTime"]) == ("2026-12-03T07:00:00.000Z", "2026-12-05T07:00:00.000Z")


def test_blocking_to_is_the_end() -> None:
    document = answers_with(booking_response(), age=45)

    event = wire(document, rules("is_blocking = true", end='{ duration_from = "age" }'))
    assert event["isBlocking"] is True
    assert event["blockingTo"] == event["endTime"] == "2026-12-03T10:15:00.000Z"


def test_no_blocking_to_unless_blocking() -> None:
    assert "blockingTo" not in wire(booking_response(), rules())
    assert "blockingTo" not in wire(booking_response(), rules("is_blocking = false"))


# --- errors -------------------------------------------------------------------------------------


def test_form_without_rules() -> None:
    error = unmappable(booking_response(form_id="OtherForm9"), SHIPPED_RULES)

    assert error.field == "form_response.form_id"
    assert "OtherForm9" in error.message
    assert error.status not in (404, 410)  # Typeform would disable the webhook


def test_form_without_rules_whose_id_may_be_personal_is_described() -> None:
    form_id = "jan@example.cz +420 603 111 222"

    error = unmappable(booking_response(form_id=form_id), SHIPPED_RULES)

    assert error.message == f"no booking rules for Typeform form <form id, {len(form_id)} characters>"
    assert error.field == "form_response.form_id"


@pytest.mark.parametrize("event_type", ["jan@example.cz", "form response +420603111222"])
def test_an_event_type_that_may_be_personal_is_described(event_type: str) -> None:
    document = booking_response()
    document["event_type"] = event_type

    result = read_booking(request(document), SHIPPED_RULES)

    assert isinstance(result, Ignored)
    assert result.reason == f"event_type '<event type, {len(event_type)} characters>' is not a form response"


def test_missing_required_date() -> None:
    error = unmappable(answers_with(booking_response(), booking_date=None), SHIPPED_RULES)

    assert error.field == "booking_date"
    assert "booking_date" in error.message
    assert "missing" in error.message


def test_missing_required_time() -> None:
    error = unmappable(answers_with(booking_response(), booking_time=None), SHIPPED_RULES)

    assert error.field == "booking_time"


def test_wrongly_typed_date_answer() -> None:
    document = answers_with(booking_response(), notes="tomorrow")

    error = unmappable(document, rules(start='{ date = "notes", time = "booking_time" }'))
    assert error.field == "notes"
    assert "notes" in error.message
    assert "tomorrow" not in error.message


@pytest.mark.parametrize("bad", ["not-an-email", "jan@", "jan barasek@example.com"])
def test_invalid_email_names_the_ref_not_the_wire_field(bad: str) -> None:
    document = answers_with(booking_response(), email=bad)

    error = unmappable(document, SHIPPED_RULES)
    assert error.field == "email"
    assert error.field != "attendees[0].email"
    assert bad not in error.message


def test_invalid_email_from_a_hidden_field_names_that_ref() -> None:
    document = booking_response(hidden={"mail": "nobody-at-example"})

    error = unmappable(document, rules('attendee = { name = "name", email = "hidden.mail" }'))
    assert error.field == "hidden.mail"
    assert "hidden.mail" in error.message
    assert "nobody-at-example" not in error.message


def test_invalid_phone_names_the_ref() -> None:
    document = answers_with(booking_response(), phone="603987654")  # no country code

    error = unmappable(document, SHIPPED_RULES)
    assert error.field == "phone"
    assert "603987654" not in error.message


def test_member_id_from_a_number_answer() -> None:
    event = wire(booking_response(), rules('attendee = { member_id = "age" }'))

    assert event["attendees"] == [{"memberId": 34}]


def test_member_id_not_a_whole_number() -> None:
    error = unmappable(answers_with(booking_response(), age=3.5), rules('attendee = { member_id = "age" }'))

    assert error.field == "age"


def test_attendee_of_skipped_answers_is_left_out() -> None:
    document = answers_with(booking_response(), name=None, email=None, phone=None)

    event = wire(document, rules('attendee = { name = "name", email = "email", phone = "phone" }'))
    assert "attendees" not in event


def test_title_rendering_empty() -> None:
    error = unmappable(answers_with(booking_response(), name=None), rules(title='"${name}"'))

    assert error.field == "title"


def test_title_of_whitespace_only_answers_is_empty() -> None:
    error = unmappable(answers_with(booking_response(), name="   "), rules(title='"  ${name} "'))

    assert error.field == "title"


def test_invalid_url_template_names_the_rules_key() -> None:
    error = unmappable(booking_response(), rules('url = "${name}"'))

    assert error.field == "url"


@pytest.mark.parametrize("event_type", ["form_response_partial", "ping", ""])
def test_other_event_types_are_ignored(event_type: str) -> None:
    document = booking_response()
    document["event_type"] = event_type

    result = read_booking(request(document), SHIPPED_RULES)
    assert isinstance(result, Ignored)
    assert repr(event_type) in result.reason


@pytest.mark.parametrize(
    "body",
    [b"not json", b"", b"[]", b'{"form_response": {}}', b"\xff\xfe", body_bytes(booking_response())[:-1]],
)
def test_non_json_or_non_webhook_body_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedRequest) as caught:
        read_booking(request(body), SHIPPED_RULES)
    assert caught.value.status == 400


def test_malformed_body_error_does_not_echo_answers() -> None:
    document = booking_response()
    document["form_response"]["token"] = "x" * 201  # too long

    with pytest.raises(MalformedRequest) as caught:
        read_booking(request(document), SHIPPED_RULES)
    assert caught.value.field == "form_response.token"
    assert "Jan" not in caught.value.message
    assert "xxxx" not in caught.value.message


@pytest.mark.parametrize("content_type", ["text/xml", "application/x-www-form-urlencoded", "text/plain"])
def test_other_content_types_are_unsupported(content_type: str) -> None:
    with pytest.raises(UnsupportedContentType) as caught:
        read_booking(request(booking_response(), content_type=content_type), SHIPPED_RULES)
    assert caught.value.status == 415
    assert caught.value.field == "Content-Type"


# --- template substitution is literal -----------------------------------------------------------


@pytest.mark.parametrize("name", ["$other", "${x}", "${hidden.branch}", "$$", "${name}", "$"])
def test_answers_are_not_re_expanded(name: str) -> None:
    document = answers_with(booking_response(), name=name)

    event = wire(document, SHIPPED_RULES)
    assert event["title"] == f"Training: {name}"
    assert event["attendees"][0]["name"] == name


def test_description_with_answer_containing_dollar_braces() -> None:
    document = booking_response(hidden={"branch": "${goals} $experience"})

    event = wire(document, SHIPPED_RULES)
    assert event["description"] == "Booked through Typeform at branch ${goals} $experience."
    assert event["locationTitle"] == "GymRoom ${goals} $experience"


def test_form_response_event_without_a_form_response_is_malformed() -> None:
    with pytest.raises(MalformedRequest) as caught:
        read_booking(request({"event_type": "form_response"}), rules())

    assert caught.value.field == "form_response"


def test_end_time_before_the_start_names_the_end_rule() -> None:
    document = with_answer(at("2026-12-03", "10:30"), "end_at", "text", "09:00")

    error = unmappable(document, rules(end='{ time = "end_at" }'))

    assert error.field == "end"
    assert "endTime must be after startTime" in error.message


def test_a_blank_attendee_answer_counts_as_skipped() -> None:
    document = answers_with(booking_response(), name="   ")

    event = wire(document, rules('attendee = { name = "name", email = "email" }', title='"Training"'))

    assert event["attendees"] == [{"email": "jan@barasek.com"}]


def test_a_national_phone_answer_is_read_in_the_configured_region() -> None:
    """A short-text question used for the phone gets what people type: `777 123 456`."""
    document = with_answer(booking_response(), "notes", "text", "777 123 456")
    phone_from_text = rules('attendee = { name = "name", phone = "notes" }')

    booking = read_booking(request(document), phone_from_text, phone_region="CZ")
    refused = unmappable(document, phone_from_text)

    assert isinstance(booking, Booking)
    assert booking.event.wire_event()["attendees"] == [{"name": "Jan Barášek", "phone": "+420 777123456"}]
    assert (refused.field, "country code" in refused.message) == ("notes", True)
