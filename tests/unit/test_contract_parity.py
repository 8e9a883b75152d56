"""Nothing BizKitHub's contract refuses may pass our CalendarEvent.

For a table of tricky values per field: whenever `CalendarEvent.model_validate` accepts one, the
stand-in's contract check (the dev stand-in's `_check_envelope`, which enforces BizKitHub's documented
contract) must accept the request body we would send, after a JSON round trip as on the wire. The
values the issue found forwarded are also asserted refused outright.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from bookhook.calendar.event import CalendarEvent
from bookhook_dev.testing.bizkithub_stand_in import _check_envelope

CALENDAR_ID = "2WRp6X5rSqQa321EjHB2mxZz74u74H84"
START = "2024-05-01T10:00:00.000Z"

TIMES: list[Any] = [
    "2024-05-01T10:00:00Z",
    "2024-05-01T10:00:00.0005Z",
    "2024-05-01T10:00:59.999Z",
    "2024-05-01T10:01:00Z",
    "2024-05-01T12:00:00+14:00",
    "2024-05-01T12:00:00-12:00",
    "2024-05-01T12:00:00+05:45:30.5",
    "2024-W18-3T12:00Z",
    "20240501T120000Z",
    "2024-05-01",
    "2024-05-01T12:00:00",
    "9999-12-31T23:30Z",
    "9999-12-31T23:59:59.999999-14:00",
    "0001-01-01T00:00:00+14:00",
    "0999-01-01T10:00:00Z",
    "1999-12-31T23:59:59.999Z",
    "2000-01-01T00:00:00Z",
    "2100-12-31T23:59:59.999999Z",
    "2101-01-01T00:00:00Z",
    "1714557600",
    1714557600,
    True,
    datetime(999, 1, 1, tzinfo=UTC),
    datetime(2024, 5, 1, 10, 0, 0, 500, tzinfo=UTC),
    datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=23, minutes=59))),
]
TEXT: list[Any] = ["", " ", "\u00a0", "\n", "x", " x ", "–", "\u0000", "\ud800", "x" * 300, 5, True, None]
EMAILS: list[Any] = [
    "a@b..c",
    "a@b.c",
    "a@b.cz",
    "a@b",
    "a@.b.cz",
    "a@b.cz.",
    "a..b@c.cz",
    "a b@c.cz",
    '"a b"@c.cz',
    '"a@b"@c.cz',
    "a@[127.0.0.1]",
    "a@localhost",
    "Jan <a@b.cz>",
    "<a@b.cz>",
    "a@b.cz\n",
    " a@b.cz ",
    "jän@čeština.cz",
    "a\u00a0b@c.cz",
    "a@b\u3000c.cz",
    "a@xn--80ak6aa92e.com",
    "a@b.cz@c.cz",
    5,
]
URLS: list[Any] = [
    "http:///x",
    "http://x",
    "https://gymroom.cz",
    "HTTPS://gymroom.cz",
    "Http://gymroom.cz",
    "https:gymroom.cz",
    "https:/gymroom.cz",
    "http:\\\\gymroom.cz",
    "https://gymroom.cz/a b",
    "https://gymroom.cz/a\tb",
    " https://gymroom.cz ",
    "https://@gymroom.cz",
    "https://u:p@gymroom.cz",
    "https://:80",
    "https://[::1]",
    "https://[::1",
    "https://gymroom.cz:0",
    "https://gymroom.cz:65536",
    "ftp://gymroom.cz",
    "javascript:alert(1)",
    "//gymroom.cz",
    "https://čeština.cz/ž",
    "https://gymroom.cz/\u202e",
]
NOTIFY: list[Any] = [
    "1h 30m",
    "1h30m",
    "1 h 30 m",
    " 1d  2h ",
    "0m",
    "0d 0h 0m",
    "99999d",
    "1h\t30m",
    "１h",
    "30m 1h",
    "",
    "h",
    "1.5h",
    90,
]
PHONES: list[Any] = [
    "+420 777123456",
    "+420777123456",
    "00420 777 123 456",
    "+1 415 555 2671",
    "+12345678",
    "+420123456789012",
    "+420 ７７７123456",
    "+420 ٧٧٧123456",
    "+420 777123456\n",
    "+420\u00a0777\u00a0123\u00a0456",
    "+0420777123456",
    "777123456",
    420777123456,
]
MEMBER_IDS: list[Any] = [1, 1234, 2**53 - 1, 2**53, 0, -1, True, False, "1234", 1234.0, 10**30]
CUSTOMER_IDS: list[Any] = ["HxanU4a1n4El61zx", "HxanU4a1n4El61z", "HxanU4a1n4El61zx\n", "HxanU4a1n4El61ž", 5]
CALENDAR_IDS: list[Any] = [CALENDAR_ID, CALENDAR_ID + "\n", CALENDAR_ID[:-1] + "é", CALENDAR_ID[:-1], 5]
BOOLS: list[Any] = [True, False, "true", "false", 1, 0, "yes", None]


def base(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "calendarId": CALENDAR_ID,
        "startTime": START,
        "endTime": "2024-05-01T12:00:00.000Z",
        "title": "Training",
    }
    event.update(overrides)
    return event


CASES: list[tuple[str, dict[str, Any]]] = [
    *[("startTime", base(startTime=value, endTime="2100-12-31T23:59:59Z")) for value in TIMES],
    *[("endTime", base(endTime=value)) for value in TIMES],
    *[("blockingTo", base(blockingTo=value)) for value in TIMES],
    *[
        (field, base(**{field: value}))
        for field in ("title", "description", "agenda", "locationTitle", "type")
        for value in TEXT
    ],
    *[("url", base(url=value)) for value in URLS],
    *[("notifyBefore", base(notifyBefore=value)) for value in NOTIFY],
    *[("calendarId", base(calendarId=value)) for value in CALENDAR_IDS],
    *[(field, base(**{field: value})) for field in ("isAllDay", "isBlocking") for value in BOOLS],
    *[("attendees.email", base(attendees=[{"email": value}])) for value in EMAILS],
    *[("attendees.phone", base(attendees=[{"phone": value}])) for value in PHONES],
    *[("attendees.memberId", base(attendees=[{"memberId": value}])) for value in MEMBER_IDS],
    *[("attendees.customerId", base(attendees=[{"customerId": value}])) for value in CUSTOMER_IDS],
    *[("attendees.name", base(attendees=[{"name": value}])) for value in TEXT],
    ("attendees", base(attendees=[])),
]


@pytest.mark.parametrize(("field", "data"), CASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(CASES)])
def test_whatever_we_accept_the_contract_accepts(field: str, data: dict[str, Any]) -> None:
    try:
        event = CalendarEvent.model_validate(data)
    except ValidationError:
        return  # refused by us: nothing is sent
    # As it goes on the wire: serialised by us, parsed by BizKitHub.
    sent = json.loads(json.dumps(event.request_body(), ensure_ascii=False).encode("utf-8"))

    _check_envelope(sent)  # raises if the contract refuses what we would send


FORWARDED_BEFORE = [
    base(startTime="0999-01-01T10:00:00Z", endTime="2024-05-01T12:00:00Z"),
    base(startTime=datetime(999, 1, 1, 10, tzinfo=UTC), endTime="2024-05-01T12:00:00Z"),
    base(endTime="2024-05-01T10:00:00.0005Z"),
    base(attendees=[{"phone": "+420 ７７７123456"}]),
    base(attendees=[{"phone": "+420 ٧٧٧123456"}]),
    base(attendees=[{"email": "a@b..c"}]),
    base(url="http:///x"),
    base(title="   "),
    base(attendees=[{"memberId": True}]),
]


@pytest.mark.parametrize("data", FORWARDED_BEFORE)
def test_what_the_issue_found_forwarded_is_now_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CalendarEvent.model_validate(data)
