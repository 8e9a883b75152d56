"""Which names a sender chose are repeated in answers and logs, and how the others are described."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from bookhook.calendar.event import Attendee, CalendarEvent
from bookhook.safe_names import describe, describe_key_in, is_safe_name, safe_path
from bookhook.sources import safe_first_error
from bookhook.sources import stripe as stripe_source
from bookhook.sources.flat_booking import FlatBooking
from bookhook.sources.typeform import payload as typeform_payload

CANARY_KEY = "note for jan@example.cz +420 603 111 222"


def _names(model: type[BaseModel]) -> set[str]:
    return {alias for key, field in model.model_fields.items() for alias in (key, field.alias) if alias}


OUR_MODELS: list[type[BaseModel]] = [
    FlatBooking,
    CalendarEvent,
    Attendee,
    stripe_source.StripeEvent,
    stripe_source.EventData,
    stripe_source.CheckoutSession,
    stripe_source.CustomerDetails,
    stripe_source.PaymentIntent,
    stripe_source.Shipping,
    *(
        value
        for value in vars(typeform_payload).values()
        if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel
    ),
]


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda model: model.__name__)
def test_every_name_of_ours_is_repeated_as_written(model: type[BaseModel]) -> None:
    for name in _names(model):
        assert is_safe_name(name), name


@pytest.mark.parametrize(
    "event_type",
    [
        *sorted(stripe_source.BOOKABLE_EVENTS),
        "checkout.session.async_payment_failed",
        "v1.checkout.session.completed",
        "form_response",
    ],
)
def test_event_types_are_repeated_as_written(event_type: str) -> None:
    assert describe(event_type, what="event type", dotted=True) == event_type


@pytest.mark.parametrize("name", ["startTme", "order_id", "utm-source", "GymB00k1", "x", "A" * 40])
def test_plain_keys_and_typos_are_repeated(name: str) -> None:
    assert describe(name) == name


@pytest.mark.parametrize(
    "name",
    [
        CANARY_KEY,
        "jan@example.cz",
        "+420603111222",
        "420603111222",
        "603-111-222",
        "603_111_222",
        "2026-12-01",
        "example.cz",
        "https://example.cz",
        "Jan Novák",
        "Barášek",
        "A" * 41,
        "a\nb",
        "",
    ],
)
def test_what_contact_data_is_written_with_is_described(name: str) -> None:
    assert not is_safe_name(name)
    assert describe(name, position=3) == f"<key #3, {len(name)} character{'' if len(name) == 1 else 's'}>"
    assert not is_safe_name(name, dotted=True) or name == "example.cz"


def test_a_dotted_name_is_bounded_in_length_and_digits() -> None:
    assert not is_safe_name("a." * 40 + "a", dotted=True)
    assert not is_safe_name("v1.pi.12345", dotted=True)
    assert describe("jan@example.cz", what="event type", dotted=True) == "<event type, 14 characters>"


def test_an_empty_value_is_shown_as_it_is_and_an_empty_key_by_position() -> None:
    assert describe("", what="event type", dotted=True) == ""
    assert describe_key_in("", {"a": 1, "": 2}) == "<key #2, 0 characters>"


def test_a_key_is_described_by_its_position_in_its_object() -> None:
    assert (
        describe_key_in(CANARY_KEY, {"title": "x", CANARY_KEY: "y"})
        == f"<key #2, {len(CANARY_KEY)} characters>"
    )
    assert describe_key_in("title", {CANARY_KEY: "y", "title": "x"}) == "title"


def test_a_path_describes_the_senders_keys_and_keeps_ours() -> None:
    data = {"data": {"object": {"metadata": {"a": "1", CANARY_KEY: 2}, "items": [{CANARY_KEY: 1}]}}}

    assert safe_path(("data", "object", "metadata", CANARY_KEY), data) == (
        f"data.object.metadata.<key #2, {len(CANARY_KEY)} characters>"
    )
    assert safe_path(("data", "object", "items", 0, CANARY_KEY), data) == (
        f"data.object.items[0].<key #1, {len(CANARY_KEY)} characters>"
    )
    # Names that are not keys of the data (a missing field, Pydantic's union tags) are ours.
    assert safe_path(("data", "object", "payment_intent", "dict[str,any]", "id"), data) == (
        "data.object.payment_intent.dict[str,any].id"
    )
    assert safe_path(("data", "object", "items", 5, "x"), data) == "data.object.items[5].x"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    metadata: dict[str, str] = {}


@pytest.mark.parametrize(
    ("data", "expected_path"),
    [
        ({"title": "x", CANARY_KEY: "y"}, f"<key #2, {len(CANARY_KEY)} characters>"),
        (
            {"title": "x", "metadata": {"ok": "1", CANARY_KEY: 5}},
            f"metadata.<key #2, {len(CANARY_KEY)} characters>",
        ),
        ({"title": "x", "metadata": {"plain": 5}}, "metadata.plain"),
        ({}, "title"),
    ],
)
def test_the_first_error_names_no_personal_key(data: dict[str, Any], expected_path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _Strict.model_validate(data)

    path, message = safe_first_error(caught.value, data)

    assert path == expected_path
    assert "example.cz" not in path + message
    assert "603" not in path + message


def test_a_validator_message_repeating_the_value_is_scrubbed() -> None:
    def refuse(value: str) -> str:
        raise ValueError(f"{value} is not allowed")

    class Echoing(BaseModel):
        email: Annotated[str, AfterValidator(refuse)]

    data = {"email": "jan@example.cz"}
    with pytest.raises(ValidationError) as caught:
        Echoing.model_validate(data)

    _, message = safe_first_error(caught.value, data)

    assert "jan@example.cz" not in message
