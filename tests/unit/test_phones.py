"""bookhook.phones: numbers read by libphonenumber against DEFAULT_PHONE_REGION, sent as `+420 777123456`."""

from __future__ import annotations

import time

import phonenumbers
import pytest

from bookhook import phones
from bookhook.errors import Unmappable
from bookhook.phones import MAX_PHONE, NEEDS_COUNTRY_CODE, international, international_field, known_region


@pytest.mark.parametrize(
    "value",
    [
        "777123456",
        "777 123 456",
        "777-123-456",
        "777.123.456",
        "777/123 456",
        "(777) 123 456",
        " 777 123 456 ",
        "777\u00a0123\u00a0456",  # pasted no-break spaces
        "420 777 123 456",  # the country code without +: libphonenumber knows CZ's own code
        "00420 777 123 456",
        "00420777123456",
        "+420 777 123 456",
        "+420777123456",
        "+420-777-123-456",
    ],
)
def test_czech_numbers_in_the_spellings_people_type(value: str) -> None:
    assert international(value, "CZ") == "+420 777123456"


@pytest.mark.parametrize("value", ["+420 777 123 456", "00420 777 123 456", "+420777123456"])
def test_international_numbers_need_no_region(value: str) -> None:
    assert international(value, None) == "+420 777123456"


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("+421 905 123 456", "+421 905123456"),  # Slovakia
        ("0049 30 1234567", "+49 301234567"),  # Germany, 00 for +
        ("+44 20 7946 0958", "+44 2079460958"),
        ("+1 (415) 555-2671", "+1 4155552671"),
        ("+39 06 1234 5678", "+39 0612345678"),  # Italy keeps its leading 0
        ("+7 912 345-67-89", "+7 9123456789"),
    ],
)
@pytest.mark.parametrize("region", [None, "CZ", "US"])
def test_other_countries_international_numbers_with_and_without_a_region(
    value: str, canonical: str, region: str | None
) -> None:
    """An international number is read on its own: the default region does not change it."""
    assert international(value, region) == canonical


@pytest.mark.parametrize(
    ("value", "region", "canonical"),
    [
        ("0905 123 456", "SK", "+421 905123456"),  # the national trunk 0 is dropped
        ("030 1234567", "DE", "+49 301234567"),
        ("(415) 555-2671", "US", "+1 4155552671"),
        ("011 420 777 123 456", "US", "+420 777123456"),  # the region's own international prefix
        ("020 7946 0958", "GB", "+44 2079460958"),
        ("06 1234 5678", "IT", "+39 0612345678"),
    ],
)
def test_national_numbers_of_other_regions(value: str, region: str, canonical: str) -> None:
    assert international(value, region) == canonical


@pytest.mark.parametrize("value", ["777 123 456", "0777123456", "420 777 123 456", "777123456"])
def test_a_national_number_without_a_region_needs_a_country_code(value: str) -> None:
    with pytest.raises(ValueError, match=r"^needs a country code") as caught:
        international(value, None)

    assert str(caught.value) == NEEDS_COUNTRY_CODE
    assert "DEFAULT_PHONE_REGION" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "region"),
    [
        ("777 123 45", "CZ"),  # a digit short
        ("777 123 4567", "CZ"),  # a digit too many
        ("0777 123 456", "CZ"),  # the Czech Republic has no trunk 0
        ("123 456 789", "CZ"),  # a range nobody is assigned
        ("777 123 456", "SK"),  # a Czech mobile is no Slovak number
        ("555 555 1234", "US"),  # 555 is no area code
        ("+420 123 456 789", "CZ"),
        ("+12345678", None),  # E.164-shaped, but no number of +1
        ("+0420777123456", None),  # no country code starts with 0
        ("000420777123456", "CZ"),
        ("+999 123 456 789", None),  # no such country code
        ("+4201234567890123456789012345678901234", "CZ"),  # 38 digits, under the length cap
        ("00", "CZ"),
    ],
)
def test_invalid_numbers_are_refused_without_quoting_them(value: str, region: str | None) -> None:
    with pytest.raises(ValueError, match="is not a valid phone number") as caught:
        international(value, region)

    digits = "".join(char for char in value if char.isdigit())
    assert digits[-6:] not in str(caught.value)


