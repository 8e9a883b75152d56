"""Typeform as Typeform documents it: its published example payload, extended to every answer type,
through the real webhook handler (AWS from moto, BizKitHub as the local stand-in).

Sources of the shapes, written out here by hand (nothing is copied from a live delivery):
- [EXAMPLE] https://www.typeform.com/developers/webhooks/example-payload/ : the webhook body, its
  `definition` (fields with `id`, `title`, `type`, `ref`, `allow_multiple_selections`,
  `allow_other_choice`, `choices`; `endings`), `ending`, `hidden`, `variables`, `calculated`, and
  answers carrying only `field: {id, type}` (the calendly answer carries `ref` too).
- [RESPONSES] https://www.typeform.com/developers/responses/JSON-response-explanation/ : the answer
  objects of the Responses API, which webhooks share (a dropdown answered as `text`, `choice` with
  `id`/`label`/`ref` or `other`, `choices` with `ids`/`labels`/`refs`, `phone_number`, `url`,
  `file_url`, `payment` with `amount`/`last4`/`name`/`success`).
- [SENDERS] ../shared/reference/senders.md, "Typeform": `opinion_scale`, `rating` and `nps` arrive
  as `number` answers and `ranking` as `choices` (ids, labels and refs in the ranked order);
  `hidden`, `variables`, `calculated`, `definition` and `ending` may be absent or null.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bookhook.handlers import webhook as webhook_module
from bookhook.settings import FUNCTION_ROOT
from bookhook.sources.typeform import expected_signature
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn
from bookhook_dev.tools.typeform_samples import body_bytes

# The integration suite's fixtures (the real handler, moto, the stand-in), used here as they are.
from tests.integration.conftest import Reply, Webhook, aws, function_env, stand_in, webhook

__all__ = ["aws", "function_env", "stand_in", "webhook"]

EXAMPLE_FORM_ID = "lT4Z3j"

# [EXAMPLE] the published payload, field for field (its text as published, including the stray
# "{{answer_60906475}}" in a title). Answers name their field by id and type only.
EXAMPLE: dict[str, Any] = {
    "event_id": "LtWXD3crgy",
    "event_type": "form_response",
    "form_response": {
        "form_id": EXAMPLE_FORM_ID,
        "token": "a3a12ec67a1365927098a606107fac15",
        "submitted_at": "2018-01-18T18:17:02Z",
        "landed_at": "2018-01-18T18:07:02Z",
        "calculated": {"score": 9},
        "variables": [
            {"key": "score", "type": "number", "number": 4},
            {"key": "name", "type": "text", "text": "typeform"},
        ],
        "hidden": {"user_id": "abc123456"},
        "definition": {
            "id": EXAMPLE_FORM_ID,
            "title": "Webhooks example",
            "fields": [
                {
                    "id": "DlXFaesGBpoF",
                    "title": "Thanks, {{answer_60906475}}! What's it like where you live? "
                    "Tell us in a few sentences.",
                    "type": "long_text",
                    "ref": "readable_ref_long_text",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "SMEUb7VJz92Q",
                    "title": "If you're OK with our city management following up if they have further "
                    "questions, please give us your email address.",
                    "type": "email",
                    "ref": "readable_ref_email",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "JwWggjAKtOkA",
                    "title": "What is your first name?",
                    "type": "short_text",
                    "ref": "readable_ref_short_text",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "KoJxDM3c6x8h",
                    "title": "When did you move to the place where you live?",
                    "type": "date",
                    "ref": "readable_ref_date",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "PNe8ZKBK8C2Q",
                    "title": "Which pictures do you like? You can choose as many as you like.",
                    "type": "picture_choice",
                    "ref": "readable_ref_picture_choice",
                    "allow_multiple_selections": True,
                    "allow_other_choice": False,
                    "choices": [
                        {
                            "id": "eXnU3oA141Cg",
                            "ref": "238d1802-9921-4687-a37b-5e50f56ece8e",
                            "label": "London",
                        },
                        {
                            "id": "aTZmZGYV6liX",
                            "ref": "d867c542-1e72-4619-908f-aaae38cabb61",
                            "label": "Sydney",
                        },
                    ],
                },
                {
                    "id": "Q7M2XAwY04dW",
                    "title": "On a scale of 1 to 5, what rating would you give the weather in Sydney? "
                    "1 is poor weather, 5 is excellent weather",
                    "type": "number",
                    "ref": "readable_ref_number1",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "gFFf3xAkJKsr",
                    "title": "By submitting this form, you understand and accept that we will share your "
                    "answers with city management. Your answers will be anonymous will not be shared.",
                    "type": "legal",
                    "ref": "readable_ref_legal",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "k6TP9oLGgHjl",
                    "title": "Which of these cities is your favorite?",
                    "type": "multiple_choice",
                    "ref": "readable_ref_multiple_choice",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "RUqkXSeXBXSd",
                    "title": "Do you have a favorite city we haven't listed?",
                    "type": "yes_no",
                    "ref": "readable_ref_yes_no",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "NRsxU591jIW9",
                    "title": "How important is the weather to your opinion about a city? "
                    "1 is not important, 5 is very important.",
                    "type": "opinion_scale",
                    "ref": "readable_ref_opinion_scale",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "WOTdC00F8A3h",
                    "title": "How would you rate the weather where you currently live? "
                    "1 is poor weather, 5 is excellent weather.",
                    "type": "rating",
                    "ref": "readable_ref_rating",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "pn48RmPazVdM",
                    "title": "On a scale of 1 to 5, what rating would you give the general quality of "
                    "life in Sydney? 1 is poor, 5 is excellent",
                    "type": "number",
                    "ref": "readable_ref_number2",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "M5tXK5kG7IeA",
                    "title": "Book a time with me",
                    "type": "calendly",
                    "ref": "readable_ref_calendly",
                    "properties": {},
                },
            ],
            "endings": [
                {
                    "id": "dN5FLyFpCMFo",
                    "ref": "01GRC8GR2017M6WW347T86VV39",
                    "title": "Bye!",
                    "type": "thankyou_screen",
                    "properties": {
                        "button_text": "Create a typeform",
                        "show_button": True,
                        "share_icons": True,
                        "button_mode": "default_redirect",
                    },
                }
            ],
        },
        "answers": [
            {
                "type": "text",
                "text": "It's cold right now! I live in an older medium-sized city with a university. "
                "Geographically, the area is hilly.",
                "field": {"id": "DlXFaesGBpoF", "type": "long_text"},
            },
            {"type": "email", "email": "laura@example.com", "field": {"id": "SMEUb7VJz92Q", "type": "email"}},
            {"type": "text", "text": "Laura", "field": {"id": "JwWggjAKtOkA", "type": "short_text"}},
            {"type": "date", "date": "2005-10-15", "field": {"id": "KoJxDM3c6x8h", "type": "date"}},
            {
                "type": "choices",
                "choices": {"labels": ["London", "Sydney"]},
                "field": {"id": "PNe8ZKBK8C2Q", "type": "picture_choice"},
            },
            {"type": "number", "number": 5, "field": {"id": "Q7M2XAwY04dW", "type": "number"}},
            {"type": "boolean", "boolean": True, "field": {"id": "gFFf3xAkJKsr", "type": "legal"}},
            {
                "type": "choice",
                "choice": {"label": "London"},
                "field": {"id": "k6TP9oLGgHjl", "type": "multiple_choice"},
            },
            {"type": "boolean", "boolean": False, "field": {"id": "RUqkXSeXBXSd", "type": "yes_no"}},
            {"type": "number", "number": 2, "field": {"id": "NRsxU591jIW9", "type": "opinion_scale"}},
            {"type": "number", "number": 3, "field": {"id": "WOTdC00F8A3h", "type": "rating"}},
            {"type": "number", "number": 4, "field": {"id": "pn48RmPazVdM", "type": "number"}},
            {
                "type": "url",
                "url": "https://calendly.com/scheduled_events/EVENT_TYPE/invitees/INVITEE",
                "field": {"id": "M5tXK5kG7IeA", "type": "calendly", "ref": "readable_ref_calendly"},
            },
        ],
        "ending": {"id": "dN5FLyFpCMFo", "ref": "01GRC8GR2017M6WW347T86VV39"},
    },
}

# Questions of the answer types the example lacks, in the example's shape: the field (with its
# ref) in `definition.fields`, the answer naming it by id and type only. Values per [RESPONSES]
# and [SENDERS]. (field id, ref, field type, title, answer type, value)
_MORE_QUESTIONS: list[tuple[str, str, str, str, str, Any]] = [
    # [RESPONSES]: a dropdown answered as text. The booking's time of day.
    ("hVONkQcnSNRj", "readable_ref_dropdown", "dropdown", "What time suits you?", "text", "10:30"),
    (
        "Pk3mPh0neNum",
        "readable_ref_phone_number",
        "phone_number",
        "Your phone?",
        "phone_number",
        "+420777123456",
    ),
    ("Wb5iTeUrL0aa", "readable_ref_website", "website", "Your website?", "url", "https://laura.example"),
    (
        "F1leUpL0ad00",
        "readable_ref_file_upload",
        "file_upload",
        "A photo of your street?",
        "file_url",
        "https://api.typeform.com/forms/lT4Z3j/responses/a3a12ec67a1365927098a606107fac15/fields/"
        "F1leUpL0ad00/files/street.jpg",
    ),
    (
        "PaYm3nt00000",
        "readable_ref_payment",
        "payment",
        "Support the survey?",
        "payment",
        {"amount": "1.00", "last4": "4242", "name": "Laura", "success": True},
    ),
    # [SENDERS]: ranking as choices, in the ranked order.
    (
        "RaNk1ngCit1e",
        "readable_ref_ranking",
        "ranking",
        "Rank these cities",
        "choices",
        {"ids": ["c2", "c1", "c3"], "labels": ["Sydney", "London", "Paris"], "refs": ["syd", "lon", "par"]},
    ),
    ("NpS0000000aa", "readable_ref_nps", "nps", "Would you recommend your city?", "number", 9),
    # [RESPONSES]: a choice with id, label and ref; and one answered with the "other" option.
    (
        "Ch01ceFuLL00",
        "readable_ref_choice_full",
        "multiple_choice",
        "Where would you move?",
        "choice",
        {"id": "lis1", "label": "Lisbon", "ref": "lisbon"},
    ),
    (
        "Ch01ceOther0",
        "readable_ref_choice_other",
        "multiple_choice",
        "Any other city?",
        "choice",
        {"other": "Brno"},
    ),
]


def example_with_every_type() -> dict[str, Any]:
    """[EXAMPLE] plus one answer of each type it lacks, in its shape; a response of its own."""
    document = copy.deepcopy(EXAMPLE)
    response = document["form_response"]
    response["token"] = "b7e0c4f1d2a3958677d1e2f3a4b5c6d7"
    for field_id, ref, field_type, title, answer_type, value in _MORE_QUESTIONS:
        response["definition"]["fields"].append(
            {
                "id": field_id,
                "title": title,
                "type": field_type,
                "ref": ref,
                "allow_multiple_selections": False,
                "allow_other_choice": ref == "readable_ref_choice_other",
            }
        )
        response["answers"].append(
            {"type": answer_type, answer_type: value, "field": {"id": field_id, "type": field_type}}
        )
    return document


# What each answer reads as (README, "How answers read"), by ref, with the answer type it has.
ANSWER_TEXTS: dict[str, tuple[str, str]] = {
    "readable_ref_long_text": (
        "text",
        "It's cold right now! I live in an older medium-sized city with a university. "
        "Geographically, the area is hilly.",
    ),
    "readable_ref_email": ("email", "laura@example.com"),
    "readable_ref_short_text": ("text", "Laura"),
    "readable_ref_date": ("date", "2005-10-15"),
    "readable_ref_picture_choice": ("choices", "London, Sydney"),
    "readable_ref_number1": ("number", "5"),
    "readable_ref_legal": ("boolean", "yes"),
    "readable_ref_multiple_choice": ("choice", "London"),
    "readable_ref_yes_no": ("boolean", "no"),
    "readable_ref_opinion_scale": ("number (opinion_scale)", "2"),
    "readable_ref_rating": ("number (rating)", "3"),
    "readable_ref_number2": ("number", "4"),
    "readable_ref_calendly": (
        "url (calendly, ref on the answer)",
        "https://calendly.com/scheduled_events/EVENT_TYPE/invitees/INVITEE",
    ),
    "readable_ref_dropdown": ("text (dropdown)", "10:30"),
    "readable_ref_phone_number": ("phone_number", "+420777123456"),
    "readable_ref_website": ("url", "https://laura.example"),
    "readable_ref_file_upload": (
        "file_url",
        "https://api.typeform.com/forms/lT4Z3j/responses/a3a12ec67a1365927098a606107fac15/fields/"
        "F1leUpL0ad00/files/street.jpg",
    ),
    "readable_ref_payment": ("payment", "1.00"),
    "readable_ref_ranking": ("choices (ranking)", "Sydney, London, Paris"),
    "readable_ref_nps": ("number (nps)", "9"),
    "readable_ref_choice_full": ("choice", "Lisbon"),
    "readable_ref_choice_other": ("choice (other)", "Brno"),
    "hidden.user_id": ("hidden field", "abc123456"),
    "variables.name": ("text variable", "typeform"),
    "variables.score": ("number variable", "4"),
    "calculated.score": ("score", "9"),
}

# 10:30 on the date answer, in London (BST in October: UTC+1).
START_UTC = "2005-10-15T09:30:00.000Z"
END_UTC = "2005-10-15T10:00:00.000Z"


def example_rules(**keys: str) -> str:
    """A rules table for the example's form, plus the shipped rules (TOML values as given)."""
    table = {
        "calendar_id": json.dumps(defaults.CALENDAR_ID),
        "timezone": '"Europe/London"',
        "title": '"City chat with ${readable_ref_short_text}"',
        "start": '{ date = "readable_ref_date", time = "readable_ref_dropdown" }',
        "end": '{ duration = "30" }',
        "attendee": '{ name = "readable_ref_short_text", email = "readable_ref_email", '
        'phone = "readable_ref_phone_number" }',
        **keys,
    }
    lines = [f"[forms.{EXAMPLE_FORM_ID}]", *(f"{key} = {value}" for key, value in table.items())]
    shipped = (FUNCTION_ROOT / "typeform_rules.toml").read_text(encoding="utf-8")
    return shipped + "\n" + "\n".join(lines) + "\n"


