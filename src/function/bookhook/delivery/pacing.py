"""Pacing: BizKitHub is called at its rate limit, not against it.

BizKitHub limits requests per API key (a sliding window with a burst allowance; Free: 1,000 an hour,
burst 50) and says how much is left on every answer (`X-RateLimit-Limit`, `-Remaining`, `-Reset`);
over the limit it answers 429 with `Retry-After`. The webhook function and the delivery worker, in
every container, share what is known about that limit in one item of the booking table
(`pacing#add-event`), which only this module reads and writes, each write conditional:

- the latest answer's headers (`limit`, `remaining`, `reset_at`, `observed_at`): replaced only by a
  later observation;
- `paused_until`: from a 429's Retry-After; only ever extended;
- `next_slot`: the schedule; the earliest time the next paced call may go, moved forward only by
  atomic conditional writes (an increment while it is ahead), so two callers never get one slot.

Each container keeps its own picture: the item as it last read or wrote it, updated with the headers
of its own answers. From it, three modes:

- quiet (more than `LOW_WATER` requests remaining, less what the other callers spent between this
  container's last two answers, so many containers in a burst turn tight in time; or nothing known;
  and no slot reserved ahead): call at once. No DynamoDB read or write: the hot path is as without
  pacing. (A container reads the item once, before its first call, so a new container does not
  walk into a pause.)
- tight (otherwise): each caller reserves the next slot with one conditional write. Slots are
  spaced at the plan's sustained rate (`limit` from the headers over `window_seconds`, the length of
  BizKitHub's window, an hour by its published plans; 2 % slower, for clocks and rounding), and
  none falls before the reset while nothing is remaining. A caller whose slot has come (the
  worker: is near, and waits for it) calls; one whose slot is further off takes the slot with it
  onto the queue (delayed until then) and calls when it comes back, without reserving again. So a
  burst's backlog goes out evenly, at the rate the plan allows.
- paused (a 429's Retry-After not over): nobody calls; bookings wait on the queue until it is.

The pacing state is advice, never a booking's state: if the table cannot be read or written, the
caller calls as if quiet (the worst that follows is a 429, which is waited out), and a crash between
any two steps costs at most an unused slot. Writes happen only under pressure (tight or paused);
each write's answer brings the other containers' news back, so a tight container needs no extra read.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from bookhook.calendar.outcomes import AddEventOutcome, RateLimited
from bookhook.deadline import AWS_CALL_WORST_SECONDS, Deadline

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PACING_ITEM_ID = "pacing#add-event"
# At or below this many remaining requests, calls are paced. Small next to the smallest plan's burst
# (50), large enough that the callers already under way when it is reached (each container learns
# it from its own next answer) fit in what is left.
LOW_WATER = 10
# Slots are spaced this much wider than the plan's sustained rate: our clocks and BizKitHub's, and
# its whole-second headers, must never make an even schedule a few requests too fast.
SPACING_MARGIN = 1.02
# A 429 without Retry-After: pause a minute (BizKitHub's own example asks for an hour).
DEFAULT_PAUSE_SECONDS = 60
_RESERVE_TRIES = 6
_REREAD_AFTER_FAILURE_SECONDS = 60
# Under pressure, a picture that had the shared item's news within this long is not read again.
_SYNC_SECONDS = 1.0
# A Limit so small that calls would be spaced further apart than this share of a window is taken
# for a misreported header (a per-minute figure, a burst), not a plan: no plan is that small, and
# spacing by it would park every booking for hours.
_MIN_PLAUSIBLE_LIMIT = LOW_WATER
_TTL_SECONDS = 7 * 24 * 3600
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Picture:
    """What one container knows of the shared pacing state; times are Unix seconds."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    observed_at: float = 0.0
    paused_until: float = 0.0
    next_slot: float = 0.0
    # How far `remaining` fell between this container's last two answers, less its own call: what
    # the other callers (containers of both functions) spend between two of ours. Never shared.
    fall: int = 0

    def paused(self, now: float) -> bool:
        return self.paused_until > now

    def nearly_spent(self, now: float, window_seconds: float) -> bool:
        """Few requests left by the time of our next call (what is left, less what the others spend
        before it), by an answer from within the last window (an older one says nothing of now)."""
        return (
            self.remaining is not None
            and self.remaining - self.fall <= LOW_WATER
            and self.observed_at > now - window_seconds
        )

    def tight(self, now: float, window_seconds: float) -> bool:
        """Nearly spent, or slots reserved ahead: calls take slots."""
        return self.nearly_spent(now, window_seconds) or self.next_slot > now

    def spacing(self, window_seconds: float) -> float:
        """Seconds between paced calls: the plan's sustained rate, a little slower; 0 if unknown."""
        return window_seconds / self.limit * SPACING_MARGIN if self.limit else 0.0

    def earliest(self, now: float) -> float:
        """The earliest a call may go: now, after the pause, and not before the reset while
        nothing is left."""
        moment = max(now, self.paused_until)
        if self.remaining == 0 and self.reset_at is not None:
            moment = max(moment, self.reset_at)
        return moment

    def next_free(self, now: float) -> float:
        """Where the next slot would be, as far as this picture knows (without reserving it)."""
        return max(self.earliest(now), self.next_slot)


