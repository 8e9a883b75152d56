"""Lambda entry point for `POST /webhooks/<source>` behind an API Gateway HTTP API (payload 2.0).

Thin on purpose: routes, Powertools wiring, metrics, and the one place where typed errors become
status codes. What a webhook means lives in `bookhook.sources`, what happens to it in
`bookhook.pipeline`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from bookhook.calendar.outcomes import KNOWN_CODES, KeyRefused
from bookhook.deadline import Deadline
from bookhook.errors import BizKitHubKeyRefused, PaidNotBooked, WebhookError
from bookhook.handlers.alarms import emit_single, record_delivery_signals, record_paid_not_booked
from bookhook.pipeline import Outcome, Services, accept_webhook
from bookhook.request import WebhookRequest
from bookhook.services import BuiltOnFirstUse, build_services
from bookhook.settings import WebhookSettings
from bookhook.sources import WebhookSource

logger = Logger()
# Only AWS SDK calls are patched: patching http.client would record BizKitHub's URL, query string
# (and so the API key in `query` mode) in traces. Our own call is traced by `capture_method`.
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()
app = APIGatewayHttpResolver()

_HEADERS_WE_READ = frozenset(
    {
        "authorization",
        "content-type",
        "content-length",
        "idempotency-key",
        "stripe-signature",
        "typeform-signature",
        "user-agent",
        "x-webhook-token",
    }
)

_services = BuiltOnFirstUse(lambda: build_services(WebhookSettings.from_environ()))


def current_services() -> Services:
    return _services.get()


def use_services(services: Services | None) -> None:
    """Install prebuilt services (tests, the local runner); None rebuilds from the environment."""
    _services.use(services)


@app.post("/webhooks/zapier")
def zapier_webhook() -> Response[str]:
    return _accept("zapier")


@app.post("/webhooks/typeform")
def typeform_webhook() -> Response[str]:
    return _accept("typeform")


@app.post("/webhooks/stripe")
def stripe_webhook() -> Response[str]:
    return _accept("stripe")


def _accept(source_name: str) -> Response[str]:
    app.append_context(source=source_name)  # type: ignore[no-untyped-call]
    metrics.add_dimension(name="source", value=source_name)
    metrics.add_metric(name="WebhookReceived", unit=MetricUnit.Count, value=1)
    services = current_services()
    started = app.context.get("deadline") or Deadline.after(services.settings.webhook_deadline_seconds)
    source = services.sources[source_name]
    request = WebhookRequest.from_http_api_event(
        app.current_event.raw_event, max_body_bytes=services.settings.max_body_bytes
    )
    logger.debug(
        "request read",
        extra={
            "media_type": request.media_type,
            "body_bytes": len(request.body),
            # Header names are the sender's text too: name only the ones we read, count the rest.
            "headers": sorted(name for name in request.headers if name in _HEADERS_WE_READ),
            "other_headers": sum(1 for name in request.headers if name not in _HEADERS_WE_READ),
        },
    )
    outcome = _traced_accept(source, request, services, started)
    metrics.add_metric(name=f"Booking{outcome.kind.capitalize()}", unit=MetricUnit.Count, value=1)
    if outcome.delivery is not None:
        delivery = outcome.delivery
        record_delivery_signals(
            failure_reason=delivery.failure_reason,
            unknown_code=delivery.unknown_code,
            event_id_unknown=delivery.event_id_unknown,
            unrecorded=delivery.unrecorded,
            calls_avoided=delivery.calls_avoided,
            paused_seconds=delivery.paused_seconds,
        )
    if outcome.kind == "rejected":
        # The customer has paid but BizKitHub refused the slot: someone must act (alarm on BookingRejected).
        # The booking key is the payment's id, which names no person.
        logger.warning(
            "booking rejected by BizKitHub after payment",
            extra={
                "source": source_name,
                "booking_key": outcome.booking_key,
                "bizkithub_error": outcome.body.get("bizkithubError"),
            },
        )
    logger.info(
        "webhook handled",
        extra={"source": source.name, "outcome": outcome.kind, "booking_ref": _booking_ref(outcome)},
    )
    return _json(outcome.status, outcome.body)


@tracer.capture_method(capture_response=False)
def _traced_accept(
    source: WebhookSource, request: WebhookRequest, services: Services, deadline: Deadline
) -> Outcome:
    return accept_webhook(source, request, services, deadline)


@app.exception_handler(WebhookError)  # type: ignore[untyped-decorator]
def _webhook_error(error: WebhookError) -> Response[str]:
    source = str(app.context.get("source", "unknown"))
    emit_single("WebhookRejected", MetricUnit.Count, 1, {"source": source, "reason": error.code})
    upstream_code = getattr(error, "upstream_code", None)
    record_delivery_signals(
        failure_reason=KeyRefused.__name__ if error.code == BizKitHubKeyRefused.code else None,
        unknown_code=upstream_code if upstream_code not in KNOWN_CODES else None,
        event_id_unknown=False,
        unrecorded=False,
    )
    if isinstance(error, PaidNotBooked):
        record_paid_not_booked()
    log = logger.warning if error.status < 500 else logger.error
    log(
        "webhook refused",
        extra={
            "source": source,
            "status": error.status,
            "code": error.code,
            "field": error.field,
            "bizkithub_error": upstream_code,
        },
    )
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if error.field:
        body["field"] = error.field
    if upstream_code:
        body["bizkithubError"] = upstream_code
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    if error.status in (409, 503) and headers is None:
        headers = {"Retry-After": "60"}
    return _json(error.status, body, headers)


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def _unexpected_error(error: Exception) -> Response[str]:
    # The exception text may hold request data, so only its type is logged; 500 lets the sender retry.
    logger.error("unexpected error", extra={"error_type": type(error).__name__})
    return _json(500, {"error": "internal_error", "message": "unexpected error; the sender may retry"})


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers,
    )


def _booking_ref(outcome: Outcome) -> str | None:
    # A short digest names the booking in logs without repeating a key a sender may have filled with data.
    return hashlib.sha256(outcome.booking_key.encode()).hexdigest()[:16] if outcome.booking_key else None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
# Powertools prints the cold-start metric even with metrics disabled (the local run): asked for
# only when they are on.
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Powertools empties its metric set only when it flushes, which it skips with metrics disabled:
    # each request would add its `source` dimension to the last one's (a warning every request).
    metrics.clear_metrics()
    # Every answer within the budget, whatever DynamoDB, Secrets Manager, SQS or BizKitHub do;
    # counted from here, before the services are built (their first build reads the environment only).
    deadline = Deadline.after(_answer_budget_seconds(context))
    app.append_context(deadline=deadline)  # type: ignore[no-untyped-call]
    return app.resolve(event, context)


def _answer_budget_seconds(context: LambdaContext) -> float:
    budget = current_services().settings.webhook_deadline_seconds
    # Never past the invocation's own end (less a margin to write the answer).
    return max(0.0, min(budget, context.get_remaining_time_in_millis() / 1000 - 1.0))
