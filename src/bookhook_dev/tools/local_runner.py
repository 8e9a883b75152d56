"""Run the webhook function locally without Docker: `bookhook run|serve|invoke …`.

- `bookhook run` (what `make run` does): start everything, send every sample in `events/` through
  the real handler, show what the BizKitHub stand-in received and what the sender got back, a
  booking queued while BizKitHub fails, and a burst paced under a small rate limit
  (`defaults.DEMO_RATE_LIMIT`); then keep serving the template's routes on 127.0.0.1 until Ctrl-C,
  with a curl line to try. Each function runs in containers that are processes of their own, as in
  Lambda.
- `bookhook serve`: only serve the routes. As API Gateway would, a request whose body cannot be
  framed is answered at once and its connection closed: 400 for a Content-Length that is not one
  non-negative number or promises more than arrives within BODY_READ_SECONDS, 413 above the 10 MB
  payload quota.
- `bookhook invoke FILE…`: call the handler with each API Gateway event file, like
  `sam local invoke -e FILE`, and print the response.

AWS: Secrets Manager, DynamoDB and SQS are embedded (moto in server mode; the secret, the table
and both queues created as template.yaml declares them, the secret holding
`bookhook_dev.testing.defaults`) unless `--real-aws` is given, in which case BOOKING_SECRET_ARN,
IDEMPOTENCY_TABLE_NAME, DELIVERY_QUEUE_URL, DEAD_LETTER_QUEUE_URL and the usual AWS credentials
come from the environment. BizKitHub: the local stand-in unless `--bizkithub-url` (or
BIZKITHUB_BASE_URL) names another.

Routes and environment variables are read from template.yaml, so the runner cannot drift from what
`sam deploy` creates. The deployed function never imports this module.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import os
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn, RateLimit, ReceivedCall, Status
from bookhook_dev.testing.lambda_emulation import (
    LambdaFunction,
    LocalLambdaContext,
    SqsPoller,
    atomic_dynamodb_writes,
    http_api_event,
    provision,
    queued_messages,
)
from bookhook_dev.testing.template import (
    TEMPLATE_PATH,
    HttpRoute,
    function_environment,
    function_handler,
    http_routes,
    load_template,
)
from bookhook_dev.tools import cli
from bookhook_dev.tools.event_files import read_event_file
from bookhook_dev.tools.stripe_samples import resign_event

ROOT = TEMPLATE_PATH.parent
EVENTS_DIR = ROOT / "events"
FUNCTION = "WebhookFunction"
WORKER = "DeliveryFunction"

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class LocalStack:
    """Everything a local run needs, started and wired together."""

    handler: Handler
    routes: list[HttpRoute]
    stand_in: BizKitHubStandIn | None
    worker: SqsPoller
    delivery_queue_url: str | None = None
    dead_letter_queue_url: str | None = None
    # The functions' containers, when they run in processes of their own (local_stack(processes=True)).
    functions: tuple[LambdaFunction, ...] = ()

    def start_containers(self) -> None:
        """Start every container the functions may use, so what follows meets no cold start."""
        for function in self.functions:
            function.prestart()


_REAL_AWS_VARIABLES = (
    "BOOKING_SECRET_ARN",
    "IDEMPOTENCY_TABLE_NAME",
    "DELIVERY_QUEUE_URL",
    "DEAD_LETTER_QUEUE_URL",
)


def uses_stand_in(bizkithub_url: str | None = None) -> bool:
    """Whether `local_stack(bizkithub_url=…)` starts the BizKitHub stand-in (no other BizKitHub named)."""
    return not (bizkithub_url or os.environ.get("BIZKITHUB_BASE_URL"))


def rate_limit_environment(rate_limit: RateLimit) -> dict[str, str]:
    """What tells the functions the length of the stand-in's rate-limit window (real seconds)."""
    return {"BIZKITHUB_RATE_LIMIT_WINDOW_SECONDS": f"{rate_limit.real_window:g}"}


