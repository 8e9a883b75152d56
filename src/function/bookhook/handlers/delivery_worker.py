"""Lambda entry point for the DeliveryQueue (SQS, partial batch responses).

Each message is handled on its own: one that fails for a reason of ours (the queue or the table
unreachable) is reported back to SQS, which offers it again; the others are done.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from bookhook.delivery.queue import parse_message
from bookhook.delivery.worker import DeliveryWorker
from bookhook.handlers.alarms import record_key_refused
from bookhook.services import BuiltOnFirstUse, build_worker
from bookhook.settings import Settings

logger = Logger()
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)

_worker = BuiltOnFirstUse(lambda: build_worker(Settings.from_environ()))


def current_worker() -> DeliveryWorker:
    return _worker.get()


def use_worker(worker: DeliveryWorker | None) -> None:
    """Install a prebuilt worker (tests, the local runner); None rebuilds from the environment."""
    _worker.use(worker)


@tracer.capture_method(capture_response=False)
def handle_record(record: SQSRecord) -> None:
    message = parse_message(record.body)
    outcome, failure_reason = current_worker().process(message)
    metrics.add_metric(name=f"Delivery{outcome}", unit=MetricUnit.Count, value=1)
    if failure_reason == "BizKitHubKeyRefused":
        record_key_refused()
    logger.info(
        "delivery message handled",
        extra={
            "source": message.source,
            "outcome": outcome,
            "attempts": message.attempts,
            "failure": message.failure,
        },
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