@dataclass(frozen=True)
class Go:
    """Call now. `slot`: the slot this call uses, if one was reserved (None: quiet, no schedule)."""

    slot: float | None = None


@dataclass(frozen=True)
class Later:
    """Do not call now; come back at `until` (Unix time). `slot`: reserved for this booking at
    `until`, to be used then without reserving again; None when nothing was reserved (paused, or
    no slot could be had). `paused`: BizKitHub said 429 and its Retry-After is not over."""

    until: float
    slot: float | None = None
    paused: bool = False


Decision = Go | Later


def queue_delay(later: Later, now: float) -> int:
    """The SQS delay for a booking that must wait: to the second before its slot (the caller back
    then waits out the rest, under a second, and calls on time), or past the pause's end."""
    wait = max(0.0, later.until - now)
    return math.floor(wait) if later.slot is not None else math.ceil(wait)


class PacingStoreUnavailable(Exception):
    """The pacing item could not be read or written (never fatal: pacing is advice)."""


class Pacer:
    """One per container, shared by its requests; takes an injectable DynamoDB client."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        window_seconds: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._client = client
        self._window = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._picture: Picture | None = None  # None: not read yet in this container
        self._read_failed_at: float | None = None
        self._synced_at = 0.0  # when the picture last had the shared item's news (a read or a write)

    @property
    def picture(self) -> Picture:
        return self._picture or Picture()

    def before_call(
        self,
        *,
        reserved: float | None,
        max_wait: float,
        deadline: Deadline,
        call_needs: float,
        queue_needs: float,
        can_queue: bool = True,
    ) -> Decision:
        """Whether to call now. `reserved`: a slot this booking took earlier (from its message);
        `max_wait`: how long this caller may wait here for a near slot. `call_needs` and
        `queue_needs`: the seconds the caller needs after this step to call (and settle), or to put
        the booking on the queue instead: a DynamoDB call here starts only if queueing still fits
        after it, and Go is answered only if calling does. `can_queue` False (no queue): a slot is
        taken only if it is free now; a later one is not reserved for a booking that cannot wait."""
        now = self._clock()
        picture = self._known(deadline, queue_needs, now)
        if (
            reserved is not None
            and picture.tight(now, self._window)
            and now - self._synced_at > _SYNC_SECONDS
        ):
            # A slot taken earlier, used under pressure: a pause another container met since must
            # not be walked into, so the shared state is read again first (one consistent read,
            # unless this container had it from the table within the last second).
            picture = self._refresh(deadline, queue_needs)
        if picture.paused(now):
            return Later(until=picture.paused_until, paused=True)
        if reserved is not None and reserved >= picture.paused_until:
            # Its own slot (one reserved before a pause that has since begun is void: reserve anew).
            return self._at(reserved, now, max_wait, deadline, call_needs)
        if not picture.tight(now, self._window):
            return self._go_if_it_fits(Go(), now, deadline, call_needs)
        if not picture.limit:
            # Pressure, but no rate known to space calls at: only "nothing left" holds them back.
            if picture.remaining == 0 and picture.reset_at is not None and picture.reset_at > now:
                return Later(until=picture.reset_at)
            return self._go_if_it_fits(Go(), now, deadline, call_needs)
        if not can_queue and picture.next_free(now) > now:
            return Later(until=picture.next_free(now))  # not reserved: the sender retries then
        if not deadline.allows(AWS_CALL_WORST_SECONDS + queue_needs):
            return Later(until=picture.next_free(now))  # no time to reserve: queue it
        try:
            slot = self._reserve(now, deadline, queue_needs)
        except PacingStoreUnavailable:
            return self._go_if_it_fits(Go(), now, deadline, call_needs)  # advice only: a 429 is waited out
        if slot is None:
            return Later(until=self.picture.next_free(self._clock()))
        if self.picture.paused(slot):
            return Later(until=self.picture.paused_until, paused=True)
        return self._at(slot, self._clock(), max_wait, deadline, call_needs)

    def _go_if_it_fits(self, go: Go, now: float, deadline: Deadline, call_needs: float) -> Decision:
        """Go, if the call and what follows it still fit (a slow pacing step may have taken the
        time); else the booking goes on the queue, to be called at once from there."""
        return (
            go
            if deadline.allows(call_needs)
            else Later(until=go.slot if go.slot is not None else now, slot=go.slot)
        )

    def after_call(self, outcome: AddEventOutcome, *, deadline: Deadline) -> float:
        """Take in what the answer said; share it if there is pressure. Returns how many seconds
        this answer added to the shared pause (for the metric), 0 if none."""
        now = self._clock()
        quota = outcome.quota
        before = self.picture
        observed = before
        # In this container, the last answer is the latest.
        if quota is not None and now >= before.observed_at:
            fall = 0
            if quota.remaining is not None and before.remaining is not None:
                fall = max(0, before.remaining - quota.remaining - 1)
            observed = replace(
                before,
                fall=fall,
                limit=_plausible(quota.limit) if quota.limit is not None else before.limit,
                remaining=quota.remaining,
                # A window resets within a window: a later Reset (a bad header) must not park every
                # booking for days.
                reset_at=min(quota.reset_at, now + self._window) if quota.reset_at is not None else None,
                observed_at=now,
            )
        pause_until = 0.0
        if isinstance(outcome, RateLimited):
            pause_until = now + (outcome.retry_after or DEFAULT_PAUSE_SECONDS)
            # Met, whatever Remaining said (a limiter may count only its window, not the burst):
            # nothing is left until the pause ends, and calls are paced after it.
            observed = replace(
                observed,
                paused_until=max(observed.paused_until, pause_until),
                remaining=0,
                reset_at=pause_until,
                observed_at=max(observed.observed_at, now),
            )
        self._picture = observed
        # Shared only when it is news to the others: a pause, pressure beginning or ending, or nothing
        # left (whose reset every slot must wait for). While calls stay paced, the schedule itself
        # carries the news, so a paced call costs no write for what its answer said.
        news = (
            pause_until > 0
            or before.nearly_spent(now, self._window) != observed.nearly_spent(now, self._window)
            or (observed.remaining == 0 and before.remaining != 0)
        )
        if not news or not deadline.allows(AWS_CALL_WORST_SECONDS):
            return 0.0
        try:
            if observed is not before:
                self._share_observation(observed)
            if pause_until > 0 and deadline.allows(AWS_CALL_WORST_SECONDS):
                return self._extend_pause(pause_until, now)
        except PacingStoreUnavailable:
            _log.warning("the pacing state could not be shared")
        return 0.0

    # --- the shared item ----------------------------------------------------------------------

    def _known(self, deadline: Deadline, queue_needs: float, now: float) -> Picture:
        """The picture, read from the table first if this container has none (or its read failed a
        while ago: tried again after `_REREAD_AFTER_FAILURE_SECONDS`, not on every call)."""
        if self._picture is None or (
            self._read_failed_at is not None and now - self._read_failed_at > _REREAD_AFTER_FAILURE_SECONDS
        ):
            self._refresh(deadline, queue_needs)
        return self.picture

    def _refresh(self, deadline: Deadline, queue_needs: float) -> Picture:
        """Read the shared item (consistently) into the picture, if the time left allows it."""
        if not deadline.allows(AWS_CALL_WORST_SECONDS + queue_needs):
            return self.picture
        try:
            answer = self._client.get_item(TableName=self._table, Key=_KEY, ConsistentRead=True)
        except (BotoCoreError, ClientError):
            _log.warning("the pacing state could not be read")
            self._read_failed_at = self._clock()
            self._picture = self._picture or Picture()
            return self.picture
        self._read_failed_at = None
        shared = _picture_of(answer.get("Item") or {})
        if self._picture is None:
            self._picture = shared
            self._synced_at = self._clock()
        else:
            self._merge(shared)
        return self.picture

    def _at(
        self, slot: float, now: float, max_wait: float, deadline: Deadline, call_needs: float
    ) -> Decision:
        """Call at `slot`: now, after waiting for it here, or (too far, or no time left to call) from
        the queue, which brings the booking back then with its slot."""
        wait = max(0.0, slot - now)
        if wait <= max_wait and deadline.allows(wait + call_needs):
            if wait > 0:
                self._sleep(wait)
            return Go(slot)
        return Later(until=slot, slot=slot)

    def _reserve(self, now: float, deadline: Deadline, queue_needs: float) -> float | None:
        """Take the next slot: one atomic write, whatever the other callers do meanwhile. While the
        schedule is ahead of the earliest moment a call may go, the slot is where it stands and the
        write moves it on by one spacing (an increment, so concurrent callers each get their own
        without reading first); when it has fallen behind (or there is none), the slot is that
        moment and the schedule is set to follow it. Either write's condition fails only when the
        other's holds, so a caller needs two tries unless the two keep swapping; None after
        `_RESERVE_TRIES`."""
        known = self.picture
        earliest = known.earliest(now)
        spacing = _ms(known.spacing(self._window))
        floor = _ms(earliest)
        expires = {"N": str(int(now) + _TTL_SECONDS)}
        # Tried in the order the picture suggests, so the first write usually holds.
        behind_first = known.next_slot < earliest
        for attempt in range(_RESERVE_TRIES * 2):
            if attempt and not deadline.allows(AWS_CALL_WORST_SECONDS + queue_needs):
                return None  # each write must leave the time to queue the booking after it
            if (attempt % 2 == 0) != behind_first:
                ahead = self._slot_write(
                    "SET next_slot = next_slot + :spacing, expiration = :expires",
                    "next_slot >= :floor",
                    {":spacing": spacing, ":floor": floor, ":expires": expires},
                )
                if ahead is not None:
                    return (round(ahead.next_slot * 1000) - int(spacing["N"])) / 1000
            else:
                following = {"N": str(int(floor["N"]) + int(spacing["N"]))}
                behind = self._slot_write(
                    "SET next_slot = :following, expiration = :expires",
                    "attribute_not_exists(next_slot) OR next_slot < :floor",
                    {":following": following, ":floor": floor, ":expires": expires},
                )
                if behind is not None:
                    return int(floor["N"]) / 1000
        return None

    def _slot_write(self, update: str, condition: str, values: Mapping[str, Any]) -> Picture | None:
        """One of the two reservation writes: the item after it (merged into the picture), or None
        when its condition did not hold."""
        stored = self._write(update, condition, values, returns="ALL_NEW")
        if stored is not None:
            self._merge(stored)
        return stored

    def _share_observation(self, observed: Picture) -> None:
        values: dict[str, Any] = {
            ":at": _ms(observed.observed_at),
            ":expires": {"N": str(int(observed.observed_at) + _TTL_SECONDS)},
        }
        sets = ["observed_at = :at", "expiration = :expires"]
        removes = []
        for name, value in (("limit", observed.limit), ("remaining", observed.remaining)):
            if value is None:
                removes.append(f"#{name}")
            else:
                sets.append(f"#{name} = :{name}")
                values[f":{name}"] = {"N": str(value)}
        if observed.reset_at is None:
            removes.append("reset_at")
        else:
            sets.append("reset_at = :reset")
            values[":reset"] = _ms(observed.reset_at)
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        self._write(
            update,
            "attribute_not_exists(observed_at) OR observed_at < :at",
            values,
            names={"#limit": "limit", "#remaining": "remaining"},
        )

    def _extend_pause(self, until: float, now: float) -> float:
        """Extend the shared pause to `until`; the seconds it grew by (0 if it was already as long)."""
        values = {":until": _ms(until), ":expires": {"N": str(int(now) + _TTL_SECONDS)}}
        previous = self._write(
            "SET paused_until = :until, expiration = :expires",
            "attribute_not_exists(paused_until) OR paused_until < :until",
            values,
            returns="ALL_OLD",
        )
        if previous is None:
            return 0.0  # already paused as long
        return until - max(now, previous.paused_until)

    def _write(
        self,
        update: str,
        condition: str,
        values: Mapping[str, Any],
        *,
        names: Mapping[str, str] | None = None,
        returns: Literal["NONE", "ALL_OLD", "ALL_NEW"] = "NONE",
    ) -> Picture | None:
        """A conditional write: the item before or after it when written (as `returns` asks), None
        when the condition did not hold (the item in the way is merged into the picture)."""
        extra: dict[str, Any] = {"ExpressionAttributeNames": dict(names)} if names else {}
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=_KEY,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=dict(values),
                ReturnValues=returns,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **extra,
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise PacingStoreUnavailable(type(error).__name__) from None
            self._merge(_picture_of(_item_in_the_way(error)))
            return None
        except BotoCoreError as error:
            raise PacingStoreUnavailable(type(error).__name__) from None
        return _picture_of(answer.get("Attributes") or {})

    def _merge(self, shared: Picture) -> None:
        """The shared item's news into this container's picture: the later observation, the longer
        pause, the later schedule."""
        mine = self.picture
        self._synced_at = self._clock()
        newer = shared if shared.observed_at > mine.observed_at else mine
        self._picture = replace(
            newer,
            fall=mine.fall,
            paused_until=max(mine.paused_until, shared.paused_until),
            next_slot=max(mine.next_slot, shared.next_slot),
        )


_KEY = {"id": {"S": PACING_ITEM_ID}}


def _plausible(limit: int | None) -> int | None:
    return limit if limit is not None and limit >= _MIN_PLAUSIBLE_LIMIT else None


def _ms(seconds: float) -> dict[str, str]:
    # Whole milliseconds: exact in DynamoDB's numbers, so increments add up without drift.
    return {"N": str(round(seconds * 1000))}


def _picture_of(item: Mapping[str, Any]) -> Picture:
    def number(name: str) -> float | None:
        value = item.get(name, {}).get("N")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def seconds(name: str) -> float | None:
        value = number(name)
        return value / 1000 if value is not None else None

    limit, remaining = number("limit"), number("remaining")
    return Picture(
        limit=_plausible(int(limit)) if limit else None,
        remaining=int(remaining) if remaining is not None else None,
        reset_at=seconds("reset_at"),
        observed_at=seconds("observed_at") or 0.0,
        paused_until=seconds("paused_until") or 0.0,
        next_slot=seconds("next_slot") or 0.0,
    )


def _item_in_the_way(error: ClientError) -> Mapping[str, Any]:
    failed: Mapping[str, Any] = error.response
    item = failed.get("Item")
    return item if isinstance(item, Mapping) else {}


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
