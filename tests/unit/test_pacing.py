"""Pacing (delivery.pacing): the shared item, the three modes, and what each container reads and
writes. AWS is moto in-process; time is a fake clock, and waiting for a slot a recorded sleep."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from bookhook.calendar.outcomes import Created, Quota, RateLimited, Unavailable
from bookhook.deadline import Deadline
from bookhook.delivery.pacing import (
    LOW_WATER,
    PACING_ITEM_ID,
    SPACING_MARGIN,
    Go,
    Later,
    Pacer,
    Picture,
    queue_delay,
)
from bookhook_dev.testing import defaults
from bookhook_dev.testing.lambda_emulation import atomic_dynamodb_writes
from bookhook_dev.testing.template import dynamodb_create_table_kwargs, load_template

NOW = 1_800_000_000.0
WINDOW = 3600.0  # Free: 1,000 an hour
SPACING = WINDOW / 1000 * SPACING_MARGIN
TABLE = "t"


class Clock:
    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class CountingClient:
    """The DynamoDB client, with every call it makes counted by operation."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def counted(**kwargs: Any) -> Any:
            self.calls.append(name)
            return method(**kwargs)

        return counted


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=defaults.REGION)
        client.create_table(**dynamodb_create_table_kwargs(load_template(), "IdempotencyTable", TABLE))
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


def pacer(client: Any, clock: Clock) -> Pacer:
    return Pacer(TABLE, client, window_seconds=WINDOW, clock=clock, sleep=clock.sleep)


def deadline(seconds: float = 25) -> Deadline:
    return Deadline.after(seconds)


def created(remaining: int | None, *, limit: int | None = 1000, reset_at: float | None = None) -> Created:
    return Created("a" * 32, quota=Quota(limit=limit, remaining=remaining, reset_at=reset_at))


def ask(p: Pacer, reserved: float | None = None, max_wait: float = 1.0) -> Go | Later:
    return p.before_call(
        reserved=reserved, max_wait=max_wait, deadline=deadline(), call_needs=5, queue_needs=5
    )


def stored(client: Any) -> dict[str, Any]:
    item: dict[str, Any] = client.get_item(TableName=TABLE, Key={"id": {"S": PACING_ITEM_ID}}).get("Item", {})
    return item


def test_without_pressure_a_container_reads_the_item_once_and_never_writes(
    dynamodb: Any, clock: Clock
) -> None:
    counting = CountingClient(dynamodb)
    container = pacer(counting, clock)

    for remaining in range(40, 30, -1):  # well above LOW_WATER
        assert ask(container) == Go()
        container.after_call(created(remaining), deadline=deadline())
        clock.now += 0.5

    assert counting.calls == ["get_item"]  # before its first call only: the hot path is unchanged
    assert stored(dynamodb) == {}
    assert clock.slept == []


def test_no_headers_at_all_means_no_pacing(dynamodb: Any, clock: Clock) -> None:
    """A ROOT key (no limits, no headers): every call goes at once, nothing is written."""
    counting = CountingClient(dynamodb)
    container = pacer(counting, clock)

    for _ in range(5):
        assert ask(container) == Go()
        container.after_call(Created("a" * 32), deadline=deadline())

    assert counting.calls == ["get_item"]


def test_nearly_spent_the_calls_are_spaced_at_the_plans_rate(dynamodb: Any, clock: Clock) -> None:
    container = pacer(dynamodb, clock)
    assert ask(container) == Go()
    container.after_call(created(LOW_WATER), deadline=deadline())  # the window is getting tight: shared
    assert stored(dynamodb)["remaining"] == {"N": str(LOW_WATER)}

    decisions = [ask(container, max_wait=0) for _ in range(4)]

    assert decisions[0] == Go(NOW)
    assert decisions[1:] == [Later(until=NOW + n * SPACING, slot=NOW + n * SPACING) for n in (1, 2, 3)]
    assert int(stored(dynamodb)["next_slot"]["N"]) == round((NOW + 4 * SPACING) * 1000)


