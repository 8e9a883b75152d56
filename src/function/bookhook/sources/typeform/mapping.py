"""A Typeform response plus its form's rules → a `Booking`. Pure: no I/O, no verification.

Errors name the field ref (or rules key) at fault, never the respondent's answer. Refs in errors
come from the rules (checked at start-up), so they are ours; what the response itself names (its
form id, its event type) is repeated only when `bookhook.safe_names` allows, else described.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bookhook.calendar.event import MAX_TIME_TEXT, CalendarEvent
from bookhook.errors import MalformedRequest, Unmappable
from bookhook.phones import international_field
from bookhook.request import WebhookRequest
from bookhook.safe_names import describe
from bookhook.sources import Booking, Ignored, parse_json_body, safe_first_error
from bookhook.sources.typeform.payload import Answer, FormResponse, TypeformWebhook
from bookhook.sources.typeform.rules import AnswerTemplate, BookingRules, FormRules
from bookhook.timeparse import check_window, localize, parse_duration

NAME = "typeform"
# "10:30", "9.30", "10:30 AM", "2:15 p.m.", or a slot label such as "10:30 – 11:30" (its start is taken).
_CLOCK_TIME = re.compile(
    r"^\s*([01]?[0-9]|2[0-3])[:.]([0-5][0-9])(?:\s*([ap])\.?\s?m\.?)?(?![A-Za-z0-9])", re.IGNORECASE
)


def read_booking(
    request: WebhookRequest, rules: BookingRules, *, phone_region: str | None = None
) -> Booking | Ignored:
    webhook = parse_json_body(request, TypeformWebhook, sender="Typeform", what="Typeform webhook")
    if webhook.event_type != "form_response":
        event_type = describe(webhook.event_type, what="event type", dotted=True)
        return Ignored(reason=f"event_type {event_type!r} is not a form response")
    response = webhook.form_response
    if response is None:
        raise MalformedRequest("not a Typeform webhook: form_response is missing", field="form_response")
    form = rules.forms.get(response.form_id)
    if form is None:
        form_id = describe(response.form_id, what="form id")
        hint = f": add [forms.{form_id}] to them" if form_id == response.form_id else ""
        raise Unmappable(f"no booking rules for Typeform form {form_id}{hint}", field="form_response.form_id")
    event = map_response(response, form, phone_region=phone_region)
    return Booking(key=f"{NAME}:{response.form_id}:{response.token}", event=event)


def answer_ref(answer: Answer, definition_refs: Mapping[str, str]) -> str | None:
    """An answer's ref: its `field.ref`, else the ref `definition.fields` gives its field id.

    Real deliveries usually carry `field.ref`; Typeform's published example payload
    (https://www.typeform.com/developers/webhooks/example-payload/) gives answers only
    `field: {id, type}`, the ref being in the form definition.
    """
    return answer.field.ref or definition_refs.get(answer.field.id)


def definition_refs(response: FormResponse) -> dict[str, str]:
    return response.definition.ref_by_field_id() if response.definition is not None else {}


def unresolved_answers(response: FormResponse) -> list[tuple[int, Answer]]:
    """Answers (with their position, from 1) whose ref is neither on the answer nor in
    `definition.fields`: rules can address them only by field id."""
    refs = definition_refs(response)
    return [
        (position, answer)
        for position, answer in enumerate(response.answers, start=1)
        if answer_ref(answer, refs) is None
    ]


class Answers(Mapping[str, str]):
    """A response's values by ref, as text for templates and typed for times.

    Refs: a question's field ref (from the answer or the form definition, see `answer_ref`) or its
    field id, `hidden.<name>`, `variables.<key>`, `calculated.score`.
    """

    def __init__(self, response: FormResponse) -> None:
        self._answers: dict[str, Answer] = {}
        refs = definition_refs(response)
        self._unresolved = 0
        for answer in response.answers:
            self._answers[answer.field.id] = answer
            ref = answer_ref(answer, refs)
            if ref:
                self._answers[ref] = answer
            else:
                self._unresolved += 1
        self._other: dict[str, Any] = {f"hidden.{k}": v for k, v in response.hidden.items()}
        for variable in response.variables:
            self._other[f"variables.{variable.key}"] = (
                variable.text if variable.type == "text" else variable.number
            )
        if response.calculated is not None and response.calculated.score is not None:
            self._other["calculated.score"] = response.calculated.score

    # Mapping protocol, for template substitution: a skipped answer is empty text.
    def __getitem__(self, ref: str) -> str:
        return self.text(ref) or ""

    def __iter__(self) -> Iterator[str]:
        return iter([*self._answers, *self._other])

    def __len__(self) -> int:
        return len(self._answers) + len(self._other)

    def text(self, ref: str) -> str | None:
        if ref in self._other:
            return _scalar_text(self._other[ref])
        answer = self._answers.get(ref)
        return None if answer is None else _answer_text(answer)

    def required_text(self, ref: str) -> str:
        value = self.text(ref)
        if value is None or not value.strip():
            raise Unmappable(f"answer {ref} is missing{self._unresolved_hint(ref)}", field=ref)
        return value.strip()

    def _unresolved_hint(self, ref: str) -> str:
        """Why a ref may be missing although answered: answers whose ref cannot be found."""
        if not self._unresolved or ref in self._answers or "." in ref:  # hidden.x, variables.x: not answers
            return ""
        count = self._unresolved
        answers = "1 answer of the response names" if count == 1 else f"{count} answers of the response name"
        return (
            f" ({answers} no ref, neither in field.ref nor in definition.fields: rules can address"
            " them only by field id; check the form's refs)"
        )

    def date(self, ref: str) -> date:
        answer = self._answers.get(ref)
        if answer is not None and answer.date is not None:
            return answer.date
        text = self.required_text(ref)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise Unmappable(f"answer {ref} is not a date (YYYY-MM-DD)", field=ref) from None

    def time(self, ref: str) -> time:
        match = _CLOCK_TIME.match(self.required_text(ref))
        if match is None:
            raise Unmappable(f"answer {ref} is not a time of day such as 10:30", field=ref)
        hour, minute, meridiem = int(match.group(1)), int(match.group(2)), (match.group(3) or "").lower()
        if meridiem:
            if not 1 <= hour <= 12:
                raise Unmappable(f"answer {ref} is not a time of day such as 10:30", field=ref)
            hour = hour % 12 + (12 if meridiem == "p" else 0)
        return time(hour, minute)

    def datetime(self, ref: str, zone: ZoneInfo) -> datetime:
        text = self.required_text(ref)
        if len(text) > MAX_TIME_TEXT:
            raise Unmappable(f"answer {ref} is not a date-time such as 2026-12-01T10:30", field=ref)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise Unmappable(f"answer {ref} is not a date-time such as 2026-12-01T10:30", field=ref) from None
        # In the calendar window before any arithmetic on it: `9999-12-31T23:30Z` plus a duration
        # would overflow.
        return (
            check_window(parsed, field=ref)
            if parsed.tzinfo is not None
            else localize(parsed, zone, field=ref)
        )

    def duration(self, ref: str) -> timedelta:
        answer = self._answers.get(ref)
        if answer is not None and answer.number is not None:
            if not answer.number.is_integer():
                raise Unmappable(f"answer {ref} must be whole minutes", field=ref)
            return parse_duration(str(int(answer.number)), field=ref)
        return parse_duration(self.required_text(ref), field=ref)

    def integer(self, ref: str) -> int | None:
        text = self.text(ref)
        if text is None or not text.strip():
            return None
        if not re.fullmatch(r"[0-9]{1,12}", text.strip()):
            raise Unmappable(f"answer {ref} must be a whole number", field=ref)
        return int(text)


def _answer_text(answer: Answer) -> str | None:
    if answer.choice is not None:
        return answer.choice.other or answer.choice.label
    if answer.choices is not None:
        labels = [*answer.choices.labels, *([answer.choices.other] if answer.choices.other else [])]
        return ", ".join(labels)
    if answer.payment is not None:
        return answer.payment.amount
    if answer.date is not None:
        return answer.date.isoformat()
    return _scalar_text(answer.raw_value())


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    return None  # lists, objects of answer types we do not know: no text form


def map_response(
    response: FormResponse, form: FormRules, *, phone_region: str | None = None
) -> CalendarEvent:
    answers = Answers(response)
    zone = form.zone
    start = _start(answers, form, zone)
    end = _end(answers, form, zone, start)
    candidate: dict[str, Any] = {
        "calendarId": form.calendar_id,
        "startTime": start,
        "endTime": end,
        "title": _render(form.title, answers) or _missing("title"),
        "description": _render(form.description, answers),
        "agenda": _render(form.agenda, answers),
        "url": _render(form.url, answers),
        "locationTitle": _render(form.location_title, answers),
        "notifyBefore": form.notify_before,
        "isAllDay": form.is_all_day,
        "isBlocking": form.is_blocking,
        "blockingTo": end if form.is_blocking else None,
        "type": form.type,
        "attendees": _attendees(answers, form, phone_region),
    }
    try:
        return CalendarEvent.model_validate(candidate)
    except ValidationError as error:
        path, message = safe_first_error(error, candidate)
        field = _rule_source(form, path)
        raise Unmappable(f"{field}: {message}", field=field) from None


def _start(answers: Answers, form: FormRules, zone: ZoneInfo) -> datetime:
    rule = form.start
    if rule.datetime is not None:
        return answers.datetime(rule.datetime, zone)
    assert rule.date is not None  # guaranteed by StartRule
    assert rule.time is not None
    naive = datetime.combine(answers.date(rule.date), answers.time(rule.time))
    return localize(naive, zone, field=rule.time)


def _end(answers: Answers, form: FormRules, zone: ZoneInfo, start: datetime) -> datetime:
    rule = form.end
    # Durations are elapsed time: added in UTC so a clock change does not stretch or shrink them.
    if rule.duration is not None:
        return start.astimezone(UTC) + parse_duration(rule.duration, field="end.duration")
    if rule.duration_from is not None:
        return start.astimezone(UTC) + answers.duration(rule.duration_from)
    if rule.datetime is not None:
        return answers.datetime(rule.datetime, zone)
    assert rule.time is not None  # guaranteed by EndRule
    local_start = start.astimezone(zone)
    return localize(datetime.combine(local_start.date(), answers.time(rule.time)), zone, field=rule.time)


def _render(template: str | None, answers: Answers) -> str | None:
    if template is None:
        return None
    rendered = AnswerTemplate(template).substitute(answers).strip()
    return rendered or None


def _missing(key: str) -> str:
    raise Unmappable(f"{key} rendered empty: the answers it uses are missing", field=key)


def _attendees(answers: Answers, form: FormRules, phone_region: str | None) -> list[dict[str, Any]] | None:
    rule = form.attendee
    if rule is None:
        return None

    def pick(ref: str | None) -> str | None:
        text = answers.text(ref) if ref else None
        return text.strip() if text and text.strip() else None  # blank counts as skipped

    attendee = {
        "name": pick(rule.name),
        "email": pick(rule.email),
        # A text answer mapped to the phone may be national (`777 123 456`): DEFAULT_PHONE_REGION
        # reads it; Typeform's own phone question already sends the + form.
        "phone": international_field(phone, phone_region, field=rule.phone)
        if (phone := pick(rule.phone)) and rule.phone
        else None,
        "memberId": answers.integer(rule.member_id) if rule.member_id else None,
        "customerId": pick(rule.customer_id),
    }
    present = {k: v for k, v in attendee.items() if v is not None}
    return [present] if present else None


def _rule_source(form: FormRules, path: str) -> str:
    """The ref (or rules key) behind a CalendarEvent field, so a 422 names what the user can fix."""
    attendee_keys = {"name": "name", "email": "email", "phone": "phone", "memberId": "member_id"}
    attendee_keys["customerId"] = "customer_id"
    if path.startswith("attendees[0].") and form.attendee is not None:
        key = attendee_keys.get(path.removeprefix("attendees[0]."))
        ref = getattr(form.attendee, key) if key else None
        if ref:
            return str(ref)
    wire_to_rule = {
        "calendarId": "calendar_id",
        "locationTitle": "location_title",
        "notifyBefore": "notify_before",
        # An end before (or within a minute of) the start concerns the end rule.
        "endTime": "end",
    }
    return wire_to_rule.get(path, path) or "end"
