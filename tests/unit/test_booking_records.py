"""The booking record's transitions, on moto's DynamoDB built from template.yaml: every write is
conditional, final states are never replaced, a write that loses gets the winner back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from bookhook.delivery.records import (
    BookingRecords,
    BookingStoreUnavailable,
    fingerprint_of,
    record_id,
)
from bookhook_dev.testing.template import dynamodb_create_table_kwargs, load_template

TABLE = "bookings"
KEY = "cs_test_123"
FP = fingerprint_of('{"title":"Training"}')
OTHER_FP = fingerprint_of('{"title":"Yoga"}')
EVENT_ID = "fqdjnvzrfqjcsmvyhgjirjtvftknayzx"
OTHER_EVENT_ID = "abcdefghijklmnopqrstuvwxyzabcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        client.create_table(**dynamodb_create_table_kwargs(load_template(), "IdempotencyTable", TABLE))
        yield client


@pytest.fixture
def records(dynamodb: Any, clock: Clock) -> BookingRecords:
    return BookingRecords(TABLE, dynamodb, ttl_days=7, clock=clock)


def item(dynamodb: Any) -> dict[str, Any]:
    stored: dict[str, Any] = dynamodb.get_item(TableName=TABLE, Key={"id": {"S": record_id(KEY)}})["Item"]
    return stored


def test_a_new_booking_is_claimed_with_a_lease_and_a_ttl(records: BookingRecords, dynamodb: Any) -> None:
    assert records.claim(KEY, FP, "webhook:a", 15) is None

    stored = item(dynamodb)
    assert stored["state"] == {"S": "claimed"}
    assert stored["lease_owner"] == {"S": "webhook:a"}
    assert int(stored["expiration"]["N"]) == 1_800_000_000 + 7 * 24 * 3600
    # The key is hashed: a key a sender filled with personal data is not stored in clear.
    assert KEY not in json.dumps(stored)


def test_a_second_claim_gets_the_first_record_back(records: BookingRecords) -> None:
    records.claim(KEY, FP, "webhook:a", 15)

    existing = records.claim(KEY, FP, "webhook:b", 15)

    assert existing is not None
    assert (existing.state, existing.lease_owner) == ("claimed", "webhook:a")
    assert existing.lease_live(records.now_ms())
    assert not existing.matches(OTHER_FP)


def test_an_expired_claim_is_taken_over_once(records: BookingRecords, clock: Clock) -> None:
    records.claim(KEY, FP, "webhook:a", 15)
    seen = records.claim(KEY, FP, "webhook:b", 15)
    assert seen is not None
    clock.now += 16

    assert records.take_over(KEY, seen, "webhook:b", 15) is None
    # A third taker that read the same version loses, and sees the second one's lease.
    lost = records.take_over(KEY, seen, "webhook:c", 15)
    assert lost is not None
    assert lost.lease_owner == "webhook:b"


def test_a_live_claim_cannot_be_taken_over(records: BookingRecords) -> None:
    records.claim(KEY, FP, "webhook:a", 15)
    seen = records.claim(KEY, FP, "webhook:b", 15)
    assert seen is not None

    lost = records.take_over(KEY, seen, "webhook:b", 15)

    assert lost is not None
    assert lost.lease_owner == "webhook:a"


def test_delivered_is_final_and_keeps_the_first_event_id(records: BookingRecords) -> None:
    records.claim(KEY, FP, "webhook:a", 15)

    first = records.record_delivered(KEY, FP, EVENT_ID)
    second = records.record_delivered(KEY, FP, OTHER_EVENT_ID)

    assert (first.state, first.event_id) == ("delivered", EVENT_ID)
    assert (second.state, second.event_id) == ("delivered", EVENT_ID)
    assert records.record_queued(KEY, "webhook:a", reason="Unavailable") is not None
    assert records.record_rejected(KEY, "webhook:a", upstream_status=409, code="X") is not None
    assert records.lease(KEY, FP, "worker:x", 60, handed_off_by=None, reopen=True) is not None
    got = records.get(KEY)
    assert got is not None
    assert (got.state, got.event_id) == ("delivered", EVENT_ID)


def test_delivered_without_an_event_id_is_final_too(records: BookingRecords) -> None:
    records.claim(KEY, FP, "webhook:a", 15)

    recorded = records.record_delivered(KEY, FP, None)

    assert (recorded.state, recorded.event_id) == ("delivered", None)
    assert records.record_delivered(KEY, FP, EVENT_ID).event_id is None


def test_an_event_id_is_recorded_over_any_lease_and_when_the_record_is_gone(records: BookingRecords) -> None:
    records.claim(KEY, FP, "webhook:a", 15)
    assert records.lease(KEY, FP, "worker:x", 60, handed_off_by="webhook:a", reopen=False) is None

    # Not the lease holder, but the event exists: it is recorded.
    assert records.record_delivered(KEY, FP, EVENT_ID).state == "delivered"
    assert records.record_delivered("gone", FP, OTHER_EVENT_ID).event_id == OTHER_EVENT_ID


def test_rejected_is_final(records: BookingRecords) -> None:
    records.claim(KEY, FP, "webhook:a", 15)

    assert records.record_rejected(KEY, "webhook:a", upstream_status=409, code="SLOT_BLOCKED") is None

    after = records.record_delivered(KEY, FP, EVENT_ID)
    assert (after.state, after.bizkithub_code, after.upstream_status) == ("rejected", "SLOT_BLOCKED", 409)


def test_queued_is_written_only_from_the_writers_own_lease(records: BookingRecords) -> None:
    """The race the first release lost: the worker took the handed-off booking and delivered it
    before the webhook wrote "queued"; the late write must not hide the delivery."""
    records.claim(KEY, FP, "webhook:a", 15)
    assert records.lease(KEY, FP, "worker:x", 60, handed_off_by="webhook:a", reopen=False) is None
    records.record_delivered(KEY, FP, EVENT_ID)

    late = records.record_queued(KEY, "webhook:a", reason="Unavailable")

    assert late is not None
    assert (late.state, late.event_id) == ("delivered", EVENT_ID)


@pytest.mark.parametrize(
    ("setup", "handed_off_by", "reopen", "taken"),
    [
        ("queued", None, False, True),
        ("none", None, False, True),
        ("claimed_live", "webhook:a", False, True),
        ("claimed_live", "webhook:other", False, False),
        ("claimed_live", None, False, False),
        ("claimed_expired", None, False, True),
        ("dead_lettered", None, False, False),
        ("dead_lettered", None, True, True),
        ("rejected", None, False, False),
        ("rejected", None, True, True),
        ("delivered", None, True, False),
    ],
)
def test_the_workers_lease(
    records: BookingRecords, clock: Clock, setup: str, handed_off_by: str | None, reopen: bool, taken: bool
) -> None:
    if setup != "none":
        records.claim(KEY, FP, "webhook:a", 15)
    if setup == "queued":
        records.record_queued(KEY, "webhook:a", reason="Unavailable")
    elif setup == "claimed_expired":
        clock.now += 16
    elif setup == "dead_lettered":
        records.lease(KEY, FP, "worker:1", 60, handed_off_by="webhook:a", reopen=False)
        records.record_dead_lettered(KEY, "worker:1", reason="Unavailable")
    elif setup == "rejected":
        records.record_rejected(KEY, "webhook:a", upstream_status=409, code=None)
    elif setup == "delivered":
        records.record_delivered(KEY, FP, EVENT_ID)

    holder = records.lease(KEY, FP, "worker:2", 60, handed_off_by=handed_off_by, reopen=reopen)

    assert (holder is None) == taken
    if taken:
        now = records.get(KEY)
        assert now is not None
        assert (now.state, now.lease_owner) == ("delivering", "worker:2")


def test_a_second_worker_cannot_lease_a_booking_leased_by_the_first(records: BookingRecords) -> None:
    records.claim(KEY, FP, "webhook:a", 15)
    records.record_queued(KEY, "webhook:a", reason="Unavailable")
    assert records.lease(KEY, FP, "worker:1", 60, handed_off_by=None, reopen=False) is None

    holder = records.lease(KEY, FP, "worker:2", 60, handed_off_by=None, reopen=False)

    assert holder is not None
    assert (holder.state, holder.lease_owner) == ("delivering", "worker:1")


def test_a_lease_for_another_booking_under_the_same_key_is_refused(records: BookingRecords) -> None:
    records.claim(KEY, FP, "webhook:a", 15)
    records.record_queued(KEY, "webhook:a", reason="Unavailable")

    holder = records.lease(KEY, OTHER_FP, "worker:1", 60, handed_off_by=None, reopen=False)

    assert holder is not None
    assert not holder.matches(OTHER_FP)


def test_release_deletes_only_the_callers_own_claim(records: BookingRecords, clock: Clock) -> None:
    records.claim(KEY, FP, "webhook:a", 15)
    records.release(KEY, "webhook:b")
    assert records.get(KEY) is not None

    records.release(KEY, "webhook:a")
    assert records.get(KEY) is None


def test_store_failures_are_typed_and_name_no_table(clock: Clock) -> None:
    with mock_aws():
        client = boto3.client(
            "dynamodb", region_name="eu-central-1", config=Config(retries={"max_attempts": 0})
        )
        records = BookingRecords("missing-table", client, ttl_days=7, clock=clock)
        writes: list[Callable[[], object]] = [
            lambda: records.claim(KEY, FP, "webhook:a", 15),
            lambda: records.get(KEY),
            lambda: records.record_delivered(KEY, FP, EVENT_ID),
            lambda: records.release(KEY, "webhook:a"),
        ]
        for write in writes:
            with pytest.raises(BookingStoreUnavailable) as caught:
                write()
            assert "missing-table" not in str(caught.value)


# --- records the first release wrote through Powertools idempotency -------------------------


def legacy_item(status: str, data: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    stored: dict[str, Any] = {
        "id": {"S": record_id(KEY)},
        "status": {"S": status},
        "validation": {"S": FP},
        "expiration": {"N": str(1_800_000_000 + 3600)},
    }
    if data is not None:
        stored["data"] = {"S": json.dumps(data)}
    stored.update(extra)
    return stored


def test_a_first_release_delivered_record_answers_a_repeat(records: BookingRecords, dynamodb: Any) -> None:
    dynamodb.put_item(
        TableName=TABLE, Item=legacy_item("COMPLETED", {"status": "delivered", "eventId": EVENT_ID})
    )

    existing = records.claim(KEY, FP, "webhook:a", 15)

    assert existing is not None
    assert (existing.state, existing.event_id) == ("delivered", EVENT_ID)
    assert records.record_delivered(KEY, FP, OTHER_EVENT_ID).event_id == EVENT_ID


def test_a_first_release_queued_record_is_leased_by_the_worker(
    records: BookingRecords, dynamodb: Any
) -> None:
    dynamodb.put_item(TableName=TABLE, Item=legacy_item("COMPLETED", {"status": "queued"}))

    assert records.lease(KEY, FP, "worker:1", 60, handed_off_by=None, reopen=False) is None

    now = records.get(KEY)
    assert now is not None
    assert (now.state, now.lease_owner, now.fingerprint) == ("delivering", "worker:1", FP)


def test_a_first_release_claim_that_expired_is_taken_over(
    records: BookingRecords, dynamodb: Any, clock: Clock
) -> None:
    until = int((clock.now - 1) * 1000)
    dynamodb.put_item(
        TableName=TABLE, Item=legacy_item("INPROGRESS", in_progress_expiration={"N": str(until)})
    )
    seen = records.claim(KEY, FP, "webhook:a", 15)
    assert seen is not None
    assert seen.state == "claimed"
    assert not seen.lease_live(records.now_ms())

    assert records.take_over(KEY, seen, "webhook:a", 15) is None


def test_a_first_release_claim_still_live_is_left_alone(
    records: BookingRecords, dynamodb: Any, clock: Clock
) -> None:
    """An old invocation may still be running and will write its own result: not rewritten (and so
    not taken over) until its claim expires."""
    until = int((clock.now + 30) * 1000)
    dynamodb.put_item(
        TableName=TABLE, Item=legacy_item("INPROGRESS", in_progress_expiration={"N": str(until)})
    )

    seen = records.claim(KEY, FP, "webhook:a", 15)

    assert seen is not None
    assert seen.lease_live(records.now_ms())
    assert "state" not in item(dynamodb)  # still the first release's record
