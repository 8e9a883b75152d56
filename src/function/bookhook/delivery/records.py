"""The booking record: the one module that reads and writes it, every write a conditional transition.

One DynamoDB item per booking key says what became of the booking:

    claimed ──▶ delivered (final, with the eventId, or "eventId unknown" after a 2xx without one)
       │   └──▶ rejected (final, with BizKitHub's code)
       │   └──▶ queued ──▶ delivering ──▶ delivered / rejected / queued …
       └──▶ (released: nothing was sent, or the sender is told to retry)
    queued / delivering ──▶ dead_lettered
    dead_lettered / rejected ──(an operator's replay)──▶ delivering

`claimed` is the webhook's first try and `delivering` the worker's; both are *leases*: an owner id
and an expiry, taken with a conditional write before BizKitHub is called, so no second caller
calls while one lives. A lease that expired means its holder died or timed out; it may be taken
over (the new call carries the same Idempotency-Key as the old).

Rules every write here keeps:
- `delivered` and `rejected` are final: no condition below lets a write replace them (only an
  operator's replay reopens a `rejected` booking, and nothing reopens a `delivered` one).
- An eventId wins over every non-final state, whoever holds the lease: the event exists.
- A write that loses a race gets the winner's record back (`ReturnValuesOnConditionCheckFailure`,
  so no extra read) and the caller acts on it.

Why not Powertools idempotency (which the first release used): its "completed" write is
unconditional, so a late "queued" could overwrite the worker's "delivered", and it has no notion of
a lease a second process can take over. Its item id (`booking#` + md5 of the key) and validation
hash are kept, so records the first release wrote are still read (as `legacy`, see `_from_item`).

Errors of the store itself (throttling, timeouts, no access) raise `BookingStoreUnavailable`;
what to do then is the caller's decision.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from bookhook.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

State = Literal["claimed", "queued", "delivering", "delivered", "rejected", "dead_lettered"]
FINAL_STATES: frozenset[State] = frozenset({"delivered", "rejected"})
LEASED_STATES: frozenset[State] = frozenset({"claimed", "delivering"})
_KEY_PREFIX = "booking"


class BookingStoreUnavailable(ServiceUnavailable):
    """DynamoDB did not take or answer the write (throttled, timed out, no access)."""

    code = "booking_store_unavailable"


def record_id(booking_key: str) -> str:
    # Powertools' layout (`<prefix>#md5(json(key))`), so the first release's records are found.
    digest = hashlib.md5(json.dumps(booking_key).encode(), usedforsecurity=False).hexdigest()
    return f"{_KEY_PREFIX}#{digest}"


def _unbooked_id(payment_key: str) -> str:
    # Its own key space: a payment's note never collides with a booking's record.
    return f"unbooked#{hashlib.sha256(payment_key.encode()).hexdigest()}"


def fingerprint_of(identity: str) -> str:
    """What must match when a key is seen again; Powertools' validation hash of the same text."""
    return hashlib.md5(json.dumps(identity).encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class BookingRecord:
    state: State
    fingerprint: str | None
    version: int
    event_id: str | None = None
    lease_owner: str | None = None
    lease_until_ms: int = 0
    attempts: int = 0
    bizkithub_code: str | None = None
    upstream_status: int | None = None
    reason: str | None = None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def lease_live(self, now_ms: int) -> bool:
        return self.state in LEASED_STATES and self.lease_until_ms > now_ms

    def matches(self, fingerprint: str) -> bool:
        return self.fingerprint is None or self.fingerprint == fingerprint


class BookingRecords:
    """The booking table; takes an injectable DynamoDB client (moto in tests)."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        ttl_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._client = client
        self._ttl_seconds = ttl_days * 24 * 3600
        self._clock = clock

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # --- reads ------------------------------------------------------------------------------

    def get(self, booking_key: str) -> BookingRecord | None:
        item = self._read_item(record_id(booking_key))
        return _from_item(item) if item else None

    # --- the webhook's first try ------------------------------------------------------------

    def claim(
        self, booking_key: str, fingerprint: str, owner: str, lease_seconds: float
    ) -> BookingRecord | None:
        """Take a new booking (`claimed`, leased to `owner`); None when taken, else the existing record."""
        now = self._clock()
        item = {
            "id": {"S": record_id(booking_key)},
            "state": {"S": "claimed"},
            "fingerprint": {"S": fingerprint},
            "version": {"N": "1"},
            "lease_owner": {"S": owner},
            "lease_until": {"N": str(int((now + lease_seconds) * 1000))},
            "attempts": {"N": "1"},
            "created_at": {"N": str(int(now))},
            "updated_at": {"N": str(int(now))},
            "expiration": {"N": str(int(now) + self._ttl_seconds)},
        }
        return self._put_new(item)

    def take_over(
        self, booking_key: str, seen: BookingRecord, owner: str, lease_seconds: float
    ) -> BookingRecord | None:
        """Take an expired `claimed` lease as the webhook's: None when taken, else the record now.
        Conditional on the record being exactly as read (its version), so two takers cannot both win."""
        return self._update_if(
            booking_key,
            "SET lease_owner = :owner, lease_until = :until, attempts = attempts + :one, "
            "version = version + :one, updated_at = :now",
            "#state = :claimed AND version = :seen AND lease_until < :now_ms",
            {
                ":owner": {"S": owner},
                ":until": _n(int((self._clock() + lease_seconds) * 1000)),
                ":claimed": {"S": "claimed"},
                ":seen": _n(seen.version),
                ":now_ms": _n(self.now_ms()),
                ":now": _n(int(self._clock())),
                ":one": _n(1),
            },
        )

    def release(self, booking_key: str, owner: str) -> None:
        """Forget a claim whose try sent nothing or whose sender is told to retry. Only our own
        live claim is deleted; if it was taken meanwhile, the new holder keeps it."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"id": {"S": record_id(booking_key)}},
                ConditionExpression="#state = :claimed AND lease_owner = :owner",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":claimed": {"S": "claimed"}, ":owner": {"S": owner}},
            )
        except ClientError as error:
            if _condition_failed(error):
                return
            raise _unavailable(error) from None
        except BotoCoreError as error:
            raise _unavailable(error) from None

    # --- the worker's lease -----------------------------------------------------------------

    def lease(
        self,
        booking_key: str,
        fingerprint: str,
        owner: str,
        lease_seconds: float,
        *,
        handed_off_by: str | None,
        reopen: bool,
    ) -> BookingRecord | None:
        """Take the booking for one delivery try (`delivering`): None when taken, else the record.

        Taken when the booking is queued (or has no record: it expired, or a replay brings it back),
        when its lease is the one whose holder put this message on the queue (`handed_off_by`: that
        holder has stopped calling), or when a lease expired. `reopen` (an operator's replay) also
        takes a dead-lettered or rejected booking back; a delivered one never.
        """
        now_ms = self.now_ms()
        takeable = [
            "attribute_not_exists(id)",
            "#state = :queued",
            "(#state IN (:claimed, :delivering) AND lease_until < :now_ms)",
        ]
        values: dict[str, Any] = {
            ":queued": {"S": "queued"},
            ":claimed": {"S": "claimed"},
            ":delivering": {"S": "delivering"},
            ":now_ms": _n(now_ms),
        }
        if handed_off_by is not None:
            takeable.append("(#state IN (:claimed, :delivering) AND lease_owner = :handoff)")
            values[":handoff"] = {"S": handed_off_by}
        same_booking = "(attribute_not_exists(fingerprint) OR fingerprint = :fp)"
        if reopen:
            takeable.append("#state IN (:dead_lettered, :rejected)")
            values |= {":dead_lettered": {"S": "dead_lettered"}, ":rejected": {"S": "rejected"}}
        now = self._clock()
        values |= {
            ":delivering_state": {"S": "delivering"},
            ":fp": {"S": fingerprint},
            ":owner": {"S": owner},
            ":until": _n(int((now + lease_seconds) * 1000)),
            ":one": _n(1),
            ":zero": _n(0),
            ":now": _n(int(now)),
            ":expires": _n(int(now) + self._ttl_seconds),
        }
        return self._update_if(
            booking_key,
            "SET #state = :delivering_state, fingerprint = :fp, lease_owner = :owner, "
            "lease_until = :until, version = if_not_exists(version, :zero) + :one, "
            "attempts = if_not_exists(attempts, :zero) + :one, "
            "created_at = if_not_exists(created_at, :now), updated_at = :now, expiration = :expires "
            "REMOVE event_id, bizkithub_code, upstream_status, reason",
            # A replay may have re-mapped the booking, so a reopened record takes the new fingerprint.
            f"({' OR '.join(takeable)})" + ("" if reopen else f" AND {same_booking}"),
            values,
        )

    # --- outcomes ---------------------------------------------------------------------------

    def record_delivered(self, booking_key: str, fingerprint: str, event_id: str | None) -> BookingRecord:
        """The event exists: recorded over any non-final state, whoever holds the lease (an upsert if
        the record is gone). Returns the record as it now is: ours, or a final one that was there first."""
        now = self._clock()
        set_event_id = ", event_id = :event_id" if event_id is not None else ""
        values: dict[str, Any] = {
            ":delivered": {"S": "delivered"},
            ":rejected": {"S": "rejected"},
            ":fp": {"S": fingerprint},
            ":one": _n(1),
            ":zero": _n(0),
            ":now": _n(int(now)),
            ":expires": _n(int(now) + self._ttl_seconds),
        }
        if event_id is not None:
            values[":event_id"] = {"S": event_id}
        written = self._update_if(
            booking_key,
            "SET #state = :delivered, fingerprint = if_not_exists(fingerprint, :fp), "
            "version = if_not_exists(version, :zero) + :one, updated_at = :now, expiration = :expires"
            + set_event_id
            + " REMOVE lease_owner, lease_until",
            # A first-release record has no state: it is rewritten first (see _conditionally).
            "attribute_not_exists(id) OR (attribute_exists(#state) "
            "AND NOT #state IN (:delivered, :rejected))",
            values,
            return_new=True,
        )
        assert written is not None  # _update_if returns the new item when asked to
        return written

    def record_rejected(
        self, booking_key: str, owner: str, *, upstream_status: int, code: str | None
    ) -> BookingRecord | None:
        """BizKitHub refused the event: final. Only from our own lease; None when written."""
        values: dict[str, Any] = {
            ":rejected_state": {"S": "rejected"},
            ":status": _n(upstream_status),
        }
        code_part = ", bizkithub_code = :code" if code else ""
        if code:
            values[":code"] = {"S": code}
        return self._from_own_lease(
            booking_key, owner, "#state = :rejected_state, upstream_status = :status" + code_part, values
        )

    def record_queued(self, booking_key: str, owner: str, *, reason: str) -> BookingRecord | None:
        """Waiting on the queue (whose message is already sent). Only from our own lease: the worker
        may have taken it already from the message, and its state then stands. None when written."""
        return self._from_own_lease(
            booking_key,
            owner,
            "#state = :queued_state, reason = :reason",
            {":queued_state": {"S": "queued"}, ":reason": {"S": reason}},
        )

    def record_dead_lettered(self, booking_key: str, owner: str, *, reason: str) -> BookingRecord | None:
        """Every try failed; the booking is in the dead-letter queue. Own lease only; None when written."""
        return self._from_own_lease(
            booking_key,
            owner,
            "#state = :dead_state, reason = :reason",
            {":dead_state": {"S": "dead_lettered"}, ":reason": {"S": reason}},
        )

    # --- payments nothing books -------------------------------------------------------------

    def note_unbooked_half(self, payment_key: str, half: str) -> frozenset[str]:
        """Note that one half of a payment (a Checkout Session, or its PaymentIntent) carried no
        booking details; return every half noted so far. One atomic `ADD` to a set, so when both
        halves arrive at once, at least the second to be written sees both."""
        now = int(self._clock())
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": _unbooked_id(payment_key)}},
                UpdateExpression=(
                    "ADD unbooked_halves :half SET expiration = if_not_exists(expiration, :expires)"
                ),
                ExpressionAttributeValues={":half": {"SS": [half]}, ":expires": _n(now + self._ttl_seconds)},
                ReturnValues="ALL_NEW",
            )
        except (BotoCoreError, ClientError) as error:
            raise _unavailable(error) from None
        return frozenset(answer["Attributes"].get("unbooked_halves", {}).get("SS", []))

    # --- plumbing ---------------------------------------------------------------------------

    def _from_own_lease(
        self, booking_key: str, owner: str, assignments: str, values: Mapping[str, Any]
    ) -> BookingRecord | None:
        return self._update_if(
            booking_key,
            f"SET {assignments}, version = version + :one, updated_at = :now REMOVE lease_owner, lease_until",
            "#state IN (:claimed, :delivering) AND lease_owner = :owner",
            {
                **values,
                ":claimed": {"S": "claimed"},
                ":delivering": {"S": "delivering"},
                ":owner": {"S": owner},
                ":one": _n(1),
                ":now": _n(int(self._clock())),
            },
        )

    def _put_new(self, item: dict[str, Any]) -> BookingRecord | None:
        key = item["id"]["S"]

        def put() -> None:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )

        _, winner = self._conditionally(key, put)
        return winner

    def _update_if(
        self,
        booking_key: str,
        update: str,
        condition: str,
        values: Mapping[str, Any],
        *,
        return_new: bool = False,
    ) -> BookingRecord | None:
        """Apply `update` if `condition` holds: None (or, with `return_new`, the new record) when
        written; the record that stood in the way when not."""
        key = record_id(booking_key)

        def update_item() -> Any:
            return self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": key}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=dict(values),
                ReturnValues="ALL_NEW" if return_new else "NONE",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )

        answer, winner = self._conditionally(key, update_item)
        if winner is not None:
            return winner
        return _from_item(answer["Attributes"]) if return_new else None

    def _conditionally(self, key: str, write: Callable[[], Any]) -> tuple[Any, BookingRecord | None]:
        """Run a conditional write: (its answer, None) when written, (None, the record in the way) when
        not. A first-release record in the way is first rewritten in this layout, then the write is
        tried once more; so is a record that vanished (TTL) between the write and the read."""
        for last_try in (False, True):
            try:
                return write(), None
            except ClientError as error:
                if not _condition_failed(error):
                    raise _unavailable(error) from None
                failed: Mapping[str, Any] = error.response
                item = failed.get("Item") or self._read_item(key)
            except BotoCoreError as error:
                raise _unavailable(error) from None
            if item and ("state" in item or last_try or not self._upgrade_legacy(item)):
                return None, _from_item(item)
            if not item and last_try:
                raise BookingStoreUnavailable("the booking record kept changing while it was written")
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_item(self, key: str) -> dict[str, Any] | None:
        try:
            answer = self._client.get_item(TableName=self._table, Key={"id": {"S": key}}, ConsistentRead=True)
        except (BotoCoreError, ClientError) as error:
            raise _unavailable(error) from None
        return answer.get("Item")

    def _upgrade_legacy(self, item: Mapping[str, Any]) -> bool:
        """Rewrite a first-release record in this layout, if it is still exactly as read; True when
        the caller should try its write again (rewritten here or by someone else meanwhile)."""
        legacy = _from_legacy_item(item)
        if legacy.lease_live(self.now_ms()):
            # A first-release invocation may still be running and will write its result its own
            # way: left alone until its claim expires (the caller sees a live claim and waits).
            return False
        now = int(self._clock())
        upgraded: dict[str, Any] = {
            "id": item["id"],
            "state": {"S": legacy.state},
            "version": _n(1),
            "lease_until": _n(legacy.lease_until_ms),
            "attempts": _n(1),
            "created_at": _n(now),
            "updated_at": _n(now),
            "expiration": item.get("expiration") or _n(now + self._ttl_seconds),
        }
        if legacy.fingerprint:
            upgraded["fingerprint"] = {"S": legacy.fingerprint}
        if legacy.event_id:
            upgraded["event_id"] = {"S": legacy.event_id}
        unchanged = {"#status": "status", "#state": "state"}
        values = {":status": item.get("status") or {"S": ""}}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=upgraded,
                ConditionExpression="attribute_not_exists(#state) AND #status = :status",
                ExpressionAttributeNames=unchanged,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise _unavailable(error) from None
        except BotoCoreError as error:
            raise _unavailable(error) from None
        return True


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _unavailable(error: Exception) -> BookingStoreUnavailable:
    # The botocore error's text can hold the table name and request ids; its type is enough.
    return BookingStoreUnavailable(f"the booking store failed ({type(error).__name__})")


