"""The one JSON reader: each decision in `bookhook.jsonbody`'s docstring, its speed on hostile
bodies, and that no message repeats what the body holds."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bookhook.errors import MalformedRequest
from bookhook.jsonbody import MAX_DEPTH, MAX_NUMBER_CHARS, read_json

EVENTS = Path(__file__).resolve().parents[2] / "events"
CANARY_EMAIL = "jan.canary@example.cz"
CANARY_PHONE = "+420603111222"


def refusal(body: bytes) -> str:
    with pytest.raises(MalformedRequest) as caught:
        read_json(body)
    assert caught.value.status == 400
    assert caught.value.field is None
    return caught.value.message


def nested(depth: int, *, inner: str = "1") -> bytes:
    """Arrays and objects alternating, `depth` levels around `inner`."""
    opening = "".join('{"k":' if level % 2 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return (opening + inner + closing).encode()


# --- what is read ------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", sorted(path.name for path in EVENTS.glob("*.json")))
def test_the_sample_events_and_their_bodies_read_as_the_standard_library_reads_them(sample: str) -> None:
    document = json.loads((EVENTS / sample).read_text(encoding="utf-8"))
    assert read_json(json.dumps(document).encode()) == document
    if isinstance(document.get("body"), str) and not document.get("isBase64Encoded"):
        body = document["body"].encode()
        assert read_json(body) == json.loads(body)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
        max_leaves=30,
    )
)
def test_any_json_value_within_the_limits_reads_back_equal(value: Any) -> None:
    for body in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert read_json(body.encode("utf-8")) == value


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.binary(max_size=200) | st.text(alphabet='[]{}"\\:,0123456789.eE+-nultrfasNIy \ud800', max_size=200))
def test_any_bytes_are_read_or_refused_with_400_and_nothing_else(body: bytes | str) -> None:
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    with contextlib.suppress(MalformedRequest):  # any other exception fails the test
        read_json(data)


# --- depth ---------------------------------------------------------------------------------------


def test_the_deepest_body_allowed_reads() -> None:
    assert read_json(nested(MAX_DEPTH)) is not None
    assert read_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_001, 100_000])
def test_deeper_bodies_are_refused_fast_without_recursion(depth: int) -> None:
    for body in (nested(depth), b"[" * depth + b"]" * depth, b"[" * depth):
        started = time.perf_counter()
        assert refusal(body) == f"the body is nested more than {MAX_DEPTH} levels deep"
        assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    "text",
    [
        "[" * 1_000,
        "{" * 1_000,
        '\\"' + "[" * 1_000,  # an escaped quote does not end the string
        "\\\\" + "]" * 1_000,  # an escaped backslash does not escape the next character
        "\\u005b" * 1_000,  # `[` written as an escape
    ],
)
def test_brackets_inside_strings_are_text_not_depth(text: str) -> None:
    body = json.dumps({"a": [text, {"b": text}]})
    assert read_json(body.encode()) == json.loads(body)


def test_a_closing_bracket_with_nothing_open_is_invalid_json() -> None:
    assert refusal(b"]" + b"[" * 100_000).startswith("the body is not valid JSON")


@pytest.mark.parametrize(
    "body",
    [
        b"\\" * 1_000_000,
        b'"' * 1_000_000,
        b'"' + b'\\"' * 500_000,
        b'["' + b"a" * 1_000_000,
        b'"' + b"[" * 1_000_000,
        b"[" + b'"a",' * 250_000 + b"1]",
        b"[" + b"[]," * 300_000 + b"[]]",
    ],
    ids=[
        "backslashes",
        "quotes",
        "escaped quotes",
        "unterminated string",
        "string then brackets",
        "strings",
        "arrays",
    ],
)
def test_a_megabyte_of_hostile_punctuation_is_answered_in_linear_time(body: bytes) -> None:
    started = time.perf_counter()
    with contextlib.suppress(MalformedRequest):
        read_json(body)
    assert time.perf_counter() - started < 1.0


# --- duplicate keys, NaN, numbers ------------------------------------------------------------------


def test_a_duplicate_key_is_refused_naming_a_plain_key() -> None:
    assert (
        refusal(b'{"title": "a", "x": 1, "title": "b"}') == "the body gives the key title twice in one object"
    )
    nested_duplicate = b'{"event": {"attendees": [{"name": "a", "name": "b"}]}}'
    assert refusal(nested_duplicate) == "the body gives the key name twice in one object"


def test_a_duplicate_key_that_may_be_personal_is_described_not_repeated() -> None:
    key = f"note for {CANARY_EMAIL} {CANARY_PHONE}"
    message = refusal(json.dumps({"a": 1, key: 1}).encode()[:-1] + f', "{key}": 2}}'.encode())
    assert message == f"the body gives the key <key #3, {len(key)} characters> twice in one object"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant: str) -> None:
    assert refusal(f'{{"amount": {constant}}}'.encode()) == f"the body has {constant}, which is not JSON"


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "9" * 30 + "e300"])
def test_a_number_too_large_for_a_double_is_refused(literal: str) -> None:
    assert refusal(f'{{"amount": {literal}}}'.encode()) == "the body has a number too large for a double"


def test_numbers_up_to_the_length_limit_read_exactly() -> None:
    integer = "9" * MAX_NUMBER_CHARS
    assert read_json(f"[{integer}, -{integer[1:]}, 1e-400, 0.1]".encode()) == [
        int(integer),
        -int(integer[1:]),
        0.0,
        0.1,
    ]


@pytest.mark.parametrize(
    "literal",
    ["1" * (MAX_NUMBER_CHARS + 1), "1" * 10_000, "1" * 1_000_000, "0." + "1" * 10_000, "1e" + "9" * 10_000],
)
def test_longer_numbers_are_refused_before_conversion(literal: str) -> None:
    started = time.perf_counter()
    assert refusal(f'{{"n": {literal}}}'.encode()) == (
        f"the body has a number longer than {MAX_NUMBER_CHARS} characters"
    )
    assert time.perf_counter() - started < 0.1


# --- encoding ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"title": "\xff"}',
        b'{"title": "Bar\xe1\x9aek"}',  # Windows-1250 mistaken for UTF-8
        b'{"title": "\xed\xa0\x80"}',  # a surrogate encoded as if it were a character (CESU-8)
        b'{"title": "\xc0\xaf"}',  # an overlong `/`
    ],
)
def test_invalid_utf8_is_refused_with_its_offset(body: bytes) -> None:
    assert refusal(body) in {f"the body is not UTF-8 (invalid byte at offset {n})" for n in (11, 14)}


def test_one_leading_byte_order_mark_is_ignored() -> None:
    assert read_json(b'\xef\xbb\xbf{"title": "x"}') == {"title": "x"}
    assert refusal(b'\xef\xbb\xbf{"title": "\xff"}') == "the body is not UTF-8 (invalid byte at offset 14)"


def test_a_second_byte_order_mark_is_not_ignored() -> None:
    assert refusal(b'\xef\xbb\xbf\xef\xbb\xbf{"title": "x"}').startswith("the body is not valid JSON")


@pytest.mark.parametrize("escaped", ["\\ud800", "\\udfff", "x\\udc00y", "\\ude00\\ud83d", "\\ud83d\\u0041"])
def test_half_a_surrogate_pair_is_refused_in_values_and_keys(escaped: str) -> None:
    expected = "the body has a \\u escape for half a surrogate pair, which is no character"
    assert refusal(f'{{"title": ["{escaped}"]}}'.encode()) == expected
    assert refusal(f'{{"{escaped}": 1}}'.encode()) == expected


def test_a_surrogate_pair_is_one_character() -> None:
    assert read_json(b'{"title": "\\ud83d\\ude00", "\\\\ud800": 1}') == {"title": "\U0001f600", "\\ud800": 1}


# --- messages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        f'{{"note": "{CANARY_EMAIL}" "x"}}',
        f'{{"note": "{CANARY_EMAIL}\x01"}}',
        f'{{"note": "{CANARY_EMAIL}\\q"}}',
        f'{{"{CANARY_EMAIL}": 1, "{CANARY_EMAIL}": 2}}',
        f'{{"{CANARY_PHONE}": 1, "{CANARY_PHONE}": 2}}',
        f'{{"note": "{CANARY_EMAIL}", "n": NaN}}',
        f'["{CANARY_EMAIL}", {CANARY_PHONE[1:] * 4}]',
        f'["{CANARY_EMAIL}"',
        f"{CANARY_PHONE}",
    ],
)
def test_no_refusal_repeats_what_the_body_holds(body: str) -> None:
    message = refusal(body.encode())
    for canary in (CANARY_EMAIL, "canary", "example.cz", CANARY_PHONE, "603111222"):
        assert canary not in message
