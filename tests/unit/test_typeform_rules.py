"""Typeform booking rules: the shipped file, and errors that name the form and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookhook.request import WebhookRequest
from bookhook.settings import FUNCTION_ROOT
from bookhook.sources import Booking
from bookhook.sources.typeform.mapping import read_booking
from bookhook.sources.typeform.rules import BookingRules, RulesError, load_rules, parse_rules
from bookhook_dev.tools.typeform_samples import FORM_ID, body_bytes, booking_response

SHIPPED = FUNCTION_ROOT / "typeform_rules.toml"
CALENDAR_ID = "2WRp6X5rSqQa321EjHB2mxZz74u74H84"

BASE: dict[str, str] = {
    "calendar_id": f'"{CALENDAR_ID}"',
    "timezone": '"Europe/Prague"',
    "title": '"Training: ${name}"',
    "start": '{ date = "booking_date", time = "booking_time" }',
    "end": '{ duration = "1h 30m" }',
}


def form_toml(form_id: str = FORM_ID, /, **changes: str | None) -> str:
    """One [forms.<id>] table: BASE with keys replaced (None removes a key) or added."""
    keys = {**BASE, **changes}
    lines = [f"[forms.{form_id}]"] + [f"{key} = {value}" for key, value in keys.items() if value is not None]
    return "\n".join(lines) + "\n"


def rules_error(text: str) -> str:
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    return str(caught.value)


# --- the shipped rules --------------------------------------------------------------------------


def test_shipped_rules_load() -> None:
    rules = load_rules(SHIPPED)

    assert list(rules.forms) == [FORM_ID]
    form = rules.forms[FORM_ID]
    assert form.calendar_id == CALENDAR_ID
    assert form.timezone == "Europe/Prague"
    assert form.zone.key == "Europe/Prague"
    assert form.title == "Training: ${name}"
    assert form.notify_before == "1h 30m"
    assert form.is_blocking is True
    assert form.type == "training"
    assert (form.start.date, form.start.time, form.start.datetime) == ("booking_date", "booking_time", None)
    assert form.end.duration == "1h 30m"
    assert form.attendee is not None
    assert (form.attendee.name, form.attendee.email, form.attendee.phone) == ("name", "email", "phone")


def test_base_rules_are_valid() -> None:
    rules = parse_rules(form_toml())

    assert rules.forms[FORM_ID].calendar_id == CALENDAR_ID


def test_empty_rules_file_is_valid_with_no_forms() -> None:
    assert parse_rules("").forms == {}
    assert parse_rules("# only a comment\n").forms == {}


def test_several_forms() -> None:
    rules = parse_rules(form_toml("FormA") + form_toml("Form-B_2", end='{ duration_from = "length" }'))

    assert sorted(rules.forms) == ["Form-B_2", "FormA"]
    assert rules.forms["Form-B_2"].end.duration_from == "length"


def test_load_rules_on_a_missing_path_raises_rules_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "rules.toml"

    with pytest.raises(RulesError) as caught:
        load_rules(missing)
    assert str(missing) in str(caught.value)
    assert "cannot be read" in str(caught.value)


def test_load_rules_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(form_toml(timezone='"Mars/Olympus"'), encoding="utf-8")

    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert f"form {FORM_ID}, key timezone" in str(caught.value)


def test_load_rules_reads_utf8(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(form_toml(title='"Trénink: ${name} – Barášek"'), encoding="utf-8")

    assert load_rules(path).forms[FORM_ID].title == "Trénink: ${name} – Barášek"


# --- errors name the form and the key -----------------------------------------------------------

INVALID: dict[str, tuple[dict[str, str | None], str, str]] = {
    "calendar id too short": ({"calendar_id": '"short"'}, "calendar_id", "pattern"),
    "calendar id with a dash": (
        {"calendar_id": '"2WRp6X5rSqQa321EjHB2mxZz74u74H8-"'},
        "calendar_id",
        "pattern",
    ),
    "calendar id not a string": ({"calendar_id": "42"}, "calendar_id", "string"),
    "unknown time zone": ({"timezone": '"Mars/Olympus"'}, "timezone", "IANA time zone"),
    "time zone path": ({"timezone": '"../../etc/passwd"'}, "timezone", "IANA time zone"),
    "misspelt key": ({"titel": '"x"'}, "titel", "Extra inputs are not permitted"),
    "misspelt start key": (
        {"start": '{ date = "booking_date", tme = "booking_time" }'},
        "start.tme",
        "Extra inputs are not permitted",
    ),
    "misspelt end key": ({"end": '{ durration = "90" }'}, "end.durration", "Extra inputs are not permitted"),
    "start with datetime and date": (
        {"start": '{ datetime = "hidden.slot", date = "booking_date", time = "booking_time" }'},
        "start",
        "not both",
    ),
    "start with datetime and time": (
        {"start": '{ datetime = "hidden.slot", time = "booking_time" }'},
        "start",
        "not both",
    ),
    "start with date but no time": ({"start": '{ date = "booking_date" }'}, "start", "both date and time"),
    "start with nothing": ({"start": "{}"}, "start", "needs datetime"),
    "start ref with a space": ({"start": '{ datetime = "my slot" }'}, "start.datetime", "pattern"),
    "end with two sources": ({"end": '{ duration = "90", time = "end_time" }'}, "end", "exactly one"),
    "end with no source": ({"end": "{}"}, "end", "exactly one"),
    "end duration soon": ({"end": '{ duration = "soon" }'}, "end.duration", "minutes"),
    "end duration zero": ({"end": '{ duration = "0" }'}, "end.duration", "longer than zero"),
    "end duration too long": ({"end": '{ duration = "32d" }'}, "end.duration", "at most 31 days"),
    "bad notify_before": ({"notify_before": '"soon"'}, "notify_before", "duration"),
    "notify_before units out of order": ({"notify_before": '"30m 1h"'}, "notify_before", "duration"),
    "lone dollar in title": ({"title": '"Costs 5 $"'}, "title", "invalid placeholder"),
    "empty braces in title": ({"title": '"Hi ${}"'}, "title", "invalid placeholder"),
    "unclosed brace in title": ({"title": '"Hi ${name"'}, "title", "invalid placeholder"),
    "attribute access in title": ({"title": '"${name.__class__}"'}, "title", "is not a ref"),
    "index access in title": ({"title": '"${name[0]}"'}, "title", "invalid placeholder"),
    "attribute access in description": ({"description": '"${hidden.x.y}"'}, "description", "is not a ref"),
    "format spec in agenda": ({"agenda": '"${name:>10}"'}, "agenda", "invalid placeholder"),
    "empty title": ({"title": '""'}, "title", "at least 1 character"),
    "missing title": ({"title": None}, "title", "Field required"),
    "missing calendar_id": ({"calendar_id": None}, "calendar_id", "Field required"),
    "missing start": ({"start": None}, "start", "Field required"),
    "attendee naming nobody": ({"attendee": "{}"}, "attendee", "at least one of"),
    "misspelt attendee key": ({"attendee": '{ mail = "email" }'}, "attendee.mail", "Extra inputs"),
    "is_blocking not a bool": ({"is_blocking": '"maybe"'}, "is_blocking", "boolean"),
}


@pytest.mark.parametrize(("changes", "key", "message"), INVALID.values(), ids=list(INVALID))
def test_errors_name_form_and_key(changes: dict[str, str | None], key: str, message: str) -> None:
    error = rules_error(form_toml(**changes))

    assert error.startswith("rules: ")
    assert f"form {FORM_ID}, key {key}: " in error
    assert message in error


def test_error_names_the_source() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(form_toml(calendar_id='"short"'), source="my-rules.toml")
    assert str(caught.value).startswith("my-rules.toml: form GymB00k1, key calendar_id: ")


def test_error_names_the_right_form_among_several() -> None:
    error = rules_error(form_toml("GoodForm") + form_toml("BadForm", timezone='"Mars/Olympus"'))

    assert "form BadForm, key timezone" in error
    assert "GoodForm" not in error


def test_several_errors_are_all_reported() -> None:
    error = rules_error(form_toml(calendar_id='"short"', timezone='"Mars/Olympus"'))

    assert "form GymB00k1, key calendar_id" in error
    assert "form GymB00k1, key timezone" in error


def test_invalid_form_id_is_named() -> None:
    error = rules_error(form_toml('"bad id!"'))

    assert error.startswith("rules: form bad id!: the form id must be")


def test_unknown_top_level_key_is_an_error() -> None:
    error = rules_error('[form.GymB00k1]\ntitle = "x"\n')

    assert "key form: Extra inputs are not permitted" in error


def test_forms_not_a_table_is_an_error() -> None:
    error = rules_error('forms = "GymB00k1"\n')

    assert "key forms" in error


@pytest.mark.parametrize(
    "text",
    [
        "[forms.GymB00k1\ncalendar_id = 'x'\n",
        'title = "unterminated\n',
        "a = 1\na = 2\n",
        "= 3\n",
    ],
)
def test_invalid_toml(text: str) -> None:
    error = rules_error(text)

    assert "not valid TOML" in error
    assert error.startswith("rules: ")


# --- templates: what is and is not a placeholder -----------------------------------------------


def _sample_booking(rules: BookingRules) -> Booking:
    request = WebhookRequest(
        body=body_bytes(booking_response()), headers={"content-type": "application/json"}
    )
    result = read_booking(request, rules)
    assert isinstance(result, Booking)
    return result


def test_braces_without_dollar_are_literal_text() -> None:
    rules = parse_rules(form_toml(title='"{name.upper} {name[0]} ${name}"'))

    assert _sample_booking(rules).event.title == "{name.upper} {name[0]} Jan Barášek"


def test_double_dollar_is_a_literal_dollar() -> None:
    rules = parse_rules(form_toml(title='"$$5 for ${name}"'))

    assert _sample_booking(rules).event.title == "$5 for Jan Barášek"


def test_refs_with_dots_and_dashes_need_braces() -> None:
    rules = parse_rules(form_toml(title='"${hidden.branch} / $hidden.branch"'))

    # Without braces the placeholder is `hidden` (no such answer: empty) followed by literal text.
    assert _sample_booking(rules).event.title == "Vinohrady / .branch"


@pytest.mark.parametrize(
    "title",
    [
        '"${name}"',
        '"$name"',
        '"${hidden.branch}"',
        '"${variables.plan}"',
        '"${calculated.score}"',
        '"${booking-time}"',
        '"${q_name}"',
    ],
)
def test_valid_placeholders(title: str) -> None:
    assert parse_rules(form_toml(title=title)).forms[FORM_ID].title == title.strip('"')


@pytest.mark.parametrize(
    "title",
    ['"${calculated.other}"', '"${secret.x}"', '"${hidden.}"', '"${.name}"', '"${a..b}"'],
)
def test_placeholders_that_are_not_refs(title: str) -> None:
    error = rules_error(form_toml(title=title))

    assert f"form {FORM_ID}, key title: " in error