@pytest.fixture
def use_rules(webhook: Webhook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Deploy a rules file: the function reads it when it builds its services."""

    def use(text: str) -> None:
        path = tmp_path / "typeform_rules.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("TYPEFORM_RULES_FILE", str(path))
        webhook_module.use_services(None)

    return use


def deliver(webhook: Webhook, document: dict[str, Any]) -> Reply:
    """As Typeform delivers it: compact JSON, signed with the webhook's secret."""
    body = body_bytes(document)
    headers = {
        "user-agent": "Typeform Webhooks",
        "typeform-signature": expected_signature(defaults.TYPEFORM_SECRET, body),
    }
    return webhook.post(body, path="/webhooks/typeform", token=None, headers=headers)


def agenda_of_every_answer() -> tuple[str, str]:
    """An agenda template naming every ref, and what it renders to."""
    template = "\n".join(f"{ref}: ${{{ref}}}" for ref in ANSWER_TEXTS)
    rendered = "\n".join(f"{ref}: {text}" for ref, (_, text) in ANSWER_TEXTS.items())
    return template, rendered


# --- the published example ---------------------------------------------------------------------


def test_published_example_without_rules_for_its_form_is_422_naming_the_form(
    webhook: Webhook, stand_in: BizKitHubStandIn
) -> None:
    reply = deliver(webhook, EXAMPLE)

    assert reply.status == 422, reply.body
    assert reply.body["field"] == "form_response.form_id"
    assert EXAMPLE_FORM_ID in reply.body["message"]
    assert stand_in.calls == []


def test_published_example_resolves_every_ref_from_its_definition(
    webhook: Webhook, stand_in: BizKitHubStandIn, use_rules: Callable[[str], None]
) -> None:
    """The example has no time-of-day question: every ref the rules use resolves through
    definition.fields (the date first of all), and only the time is missing. First release: 422
    naming readable_ref_date, the first ref looked up, since no answer carried its ref."""
    use_rules(example_rules())

    reply = deliver(webhook, EXAMPLE)

    assert reply.status == 422, reply.body
    assert reply.body["field"] == "readable_ref_dropdown"
    assert "(" not in reply.body["message"]  # no hint of unresolved refs: all 13 resolve
    assert stand_in.calls == []


def test_published_example_with_a_time_question_books(
    webhook: Webhook, stand_in: BizKitHubStandIn, use_rules: Callable[[str], None]
) -> None:
    use_rules(example_rules())
    document = copy.deepcopy(EXAMPLE)
    field_id, ref, field_type, title, answer_type, value = _MORE_QUESTIONS[0]
    document["form_response"]["definition"]["fields"].append(
        {"id": field_id, "title": title, "type": field_type, "ref": ref}
    )
    document["form_response"]["answers"].append(
        {"type": answer_type, answer_type: value, "field": {"id": field_id, "type": field_type}}
    )

    reply = deliver(webhook, document)

    assert reply.status == 200, reply.body
    assert reply.body["status"] == "delivered"
    [call] = stand_in.calls
    assert reply.body["eventId"] == call.event_id
    assert call.body == {
        "event": {
            "calendarId": defaults.CALENDAR_ID,
            "startTime": START_UTC,
            "endTime": END_UTC,
            "title": "City chat with Laura",
            "attendees": [{"name": "Laura", "email": "laura@example.com"}],
        }
    }


# --- every answer type ---------------------------------------------------------------------------


def test_every_answer_type_reaches_bizkithub_as_documented(
    webhook: Webhook, stand_in: BizKitHubStandIn, use_rules: Callable[[str], None]
) -> None:
    template, rendered = agenda_of_every_answer()
    use_rules(
        example_rules(
            agenda=json.dumps(template),
            description='"Survey answered on ${readable_ref_date} (${readable_ref_picture_choice})."',
            url='"${readable_ref_website}"',
            location_title='"${readable_ref_choice_full}"',
            type='"survey-call"',
            notify_before='"1d"',
        )
    )

    reply = deliver(webhook, example_with_every_type())

    assert reply.status == 200, reply.body
    [call] = stand_in.calls
    assert reply.body == {"status": "delivered", "eventId": call.event_id}
    assert call.body == {
        "event": {
            "calendarId": defaults.CALENDAR_ID,
            "startTime": START_UTC,
            "endTime": END_UTC,
            "title": "City chat with Laura",
            "description": "Survey answered on 2005-10-15 (London, Sydney).",
            "agenda": rendered,
            "url": "https://laura.example",
            "locationTitle": "Lisbon",
            "type": "survey-call",
            "notifyBefore": "1d",
            "attendees": [{"name": "Laura", "email": "laura@example.com", "phone": "+420 777123456"}],
        }
    }


@pytest.mark.parametrize(
    ("ref", "expected"),
    [pytest.param(ref, text, id=f"{kind}: {ref}") for ref, (kind, text) in ANSWER_TEXTS.items()],
)
def test_each_answer_reads_as_documented(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    use_rules: Callable[[str], None],
    ref: str,
    expected: str,
) -> None:
    use_rules(example_rules(description=json.dumps(f"<${{{ref}}}>")))

    reply = deliver(webhook, example_with_every_type())

    assert reply.status == 200, reply.body
    [event] = stand_in.accepted_events
    assert event["description"] == f"<{expected}>"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        pytest.param('{ duration_from = "readable_ref_number1" }', "2005-10-15T09:35:00.000Z", id="number"),
        pytest.param('{ duration_from = "readable_ref_nps" }', "2005-10-15T09:39:00.000Z", id="nps number"),
        pytest.param(
            '{ duration_from = "readable_ref_opinion_scale" }', "2005-10-15T09:32:00.000Z", id="scale"
        ),
    ],
)
def test_number_answers_as_a_duration_in_minutes(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    use_rules: Callable[[str], None],
    rule: str,
    expected: str,
) -> None:
    use_rules(example_rules(end=rule))

    reply = deliver(webhook, example_with_every_type())

    assert reply.status == 200, reply.body
    [event] = stand_in.accepted_events
    assert event["endTime"] == expected


