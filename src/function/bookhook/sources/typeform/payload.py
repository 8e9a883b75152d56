"""Typeform's `form_response` webhook body as Pydantic models.

Answers are addressed by their field `ref`, which an answer carries in `field.ref` or, as in
Typeform's published example payload (https://www.typeform.com/developers/webhooks/example-payload/),
only in `definition.fields` under the answer's field id (see `mapping.Answers`). Every answer type
Typeform documents is modelled (text, email, date, phone_number, choice, choices, number, boolean,
url, file_url, payment); an answer of a type we do not know (Typeform adds some, e.g. for video
blocks) is kept untyped and only fails a booking whose rules actually use it.

What Typeform may leave out it may also send as `null` (`hidden`, `variables`, `calculated`,
`definition`, `ending`, and `answers` of a response that was never completed): null reads as absent.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

# Unknown keys are allowed throughout: Typeform adds fields over time, and a new one must not turn
# a valid booking into a 400.
_TOLERANT = ConfigDict(extra="allow", frozen=True)

_T = TypeVar("_T")


def _empty_list_if_null(value: Any) -> Any:
    return [] if value is None else value


def _empty_dict_if_null(value: Any) -> Any:
    return {} if value is None else value


# `null` where a list or an object is expected reads as an empty one, as if the key were absent.
NullableList = Annotated[list[_T], BeforeValidator(_empty_list_if_null)]
NullableDict = Annotated[dict[str, _T], BeforeValidator(_empty_dict_if_null)]


class AnswerField(BaseModel):
    model_config = _TOLERANT
    id: str
    type: str | None = None
    ref: str | None = None


class Choice(BaseModel):
    model_config = _TOLERANT
    id: str | None = None
    label: str | None = None
    ref: str | None = None
    other: str | None = None


class Choices(BaseModel):
    model_config = _TOLERANT
    ids: NullableList[str] = []
    labels: NullableList[str] = []
    refs: NullableList[str] = []
    other: str | None = None


class Payment(BaseModel):
    model_config = _TOLERANT
    amount: str | None = None
    last4: str | None = None
    name: str | None = None
    success: bool | None = None


class Answer(BaseModel):
    """One answer: `{"type": T, T: value, "field": {...}}`."""

    model_config = _TOLERANT
    type: str
    field: AnswerField
    text: str | None = None
    email: str | None = None
    date: dt.date | None = None
    phone_number: str | None = None
    choice: Choice | None = None
    choices: Choices | None = None
    number: float | None = None
    boolean: bool | None = None
    url: str | None = None
    file_url: str | None = None
    payment: Payment | None = None

    def raw_value(self) -> Any:
        """The value under the key named by `type`, whatever the type."""
        if self.type in type(self).model_fields and self.type not in ("type", "field"):
            return getattr(self, self.type)
        return (self.model_extra or {}).get(self.type)


class Variable(BaseModel):
    model_config = _TOLERANT
    key: str
    type: str
    number: float | None = None
    text: str | None = None


class Calculated(BaseModel):
    model_config = _TOLERANT
    score: float | None = None


class DefinitionField(BaseModel):
    model_config = _TOLERANT
    id: str
    ref: str | None = None
    type: str | None = None
    title: str | None = None


class Definition(BaseModel):
    model_config = _TOLERANT
    id: str | None = None
    title: str | None = None
    fields: NullableList[DefinitionField] = []

    def ref_by_field_id(self) -> dict[str, str]:
        """Each field's ref under its id; fields without a ref are left out."""
        return {field.id: field.ref for field in self.fields if field.ref}


class FormResponse(BaseModel):
    model_config = _TOLERANT
    form_id: str = Field(min_length=1)
    token: str = Field(min_length=1, max_length=200)
    landed_at: AwareDatetime | None = None
    submitted_at: AwareDatetime | None = None
    hidden: NullableDict[Any] = {}
    calculated: Calculated | None = None
    variables: NullableList[Variable] = []
    definition: Definition | None = None
    answers: NullableList[Answer] = []
    # `ending` (which ending screen the respondent saw) is not used: kept, like any unknown key.


class TypeformWebhook(BaseModel):
    model_config = _TOLERANT
    event_id: str | None = None
    event_type: str
    form_response: FormResponse | None = None
