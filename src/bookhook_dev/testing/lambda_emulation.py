"""What Lambda and API Gateway would hand the function, built locally.

Used by the local runner and the tests: an HTTP API (payload 2.0) event from a plain HTTP request,
a Lambda context object, and the AWS resources the template declares (the secret, the idempotency
table, the delivery and dead-letter queues), created in whatever AWS the given clients talk to
(moto, in-process or server mode). Also what Lambda does around a function: its containers, each
a process of its own (`LambdaFunction`), and the SQS event source's poller (`SqsPoller`).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import importlib
import itertools
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from bookhook_dev.testing import defaults
from bookhook_dev.testing.template import dynamodb_create_table_kwargs, dynamodb_ttl_attribute, load_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef

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
    """What Lambda's event source mapping does: receive a batch, invoke, delete what succeeded.

    `timeout_seconds` is the function's Timeout, the time each invocation's context gives it."""

    def __init__(
        self,
        sqs: SQSClient,
        queue_url: str,
        handler: Callable[[dict[str, Any], Any], Any],
        *,
        timeout_seconds: float = 25.0,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._handler = handler
        self._timeout_seconds = timeout_seconds
        self._arn: str | None = None

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
        records = [sqs_record(message, self._queue_arn()) for message in received]
        context = LocalLambdaContext(
            function_name="bookhook-local-delivery", timeout_seconds=self._timeout_seconds
        )
        response = self._handler({"Records": records}, context)
        failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        done: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
            for number, message in enumerate(received)
            if message["MessageId"] not in failed
        ]
        if done:  # one call for the batch, as the event source mapping deletes
            self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=done)
        for message in received:
            if message["MessageId"] in failed:  # offer it again at once, not after the visibility timeout
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        return len(received)

    def _queue_arn(self) -> str:
        if self._arn is None:  # read once: it does not change
            attributes = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])
            self._arn = attributes["Attributes"]["QueueArn"]
        return self._arn


def queued_messages(sqs: SQSClient, queue_url: str) -> int:
    """Every message on a queue: visible, in flight and delayed (by backoff or a Retry-After)."""
    names: list[Any] = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(value) for value in attributes.values())


def queue_is_empty(sqs: SQSClient, queue_url: str) -> bool:
    """Whether nothing is left on a queue. moto takes each count at its own moment, so a message
    between two states when they are taken is in none: an empty reading counts when a second agrees."""
    return queued_messages(sqs, queue_url) == 0 and queued_messages(sqs, queue_url) == 0


@contextlib.contextmanager
def atomic_dynamodb_writes() -> Iterator[None]:
    """While open, moto's DynamoDB applies each write under one lock, as DynamoDB applies a
    conditional write atomically. moto serving several threads (its server mode, or concurrent
    clients in-process) checks a condition and writes without a lock, so two concurrent claims of
    one booking key could both succeed: a double delivery the real table would never allow."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    originals = {name: getattr(DynamoDBBackend, name) for name in ("put_item", "update_item", "delete_item")}

    def locked(original: Callable[..., Any]) -> Callable[..., Any]:
        def write(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(*args, **kwargs)

        return write

    for name, original in originals.items():
        setattr(DynamoDBBackend, name, locked(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)


# --- containers ----------------------------------------------------------------------------------


# How long a container may take to import the handler before it is given up.
_INIT_SECONDS = 60


class InvocationFailed(Exception):
    """The function raised, crashed or ran past its timeout (the container's log has the details)."""


class _Container:
    """One Lambda container: a process that imported the handler and runs one invocation at a time."""

    def __init__(self, process: BaseProcess, connection: Connection) -> None:
        self._process = process
        self._connection = connection
        self._ready = False

    @classmethod
    def start(cls, handler: str, environment: Mapping[str, str], name: str) -> _Container:
        # spawn, not fork: a fork would copy this process's threads' locks (moto's, the stand-in's)
        # and its imported handler modules, whose state must be the container's own.
        spawn = multiprocessing.get_context("spawn")
        ours, theirs = spawn.Pipe()
        process = spawn.Process(
            target=_container_main, args=(handler, dict(environment), theirs), name=name, daemon=True
        )
        process.start()
        theirs.close()
        return cls(process, ours)

    def wait_ready(self) -> None:
        """Until the container has imported the handler (Lambda's init phase; its 10 s limit is
        not kept here, an import on a loaded machine may take longer)."""
        if self._ready:
            return
        if not self._connection.poll(_INIT_SECONDS):
            self.stop(at_once=True)
            raise InvocationFailed(f"{self._process.name}: no start within {_INIT_SECONDS} s")
        try:
            kind, value = self._connection.recv()
        except (EOFError, OSError):
            self.stop(at_once=True)
            raise InvocationFailed(f"{self._process.name}: the container died at start") from None
        if kind != "ready":
            self.stop(at_once=True)
            raise InvocationFailed(f"{self._process.name}: the handler could not be imported: {value}")
        self._ready = True

    def invoke(self, event: dict[str, Any], context: Any) -> Any:
        """The handler's answer; InvocationFailed if it raised, died or ran past its timeout."""
        self.wait_ready()
        if isinstance(context, LocalLambdaContext):
            # The clock starts when the container takes the invocation, not while it waited for a
            # container or for one to start (Lambda times the init phase apart).
            context = dataclasses.replace(context, started=time.monotonic())
        try:
            self._connection.send((event, context))
        except OSError:  # it died while idle
            self.stop(at_once=True)
            raise InvocationFailed(f"{self._process.name}: the container died") from None
        # As Lambda does, an invocation past its timeout ends with its container (a grace second
        # for the pipe); the caller starts a fresh one.
        if not self._connection.poll(context.get_remaining_time_in_millis() / 1000 + 1):
            self.stop(at_once=True)
            raise InvocationFailed(f"{self._process.name}: timed out")
        try:
            kind, value = self._connection.recv()
        except (EOFError, OSError):
            self.stop(at_once=True)
            raise InvocationFailed(f"{self._process.name}: the container died") from None
        if kind != "ok":
            raise InvocationFailed(f"{self._process.name}: the handler raised {value}")
        return value

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def stop(self, *, at_once: bool = False) -> None:
        """Closing the pipe ends the container's loop, so it exits and flushes its log; one that
        does not in time (or `at_once`) is killed."""
        with contextlib.suppress(OSError):
            self._connection.close()
        self._process.join(timeout=0 if at_once else 5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)


def _container_main(handler: str, environment: dict[str, str], connection: Connection) -> None:
    """A container's life: the function's environment, its module imported once, then invocations
    one at a time until the pipe closes."""
    # Ctrl-C in a terminal reaches every process of the group; the runner, not the container, stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(environment)  # before the import: Powertools reads its settings then
    module_name, _, function_name = handler.rpartition(".")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:
        traceback.print_exc()
        connection.send(("failed", type(error).__name__))
        return
    connection.send(("ready", None))
    while True:
        try:
            event, context = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", function(event, context))
        except Exception as error:
            traceback.print_exc()  # the container's log, as Lambda writes an unhandled error to it
            answer = ("error", type(error).__name__)
        sys.stdout.flush()
        connection.send(answer)


class LambdaFunction:
    """One function as Lambda runs it: containers that are processes of their own, started on
    demand up to `max_concurrency`, each running one invocation at a time and then kept warm for
    the next. Module state (Powertools' current event, the function's caches, pools and pacing
    picture) is a container's own, as in Lambda; threads calling one handler in this process would
    share it, and Powertools' event handler keeps the current request on its class.

    Called like the handler itself: `function(event, context)`. A call that finds every container
    busy waits for one, as an invocation beyond a function's concurrency would be throttled."""

    def __init__(
        self, handler: str, environment: Mapping[str, str], *, max_concurrency: int, name: str
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._handler = handler
        self._environment = dict(environment)
        self._max = max_concurrency
        self._name = name
        self._idle: list[_Container] = []
        self._started = 0
        self._numbers = itertools.count(1)  # names the containers, as Lambda's log streams would
        self._changed = threading.Condition()
        self._closed = False

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        container = self._take()
        try:
            return container.invoke(event, context)
        finally:
            self._give_back(container if container.alive else None)

    def prestart(self, count: int | None = None) -> None:
        """Start `count` containers (all it may have: None) and wait until each has imported the
        handler, so what follows does not wait on cold starts."""
        containers = [self._take() for _ in range(min(count or self._max, self._max))]
        try:
            for container in containers:
                container.wait_ready()  # they start side by side; this waits for the slowest
        finally:
            for container in containers:
                self._give_back(container if container.alive else None)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._changed.notify_all()
        for container in idle:
            container.stop()

    def __enter__(self) -> LambdaFunction:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _take(self) -> _Container:
        with self._changed:
            while True:
                if self._closed:
                    raise InvocationFailed(f"{self._name} is shut down")
                if self._idle:
                    return self._idle.pop()  # the warmest, as Lambda reuses the last container used
                if self._started < self._max:
                    self._started += 1
                    number = next(self._numbers)
                    break
                self._changed.wait()
        try:
            return _Container.start(self._handler, self._environment, f"{self._name}-{number}")
        except BaseException:
            self._give_back(None)
            raise

    def _give_back(self, container: _Container | None) -> None:
        """Back to the idle ones; None: that container is gone (a fresh one may start in its place)."""
        with self._changed:
            if container is not None and not self._closed:
                self._idle.append(container)
                container = None
            else:
                self._started -= 1
            self._changed.notify()
        if container is not None:
            container.stop()