def test_a_near_slot_is_waited_for_and_called(dynamodb: Any, clock: Clock) -> None:
    container = pacer(dynamodb, clock)
    container.after_call(created(2), deadline=deadline())
    assert ask(container) == Go(NOW)

    assert ask(container, max_wait=SPACING + 1) == Go(NOW + SPACING)

    assert clock.slept == [pytest.approx(SPACING)]


def test_no_time_left_to_wait_for_a_slot_queues_it_with_the_slot(dynamodb: Any, clock: Clock) -> None:
    container = pacer(dynamodb, clock)
    container.after_call(created(2), deadline=deadline())
    ask(container)

    # Time to reserve (one write, then queueing), not to wait and call: it goes on the queue with its slot.
    decision = container.before_call(
        reserved=None, max_wait=60, deadline=deadline(8.5), call_needs=5, queue_needs=5
    )
    assert decision == Later(until=NOW + SPACING, slot=NOW + SPACING)
    # Not even the time to reserve: queued for about when a slot would be, holding none.
    decision = container.before_call(
        reserved=None, max_wait=60, deadline=deadline(6), call_needs=5, queue_needs=5
    )
    assert decision == Later(until=NOW + 2 * SPACING)
    # A slot that has come, with no time left to call: queued with it, to be called at once from there.
    decision = container.before_call(
        reserved=NOW - 1, max_wait=60, deadline=deadline(6), call_needs=7, queue_needs=3
    )
    assert decision == Later(until=NOW - 1, slot=NOW - 1)
    assert clock.slept == []


def test_two_containers_share_one_schedule(dynamodb: Any, clock: Clock) -> None:
    """Each reserves with one atomic write, whatever its picture knows of the schedule: a container
    whose picture is behind still takes the next free slot; none is shared."""
    first, second = pacer(dynamodb, clock), pacer(dynamodb, clock)
    first.after_call(created(3), deadline=deadline())
    second.after_call(created(3), deadline=deadline())

    slots = []
    for container in (first, second, second, first, first, second):
        decision = ask(container, max_wait=0)
        slots.append(decision.slot)

    assert slots == [NOW + n * SPACING for n in range(6)]


def test_nothing_remaining_waits_for_the_reset(dynamodb: Any, clock: Clock) -> None:
    container = pacer(dynamodb, clock)
    container.after_call(created(0, reset_at=NOW + 42), deadline=deadline())

    assert ask(container, max_wait=0) == Later(until=NOW + 42, slot=NOW + 42)
    assert ask(container, max_wait=0) == Later(until=NOW + 42 + SPACING, slot=NOW + 42 + SPACING)


def test_a_429_pauses_every_container_until_its_retry_after(dynamodb: Any, clock: Clock) -> None:
    first = pacer(dynamodb, clock)
    limited = RateLimited(429, "RATE_LIMIT_EXCEEDED", 120, quota=Quota(1000, 0, NOW + 120))

    assert first.after_call(limited, deadline=deadline()) == 120  # seconds added to the pause
    later_container = pacer(dynamodb, clock)  # a container started during the pause

    assert ask(first) == Later(until=NOW + 120, paused=True)
    assert ask(later_container) == Later(until=NOW + 120, paused=True)
    # A second 429 asking for less adds nothing; one asking for more adds the difference.
    assert later_container.after_call(RateLimited(429, None, 60), deadline=deadline()) == 0
    clock.now += 10
    assert later_container.after_call(RateLimited(429, None, 200), deadline=deadline()) == pytest.approx(90)


def test_after_the_pause_calls_resume_on_the_schedule(dynamodb: Any, clock: Clock) -> None:
    container = pacer(dynamodb, clock)
    container.after_call(RateLimited(429, None, 30, quota=Quota(1000, 0, NOW + 30)), deadline=deadline())
    clock.now = NOW + 30

    assert ask(container, max_wait=0) == Go(NOW + 30)
    assert ask(container, max_wait=0) == Later(until=NOW + 30 + SPACING, slot=NOW + 30 + SPACING)


