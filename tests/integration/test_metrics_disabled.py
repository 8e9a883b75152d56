"""With POWERTOOLS_METRICS_DISABLED (as the local run sets it) the terminal stays readable: no
metric document is printed and Powertools does not warn that a dimension was added twice."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Webhook, zapier_booking


def test_requests_print_no_metrics_and_no_dimension_warning(
    webhook: Webhook,
    capsys: pytest.CaptureFixture[str],
    recwarn: pytest.WarningsRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Whether to report the cold start is settled when the handler module is imported (the local
    # run disables metrics before that); here the module may be imported first by this test.
    webhook.post(zapier_booking(title="Warm-up"))
    capsys.readouterr()
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    replies = [
        webhook.post(zapier_booking(title="First")),
        webhook.post(zapier_booking(title="Second")),
        webhook.post(zapier_booking(title="Refused"), token="not-the-token"),  # WebhookRejected
        webhook.post(zapier_booking(title="Third")),
    ]

    assert [reply.status for reply in replies] == [200, 200, 401, 200]
    assert '"_aws"' not in capsys.readouterr().out
    assert not [str(warning.message) for warning in recwarn if "already been added" in str(warning.message)]


def test_with_metrics_on_each_request_has_its_own_source_dimension(
    webhook: Webhook, capsys: pytest.CaptureFixture[str], recwarn: pytest.WarningsRecorder
) -> None:
    webhook.post(zapier_booking(title="First"))
    webhook.post(zapier_booking(title="Second"))

    documents = [line for line in capsys.readouterr().out.splitlines() if '"WebhookReceived"' in line]
    assert len(documents) == 2
    assert all('"source":"zapier"' in line for line in documents)
    assert not [str(warning.message) for warning in recwarn if "already been added" in str(warning.message)]
