"""Exactly-once delivery of a booking, keyed by the sender's own stable id.

The booking key is claimed in DynamoDB through Powertools idempotency before BizKitHub is called:
- a repeat of a delivered booking gets the stored eventId back and BizKitHub is not called;
- a repeat while the first is still being delivered waits briefly for its result, then is told
  409 with Retry-After (never a second call to BizKitHub);
- a failed delivery is not remembered (Powertools deletes the claim), so the sender's retry
  delivers it;
- the same key with a different event is a 422: a reused key must not silently drop a booking.
Records expire after `ttl_days` (at least a week: Stripe retries for three days).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    BaseError,
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from bookhook.calendar.event import CalendarEvent
from bookhook.errors import BookingConflict, BookingInFlight, ServiceUnavailable
from bookhook.sources import Booking

IN_FLIGHT_RETRY_AFTER_SECONDS = 10
_POLL_INTERVAL_SECONDS = 0.2


@dataclass(frozen=True)
class Delivered:
    event_id: str
    duplicate: bool  # True when an earlier request delivered it and this one only read the result


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    # Called by Powertools only when the result comes from the store, not from a fresh delivery.
    del idempotent_data
    return {**response, "duplicate": True}


class BookingDelivery:
    def __init__(
        self,
        *,
        persistence: BasePersistenceLayer,
        add_event: Callable[[CalendarEvent], str],
        ttl_days: int,
        in_flight_wait_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = IdempotencyConfig(
            event_key_jmespath="bookingKey",
            payload_validation_jmespath="identity",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=ttl_days * 24 * 3600,
            response_hook=_mark_duplicate,
        )
        self._add_event = add_event
        self._in_flight_wait = in_flight_wait_seconds
        self._sleep = sleep
        self._clock = clock
        self._deliver_once = idempotent_function(
            data_keyword_argument="booking",
            persistence_store=persistence,
            config=self._config,
            key_prefix="booking",
        )(self._deliver)

    def register_context(self, context: LambdaContext) -> None:
        """Lets an in-progress claim expire with the invocation, so a crash cannot block retries."""
        self._config.register_lambda_context(context)

    def deliver(self, booking: Booking) -> Delivered:
        claim = {"bookingKey": booking.key, "identity": booking.identity()}
        deadline = self._clock() + self._in_flight_wait
        while True:
            try:
                result = self._deliver_once(booking=claim, event=booking.event)
                break
            except IdempotencyAlreadyInProgressError:
                if self._clock() >= deadline:
                    raise BookingInFlight(
                        "the same booking is being delivered right now; retry shortly",
                        retry_after=IN_FLIGHT_RETRY_AFTER_SECONDS,
                    ) from None
                self._sleep(_POLL_INTERVAL_SECONDS)
            except IdempotencyValidationError:
                raise BookingConflict(
                    "this booking key was already used for a different booking", field="Idempotency-Key"
                ) from None
            except BaseError as error:
                raise ServiceUnavailable(f"the booking store failed ({type(error).__name__})") from None
        return Delivered(event_id=str(result["eventId"]), duplicate=bool(result.get("duplicate")))

    def _deliver(self, *, booking: dict[str, Any], event: CalendarEvent) -> dict[str, Any]:
        del booking  # only the idempotency layer reads it
        return {"eventId": self._add_event(event)}
