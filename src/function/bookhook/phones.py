"""Phone numbers as BizKitHub's example writes them: `+420 777123456`.

Numbers are checked by Google's libphonenumber (`import phonenumbers`, installed from PyPI as
`phonenumberslite`: the same parser and metadata as `phonenumbers`, without the geocoding, carrier and
time-zone data we never use, a twentieth of its size on disk). It knows each country's calling code,
number lengths and ranges, so no table of ours has to.

`international(text, region)` is the one entry point. Before libphonenumber sees anything:
- the text is capped at `MAX_PHONE` characters (a 10,000-character field is refused at once);
- it may hold only ASCII digits, a `+` in front, and the separators people type (whitespace,
  including a pasted no-break space, `-`, `.`, `/`, brackets). libphonenumber itself is more liberal:
  it reads fullwidth and Arabic-Indic digits, letters as keypad digits (`1-800-FLOWERS`), `tel:` URIs
  and extensions (`ext. 12`, which BizKitHub's attendee has no room for). We refuse all of those
  rather than have a library guess what a sender meant;
- a leading `00` means `+` (the international prefix of Europe and most of the world), whatever the
  region. Other regions' own international prefixes (`011` from the US) are understood when that
  region is the default.

A number with `+` (or `00`) is read on its own; one without is read as a national number of the
default region (`DEFAULT_PHONE_REGION`), and refused, saying it needs a country code, when there is
none. Either way it must be a *valid* number (libphonenumber's `is_valid_number`: a length and a
range its country assigns), and it comes out as `+<country code> <national significant number>`.
Messages never carry the number.
"""

from __future__ import annotations

import re

import phonenumbers

from bookhook.errors import Unmappable

# 15 digits (E.164's maximum), a + and room for the spaces, dashes and brackets people type.
MAX_PHONE = 40
# `\s` on purpose: a pasted no-break space separates too; the digits are checked as ASCII below.
_SEPARATORS = re.compile(r"[\s\-.()/]")
_PLAIN_NUMBER = re.compile(r"\+?[0-9]{1,39}")

NEEDS_COUNTRY_CODE = (
    "needs a country code: write it as an international number starting with + "
    "(such as +420 777123456), or set DEFAULT_PHONE_REGION"
)
_CHARACTERS = "must be a phone number of ASCII digits, + in front and spaces, dashes, dots or brackets"
_INVALID = "is not a valid phone number"


def known_region(code: str) -> bool:
    """Whether libphonenumber has numbering metadata for this two-letter region (CZ, SK, US, ...)."""
    return code in phonenumbers.SUPPORTED_REGIONS


def international(text: str, region: str | None) -> str:
    """`+<country code> <national significant number>`, or ValueError with a message that does
    not quote the number. `region` (an upper-case code `known_region` accepts, or None) is the
    country of a number written without `+` or `00`."""
    if len(text) > MAX_PHONE:
        raise ValueError(f"must be a phone number of at most {MAX_PHONE} characters")
    compact = _SEPARATORS.sub("", text)
    if not _PLAIN_NUMBER.fullmatch(compact):
        raise ValueError(_CHARACTERS)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not compact.startswith("+") and region is None:
        raise ValueError(NEEDS_COUNTRY_CODE)
    invalid = _INVALID if compact.startswith("+") else f"{_INVALID} (read as a national number of {region})"
    try:
        number = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException:
        raise ValueError(invalid) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(invalid)
    return f"+{number.country_code} {phonenumbers.national_significant_number(number)}"


def international_field(text: str, region: str | None, *, field: str) -> str:
    """`international`, for a source: a refusal is a 422 naming `field` (as the sender wrote it)."""
    try:
        return international(text, region)
    except ValueError as error:
        raise Unmappable(f"{field}: {error}", field=field) from None