def test_answers_are_still_addressed_by_field_id(
    webhook: Webhook, stand_in: BizKitHubStandIn, use_rules: Callable[[str], None]
) -> None:
    use_rules(example_rules(start='{ date = "KoJxDM3c6x8h", time = "hVONkQcnSNRj" }'))

    reply = deliver(webhook, example_with_every_type())

    assert reply.status == 200, reply.body
    [event] = stand_in.accepted_events
    assert event["startTime"] == START_UTC


def test_a_ref_on_the_answer_wins_over_the_definition(
    webhook: Webhook, stand_in: BizKitHubStandIn, use_rules: Callable[[str], None]
) -> None:
    use_rules(example_rules(description='"${short_name_on_the_answer}|${readable_ref_short_text}"'))
    document = example_with_every_type()
    short_text = next(a for a in document["form_response"]["answers"] if a["field"]["id"] == "JwWggjAKtOkA")
    short_text["field"]["ref"] = "short_name_on_the_answer"

    reply = deliver(webhook, document)

    assert reply.status == 200, reply.body
    [event] = stand_in.accepted_events
    assert event["description"] == "Laura|"
    assert event["title"] == "City chat with"  # the definition's ref no longer names the answer


# --- what may be absent or null --------------------------------------------------------------------


@pytest.mark.parametrize("key", ["hidden", "variables", "calculated", "ending"])
@pytest.mark.parametrize("how", ["null", "absent"])
def test_optional_parts_null_or_absent_still_book(
    webhook: Webhook,
    stand_in: BizKitHubStandIn,
    use_rules: Callable[[str], None],
    key: str,
    how: str,
) -> None:
    """First release: `hidden: null` and `variables: null` were 400 (Typeform retries a 400 for
    hours, then gives up: the booking was lost)."""
    use_rules(example_rules(description='"${hidden.user_id}/${variables.name}/${calculated.score}"'))
    document = example_with_every_type()
    if how == "null":
        document["form_response"][key] = None
    else:
        del document["form_response"][key]

    reply = deliver(webhook, document)

    assert reply.status == 200, reply.body
    [event] = stand_in.accepted_events
    assert event["startTime"] == START_UTC
    expected = {"hidden": "/typeform/9", "variables": "abc123456//9", "calculated": "abc123456/typeform/"}
    assert event["description"] == expected.get(key, "abc123456/typeform/9")


@pytest.mark.parametrize("how", ["null", "absent"])
def test_without_a_definition_refs_only_on_answers_cannot_resolve_and_the_422_says_why(
    webhook: Webhook, stand_in: BizKitHubStandIn, use_rules: Callable[[str], None], how: str
) -> None:
    use_rules(example_rules())
    document = example_with_every_type()
    if how == "null":
        document["form_response"]["definition"] = None
    else:
        del document["form_response"]["definition"]

    reply = deliver(webhook, document)

    assert reply.status == 422, reply.body
    assert reply.body["field"] == "readable_ref_date"
    # Every answer but the calendly one (which carries its ref) is addressable by id only.
    assert "21 answers of the response name no ref" in reply.body["message"]
    assert stand_in.calls == []


def test_a_response_with_null_answers_is_422_naming_the_first_missing_answer(
    webhook: Webhook, stand_in: BizKitHubStandIn, use_rules: Callable[[str], None]
) -> None:
    use_rules(example_rules())
    document = example_with_every_type()
    document["form_response"]["answers"] = None

    reply = deliver(webhook, document)

    assert reply.status == 422, reply.body
    assert reply.body["field"] == "readable_ref_date"
    assert stand_in.calls == []
