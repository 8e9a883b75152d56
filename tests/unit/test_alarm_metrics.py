"""The metrics behind the template's alarms: one EMF document each, none when metrics are off."""

from __future__ import annotations

import json

import pytest

from bookhook.handlers.alarms import record_delivery_signals


def _signals() -> None:
    record_delivery_signals(
        failure_reason="RateLimited",
        unknown_code=None,
        event_id_unknown=False,
        unrecorded=False,
        calls_avoided=True,
        paused_seconds=12.5,
    )


def test_each_signal_is_its_own_metric_document(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)

    _signals()

    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    values = {
        metric["Name"]: document[metric["Name"]]
        for document in documents
        for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert values == {
        "BizKitHubRateLimited": [1.0],
        "BizKitHubCallsAvoided": [1.0],
        "BizKitHubPausedSeconds": [12.5],
    }


def test_none_is_printed_when_metrics_are_disabled(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local run disables metrics; Powertools' single_metric would print anyway."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    _signals()

    assert capsys.readouterr().out == ""
