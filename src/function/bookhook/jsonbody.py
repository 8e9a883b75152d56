"""The one JSON reader for every sender's body: the same bytes get the same answer on every route.

`read_json(body)` returns the parsed value or raises `MalformedRequest` (400, no `field`) whose
message says what is wrong (for a syntax error also the line and column), never a value; a key is
named only as `bookhook.safe_names` allows. Signatures are checked on the raw bytes before it runs.
Decided once, for every route:

- **Encoding**: UTF-8 only (RFC 8259 §8.1); invalid UTF-8 is 400.
- **Byte order mark**: one leading UTF-8 BOM is ignored, as RFC 8259 allows a parser to: it carries
  no data, and a body typed into Zapier's Custom Request from a Windows editor may start with one
  (Stripe and Typeform never send one). Anywhere else it is text, inside a string or an error.
- **Depth**: at most `MAX_DEPTH` (64) nested arrays and objects; our senders use under 10. Checked
  before parsing, without recursion and in linear time, so 100,000 levels cost no more than 65.
- **Duplicate keys** in one object: 400. Two values for one key are ambiguous (parsers disagree on
  which wins), and a signed body that means different things to different parsers is how a check
  made on one reading is bypassed by another.
- **`NaN`, `Infinity`, `-Infinity`**: 400, as they are not JSON; so is a number too large for a
  double (`1e400`, which would read as infinity).
- **Number literals** longer than `MAX_NUMBER_CHARS` (40: sign, digits, point, exponent): 400,
  refused before conversion, as Python's `int()` is quadratic in the digits (and stops at 4,300).
  Our largest real numbers are Unix times and amounts in minor units.
- **Half a surrogate pair** written as an escape (`"\\ud800"` alone): 400. Such a string has no
  UTF-8 form, so it could be neither stored, logged nor forwarded; a proper pair
  (`"\\ud83d\\ude00"`) is one character and fine.
"""

from __future__ import annotations

import json
import math
import re
from typing import TypeAlias

from bookhook.errors import MalformedRequest
from bookhook.safe_names import describe

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"

MAX_DEPTH = 64
MAX_NUMBER_CHARS = 40

_BOM = b"\xef\xbb\xbf"
# For the depth check: escapes (`\"`, `\\`, `\u…`) first, so every quote left delimits a string;
# then strings, so every bracket left is structure. Neither pattern can backtrack more than once.
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*+"')
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
# Only an escape can put a surrogate in a string (UTF-8 cannot encode one): look for any only then.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class _Refused(Exception):
    """Raised from inside the parser's hooks; becomes `MalformedRequest` with this message."""


def read_json(body: bytes) -> JsonValue:
    """The JSON value in `body`, or `MalformedRequest` (400) naming what is wrong but no value."""
    offset = 0
    if body.startswith(_BOM):
        body, offset = body[len(_BOM) :], len(_BOM)
    text = decode_utf8(body, offset=offset)
    _check_depth(body)
    try:
        value: JsonValue = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
        )
    except _Refused as refused:
        raise MalformedRequest(str(refused)) from None
    except RecursionError:  # unreachable after the depth check; kept so nesting can never be a 500
        raise MalformedRequest(f"the body is nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as error:
        # The parser's messages are fixed texts ("Expecting ',' delimiter"); cut after any colon anyway.
        reason = error.msg.split(":", 1)[0]
        raise MalformedRequest(
            f"the body is not valid JSON ({reason}: line {error.lineno}, column {error.colno})"
        ) from None
    if _SURROGATE_ESCAPE.search(body):
        _check_no_lone_surrogates(value)
    return value


def decode_utf8(body: bytes, *, offset: int = 0) -> str:
    """`body` as text, or 400 naming the first invalid byte's offset (plus `offset`), not the byte."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedRequest(
            f"the body is not UTF-8 (invalid byte at offset {error.start + offset})"
        ) from None


def _check_depth(body: bytes) -> None:
    """Refuse nesting deeper than MAX_DEPTH before the parser recurses into it: strip escapes and
    strings, keep only the brackets, and count. One pass, no recursion, stopping at the first
    bracket too deep (a closing bracket with nothing open is left to the parser, which stops there)."""
    unescaped = _ESCAPE.sub(b"", body) if b"\\" in body else body
    skeleton = _STRING.sub(b"", unescaped).translate(_SQUARE, _NOT_BRACKETS)
    depth = 0
    for bracket in skeleton:
        if bracket == 0x5B:  # [
            depth += 1
            if depth > MAX_DEPTH:
                raise MalformedRequest(f"the body is nested more than {MAX_DEPTH} levels deep")
        else:
            depth -= 1
            if depth < 0:
                return


def _object(pairs: list[tuple[str, JsonValue]]) -> dict[str, JsonValue]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for position, (key, _) in enumerate(pairs, start=1):
            if key in seen:
                raise _Refused(
                    f"the body gives the key {describe(key, position=position)} twice in one object"
                )
            seen.add(key)
    return result


def _integer(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _Refused(f"the body has a number longer than {MAX_NUMBER_CHARS} characters")
    return int(literal)


def _float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _Refused(f"the body has a number longer than {MAX_NUMBER_CHARS} characters")
    number = float(literal)
    if not math.isfinite(number):
        raise _Refused("the body has a number too large for a double")
    return number


def _constant(literal: str) -> float:
    raise _Refused(f"the body has {literal}, which is not JSON")


def _check_no_lone_surrogates(value: JsonValue) -> None:
    pending: list[JsonValue] = [value]
    while pending:  # a loop, not recursion, although the depth is already bounded
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and not _encodable(item):
            raise MalformedRequest(
                "the body has a \\u escape for half a surrogate pair, which is no character"
            )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
