"""Secrets and attendee data reach no log line and no trace, at DEBUG with X-Ray on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bookhook_dev.testing import defaults
from tests.integration import secrecy_probe

ROOT = Path(__file__).resolve().parents[2]

NEVER_SEEN = {
    "BizKitHub API key": defaults.BIZKITHUB_API_KEY,
    "rotated API key": secrecy_probe.ROTATED_KEY,
    "Zapier token": defaults.ZAPIER_TOKEN,
    "Typeform secret": defaults.TYPEFORM_SECRET,
    "Stripe signing secret": defaults.STRIPE_SECRET,
    "Stripe customer email": "eva.novakova@example.cz",
    "Stripe customer phone": "603987654",
    "attendee email": "jan@barasek.com",
    "attendee email, form-encoded": "jan%40barasek.com",
    "attendee phone": "+420777123456",
    "attendee phone, normalised": "+420 777123456",
    "attendee phone, form-encoded": "%2B420777123456",
    "attendee name": "Barášek",
}


def test_no_secret_or_attendee_data_in_logs_or_traces(tmp_path: Path) -> None:
    trace_file = tmp_path / "traces.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src/function"), str(ROOT / "src"), str(ROOT)]),
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "POWERTOOLS_SERVICE_NAME": "bookhook",
        "POWERTOOLS_METRICS_NAMESPACE": "BookingWebhooks",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "POWERTOOLS_TRACER_CAPTURE_ERROR": "true",
        "LAMBDA_TASK_ROOT": str(ROOT / "src/function"),
        "AWS_LAMBDA_FUNCTION_NAME": "bookhook-probe-webhook",
        "_X_AMZN_TRACE_ID": "Root=1-6744a0f0-3c1f6e2a5b7d8e9f0a1b2c3d;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": defaults.REGION,
    }
    run = subprocess.run(  # noqa: S603 - our own probe, fixed arguments
        [sys.executable, "-m", "tests.integration.secrecy_probe", str(trace_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    # The probe really exercised what we check: replies, DEBUG logging and traces.
    # The last two: a key with a trailing newline (503, nothing sent), and a worker batch of two
    # unusable messages (dead-lettered, none failed back to SQS).
    assert "probe statuses [200, 200, 200, 401, 401, 422, 503, 200, 200, 200, 503, 0]" in run.stdout
    traces = trace_file.read_text(encoding="utf-8")
    entities = json.loads(traces)
    names = {sub["name"] for entity in entities for sub in _walk(entity)}
    assert "## lambda_handler" in names
    assert "## bookhook.handlers.webhook._traced_accept" in names
    assert "secretsmanager" in names
    assert "dynamodb" in names
    assert "## bookhook.handlers.delivery_worker._handle" in names

    for what, value in NEVER_SEEN.items():
        assert value not in output, f"{what} appears in the logs"
        assert value not in traces, f"{what} appears in a trace"


def _walk(entity: dict[str, object]) -> list[dict[str, object]]:
    found = [entity]
    for child in entity.get("subsegments", []) or []:  # type: ignore[attr-defined]
        found.extend(_walk(child))
    return found
