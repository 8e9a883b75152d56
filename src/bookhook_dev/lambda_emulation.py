"""What Lambda and API Gateway would hand the function, built locally.

Used by the local runner and the tests: an HTTP API (payload 2.0) event from a plain HTTP request,
a Lambda context object, and the AWS resources the template declares (secret and idempotency
table), created in whatever AWS the given clients talk to (moto, in-process or server mode).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bookhook_dev import defaults
from bookhook_dev.template import dynamodb_create_table_kwargs, dynamodb_ttl_attribute, load_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

# API Gateway passes these content types as text; everything else (forms, multipart, none) arrives
# base64-encoded, as observed from real HTTP APIs.
_TEXT_MEDIA_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def is_text_media_type(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return bool(media_type) and media_type.startswith(_TEXT_MEDIA_TYPES)


def http_api_event(
    *,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    raw_query: str = "",
    source_ip: str = "127.0.0.1",
    force_base64: bool | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, encoded the way API Gateway would encode it."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    as_text = is_text_media_type(lowered.get("content-type")) if force_base64 is None else not force_base64
    if as_text:
        try:
            body_field, encoded = body.decode("utf-8"), False
        except UnicodeDecodeError:
            body_field, encoded = base64.b64encode(body).decode("ascii"), True
    else:
        body_field, encoded = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    query: dict[str, str] = {}
    for pair in filter(None, raw_query.split("&")):
        name, _, value = pair.partition("=")
        query[name] = f"{query[name]},{value}" if name in query else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": body_field,
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = query
    return event


@dataclass
class LocalLambdaContext:
    """The attributes Powertools reads from a Lambda context, with a real deadline."""

    function_name: str = "bookhook-local-webhook"
    memory_limit_in_mb: int = 256
    timeout_seconds: float = 25.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{defaults.REGION}:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass(frozen=True)
class LocalResources:
    secret_arn: str
    table_name: str
    delivery_queue_url: str
    dead_letter_queue_url: str

    def refs(self) -> dict[str, str]:
        """Values for template.yaml's `!Ref`s to these resources."""
        return {
            "BookingSecret": self.secret_arn,
            "IdempotencyTable": self.table_name,
            "DeliveryQueue": self.delivery_queue_url,
            "DeadLetterQueue": self.dead_letter_queue_url,
        }


def provision(
    secretsmanager: SecretsManagerClient,
    dynamodb: DynamoDBClient,
    sqs: SQSClient,
    *,
    secret_string: str | None = None,
    table_name: str = defaults.TABLE_NAME,
) -> LocalResources:
    """Create the secret, the idempotency table and the queues as template.yaml declares them."""
    template = load_template()
    secret = secretsmanager.create_secret(
        Name=defaults.SECRET_NAME, SecretString=secret_string or defaults.secret_string()
    )
    dynamodb.create_table(**dynamodb_create_table_kwargs(template, "IdempotencyTable", table_name))
    ttl_attribute = dynamodb_ttl_attribute(template, "IdempotencyTable")
    if ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )
    queues = template["Resources"]
    dead_letter_url = sqs.create_queue(
        QueueName=f"{defaults.QUEUE_PREFIX}-dead-letter",
        Attributes=_queue_attributes(queues["DeadLetterQueue"]["Properties"]),
    )["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    delivery_properties = dict(queues["DeliveryQueue"]["Properties"])
    redrive = delivery_properties.pop("RedrivePolicy")
    attributes = _queue_attributes(delivery_properties)
    attributes["RedrivePolicy"] = json.dumps(
        {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(redrive["maxReceiveCount"])}
    )
    delivery_url = sqs.create_queue(QueueName=f"{defaults.QUEUE_PREFIX}-delivery", Attributes=attributes)[
        "QueueUrl"
    ]
    return LocalResources(
        secret_arn=secret["ARN"],
        table_name=table_name,
        delivery_queue_url=delivery_url,
        dead_letter_queue_url=dead_letter_url,
    )


def _queue_attributes(properties: dict[str, Any]) -> dict[Any, str]:
    names = {"VisibilityTimeout": "VisibilityTimeout", "MessageRetentionPeriod": "MessageRetentionPeriod"}
    return {attribute: str(properties[key]) for key, attribute in names.items() if key in properties}


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One SQS message, as `ReceiveMessage` returned it, in the form Lambda hands a consumer."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": defaults.REGION,
    }


class SqsPoller:
    """What Lambda's event source mapping does: receive a batch, invoke, delete what succeeded."""

    def __init__(self, sqs: SQSClient, queue_url: str, handler: Callable[[dict[str, Any], Any], Any]) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._handler = handler

    def poll_once(self, *, wait_seconds: int = 0) -> int:
        """One batch; returns how many messages were received."""
        received = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        records = [sqs_record(message, arn) for message in received]
        response = self._handler(
            {"Records": records}, LocalLambdaContext(function_name="bookhook-local-delivery")
        )
        failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        for message in received:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:  # offer it again at once, rather than after the visibility timeout
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        return len(received)
