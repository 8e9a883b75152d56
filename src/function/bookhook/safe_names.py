"""How a name the sender chose is repeated in an answer or a log line: as itself only when it cannot
carry contact data, else described by where it is and how long it is.

Names the sender chooses: JSON keys and form fields (Zapier), metadata keys (Stripe), hidden field
names, form ids and event types (Typeform, Stripe). Zapier maps public form answers wherever its
user says, so a key can be `note for jan@example.cz +420 603…`.

The rule, one for every sender: a name is repeated as written when it is 1-40 ASCII letters,
digits, `_` and `-`, with at most 4 digits in all. Every name of ours passes (`startTime`,
`attendee_email`, `customer_details`, `last4`; a test checks each model's names), and so do a
sender's own plain keys and typos (`startTme`, `order_id`), which the sender needs to see to fix
them. It refuses what contact data is written with: `@` (emails), spaces, `+` and more than four
digits (phones, dates, postcodes, account numbers), dots, slashes and colons (domains, URLs).
What still passes is one bare word, such as a first name on its own, which a rule cannot tell from
a key and which identifies no one. Anything else is described: `<key #3, 41 characters>` (its
position in its object, counted from 1, and its length), never a hash, which a guess could be
checked against.

Event types (`checkout.session.completed`) are dotted names: each part follows the rule, at most 64
characters in all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_SAFE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_SAFE_DOTTED = re.compile(r"[A-Za-z0-9_-]{1,40}(?:\.[A-Za-z0-9_-]{1,40}){0,7}")
MAX_DIGITS = 4
MAX_DOTTED_LENGTH = 64


def is_safe_name(name: str, *, dotted: bool = False) -> bool:
    """True when `name` may be repeated as written (see the module's rule)."""
    if dotted:
        if len(name) > MAX_DOTTED_LENGTH or not _SAFE_DOTTED.fullmatch(name):
            return False
    elif not _SAFE.fullmatch(name):
        return False
    # Bounded above (at most 64 characters), so counting is cheap.
    return sum(character.isdigit() for character in name) <= MAX_DIGITS


def describe(name: str, *, what: str = "key", position: int | None = None, dotted: bool = False) -> str:
    """`name` itself when it is safe to repeat, else `<key #3, 41 characters>`. An empty name with
    no position (an event type sent as "") is shown as it is: there is nothing in it to hide."""
    if is_safe_name(name, dotted=dotted) or (not name and position is None):
        return name
    length = f"{len(name)} character{'' if len(name) == 1 else 's'}"
    return f"<{what} #{position}, {length}>" if position is not None else f"<{what}, {length}>"


def describe_key_in(key: str, container: object) -> str:
    """A key of a JSON object (or form) described with its position in that object."""
    if isinstance(container, Mapping):
        for position, candidate in enumerate(container, start=1):
            if candidate == key:
                return describe(key, position=position)
    return describe(key)


def safe_path(loc: Sequence[int | str], data: object) -> str:
    """A Pydantic error location as `first_error` writes it (`data.object.metadata[2].x`), each part
    that is a key of the sender's `data` described unless it is safe to repeat.

    Parts that are not keys of the data (model fields that are missing, Pydantic's union tags such as
    `dict[str,any]`) are our own names and are written as they are.
    """
    path = ""
    current: object = data
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            current = (
                current[part] if isinstance(current, list) and -len(current) <= part < len(current) else None
            )
            continue
        if isinstance(current, Mapping) and part in current:
            name = describe_key_in(part, current)
            current = current[part]
        else:
            name = part  # ours: a model field, a union tag, `[key]`; the data does not move
        path += f".{name}" if path else name
    return path