def template_worker_concurrency() -> int:
    """MaximumConcurrency of the delivery queue's event source in template.yaml."""
    mapping = load_template()["Resources"]["DeliveryQueueMapping"]["Properties"]
    return int(mapping["ScalingConfig"]["MaximumConcurrency"])


def _function_timeout(template: dict[str, Any], logical_id: str) -> float:
    own = template["Resources"][logical_id]["Properties"].get("Timeout")
    shared = (template.get("Globals") or {}).get("Function", {}).get("Timeout")
    return float(own or shared or 3)  # 3 s: Lambda's default


@contextmanager
def local_stack(
    *,
    real_aws: bool = False,
    bizkithub_url: str | None = None,
    log_level: str = "INFO",
    environment: Mapping[str, str] | None = None,
    worker_concurrency: int = 1,
    processes: bool = False,
    webhook_concurrency: int = 8,
) -> Iterator[LocalStack]:
    """AWS (embedded moto unless `real_aws`), BizKitHub (the stand-in unless a URL is named), the
    webhook handler and the delivery worker fed from the queue, wired as template.yaml declares.

    - `environment`: extra variables for both functions, over the template's values and the local
      defaults (e.g. BIZKITHUB_PACING; BIZKITHUB_RATE_LIMIT_WINDOW_SECONDS when the caller gives
      the stand-in a rate limit: see `rate_limit_environment`).
    - `worker_concurrency`: how many batches the worker handles at once (poller threads), as the
      event source's MaximumConcurrency (`template_worker_concurrency()`).
    - `processes`: run each function in containers that are processes of their own
      (`lambda_emulation.LambdaFunction`), up to `webhook_concurrency` webhook containers and
      `worker_concurrency` worker containers. Needed to call the webhook from several threads at
      once: in one process, concurrent invocations share Powertools' current request and the
      function's module state. False (the default): both handlers run in this process. The
      containers are started with multiprocessing's spawn, which imports the caller's main module
      again: a script calling this must keep its work under `if __name__ == "__main__":`.
    """
    import boto3

    template = load_template()
    with ExitStack() as stack:
        webhook_environment: dict[str, str] = {}
        if real_aws:
            missing = [name for name in _REAL_AWS_VARIABLES if not os.environ.get(name)]
            if missing:
                raise SystemExit(f"--real-aws needs {', '.join(missing)} in the environment")
            refs = {
                "BookingSecret": os.environ["BOOKING_SECRET_ARN"],
                "IdempotencyTable": os.environ["IDEMPOTENCY_TABLE_NAME"],
                "DeliveryQueue": os.environ["DELIVERY_QUEUE_URL"],
                "DeadLetterQueue": os.environ["DEAD_LETTER_QUEUE_URL"],
            }
        else:
            refs = stack.enter_context(_embedded_aws(webhook_environment))
        stand_in = None
        url = bizkithub_url or os.environ.get("BIZKITHUB_BASE_URL")
        if url is None:
            stand_in = stack.enter_context(BizKitHubStandIn())
            url = stand_in.base_url
        common = {
            "BIZKITHUB_BASE_URL": url,
            "POWERTOOLS_LOG_LEVEL": log_level,
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
            "POWERTOOLS_METRICS_DISABLED": "true",  # EMF lines would drown the demo's output
            # Quick retries, so a local run shows a queued booking delivered within seconds.
            "DELIVERY_BACKOFF_BASE_SECONDS": "1",
            "DELIVERY_BACKOFF_CAP_SECONDS": "5",
        }
        # Explicit settings in the caller's environment win over the template's defaults.
        overrides = {
            name: os.environ[name]
            for name in ("BIZKITHUB_AUTH_MODE", "DEFAULT_TIMEZONE", "DEFAULT_CALENDAR_ID")
            if os.environ.get(name) is not None
        }
        extra = dict(environment or {})
        worker_environment = (
            webhook_environment | function_environment(template, WORKER, refs) | common | overrides | extra
        )
        worker_environment["AWS_LAMBDA_FUNCTION_NAME"] = "bookhook-local-delivery"
        webhook_environment |= function_environment(template, FUNCTION, refs) | common | overrides | extra
        webhook_environment["AWS_LAMBDA_FUNCTION_NAME"] = "bookhook-local-webhook"
        os.environ.update(webhook_environment)
        handler: Handler
        worker_handler: Handler
        functions: tuple[LambdaFunction, ...] = ()
        if processes:
            functions = (
                LambdaFunction(
                    function_handler(template, FUNCTION),
                    webhook_environment,
                    max_concurrency=webhook_concurrency,
                    name="webhook",
                ),
                LambdaFunction(
                    function_handler(template, WORKER),
                    worker_environment,
                    max_concurrency=worker_concurrency,
                    name="delivery-worker",
                ),
            )
            handler, worker_handler = (stack.enter_context(function) for function in functions)
        else:
            # Imported only now: Powertools reads its settings from the environment at import.
            from bookhook.handlers import delivery_worker, webhook
            from bookhook.services import build_worker
            from bookhook.settings import WorkerSettings

            webhook.use_services(None)
            delivery_worker.use_worker(build_worker(WorkerSettings.from_environ(worker_environment)))
            handler = _one_at_a_time(webhook.lambda_handler)
            worker_handler = _one_at_a_time(delivery_worker.lambda_handler)
        poller = SqsPoller(
            boto3.client("sqs"),
            refs["DeliveryQueue"],
            worker_handler,
            timeout_seconds=_function_timeout(template, WORKER),
        )
        stack.enter_context(_polling(poller, worker_concurrency))
        yield LocalStack(
            handler=handler,
            routes=http_routes(template),
            stand_in=stand_in,
            worker=poller,
            delivery_queue_url=refs["DeliveryQueue"],
            dead_letter_queue_url=refs["DeadLetterQueue"],
            functions=functions,
        )