def _from_item(item: Mapping[str, Any]) -> BookingRecord:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if value and "S" in value else None

    def number(name: str) -> int | None:
        value = item.get(name)
        return int(value["N"]) if value and "N" in value else None

    state = text("state")
    if state is None:
        return _from_legacy_item(item)
    return BookingRecord(
        state=state,  # type: ignore[arg-type]  # only this module writes it
        fingerprint=text("fingerprint"),
        version=number("version") or 0,
        event_id=text("event_id"),
        lease_owner=text("lease_owner"),
        lease_until_ms=number("lease_until") or 0,
        attempts=number("attempts") or 0,
        bizkithub_code=text("bizkithub_code"),
        upstream_status=number("upstream_status"),
        reason=text("reason"),
    )


def _from_legacy_item(item: Mapping[str, Any]) -> BookingRecord:
    """A record the first release wrote through Powertools idempotency (`status` INPROGRESS or
    COMPLETED, the outcome as JSON in `data`), read as the state it stands for. Its `version` is 0,
    so the first conditional write here replaces it (they all accept a missing version)."""
    status = item.get("status", {}).get("S")
    fingerprint = item.get("validation", {}).get("S")
    if status == "INPROGRESS":
        until = item.get("in_progress_expiration", {}).get("N")
        return BookingRecord(
            state="claimed", fingerprint=fingerprint, version=0, lease_until_ms=int(until or 0)
        )
    try:
        data = json.loads(item.get("data", {}).get("S") or "{}")
    except ValueError:
        data = {}
    outcome = data.get("status") if isinstance(data, dict) else None
    event_id = data.get("eventId") if isinstance(data, dict) else None
    if outcome in ("queued", "rejected", "dead_lettered"):
        return BookingRecord(state=outcome, fingerprint=fingerprint, version=0)
    return BookingRecord(
        state="delivered",
        fingerprint=fingerprint,
        version=0,
        event_id=event_id if isinstance(event_id, str) else None,
    )