def test_a_reserved_slot_is_used_without_reserving_again(dynamodb: Any, clock: Clock) -> None:
    counting = CountingClient(dynamodb)
    container = pacer(counting, clock)
    container.after_call(created(1), deadline=deadline())
    writes = len(counting.calls)

    assert ask(container, reserved=NOW + 100, max_wait=1) == Later(until=NOW + 100, slot=NOW + 100)
    clock.now = NOW + 99.5
    assert ask(container, reserved=NOW + 100, max_wait=1) == Go(NOW + 100)
    clock.now = NOW + 300  # came back late: still its slot
    assert ask(container, reserved=NOW + 100, max_wait=1) == Go(NOW + 100)

    # No reservation; under pressure, a consistent read before each use of the slot (for pauses).
    assert "update_item" not in counting.calls[writes:]


def test_a_slot_reserved_before_a_pause_is_void_and_taken_anew(dynamodb: Any, clock: Clock) -> None:
    container = pacer(dynamodb, clock)
    container.after_call(RateLimited(429, None, 50, quota=Quota(1000, 0, NOW + 50)), deadline=deadline())
    clock.now = NOW + 50

    decision = ask(container, reserved=NOW + 10, max_wait=0)

    assert decision == Go(NOW + 50)  # a fresh slot, after the pause, not the old one


def test_pressure_ends_when_the_headers_say_so_and_the_schedule_has_passed(
    dynamodb: Any, clock: Clock
) -> None:
    container = pacer(dynamodb, clock)
    container.after_call(created(3), deadline=deadline())
    ask(container)
    ask(container, max_wait=0)  # a slot ahead: still tight even if the next answer says plenty
    clock.now += 0.1
    container.after_call(created(30), deadline=deadline())
    assert container.picture.tight(clock.now, WINDOW)

    clock.now += 2 * SPACING
    assert not container.picture.tight(clock.now, WINDOW)
    assert ask(container) == Go()  # quiet again: no slot
    assert stored(dynamodb)["remaining"] == {"N": "30"}  # the end of pressure was shared too


def test_a_failing_store_means_calling_as_if_quiet(clock: Clock) -> None:
    class Broken:
        def get_item(self, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://dynamodb")

        def update_item(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")

    container = pacer(Broken(), clock)

    assert ask(container) == Go()
    assert container.after_call(created(1), deadline=deadline()) == 0.0
    assert ask(container) == Go()  # tight, but the slot cannot be reserved: a 429 would be waited out
    assert container.after_call(RateLimited(429, None, 60), deadline=deadline()) == 0.0
    assert ask(container) == Later(until=NOW + 60, paused=True)  # its own 429 it still knows


def test_a_reset_given_as_seconds_or_odd_values_in_the_item_do_not_break_the_picture(dynamodb: Any) -> None:
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "id": {"S": PACING_ITEM_ID},
            "limit": {"N": "0"},
            "remaining": {"N": "3"},
            "paused_until": {"S": "x"},
        },
    )
    container = Pacer(TABLE, dynamodb, window_seconds=WINDOW, clock=lambda: NOW)

    container.before_call(reserved=None, max_wait=0, deadline=deadline(), call_needs=5, queue_needs=5)

    assert container.picture.limit is None  # a zero limit is no limit known
    assert container.picture.paused_until == 0.0
    assert Picture(limit=None).spacing(WINDOW) == 0.0


def test_an_older_observation_never_replaces_a_newer_one(dynamodb: Any, clock: Clock) -> None:
    fast, slow = pacer(dynamodb, clock), pacer(dynamodb, clock)
    clock.now = NOW + 5
    fast.after_call(created(4), deadline=deadline())
    clock.now = NOW + 3  # the slow container's clock, or its answer, is behind
    slow.after_call(created(9), deadline=deadline())

    assert stored(dynamodb)["remaining"] == {"N": "4"}