def _one_at_a_time(handler: Handler) -> Handler:
    """A handler run in this process, as one Lambda container runs it: one invocation at a time.
    Concurrent invocations in one process would share Powertools' current request (kept on its
    event handler's class) and the function's module state, and could answer one request with
    another's booking; `serve`'s threads and the poller's go through this."""
    lock = threading.Lock()

    def invoke_alone(event: dict[str, Any], context: Any) -> Any:
        with lock:
            return handler(event, context)

    return invoke_alone


@contextmanager
def _polling(poller: SqsPoller, concurrency: int = 1) -> Iterator[None]:
    """The delivery worker, fed from the queue on background threads like Lambda's poller: one per
    batch handled at once (the event source's MaximumConcurrency)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                poller.poll_once(wait_seconds=1)
            except Exception:  # keep serving; the worker logs its own failures
                if stop.is_set():
                    return  # shutting down: the worker's containers may be gone mid-batch
                logging.getLogger(__name__).exception("delivery worker poll failed")
                stop.wait(1)

    threads = [
        threading.Thread(target=run, name=f"delivery-worker-{number}", daemon=True)
        for number in range(1, concurrency + 1)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)


@contextmanager
def _embedded_aws(environment: dict[str, str]) -> Iterator[dict[str, str]]:
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        # moto answers each request on a thread of its own: its conditional writes must stay atomic.
        with atomic_dynamodb_writes():
            host, port = server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            environment |= {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": defaults.REGION,
            }
            for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
                os.environ.pop(name, None)
            os.environ.update(environment)
            session = boto3.session.Session(region_name=defaults.REGION)
            resources = provision(
                session.client("secretsmanager", endpoint_url=endpoint),
                session.client("dynamodb", endpoint_url=endpoint),
                session.client("sqs", endpoint_url=endpoint),
            )
            yield resources.refs()
    finally:
        server.stop()


def invoke(handler: Handler, event: dict[str, Any]) -> dict[str, Any]:
    return handler(event, LocalLambdaContext())


def _reply_text(response: dict[str, Any]) -> str:
    """The answer in short: the status, the outcome (or error code) and the eventId or BizKitHub's
    code when there is one; e.g. `200 delivered fqdj…` (32 letters), `202 queued`,
    `401 unauthenticated (Authorization)`."""
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    try:
        answer = json.loads(body) if body else {}
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return f"{response.get('statusCode')} {body[:60]}"
    words = [answer.get("status") or answer.get("error"), answer.get("eventId"), answer.get("bizkithubError")]
    if answer.get("field"):
        words.append(f"({answer['field']})")
    return " ".join([str(response.get("statusCode")), *(str(word) for word in words if word)])


def send_samples(stack: LocalStack, files: list[Path], out: Any = sys.stdout) -> list[dict[str, Any]]:
    """Invoke the handler with each event file; print the reply and what BizKitHub received."""
    return send_events(stack, [(path, read_event_file(path)) for path in files], out)


def send_events(
    stack: LocalStack, events: list[tuple[Path, dict[str, Any]]], out: Any = sys.stdout
) -> list[dict[str, Any]]:
    """Invoke the handler with each event (read from the file named with it); one line each: the
    file, the sender, what the sender got, and what BizKitHub received, in short."""
    responses = []
    for path, stored in events:
        seen = len(stack.stand_in.calls) if stack.stand_in else 0
        # Stripe signs a timestamp that must be within 300 s: sign the stored sample afresh.
        event = resign_event(stored)
        response = invoke(stack.handler, event)
        responses.append(response)
        calls = stack.stand_in.calls[seen:] if stack.stand_in is not None else None
        label = str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        print(request_line(label, str(event.get("rawPath", "")), response, calls), file=out)
    return responses


def request_line(label: str, path: str, response: dict[str, Any], calls: list[ReceivedCall] | None) -> str:
    """One request, in one line: what was sent (a file or a request line), the sender (from the
    route), the answer, and each add-event call BizKitHub received: its status, the event's title,
    start, length and how many attendees (no names or contacts: the terminal is a log too)."""
    sender = path.rsplit("/", 1)[-1] if path.startswith("/webhooks/") else "-"
    line = f"{label}  {sender}  {_reply_text(response)}"
    if calls is None:  # another BizKitHub than the stand-in: nothing to show of it
        return line
    return f"{line}  ·  BizKitHub: " + ("; ".join(_call_text(call) for call in calls) or "nothing")


def _call_text(call: ReceivedCall) -> str:
    event = call.body.get("event") if isinstance(call.body, dict) else None
    if not isinstance(event, dict):
        return f"{call.status}"
    start, end = str(event.get("startTime", "?")), str(event.get("endTime", "?"))
    attendees = event.get("attendees")
    count = len(attendees) if isinstance(attendees, list) else 0
    return (
        f"{call.status} {json.dumps(str(event.get('title', '')), ensure_ascii=False)} "
        f"{start} → {end}, {count} attendee{'' if count == 1 else 's'} (auth: {call.auth_mode})"
    )


def show_queued_delivery(stack: LocalStack, out: Any = sys.stdout) -> None:
    """BizKitHub fails: the booking is queued (202), the worker delivers it once BizKitHub recovers."""
    if stack.stand_in is None:
        return
    print(
        "\nBizKitHub now fails twice (503): the booking is queued; the worker delivers it on recovery.",
        file=out,
    )
    stack.stand_in.script(Status(503, retry_after="1"), Status(503, retry_after="1"))
    booking = {
        "calendarId": defaults.CALENDAR_ID,
        "startTime": "2026-12-05T08:00:00+01:00",
        "duration": "30",
        "title": "Queued while BizKitHub was down",
    }
    headers = {"content-type": "application/json", "authorization": f"Bearer {defaults.ZAPIER_TOKEN}"}
    body = json.dumps(booking).encode("utf-8")
    event = http_api_event(method="POST", path="/webhooks/zapier", body=body, headers=headers)
    print(f"   sender got:        {_reply_text(invoke(stack.handler, event))}", file=out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(
        e["title"] == booking["title"] for e in stack.stand_in.accepted_events
    ):
        time.sleep(0.2)
    tries = [
        call.status
        for call in stack.stand_in.calls
        if (call.body or {}).get("event", {}).get("title") == booking["title"]
    ]
    print(f"   BizKitHub answered, try by try: {tries}", file=out)
    print(f"   the sender's retry got: {_reply_text(invoke(stack.handler, event))}", file=out)


DEMO_BURST_BOOKINGS = 20
# Webhook containers for the demo's burst (the worker has the template's MaximumConcurrency): enough
# for the burst to arrive at once, few enough to start quickly.
DEMO_WEBHOOK_CONCURRENCY = 4


def show_paced_burst(
    stack: LocalStack,
    out: Any = sys.stdout,
    *,
    bookings: int = DEMO_BURST_BOOKINGS,
    timeout_seconds: float = 60.0,
) -> bool:
    """BizKitHub gets a small rate limit (defaults.DEMO_RATE_LIMIT) and `bookings` arrive at once;
    once a second, how far delivery has got. Whether each was delivered exactly once."""
    import boto3

    if stack.stand_in is None or stack.delivery_queue_url is None:
        return True
    stand_in, limit = stack.stand_in, defaults.DEMO_RATE_LIMIT
    print(
        f"\nBizKitHub now allows {limit.limit / limit.real_window:g} calls a second ({limit.burst} at once); "
        f"{bookings} bookings arrive at once.",
        file=out,
    )
    titles = [f"Burst booking {number:03d}" for number in range(1, bookings + 1)]
    events = [_demo_booking_event(title, f"demo-burst-{number}") for number, title in enumerate(titles, 1)]
    # Concurrent invocations need containers of their own (local_stack(processes=True)); in one
    # process they would share Powertools' current request, so there they go one at a time.
    senders = bookings if isinstance(stack.handler, LambdaFunction) else 1
    before = stand_in.rate_limit_counts()
    sqs = boto3.client("sqs")
    stand_in.set_rate_limit(limit)
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=senders) as pool:
            replies = list(pool.map(lambda event: invoke(stack.handler, event), events))
        answered = Counter(
            f"{reply.get('statusCode')} {json.loads(reply.get('body') or '{}').get('status')}"
            for reply in replies
        )
        print(
            "   the senders were answered: "
            + ", ".join(f"{count} × {answer}" for answer, count in sorted(answered.items())),
            file=out,
        )

        def progress() -> tuple[Counter[str], int, int, int]:
            delivered = Counter(e["title"] for e in stand_in.accepted_events if e["title"] in titles)
            counts = stand_in.rate_limit_counts()
            calls = counts.total_requests - before.total_requests
            limited = counts.total_limited - before.total_limited
            return delivered, calls, limited, queued_messages(sqs, stack.delivery_queue_url or "")

        next_line = started + 1
        delivered, calls, limited, messages = progress()
        # Until each is delivered and nothing is left on the queue (a second copy would show by then).
        while (len(delivered) < bookings or messages) and time.monotonic() < started + timeout_seconds:
            time.sleep(0.1)
            delivered, calls, limited, messages = progress()
            if time.monotonic() >= next_line:
                print(
                    f"   {next_line - started:3.0f} s: {sum(delivered.values()):2d} delivered, "
                    f"{calls:2d} calls, {limited} answered 429, {bookings - len(delivered):2d} queued",
                    file=out,
                )
                next_line += 1
    finally:
        stand_in.set_rate_limit(None)  # what follows (serve) is not limited
    seconds = time.monotonic() - started
    twice = sum(count - 1 for count in delivered.values())
    missing = bookings - len(delivered)
    if twice == 0 and missing == 0:
        print(
            f"   {bookings} bookings delivered once each in {seconds:.0f} s; "
            f"{limited} of {calls} calls answered 429",
            file=out,
        )
        return True
    print(
        f"   after {seconds:.0f} s: {len(delivered)} of {bookings} bookings delivered, {missing} missing, "
        f"{twice} delivered more than once; {limited} of {calls} calls answered 429",
        file=out,
    )
    return False


def _demo_booking_event(title: str, idempotency_key: str) -> dict[str, Any]:
    booking = {
        "calendarId": defaults.CALENDAR_ID,
        "startTime": "2026-12-08T08:00:00+01:00",
        "duration": "30",
        "title": title,
    }
    headers = {
        "content-type": "application/json",
        "authorization": f"Bearer {defaults.ZAPIER_TOKEN}",
        "idempotency-key": idempotency_key,
    }
    body = json.dumps(booking).encode("utf-8")
    return http_api_event(method="POST", path="/webhooks/zapier", body=body, headers=headers)


# What API Gateway's HTTP APIs take at most (their payload quota); a larger body is answered 413 before
# any of it is read. The function's own MAX_BODY_BYTES (at most this) is checked by the function.
MAX_BODY_BYTES = 10 * 1024 * 1024
# How long the body may take to arrive once the headers are in: a client on this machine sends it at
# once, so a Content-Length larger than what was sent is answered 400 after this, not waited on forever.
BODY_READ_SECONDS = 2.0
# How long a connection may sit idle, or send its request line and headers (then it is closed).
IDLE_SECONDS = 30.0
# After refusing a request, unread bytes the client is still sending are taken and dropped for this
# long (and at most MAX_BODY_BYTES), so closing does not reset the connection before it reads the answer.
_LINGER_SECONDS = 0.5
_DIGITS = re.compile(r"[0-9]+")


class _Refused(Exception):
    """A request whose body cannot be framed: answered with `status` and the connection closed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def declared_body_length(headers: Message) -> int:
    """The body's length from the request's headers (0 without a body), or `_Refused`: 400 for a
    Content-Length that is not one non-negative decimal number, 413 for one above MAX_BODY_BYTES,
    411 for a chunked body (the local gateway reads only bodies with a Content-Length)."""
    lengths = headers.get_all("Content-Length") or []
    if headers.get_all("Transfer-Encoding"):
        if lengths:
            raise _Refused(400, "both Transfer-Encoding and Content-Length were sent")
        raise _Refused(411, "send the body with a Content-Length (chunked bodies are not read here)")
    if not lengths:
        return 0
    values = {str(value).strip(" \t") for value in lengths}
    if len(values) != 1:
        raise _Refused(400, "conflicting Content-Length headers")
    [text] = values
    if not _DIGITS.fullmatch(text):  # not int(): it takes signs, "_", spaces and non-ASCII digits
        raise _Refused(400, "Content-Length is not a non-negative whole number of bytes")
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(MAX_BODY_BYTES)) or int(digits) > MAX_BODY_BYTES:
        raise _Refused(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    return int(digits)


def _request_handler(stack: LocalStack) -> type[BaseHTTPRequestHandler]:
    routes = {(route.method.upper(), route.path) for route in stack.routes}
    one_request_at_a_time = threading.Lock()

    class Gateway(BaseHTTPRequestHandler):
        """Turns each HTTP request into the API Gateway HTTP API event Lambda would get."""

        protocol_version = "HTTP/1.1"
        timeout = IDLE_SECONDS

        def handle_expect_100(self) -> bool:
            # A client waiting for "100 Continue" (curl, for a large body) hears the refusal instead.
            try:
                declared_body_length(self.headers)
            except _Refused as refused:
                self._refuse(refused)
                return False
            return super().handle_expect_100()

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            try:
                body = self._read_body(declared_body_length(self.headers))
            except _Refused as refused:
                self._refuse(refused)
                return
            if (self.command, parts.path) not in routes:
                self._write(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
                return
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            event = http_api_event(
                method=self.command,
                path=parts.path,
                body=body,
                headers=headers,
                raw_query=parts.query,
                source_ip=self.client_address[0],
            )
            with one_request_at_a_time:  # so each line names the calls its own request made
                seen = len(stack.stand_in.calls) if stack.stand_in is not None else 0
                response = invoke(stack.handler, event)
                calls = stack.stand_in.calls[seen:] if stack.stand_in is not None else None
            print(request_line(f"{self.command} {parts.path}", parts.path, response, calls), flush=True)
            self.summarized = True  # the line above stands for the gateway's own log line
            payload = response.get("body") or ""
            data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode("utf-8")
            self._write(int(response.get("statusCode", 200)), response.get("headers") or {}, data)

        def _read_body(self, length: int) -> bytes:
            """Exactly `length` bytes, within BODY_READ_SECONDS however the client paces them."""
            deadline = time.monotonic() + BODY_READ_SECONDS
            received = bytearray()
            while len(received) < length:
                chunk = self._read_some(length - len(received), deadline)
                if chunk is None:
                    raise _Refused(
                        400, f"fewer bytes than Content-Length arrived within {BODY_READ_SECONDS:g} s"
                    )
                if not chunk:
                    raise _Refused(400, "the connection ended before Content-Length bytes were sent")
                received += chunk
            return bytes(received)

        def _read_some(self, most: int, deadline: float) -> bytes | None:
            """What one read brings (at most `most` bytes; empty at the end), or None past `deadline`."""
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.connection.settimeout(remaining)
            try:
                return self.rfile.read1(min(most, 1 << 16))
            except TimeoutError:
                return None
            finally:
                self.connection.settimeout(self.timeout)

        def _refuse(self, refused: _Refused) -> None:
            """Answer as API Gateway would (its JSON `message`, with the reason), then close: what
            follows on the connection cannot be framed."""
            self.close_connection = True
            data = json.dumps({"message": HTTPStatus(refused.status).phrase, "reason": refused.reason})
            self._write(
                refused.status,
                {"content-type": "application/json", "connection": "close"},
                data.encode("utf-8"),
            )
            self._linger()

        def _linger(self) -> None:
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_WR)
                deadline = time.monotonic() + _LINGER_SECONDS
                dropped = 0
                while dropped <= MAX_BODY_BYTES and (remaining := deadline - time.monotonic()) > 0:
                    self.connection.settimeout(remaining)
                    data = self.connection.recv(1 << 16)
                    if not data:
                        break
                    dropped += len(data)

        def _write(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _handle

        def log_message(self, format: str, *args: Any) -> None:
            if getattr(self, "summarized", False):
                self.summarized = False
                return
            if format == '"%s" %s %s' and len(args) == 3:  # log_request: the request line, status, size
                path = urlsplit(getattr(self, "path", "") or "").path
                sys.stderr.write(f"local gateway: {self.command} {path} -> {args[1]}\n")
            else:  # log_error: a malformed request line or headers, an idle connection timed out, …
                sys.stderr.write(f"local gateway: {format % args}\n")

    return Gateway


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away or stalled is a line in the log, not a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            sys.stderr.write(
                f"local gateway: connection from {client_address[0]} ended: {type(error).__name__}\n"
            )
            return
        super().handle_error(request, client_address)


def serve(stack: LocalStack, port: int) -> None:
    try:
        server = _Server(("127.0.0.1", port), _request_handler(stack))
    except OSError:
        print(f"port {port} is taken; serving on a free port instead")
        server = _Server(("127.0.0.1", 0), _request_handler(stack))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"\nServing {', '.join(f'{r.method} {base}{r.path}' for r in stack.routes)} (Ctrl-C to stop)")
    print("Try:")
    print(
        f"  curl -s -X POST {base}/webhooks/zapier -H 'Authorization: Bearer {defaults.ZAPIER_TOKEN}' \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"calendarId": "{defaults.CALENDAR_ID}", "startTime": "2026-12-03T09:00:00+01:00", '
        '"duration": "45", "title": "Trial lesson", "attendeeName": "Petr Svoboda"}\''
    )
    sys.stdout.flush()
    try:
        server.serve_forever()  # until Ctrl-C: `bookhook` reports it (one line, exit 130)
    finally:
        server.server_close()


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0 to 65535): {text!r}")
    return int(text)


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text.rstrip("/")


