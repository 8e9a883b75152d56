"""Composition root: builds the adapters once per container from the settings.

Every adapter takes its client from here, so tests and the local runner pass their own
(moto-backed boto3 clients, a urllib3 pool aimed at the stand-in) instead of patching.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

import boto3
import urllib3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from bookhook.calendar.client import BizKitHubClient, build_pool
from bookhook.delivery.booking import BookingDelivery
from bookhook.delivery.pacing import Pacer
from bookhook.delivery.queue import DeliveryQueue
from bookhook.delivery.records import BookingRecords
from bookhook.delivery.worker import DeliveryWorker
from bookhook.pipeline import Services
from bookhook.secrets import SecretStore
from bookhook.settings import BizKitHubSettings, MappingSettings, WebhookSettings, WorkerSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

    from bookhook.sources import WebhookSource

# botocore's DEBUG output dumps raw request and response bodies, GetSecretValue's included: with the
# root logger at DEBUG the secret would reach the logs. Its INFO and above carry no payloads.
_botocore_logger = logging.getLogger("botocore")
_botocore_logger.setLevel(max(_botocore_logger.level, logging.INFO))

# AWS calls sit on the request path: one try of at most 1 s to connect and 2 s to read
# (`bookhook.deadline.AWS_CALL_WORST_SECONDS`), so each step's worst case is known and the answer
# stays within its deadline; where a retry matters (recording an eventId) our code retries in budget.
_AWS_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 1, "mode": "standard"})

BuiltT = TypeVar("BuiltT")


class BuiltOnFirstUse(Generic[BuiltT]):
    """What a handler builds once and keeps for the container's life (one pool, one secret cache).

    Built on the first request rather than at import, so a build that fails (a missing secret, a
    broken rules file) is tried again by the next request; tests and the local runner install their
    own with `use`.
    """

    def __init__(self, build: Callable[[], BuiltT]) -> None:
        self._build = build
        self._built: BuiltT | None = None
        # Lambda runs one request at a time per container; the local runner serves several threads.
        self._lock = threading.Lock()

    def get(self) -> BuiltT:
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    def use(self, built: BuiltT | None) -> None:
        """Install a prebuilt one; None builds afresh (from the environment) on the next use."""
        with self._lock:
            self._built = built


def _clients(
    settings: BizKitHubSettings,
    *,
    secretsmanager: SecretsManagerClient | None,
    dynamodb: DynamoDBClient | None,
    pool: urllib3.PoolManager | None,
) -> tuple[SecretStore, BizKitHubClient, BookingRecords, Pacer | None]:
    secrets = SecretStore(
        settings.booking_secret_arn,
        max_age_seconds=settings.secret_max_age_seconds,
        provider=SecretsProvider(
            boto3_client=secretsmanager or boto3.client("secretsmanager", config=_AWS_CONFIG)
        ),
    )
    client = BizKitHubClient(
        base_url=settings.bizkithub_base_url,
        auth_mode=settings.bizkithub_auth_mode,
        api_key=lambda refresh: secrets.current(refresh=refresh).bizkithub_key(),
        pool=pool
        or build_pool(
            connect_timeout=settings.bizkithub_connect_timeout_seconds,
            read_timeout=settings.bizkithub_read_timeout_seconds,
        ),
    )
    dynamodb = dynamodb or boto3.client("dynamodb", config=_AWS_CONFIG)
    records = BookingRecords(
        settings.idempotency_table_name, dynamodb, ttl_days=settings.idempotency_ttl_days
    )
    pacer = None
    if settings.bizkithub_pacing == "on":
        # One per container, shared by the webhook's and the worker's calls alike.
        pacer = Pacer(
            settings.idempotency_table_name,
            dynamodb,
            window_seconds=settings.bizkithub_rate_limit_window_seconds,
        )
    return secrets, client, records, pacer


def build_services(
    settings: WebhookSettings,
    *,
    secretsmanager: SecretsManagerClient | None = None,
    dynamodb: DynamoDBClient | None = None,
    pool: urllib3.PoolManager | None = None,
    sqs: SQSClient | None = None,
) -> Services:
    secrets, client, records, pacer = _clients(
        settings, secretsmanager=secretsmanager, dynamodb=dynamodb, pool=pool
    )
    queue = None
    if settings.delivery_queue_url:
        queue = DeliveryQueue(settings.delivery_queue_url, sqs or boto3.client("sqs", config=_AWS_CONFIG))
    delivery = BookingDelivery(
        records=records,
        add_event=client.add_event,
        in_flight_wait_seconds=settings.in_flight_wait_seconds,
        # Outlives the request (which ends by its deadline), so it never lapses while a call is out.
        lease_seconds=settings.webhook_deadline_seconds + 5,
        queue=queue,
        pacer=pacer,
    )
    return Services(settings=settings, secrets=secrets, delivery=delivery, sources=build_sources(settings))


def build_sources(settings: MappingSettings, rules_path: Path | None = None) -> dict[str, WebhookSource]:
    """The three senders, as the webhook function maps them (and `replay`, with another rules file)."""
    # Imported here, not at the top: the delivery worker shares this module but maps no webhooks.
    from bookhook.sources import stripe, typeform, zapier
    from bookhook.sources.typeform.rules import load_rules

    # Rules are validated here, at start-up: a broken rules file stops the function with a message
    # naming the form and the key rather than failing bookings one by one.
    rules = load_rules(rules_path or settings.typeform_rules_path)
    senders = (
        zapier.source(settings),
        typeform.source(rules, phone_region=settings.default_phone_region),
        stripe.source(stripe.config_from_settings(settings)),
    )
    return {source.name: source for source in senders}


def build_worker(
    settings: WorkerSettings,
    *,
    secretsmanager: SecretsManagerClient | None = None,
    dynamodb: DynamoDBClient | None = None,
    pool: urllib3.PoolManager | None = None,
    sqs: SQSClient | None = None,
) -> DeliveryWorker:
    _, client, records, pacer = _clients(
        settings, secretsmanager=secretsmanager, dynamodb=dynamodb, pool=pool
    )
    sqs = sqs or boto3.client("sqs", config=_AWS_CONFIG)
    return DeliveryWorker(
        records=records,
        add_event=client.add_event,
        delivery_queue=DeliveryQueue(settings.delivery_queue_url, sqs),
        dead_letter_queue=DeliveryQueue(settings.dead_letter_queue_url, sqs),
        max_attempts=settings.delivery_max_attempts,
        lease_seconds=settings.delivery_lease_seconds,
        rate_limit_max_wait_seconds=settings.delivery_rate_limit_max_wait_seconds,
        pacer=pacer,
        backoff_base_seconds=settings.delivery_backoff_base_seconds,
        backoff_cap_seconds=settings.delivery_backoff_cap_seconds,
    )
