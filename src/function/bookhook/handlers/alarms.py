"""Metrics that alarms in template.yaml watch, shared by both Lambda entry points."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from bookhook.calendar.outcomes import KeyRefused, RateLimited


def _count(name: str, **dimensions: str) -> None:
    emit_single(name, MetricUnit.Count, 1, dimensions)


def emit_single(name: str, unit: MetricUnit, value: float, dimensions: dict[str, str]) -> None:
    """One metric in a document of its own, with these dimensions and `service` only."""
    # One stream per name with the `service` dimension only (plus any given here), whichever function.
    # single_metric prints even with POWERTOOLS_METRICS_DISABLED (the local run sets it): checked here.
    if is_metrics_disabled():
        return
    with single_metric(name=name, unit=unit, value=value, default_dimensions=dimensions):
        pass


def record_key_refused() -> None:
    """Behind BizKitHubKeyRefusedAlarm."""
    _count("BizKitHubKeyRefused")


def record_paid_not_booked() -> None:
    """Behind PaidNotBookedAlarm: a customer paid and nothing in the payment can book."""
    _count("PaidNotBooked")


def record_delivery_signals(
    *,
    failure_reason: str | None,
    unknown_code: str | None,
    event_id_unknown: bool,
    unrecorded: bool,
    calls_avoided: bool = False,
    paused_seconds: float = 0.0,
) -> None:
    """What a delivery try says that an operator must hear of, from either function."""
    if failure_reason == KeyRefused.__name__:
        record_key_refused()
    # Rate limiting (delivery.pacing): answers 429, calls pacing held back, and time paused, whose
    # sum over an hour is behind BizKitHubRateLimitPausedAlarm (a plan too small for the traffic).
    if failure_reason == RateLimited.__name__:
        _count("BizKitHubRateLimited")
    if calls_avoided:
        _count("BizKitHubCallsAvoided")
    if paused_seconds > 0:
        emit_single("BizKitHubPausedSeconds", MetricUnit.Seconds, round(paused_seconds, 3), {})
    if unknown_code is not None:
        # BizKitHub's advice: log and count codes we do not know; the code is a checked short token.
        _count("BizKitHubUnknownErrorCode", code=unknown_code)
    if event_id_unknown:
        # Behind EventIdUnknownAlarm: a 2xx without an eventId; the event exists, its id is not known.
        _count("EventIdUnknown")
    if unrecorded:
        # Behind EventIdNotRecordedAlarm: created, but the booking record could not say so in time.
        _count("EventIdNotRecorded")