def _runner_options(parser: argparse.ArgumentParser) -> None:
    """What `run`, `serve` and `invoke` share: where AWS and BizKitHub are, how much the function logs."""
    parser.add_argument(
        "--real-aws",
        action="store_true",
        help="use the AWS account of the environment (BOOKING_SECRET_ARN, IDEMPOTENCY_TABLE_NAME, "
        "DELIVERY_QUEUE_URL, DEAD_LETTER_QUEUE_URL) instead of the embedded moto",
    )
    parser.add_argument(
        "--bizkithub-url",
        type=_url,
        metavar="URL",
        help="the BizKitHub to call, e.g. https://api.bizkithub.com (default: BIZKITHUB_BASE_URL, "
        "else the local stand-in)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        default="WARNING",
        help="the function's log level, POWERTOOLS_LOG_LEVEL (default WARNING)",
    )


def _port_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=_port,
        default=3000,
        help="the port to serve on, 127.0.0.1 only (default 3000; 0 or a taken port: a free one)",
    )


def configure_run(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """`bookhook run` (what `make run` does): the samples, a queued booking, a paced burst, then serve."""
    _runner_options(parser)
    _port_option(parser)
    parser.add_argument(
        "--no-serve", action="store_true", help="exit after the samples, the queued booking and the burst"
    )
    return run_demo


def configure_serve(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """`bookhook serve`: only the routes, on 127.0.0.1."""
    _runner_options(parser)
    _port_option(parser)
    return run_serve


def configure_invoke(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """`bookhook invoke FILE…`: each event file through the handler, like `sam local invoke -e`."""
    _runner_options(parser)
    parser.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="an API Gateway HTTP API (payload 2.0) event, e.g. events/zapier-json.json; Stripe "
        "events are signed afresh as they are sent",
    )
    return run_invoke


def _stack(args: argparse.Namespace, *, demo: bool = False) -> contextlib.AbstractContextManager[LocalStack]:
    return local_stack(
        real_aws=args.real_aws,
        bizkithub_url=args.bizkithub_url,
        log_level=args.log_level,
        # The functions learn the stand-in's window from here; the demo's limit is the only one it sets.
        environment=rate_limit_environment(defaults.DEMO_RATE_LIMIT)
        if uses_stand_in(args.bizkithub_url)
        else None,
        # The demo's burst arrives at once: each function in containers of its own, as in Lambda.
        processes=demo,
        webhook_concurrency=DEMO_WEBHOOK_CONCURRENCY,
        worker_concurrency=template_worker_concurrency() if demo else 1,
    )


def run_demo(args: argparse.Namespace) -> int:
    with _stack(args, demo=True) as stack:
        print(
            "Sending the samples in events/ through the webhook function (AWS: "
            + ("real" if args.real_aws else "embedded moto")
            + ")"
        )
        send_samples(stack, sorted(EVENTS_DIR.glob("*.json")))
        print("\nThe first sample again: its booking key makes it a duplicate with the same eventId.")
        send_samples(stack, sorted(EVENTS_DIR.glob("*.json"))[:1])
        show_queued_delivery(stack)
        show_paced_burst(stack)
        if not args.no_serve:
            serve(stack, args.port)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    with _stack(args) as stack:
        serve(stack, args.port)
    return 0


def run_invoke(args: argparse.Namespace) -> int:
    # Every file read before anything starts: a typo is one line at once, not after the set-up.
    events = [(path, read_event_file(path)) for path in args.files]
    with _stack(args) as stack:
        send_events(stack, events)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m bookhook_dev.tools.local_runner demo|serve|invoke …`: `bookhook run|serve|invoke …`."""
    arguments = sys.argv[1:] if argv is None else argv
    renamed = {"demo": "run"}
    return cli.main([renamed.get(word, word) if i == 0 else word for i, word in enumerate(arguments)])


if __name__ == "__main__":
    raise SystemExit(main())