def test_unavailable_answers_without_headers_change_nothing(dynamodb: Any, clock: Clock) -> None:
    container = pacer(dynamodb, clock)
    container.after_call(created(5), deadline=deadline())

    container.after_call(Unavailable(True, "ReadTimeoutError"), deadline=deadline())

    assert container.picture.remaining == 5


def test_a_reset_further_off_than_a_window_is_read_as_the_windows_end(dynamodb: Any, clock: Clock) -> None:
    container = pacer(dynamodb, clock)
    container.after_call(created(0, reset_at=NOW + 30 * 24 * 3600), deadline=deadline())

    assert ask(container, max_wait=0) == Later(until=NOW + WINDOW, slot=NOW + WINDOW)


def test_an_observation_older_than_a_window_says_nothing_of_now(dynamodb: Any, clock: Clock) -> None:
    """A container started days after the last pressure reads the item and is quiet at once."""
    pacer(dynamodb, clock).after_call(created(2), deadline=deadline())
    clock.now += WINDOW + 1
    counting = CountingClient(dynamodb)
    fresh = pacer(counting, clock)

    assert ask(fresh) == Go()
    assert counting.calls == ["get_item"]


def test_what_the_other_callers_spend_between_two_answers_turns_a_container_tight_sooner(
    dynamodb: Any, clock: Clock
) -> None:
    """Many containers in a burst: between two of this one's answers, 15 other calls went out. With
    20 left, the next answer may well find 5: it is tight now, not after the limit is met."""
    container = pacer(dynamodb, clock)
    container.after_call(created(36), deadline=deadline())
    assert not container.picture.tight(clock.now, WINDOW)

    container.after_call(created(20), deadline=deadline())

    assert container.picture.fall == 15
    assert container.picture.tight(clock.now, WINDOW)
    assert stored(dynamodb)["remaining"] == {"N": "20"}  # shared, so the others learn it too
    # Refilled meanwhile (a rise is no fall): quiet again.
    container.after_call(created(45), deadline=deadline())
    assert (container.picture.fall, container.picture.tight(clock.now, WINDOW)) == (0, False)


def test_while_calls_stay_paced_their_answers_cost_no_write(dynamodb: Any, clock: Clock) -> None:
    counting = CountingClient(dynamodb)
    container = pacer(counting, clock)
    container.after_call(created(8), deadline=deadline())  # pressure begins: shared
    writes = counting.calls.count("update_item")

    for remaining in (7, 7, 6, 7):
        decision = ask(container, max_wait=SPACING + 1)
        assert isinstance(decision, Go)
        clock.now += 0.01
        container.after_call(created(remaining), deadline=deadline())

    assert counting.calls.count("update_item") == writes + 4  # the four reservations, nothing else
    clock.now += 0.01
    container.after_call(created(0, reset_at=clock.now + 5), deadline=deadline())  # news: nothing left
    assert counting.calls.count("update_item") == writes + 5


def test_a_booking_waits_on_the_queue_to_the_second_before_its_slot_and_past_a_pause() -> None:
    assert queue_delay(Later(until=NOW + 7.9, slot=NOW + 7.9), NOW) == 7  # the rest is waited out
    assert queue_delay(Later(until=NOW + 7.1, paused=True), NOW) == 8
    assert queue_delay(Later(until=NOW - 3, slot=NOW - 3), NOW) == 0


