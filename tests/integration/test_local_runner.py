"""The Docker-free local runner, as `make run` and a user's curl would use it."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import urllib3

from bookhook_dev.testing import defaults
from tests.integration.conftest import ROOT, bookhook_env, run_bookhook


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    """`make run`'s demo, once for the tests that read its output."""
    return run_bookhook("run", "--no-serve", timeout=120)


def test_demo_sends_every_sample_and_shows_what_bizkithub_received(
    demo: subprocess.CompletedProcess[str],
) -> None:
    run = demo

    assert run.returncode == 0, run.stderr[-3000:]
    samples = sorted(p.name for p in (ROOT / "events").glob("*.json"))
    # One line a request: the file, the sender, its answer, what BizKitHub received, in short.
    lines = [line for line in run.stdout.splitlines() if line.startswith("events/")]
    for name in samples:
        assert any(line.startswith(f"events/{name}  ") for line in lines), name
    # Every sample once, then the first again; each answered 200 (then the queued demo's 202).
    assert len(lines) == len(samples) + 1
    assert all(re.match(r"events/\S+\.json  (zapier|typeform|stripe)  200 ", line) for line in lines)
    replies = re.findall(r"  200 (delivered|duplicate) ([a-z]{32})  ", run.stdout)
    delivered = [event_id for status, event_id in replies if status == "delivered"]
    add_event_calls = sum("BizKitHub: 200 " in line and "(auth: query)" in line for line in lines)
    assert add_event_calls == len(delivered)
    # No attendee's name, email or phone in what the terminal shows of BizKitHub's calls.
    assert "jan@barasek.com" not in run.stdout
    assert "777" not in run.stdout
    # Every duplicate names an event that was delivered: the plain Typeform sample repeats the
    # base64 robustness one (same response token), and the demo repeats the first sample.
    duplicates = [event_id for status, event_id in replies if status == "duplicate"]
    assert len(duplicates) == 2
    assert set(duplicates) <= set(delivered)
    # The unpaid Checkout Session and the thin event book nothing, and say why.
    assert run.stdout.count("  200 ignored  ·  BizKitHub: nothing") == 2
    # While BizKitHub fails the booking is queued; the worker delivers it; the retry gets its eventId.
    assert "sender got:        202 queued" in run.stdout
    assert "BizKitHub answered, try by try: [503, 503, 200]" in run.stdout
    assert re.search(r"the sender.s retry got: 200 duplicate [a-z]{32}", run.stdout)


