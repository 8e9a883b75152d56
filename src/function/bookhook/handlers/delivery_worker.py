"""Lambda entry point for the DeliveryQueue (SQS, partial batch responses).

Each message is handled on its own: one that fails for a reason of ours (the queue or the table
unreachable, another holder's lease, almost no time left in this invocation) is reported back to
SQS, which offers it again; one there is not enough time to try is put back on the queue
unchanged (`defer`), so it does not count toward maxReceiveCount; the others are done. A message
that cannot be read as a booking message goes to the dead-letter queue with the names of the
fields at fault, never their values, and does not fail the batch. Exceptions are reported to the
trace and the log by type only.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from bookhook.deadline import AWS_CALL_WORST_SECONDS, Deadline
from bookhook.delivery.queue import field_names, parse_message
from bookhook.delivery.worker import CALL_NEEDS_SECONDS, DeliveryWorker, WorkerResult
from bookhook.errors import ServiceUnavailable
from bookhook.handlers.alarms import record_delivery_signals
from bookhook.services import BuiltOnFirstUse, build_worker
from bookhook.settings import WorkerSettings

logger = Logger()
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()

_worker = BuiltOnFirstUse(lambda: build_worker(WorkerSettings.from_environ()))


def current_worker() -> DeliveryWorker:
    return _worker.get()


def use_worker(worker: DeliveryWorker | None) -> None:
    """Install a prebuilt worker (tests, the local runner); None rebuilds from the environment."""
    _worker.use(worker)


class NotEnoughTime(ServiceUnavailable):
    """Too little of this invocation is left to handle the message: SQS offers it again."""


class MessageFailed(Exception):
    """What the batch sees when a message must come back: its text holds only the cause's type."""


def handle_record(record: SQSRecord, lambda_context: LambdaContext) -> None:
    try:
        _handle(record, lambda_context)
    except Exception as error:
        # Only the type travels on: a traced or logged exception text could hold booking data.
        logger.warning("delivery message offered again", extra={"error_type": type(error).__name__})
        raise MessageFailed(type(error).__name__) from None


@tracer.capture_method(capture_response=False, capture_error=False)
def _handle(record: SQSRecord, context: LambdaContext) -> None:
    worker = current_worker()
    deadline = Deadline.after(context.get_remaining_time_in_millis() / 1000 - 1.0)
    if not deadline.allows(AWS_CALL_WORST_SECONDS):
        raise NotEnoughTime("not enough time left in this invocation")
    try:
        message = parse_message(record.body)
    except (ValidationError, ValueError) as error:
        fields = _field_names(error)
        result = worker.keep_unreadable(record.body, fields)
        _log_result(result, source="unknown", attempts=0, failure={"reason": "unreadable_message"})
        return
    if not deadline.allows(CALL_NEEDS_SECONDS):
        # Not enough of this invocation left to try it: put it back as it is rather than fail it,
        # since each failed receive counts toward the queue's maxReceiveCount, and SQS would move a
        # booking that was never tried to the dead-letter queue without our reason.
        result = worker.defer(message)
    else:
        result = worker.process(message, deadline)
    _log_result(result, source=message.source, attempts=message.attempts, failure=message.failure)


def _batch_processor() -> BatchProcessor:
    # One per invocation: the processor keeps the batch's failures, and the local runner and tests
    # may run two invocations at once. A batch whose every message failed is reported like any
    # other (each item back to SQS), not raised with a traceback for an ordinary "try again later".
    return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _field_names(error: ValueError) -> list[str]:
    return field_names(error, whole="(message)") if isinstance(error, ValidationError) else ["(not JSON)"]


def _log_result(result: WorkerResult, *, source: str, attempts: int, failure: Any) -> None:
    metrics.add_metric(name=f"Delivery{result.outcome}", unit=MetricUnit.Count, value=1)
    record_delivery_signals(
        failure_reason=result.failure_reason,
        unknown_code=result.unknown_code,
        event_id_unknown=result.event_id_unknown,
        unrecorded=result.unrecorded,
        calls_avoided=result.calls_avoided,
        paused_seconds=result.paused_seconds,
    )
    logger.info(
        "delivery message handled",
        extra={"source": source, "outcome": result.outcome, "attempts": attempts, "failure": failure},
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.clear_metrics()  # as the webhook's: Powertools keeps the set when metrics are disabled
    return process_partial_response(
        event=event, record_handler=handle_record, processor=_batch_processor(), context=context
    )