def test_callers_reserving_at_the_same_moment_each_get_a_slot_of_their_own(
    dynamodb: Any, clock: Clock
) -> None:
    """Twelve containers reserve at once (moto's writes made atomic, as DynamoDB's are): twelve
    distinct slots, one spacing apart, whatever each container's picture knew."""
    containers = [pacer(dynamodb, clock) for _ in range(12)]
    for container in containers:
        container.after_call(created(3), deadline=deadline())
    start = threading.Barrier(len(containers))
    slots: list[float | None] = []

    def reserve(container: Pacer) -> None:
        start.wait()
        slots.append(ask(container, max_wait=0).slot)

    with atomic_dynamodb_writes():
        threads = [threading.Thread(target=reserve, args=(c,)) for c in containers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(slot or 0 for slot in slots) == [round(NOW + n * SPACING, 3) for n in range(12)]


def test_a_pause_met_by_another_container_holds_back_a_booking_with_its_own_slot(
    dynamodb: Any, clock: Clock
) -> None:
    first, second = pacer(dynamodb, clock), pacer(dynamodb, clock)
    first.after_call(created(2), deadline=deadline())
    second.after_call(created(2), deadline=deadline())
    slot = ask(second, max_wait=0).slot  # second holds a slot, then the first meets a 429
    first.after_call(RateLimited(429, None, 600), deadline=deadline())
    clock.now += 1.5  # the second's picture is over a second old: it reads the shared state again

    assert ask(second, reserved=slot, max_wait=60) == Later(until=NOW + 600, paused=True)


@pytest.mark.parametrize("limit", [None, 1, 9])
def test_without_a_believable_limit_calls_are_not_spaced_and_no_slot_is_shared(
    dynamodb: Any, clock: Clock, limit: int | None
) -> None:
    """A Limit missing, or so small no plan has it (a per-minute figure, a burst), spaces nothing:
    no schedule of identical slots, none days ahead; only "nothing left" holds calls back."""
    counting = CountingClient(dynamodb)
    container = pacer(counting, clock)
    container.after_call(created(3, limit=limit), deadline=deadline())

    assert [ask(container) for _ in range(3)] == [Go(), Go(), Go()]
    assert "update_item" not in counting.calls[2:]  # nothing reserved
    container.after_call(created(0, limit=limit, reset_at=NOW + 20), deadline=deadline())
    assert ask(container) == Later(until=NOW + 20)


def test_after_a_slow_pacing_step_the_booking_is_queued_rather_than_called_short(clock: Clock) -> None:
    """The store not answering took the time the call needed: queue it, do not call with 0.1 s left."""

    class Silent:
        def get_item(self, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://dynamodb")

    container = pacer(Silent(), clock)

    decision = container.before_call(
        reserved=None, max_wait=0, deadline=deadline(0.5), call_needs=1, queue_needs=0
    )

    assert decision == Later(until=NOW)


def test_without_a_queue_a_later_slot_is_not_reserved(dynamodb: Any, clock: Clock) -> None:
    """The sender retries on its own: a slot kept for it would be thrown away with its 503."""
    counting = CountingClient(dynamodb)
    container = pacer(counting, clock)
    container.after_call(created(2), deadline=deadline())
    assert ask(container, max_wait=0) == Go(NOW)  # the slot free now is taken
    writes = counting.calls.count("update_item")

    decision = container.before_call(
        reserved=None, max_wait=0, deadline=deadline(), call_needs=5, queue_needs=5, can_queue=False
    )

    assert decision == Later(until=round(NOW + SPACING, 3))
    assert counting.calls.count("update_item") == writes


def test_a_429_means_pressure_whatever_remaining_said(dynamodb: Any, clock: Clock) -> None:
    """A limiter whose Remaining counts only its window (950 left) can refuse a burst: after the
    pause, calls are paced, not all let go at once."""
    container = pacer(dynamodb, clock)
    container.after_call(
        RateLimited(429, "RATE_LIMIT_EXCEEDED", 5, quota=Quota(1000, 950, NOW + 3000)), deadline=deadline()
    )
    clock.now = NOW + 5

    assert container.picture.tight(clock.now, WINDOW)
    assert ask(container, max_wait=0) == Go(NOW + 5)
    assert isinstance(ask(container, max_wait=0), Later)
