"""Metrics that alarms in template.yaml watch, shared by both Lambda entry points."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric


def record_key_refused() -> None:
    """Behind BizKitHubKeyRefusedAlarm: one stream (dimension `service` only) for both functions."""
    with single_metric(name="BizKitHubKeyRefused", unit=MetricUnit.Count, value=1, default_dimensions={}):
        pass