def test_demo_paces_a_burst_and_delivers_every_booking_once(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "BizKitHub now allows 2 calls a second (5 at once)" in demo.stdout
    # Each sender is answered 200 (delivered now) or 202 (queued), nothing else.
    answered = re.search(r"the senders were answered: (.*)", demo.stdout)
    assert answered is not None
    counts = {answer: int(count) for count, answer in re.findall(r"(\d+) × (\d{3} \w+)", answered.group(1))}
    assert set(counts) <= {"200 delivered", "202 queued"}
    assert sum(counts.values()) == 20
    # Progress while it drains, then every booking delivered exactly once.
    assert re.search(r"\d+ s: +\d+ delivered, +\d+ calls, \d+ answered 429, +\d+ queued", demo.stdout)
    assert re.search(r"20 bookings delivered once each in \d+ s; \d+ of \d+ calls answered 429", demo.stdout)


def test_invoke_runs_event_files_like_sam_local_invoke() -> None:
    run = run_bookhook("invoke", "events/zapier-json.json", "events/stripe-thin-event.json", timeout=120)

    assert run.returncode == 0, run.stderr[-3000:]
    assert re.search(
        r"^events/zapier-json.json  zapier  200 delivered [a-z]{32}  ·  BizKitHub: 200 "
        r'"Training with Jan" 2026-12-01T09:00:00.000Z → 2026-12-01T10:30:00.000Z, 1 attendee',
        run.stdout,
        re.MULTILINE,
    )
    # The second file too, in order (a thin Stripe event books nothing).
    assert run.stdout.index("events/zapier-json.json") < run.stdout.index(
        "events/stripe-thin-event.json  stripe  200 ignored  ·  BizKitHub: nothing"
    )


@dataclass(frozen=True)
class Served:
    base: str
    stderr: Path  # the runner's log: its gateway lines and any traceback
    printed: list[str]  # what it printed since it started serving: one line a routed request

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.base)
        assert parts.hostname is not None
        assert parts.port is not None
        return parts.hostname, parts.port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    stderr = tmp_path_factory.mktemp("runner") / "stderr.txt"
    with stderr.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-u", "-m", "bookhook_dev.tools.cli", "serve", "--port", "0"],
            cwd=ROOT,
            env=bookhook_env(),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        base = None
        while base is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            match = re.search(r"POST (http://127\.0\.0\.1:\d+)/webhooks/zapier", line)
            base = match.group(1) if match else None
        assert base is not None, "the runner never said where it serves"
        printed: list[str] = []
        # Read on, so the runner never blocks on a full pipe while the tests send their requests.
        stdout = process.stdout

        def read_on() -> None:
            for printed_line in iter(stdout.readline, ""):
                printed.append(printed_line)

        threading.Thread(target=read_on, daemon=True).start()
        yield Served(base, stderr, printed)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_answers_real_http_requests_through_the_handler(served: Served) -> None:
    http = urllib3.PoolManager(retries=False)
    booking = {
        "calendarId": defaults.CALENDAR_ID,
        "startTime": "2026-12-03T09:00:00+01:00",
        "duration": "45",
        "title": "Trial lesson",
    }

    ok = http.request(
        "POST",
        f"{served.base}/webhooks/zapier",
        body=json.dumps(booking),
        headers={"Authorization": f"Bearer {defaults.ZAPIER_TOKEN}", "Content-Type": "application/json"},
    )
    form = http.request(
        "POST",
        f"{served.base}/webhooks/zapier",
        body="calendarId=" + defaults.CALENDAR_ID + "&startTime=2026-12-04T09:00:00Z&duration=30&title=Form",
        headers={
            "X-Webhook-Token": defaults.ZAPIER_TOKEN,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    refused = http.request(
        "POST",
        f"{served.base}/webhooks/zapier",
        body=json.dumps(booking),
        headers={"Content-Type": "application/json"},
    )
    unknown = http.request("POST", f"{served.base}/webhooks/unknown", body=b"{}")

    assert ok.status == 200, ok.data
    assert re.fullmatch(r"[a-z]{32}", ok.json()["eventId"])
    assert form.status == 200, form.data
    assert refused.status == 401
    assert unknown.status == 404
    # One line a routed request: the request, the sender, its answer, what BizKitHub received.
    time.sleep(0.2)  # the reader thread catches up
    lines = [line for line in served.printed if line.startswith("POST /webhooks/zapier  zapier  ")]
    delivered = (
        f"POST /webhooks/zapier  zapier  200 delivered {ok.json()['eventId']}  ·  BizKitHub: 200 "
        '"Trial lesson" 2026-12-03T08:00:00.000Z → 2026-12-03T08:45:00.000Z, 0 attendees'
    )
    assert any(line.startswith(delivered) for line in lines), lines
    refused_line = "POST /webhooks/zapier  zapier  401 unauthenticated (Authorization)  ·  BizKitHub: nothing"
    assert any(line.startswith(refused_line) for line in lines), lines


# --- a body that cannot be framed (issue 11, part 8) ----------------------------------------------

BOOKING = json.dumps(
    {
        "calendarId": defaults.CALENDAR_ID,
        "startTime": "2026-12-07T09:00:00+01:00",
        "duration": "30",
        "title": "Framing",
    }
).encode("utf-8")
TEN_MB = 10 * 1024 * 1024


def _request(headers: dict[str, str], body: bytes = b"", *, path: str = "/webhooks/zapier") -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {defaults.ZAPIER_TOKEN}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


@dataclass(frozen=True)
class RawReply:
    status: int | None  # None: the connection ended (or stalled) without a status line
    body: dict[str, Any]
    seconds: float
    closed: bool  # the server closed the connection after answering


def _exchange(served: Served, data: bytes, *, half_close: bool = False, wait: float = 6.0) -> RawReply:
    """Send raw bytes; read until the server closes the connection (or `wait` passes)."""
    received = b""
    closed = False
    started = time.monotonic()
    with socket.create_connection(served.address, timeout=wait) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)  # the client is done sending: fewer bytes than it promised
        try:
            while chunk := sock.recv(1 << 16):
                received += chunk
            closed = True
        except (TimeoutError, ConnectionResetError):
            pass
    seconds = time.monotonic() - started
    head, _, payload = received.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    body = json.loads(payload) if match and payload else {}
    return RawReply(int(match.group(1)) if match else None, body, seconds, closed)


def _serves_a_good_request_after(served: Served) -> None:
    """The server survived: a well-framed request on a new connection is handled as usual."""
    http = urllib3.PoolManager(retries=False)
    reply = http.request(
        "POST",
        f"{served.base}/webhooks/zapier",
        body=BOOKING,
        headers={"Authorization": f"Bearer {defaults.ZAPIER_TOKEN}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert reply.status == 200, reply.data
    assert "Traceback" not in served.stderr.read_text()


@pytest.mark.parametrize(
    "length",
    [
        pytest.param("abc", id="not a number"),
        pytest.param("-1", id="negative"),
        pytest.param("-5", id="negative, body sent"),
        pytest.param("+5", id="signed"),
        pytest.param("1_0", id="underscore"),
        pytest.param("1.5", id="fraction"),
        pytest.param("0x10", id="hexadecimal"),
        pytest.param("\uff15", id="fullwidth digit"),
        pytest.param("", id="empty"),
        pytest.param("5, 5", id="a list"),
    ],
)
def test_a_malformed_content_length_is_answered_400_at_once(served: Served, length: str) -> None:
    reply = _exchange(
        served, _request({"Content-Type": "application/json", "Content-Length": length}, b"hello")
    )

    assert reply.status == 400, reply
    assert reply.body["message"] == "Bad Request"
    assert "Content-Length" in reply.body["reason"]
    assert reply.closed
    assert reply.seconds < 1.5
    _serves_a_good_request_after(served)


def test_a_content_length_larger_than_the_body_sent_is_answered_400_after_a_short_wait(
    served: Served,
) -> None:
    request = _request(
        {"Content-Type": "application/json", "Content-Length": str(len(BOOKING) + 100)}, BOOKING
    )

    waited = _exchange(served, request)  # the client keeps the connection open, sending nothing more
    ended = _exchange(served, request, half_close=True)  # the client stops sending

    assert (waited.status, waited.closed) == (400, True), waited
    assert "fewer bytes than Content-Length arrived within" in waited.body["reason"]
    assert 1.5 < waited.seconds < 4.5
    assert (ended.status, ended.closed) == (400, True), ended
    assert "the connection ended" in ended.body["reason"]
    assert ended.seconds < 1.5
    _serves_a_good_request_after(served)


@pytest.mark.parametrize(
    ("length", "expect_continue"),
    [
        pytest.param(str(TEN_MB + 1), False, id="just over 10 MB"),
        pytest.param(str(TEN_MB + 1), True, id="just over 10 MB, Expect: 100-continue"),
        pytest.param("9" * 5000, False, id="5000 digits"),
        pytest.param("0" * 30 + str(TEN_MB + 1), False, id="leading zeros"),
    ],
)
def test_a_content_length_above_the_limit_is_answered_413_without_reading_the_body(
    served: Served, length: str, expect_continue: bool
) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": length}
    if expect_continue:
        headers["Expect"] = "100-continue"

    reply = _exchange(served, _request(headers, b"{"))

    assert reply.status == 413, reply
    assert reply.body["message"] == "Request Entity Too Large"
    assert reply.closed
    assert reply.seconds < 1.5
    _serves_a_good_request_after(served)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"Content-Length": "5", "content-length": "6"}, 400, id="conflicting lengths"),
        pytest.param({"Transfer-Encoding": "chunked", "Content-Length": "5"}, 400, id="both framings"),
        pytest.param({"Transfer-Encoding": "chunked"}, 411, id="chunked"),
    ],
)
def test_other_unframable_bodies_are_refused(served: Served, headers: dict[str, str], status: int) -> None:
    reply = _exchange(served, _request(headers, b"5\r\nhello\r\n0\r\n\r\n"))

    assert (reply.status, reply.closed) == (status, True), reply
    assert reply.seconds < 1.5
    _serves_a_good_request_after(served)


def test_a_content_length_exactly_at_the_limit_is_read_and_given_to_the_function(served: Served) -> None:
    # Framed correctly, 10 MB is taken whole; the function then applies its own MAX_BODY_BYTES.
    body = b" " * (TEN_MB - len(BOOKING)) + BOOKING
    request = _request(
        {"Content-Type": "application/json", "Content-Length": str(len(body)), "Connection": "close"}, body
    )

    reply = _exchange(served, request)

    assert reply.status == 413
    assert reply.body["error"] == "payload_too_large"
