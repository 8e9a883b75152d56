"""BizKitHubClient against the real stand-in over loopback, with the real `build_pool`: every call
ends by its deadline and reads a bounded body, whatever the server does, and the pool stays sound."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Iterator

import pytest
import urllib3

from bookhook.calendar.client import BizKitHubClient, build_pool
from bookhook.calendar.event import CalendarEvent
from bookhook.calendar.outcomes import (
    KEY_NOT_FOUND,
    BadResponse,
    Created,
    KeyRefused,
    Rejected,
    Unavailable,
)
from bookhook.settings import AuthMode
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn, Drip, Drop, Huge, Raw, Slow, Status

KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"
OTHER_KEY = "DEV_abcdefghijklmnopqrstuvwxyz12"
EVENT = CalendarEvent.model_validate(defaults.documented_example_event())
SLACK = 0.5  # what a call may overrun its deadline by, on a loaded build machine


@pytest.fixture
def pool() -> Iterator[urllib3.PoolManager]:
    # A read timeout well above the drip interval: only the deadline can end a dripping answer.
    built = build_pool(connect_timeout=1.0, read_timeout=2.0)
    yield built
    built.clear()


def make_client(
    stand_in: BizKitHubStandIn, pool: urllib3.PoolManager, *, auth_mode: AuthMode = "bearer", key: str = KEY
) -> BizKitHubClient:
    return BizKitHubClient(
        base_url=stand_in.base_url, auth_mode=auth_mode, api_key=lambda fresh: key, pool=pool
    )


def timed_call(client: BizKitHubClient, seconds: float) -> tuple[Unavailable | object, float, float]:
    started = time.monotonic()
    deadline = started + seconds
    outcome = client.add_event(EVENT, "booking-1", deadline=deadline)
    return outcome, time.monotonic(), deadline


def assert_sound(client: BizKitHubClient, stand_in: BizKitHubStandIn) -> None:
    """A normal call after a fault still works: the pool was not poisoned."""
    for _ in range(3):
        outcome = client.add_event(EVENT, deadline=time.monotonic() + 5)
        assert isinstance(outcome, Created)
        assert outcome.event_id is not None
    assert stand_in.calls[-1].status == 200


@pytest.mark.parametrize("auth_mode", ["query", "bearer"])
def test_a_normal_call_is_created(
    stand_in: BizKitHubStandIn, pool: urllib3.PoolManager, auth_mode: AuthMode
) -> None:
    client = make_client(stand_in, pool, auth_mode=auth_mode)

    outcome = client.add_event(EVENT, "booking-1")

    assert isinstance(outcome, Created)
    assert outcome.event_id == stand_in.calls[-1].event_id
    assert stand_in.calls[-1].headers["idempotency-key"] == "booking-1"


def test_a_dripped_body_ends_by_the_deadline(stand_in: BizKitHubStandIn, pool: urllib3.PoolManager) -> None:
    stand_in.script(Drip(seconds_per_byte=0.5))
    client = make_client(stand_in, pool)

    outcome, ended, deadline = timed_call(client, 1.5)

    assert ended <= deadline + SLACK
    assert outcome == Created(None)  # its status line said 200: the event exists
    assert stand_in.calls[-1].fault == "drip"
    assert_sound(client, stand_in)


def test_dripped_headers_end_by_the_deadline(stand_in: BizKitHubStandIn, pool: urllib3.PoolManager) -> None:
    stand_in.script(Drip(seconds_per_byte=0.5, drip_headers=True))
    client = make_client(stand_in, pool)

    outcome, ended, deadline = timed_call(client, 1.5)

    assert ended <= deadline + SLACK
    assert isinstance(outcome, Unavailable)
    assert outcome.may_have_been_received is True
    assert outcome.cause == "deadline"
    assert_sound(client, stand_in)


def test_a_slow_answer_ends_by_the_deadline_before_the_read_timeout(
    stand_in: BizKitHubStandIn, pool: urllib3.PoolManager
) -> None:
    stand_in.script(Slow(3.0))
    client = make_client(stand_in, pool)

    outcome, ended, deadline = timed_call(client, 0.8)

    assert ended <= deadline + SLACK
    assert isinstance(outcome, Unavailable)
    assert outcome.may_have_been_received is True
    assert_sound(client, stand_in)


def test_a_huge_body_is_not_read_whole(stand_in: BizKitHubStandIn, pool: urllib3.PoolManager) -> None:
    client = make_client(stand_in, pool)
    client.add_event(EVENT)  # a first call, so imports and the connection are not counted below
    stand_in.script(Huge(size_bytes=50 * 1024 * 1024))
    gc.collect()

    tracemalloc.start()
    try:
        outcome, ended, deadline = timed_call(client, 10.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert outcome == Created(None)  # the eventId at its start was never parsed: the body was cut off
    assert peak < 1 * 1024 * 1024
    assert ended <= deadline
    assert stand_in.calls[-1].fault == "huge"
    assert_sound(client, stand_in)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Raw(200, b"<html>OK</html>", (("Content-Type", "text/html"),)), Created(None)),
        (Raw(204, b""), Created(None)),
        (Raw(302, b"", (("Location", "https://elsewhere.example/"),)), BadResponse(302, None)),
        (Raw(404, b"<html>Not found</html>"), BadResponse(404, None)),
        (Raw(799, b""), BadResponse(799, None)),
        (
            Status(409, body={"error": {"code": "SLOT_BLOCKED", "message": "clash"}}),
            Rejected(409, "SLOT_BLOCKED"),
        ),
        (Status(503, retry_after="30"), Unavailable(True, "HTTP 503", 503, None, 30)),
        (Drop(), Unavailable(True, "ProtocolError")),
    ],
)
def test_odd_answers_are_outcomes_and_leave_the_pool_sound(
    stand_in: BizKitHubStandIn, pool: urllib3.PoolManager, fault: object, expected: object
) -> None:
    stand_in.script(fault)  # type: ignore[arg-type]
    client = make_client(stand_in, pool)

    assert client.add_event(EVENT, deadline=time.monotonic() + 5) == expected
    assert_sound(client, stand_in)


@pytest.mark.parametrize("status", [401, 500, 404])
def test_an_unknown_key_is_refused_whatever_the_status(pool: urllib3.PoolManager, status: int) -> None:
    with BizKitHubStandIn(accepted_keys=[KEY], key_refusal_status=status) as stand_in:
        client = make_client(stand_in, pool, key=OTHER_KEY)

        assert client.add_event(EVENT) == KeyRefused(status, KEY_NOT_FOUND)
        assert [call.status for call in stand_in.calls] == [status, status]  # re-read once, repeated once
        assert_sound(make_client(stand_in, pool), stand_in)


def test_a_connection_refused_was_not_received(pool: urllib3.PoolManager) -> None:
    stand_in = BizKitHubStandIn().start()
    base_url = stand_in.base_url
    stand_in.stop()  # nothing listens on the port any more
    client = BizKitHubClient(base_url=base_url, auth_mode="bearer", api_key=lambda fresh: KEY, pool=pool)

    outcome, ended, deadline = timed_call(client, 3.0)

    assert isinstance(outcome, Unavailable)
    assert outcome.may_have_been_received is False
    assert ended <= deadline + SLACK