def test_a_refused_national_number_names_the_region_it_was_read_in() -> None:
    with pytest.raises(ValueError, match="not a valid phone number") as caught:
        international("777 123 456", "SK")

    assert str(caught.value) == "is not a valid phone number (read as a national number of SK)"


@pytest.mark.parametrize(
    "value",
    [
        "７７７ １２３ ４５６",  # fullwidth: libphonenumber alone would accept these
        "+４２０ ７７７ １２３ ４５６",
        "＋420 777 123 456",  # fullwidth plus
        "٧٧٧ ١٢٣ ٤٥٦",  # Arabic-Indic
        "७७७ १२३ ४५६",  # Devanagari
        "777 123 456 ext. 12",
        "777 123 456 x12",
        "777 123 456;ext=12",
        "tel:+420-777-123-456",
        "+420 777 FLOWER",  # keypad letters
        "+420 777 123 456#",
        "+420 777 123 456\x00",
        "777 123 456 +",
        "",
        " ",
    ],
)
def test_only_ascii_digits_and_separators_are_read(value: str) -> None:
    with pytest.raises(ValueError, match="ASCII digits"):
        international(value, "CZ")


def test_libphonenumber_itself_would_read_fullwidth_digits() -> None:
    """Why the ASCII check is ours: without it, fullwidth digits would be accepted and converted."""
    number = phonenumbers.parse("７７７ １２３ ４５６", "CZ")

    assert phonenumbers.is_valid_number(number)


def test_the_output_is_ascii_even_for_a_region_with_its_own_digits() -> None:
    assert international("0501234567", "SA") == "+966 501234567"
    assert international("0501234567", "SA").isascii()


@pytest.mark.parametrize(
    "value",
    [
        "7" * 10_000,
        "+" + "1" * 9_999,
        " " * 9_999 + "x",
        "７" * 10_000,
        "(" * 5_000 + ")" * 5_000,
        "+420 777 123 456" + " " * (MAX_PHONE - 15),  # one character over the cap
    ],
    ids=["digits", "plus-digits", "spaces-x", "fullwidth", "brackets", "just-over"],
)
def test_long_input_is_refused_fast_by_the_cap(value: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError, match=f"at most {MAX_PHONE} characters"):
        international(value, "CZ")
    assert time.perf_counter() - start < 0.01


def test_the_longest_accepted_text_is_still_read() -> None:
    value = "+420" + " " * (MAX_PHONE - 13) + "777123456"

    assert len(value) == MAX_PHONE
    assert international(value, None) == "+420 777123456"


def test_international_field_names_the_field() -> None:
    assert international_field("777 123 456", "CZ", field="attendeePhone") == "+420 777123456"
    with pytest.raises(Unmappable) as caught:
        international_field("603 987 654", None, field="metadata.attendeePhone")

    assert caught.value.field == "metadata.attendeePhone"
    assert caught.value.message == f"metadata.attendeePhone: {NEEDS_COUNTRY_CODE}"
    assert "987" not in caught.value.message


@pytest.mark.parametrize(("code", "known"), [("CZ", True), ("SK", True), ("US", True), ("GB", True)])
def test_known_regions(code: str, known: bool) -> None:
    assert known_region(code) is known


@pytest.mark.parametrize("code", ["cz", "XX", "ZZ", "UK", "001", "", "CZE", "EU"])
def test_unknown_regions(code: str) -> None:
    """Upper-case ISO 3166-1 codes only (settings upper-cases first); UK is GB, 001 is non-geographic."""
    assert not known_region(code)


@pytest.mark.parametrize(
    "value",
    [" " * 9_999 + "x", "1" * 10_000, "+" + "1" * 9_999, "1 " * 5_000, "(1)" * 3_333, "-" * 9_999 + "x"],
    ids=["spaces-x", "digits", "plus-digits", "digit-space", "brackets", "dashes-x"],
)
def test_the_patterns_are_linear_even_without_the_cap(value: str) -> None:
    start = time.perf_counter()
    phones._PLAIN_NUMBER.fullmatch(phones._SEPARATORS.sub("", value))
    assert time.perf_counter() - start < 0.1
