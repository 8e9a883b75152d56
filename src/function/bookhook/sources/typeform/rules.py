"""Booking rules for Typeform forms: data the user writes, validated when the function starts.

Why TOML: the standard library reads it (`tomllib`, no dependency in the package), it has comments
(a rules file is documentation too), and its nested tables map one-to-one onto the models below.
JSON has no comments; YAML would need a parser in the package and has surprising typing.

One table per Typeform form id (see README for a complete, commented example):

    [forms.GymB00k1]
    calendar_id = "2WRp6X5rSqQa321EjHB2mxZz74u74H84"
    timezone = "Europe/Prague"
    title = "Training: ${name}"
    start = { date = "booking_date", time = "booking_time" }
    end = { duration = "1h 30m" }
    attendee = { name = "name", email = "email", phone = "phone" }

A *ref* names where a value comes from: a question's field `ref` (set in Typeform's builder or
Create API), `hidden.<name>` for a hidden field, `variables.<key>`, or `calculated.score`.
Templates (`title`, `description`, `agenda`, `location_title`, `url`) substitute `$ref` or
`${ref}` (use braces for refs with dots or dashes) with the answer's text: no attribute or index
access, no expressions. An answer the respondent skipped substitutes as empty text.
"""

from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
    model_validator,
)

from bookhook.calendar.event import CALENDAR_ID_PATTERN, NotifyBefore
from bookhook.errors import Unmappable
from bookhook.timeparse import parse_duration

REF_PATTERN = r"^(?:(?:hidden|variables)\.[A-Za-z0-9_\-]{1,100}|calculated\.score|[A-Za-z0-9_\-]{1,100})$"
_REF = re.compile(REF_PATTERN)


class RulesError(Exception):
    """The rules file cannot be used; the message names the form and the key."""


class AnswerTemplate(string.Template):
    """`$ref` or `${ref}`; braces allow the dots and dashes refs may contain."""

    braceidpattern = r"(?a:[A-Za-z0-9_\-.]+)"


def _template(value: str) -> str:
    template = AnswerTemplate(value)
    if not template.is_valid():
        raise ValueError("invalid placeholder: write $ref or ${ref}, and $$ for a literal $")
    for identifier in template.get_identifiers():
        if not _REF.match(identifier):
            raise ValueError(
                f"placeholder ${{{identifier}}} is not a ref (answer ref, hidden.x, variables.x)"
            )
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("must be an IANA time zone name such as Europe/Prague") from None
    return value


def _duration(value: str) -> str:
    try:
        parse_duration(value, field="end.duration")
    except Unmappable as error:
        raise ValueError(error.message.removeprefix("end.duration ")) from None
    return value


Ref = Annotated[str, StringConstraints(pattern=REF_PATTERN)]
Template = Annotated[str, StringConstraints(min_length=1, max_length=5000), AfterValidator(_template)]


class _Rule(BaseModel):
    # Unknown keys are errors: a misspelt key silently ignored would book wrong events.
    model_config = ConfigDict(extra="forbid", frozen=True)


class StartRule(_Rule):
    """`datetime` (one answer or hidden field with a full date-time), or `date` plus `time`."""

    datetime: Ref | None = None
    date: Ref | None = None
    time: Ref | None = None

    @model_validator(mode="after")
    def _one_source(self) -> StartRule:
        if self.datetime is not None and (self.date is not None or self.time is not None):
            raise ValueError("give either datetime, or date and time, not both")
        if self.datetime is None and (self.date is None or self.time is None):
            raise ValueError("needs datetime, or both date and time")
        return self


class EndRule(_Rule):
    """Exactly one of: a fixed `duration`, `duration_from` an answer, an end `datetime`, an end `time`."""

    duration: Annotated[str, AfterValidator(_duration)] | None = None
    duration_from: Ref | None = None
    datetime: Ref | None = None
    time: Ref | None = None

    @model_validator(mode="after")
    def _one_source(self) -> EndRule:
        given = [v for v in (self.duration, self.duration_from, self.datetime, self.time) if v is not None]
        if len(given) != 1:
            raise ValueError("needs exactly one of duration, duration_from, datetime, time")
        return self


class AttendeeRule(_Rule):
    name: Ref | None = None
    email: Ref | None = None
    phone: Ref | None = None
    member_id: Ref | None = None
    customer_id: Ref | None = None

    @model_validator(mode="after")
    def _something(self) -> AttendeeRule:
        if not any((self.name, self.email, self.phone, self.member_id, self.customer_id)):
            raise ValueError("name at least one of name, email, phone, member_id, customer_id")
        return self


class FormRules(_Rule):
    calendar_id: Annotated[str, StringConstraints(pattern=CALENDAR_ID_PATTERN)]
    timezone: Annotated[str, AfterValidator(_timezone)]
    title: Template
    description: Template | None = None
    agenda: Template | None = None
    location_title: Template | None = None
    url: Template | None = None
    type: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    notify_before: NotifyBefore | None = None
    is_all_day: bool | None = None
    # When true the event blocks the calendar until it ends (BizKitHub's `blockingTo` = `endTime`).
    is_blocking: bool | None = None
    start: StartRule
    end: EndRule
    attendee: AttendeeRule | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class BookingRules(_Rule):
    forms: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,64}$")], FormRules] = {}


def parse_rules(text: str, *, source: str = "rules") -> BookingRules:
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"{source}: not valid TOML: {error}") from None
    try:
        return BookingRules.model_validate(document)
    except ValidationError as error:
        raise RulesError(
            f"{source}: " + "; ".join(_describe(d) for d in error.errors(include_url=False))
        ) from None


def load_rules(path: Path) -> BookingRules:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RulesError(f"{path}: cannot be read ({error.strerror})") from None
    return parse_rules(text, source=str(path))


def _describe(detail: Any) -> str:
    location = [str(part) for part in detail["loc"]]
    message = str(detail["msg"]).removeprefix("Value error, ")
    if len(location) >= 2 and location[0] == "forms":
        if location[2:] == ["[key]"]:  # Pydantic's marker for a bad dict key: the form id itself
            return f"form {location[1]}: the form id must be 1-64 letters, digits, - or _"
        key = ".".join(location[2:]) or "(the form's table)"
        return f"form {location[1]}, key {key}: {message}"
    return f"key {'.'.join(location) or '(top level)'}: {message}"
