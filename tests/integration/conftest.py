"""Integration fixtures: the real handler, AWS from moto, BizKitHub as a real local HTTP server.

`webhook` calls `lambda_handler` with API Gateway HTTP API events, exactly as Lambda would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bookhook.handlers import webhook as webhook_module
from bookhook.settings import WebhookSettings, WorkerSettings
from bookhook_dev.testing import defaults, lambda_emulation
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn
from bookhook_dev.testing.lambda_emulation import (
    LocalLambdaContext,
    LocalResources,
    atomic_dynamodb_writes,
    http_api_event,
    provision,
    queued_messages,
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalResources]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": defaults.REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # moto, called from several threads in one process, must apply a conditional write atomically.
    with atomic_dynamodb_writes(), mock_aws():
        yield provision(boto3.client("secretsmanager"), boto3.client("dynamodb"), boto3.client("sqs"))


@pytest.fixture
def stand_in() -> Iterator[BizKitHubStandIn]:
    with BizKitHubStandIn() as server:
        yield server


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


class Webhook:
    """Sends requests through the real Lambda handler."""

    def invoke(self, event: dict[str, Any]) -> Reply:
        result = webhook_module.lambda_handler(event, LocalLambdaContext())
        body = json.loads(result["body"]) if result.get("body") else {}
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        return Reply(status=result["statusCode"], headers=headers, body=body)

    def post(
        self,
        body: bytes | str | dict[str, Any],
        *,
        path: str = "/webhooks/zapier",
        content_type: str | None = "application/json",
        token: str | None = defaults.ZAPIER_TOKEN,
        headers: dict[str, str] | None = None,
        raw_query: str = "",
        force_base64: bool | None = None,
    ) -> Reply:
        if isinstance(body, dict):
            body = json.dumps(body, ensure_ascii=False)
        data = body.encode("utf-8") if isinstance(body, str) else body
        all_headers = {"user-agent": "Zapier"}
        if content_type:
            all_headers["content-type"] = content_type
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        event = http_api_event(
            method="POST",
            path=path,
            body=data,
            headers=all_headers,
            raw_query=raw_query,
            force_base64=force_base64,
        )
        return self.invoke(event)


@pytest.fixture
def function_env(aws: LocalResources, stand_in: BizKitHubStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "BOOKING_SECRET_ARN": aws.secret_arn,
        "IDEMPOTENCY_TABLE_NAME": aws.table_name,
        "BIZKITHUB_BASE_URL": stand_in.base_url,
        "BIZKITHUB_AUTH_MODE": "query",
        "BIZKITHUB_READ_TIMEOUT_SECONDS": "2",
        "IN_FLIGHT_WAIT_SECONDS": "5",
        "POWERTOOLS_SERVICE_NAME": "bookhook",
        "POWERTOOLS_METRICS_NAMESPACE": "BookingWebhooks",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "bookhook-test-webhook",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def webhook(function_env: None) -> Iterator[Webhook]:
    webhook_module.use_services(None)  # rebuild from this test's environment, inside moto
    yield Webhook()
    webhook_module.use_services(None)


def _queue_environment(
    aws: LocalResources, stand_in: BizKitHubStandIn, extra: dict[str, str]
) -> dict[str, str]:
    return {
        "BOOKING_SECRET_ARN": aws.secret_arn,
        "IDEMPOTENCY_TABLE_NAME": aws.table_name,
        "BIZKITHUB_BASE_URL": stand_in.base_url,
        "DELIVERY_QUEUE_URL": aws.delivery_queue_url,
        "DEAD_LETTER_QUEUE_URL": aws.dead_letter_queue_url,
        "DELIVERY_BACKOFF_BASE_SECONDS": "0",
        "DELIVERY_BACKOFF_CAP_SECONDS": "0",
        **extra,
    }


def queue_settings(aws: LocalResources, stand_in: BizKitHubStandIn, **extra: str) -> WorkerSettings:
    """The worker's settings, backoff off so a test's worker retries at once; `extra` overrides any
    variable."""
    return WorkerSettings.from_environ(_queue_environment(aws, stand_in, extra))


def webhook_queue_settings(aws: LocalResources, stand_in: BizKitHubStandIn, **extra: str) -> WebhookSettings:
    """The webhook's settings, with the delivery queue; `extra` overrides any variable."""
    return WebhookSettings.from_environ(_queue_environment(aws, stand_in, extra))


def queued_count(queue_url: str, sqs: Any = None) -> int:
    """Every message on a queue: visible, in flight and delayed (by backoff or Retry-After)."""
    return queued_messages(sqs or boto3.client("sqs"), queue_url)


def queue_is_empty(queue_url: str, sqs: Any = None) -> bool:
    """Whether nothing is left on a queue (two readings agreeing: see lambda_emulation)."""
    return lambda_emulation.queue_is_empty(sqs or boto3.client("sqs"), queue_url)


def zapier_booking(**overrides: Any) -> dict[str, Any]:
    """A flat Zapier booking; override or remove (value None) fields per test."""
    booking: dict[str, Any] = {
        "calendarId": defaults.CALENDAR_ID,
        "startTime": "2026-12-01T10:00:00+01:00",
        "duration": "90",
        "title": "Training with Jan",
        "attendeeName": "Jan Barášek",
        "attendeeEmail": "jan@barasek.com",
        "attendeePhone": "+420777123456",
    }
    booking.update(overrides)
    return {k: v for k, v in booking.items() if v is not None}


ROOT = Path(__file__).resolve().parents[2]


def bookhook_env() -> dict[str, str]:
    """This environment without AWS, BizKitHub or Powertools settings (the command sets its own),
    and the source tree on the path, so `-m` runs the tree as it is."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BIZKITHUB_", "POWERTOOLS_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src/function"), str(ROOT / "src")])
    return env


def run_bookhook(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`bookhook ARGS…` in a process of its own (through `-m`), from the project's root."""
    return subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "bookhook_dev.tools.cli", *args],
        cwd=ROOT,
        env=bookhook_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
