"""A burst of bookings against BizKitHub's rate limit: `bookhook burst`.

N distinct bookings (Zapier, Typeform and Stripe webhooks, 3 : 1 : 1) arrive within T seconds,
evenly or at seeded random moments (`--arrivals poisson`: a Poisson process's arrival times given
that N fell in T), sent by S concurrent senders through the real webhook handler. A sender retries
as the real ones do, compressed: after `--sender-retry-seconds` on a 5xx, 409 or 429 (or an answer
slower than its timeout), a few times; a 200 or 202 is final, and so is any other answer. BizKitHub
is the stand-in with a rate limit (the Free plan by default: 1,000 an hour, burst 50, the hour
lasting 60 real seconds) and the worker polls the queue with the template's MaximumConcurrency.
Each function runs in containers that are processes of their own (`local_stack(processes=True)`),
as Lambda runs them, so no module state is shared between the senders' invocations.

The scenario runs twice, with BIZKITHUB_PACING `on` and `off`, each in a fresh process (moto, the
stand-in, the containers and the functions' state are the row's own), with the same bookings and
moments. A row ends when every booking is delivered and the queue is empty, when the queue stays
empty for 2 s, or after 5 × the ideal drain time (below) plus the arrival time.

What a row reports (times are real seconds, Unix time from the stand-in's and the senders' clocks):
- delivered: the bookings among the events the stand-in created (calls answered with an eventId),
  matched by the number in their title; `duplicates` counts every extra event of a booking and
  `missing` the bookings with none. Exactly once: both 0.
- dead-lettered: messages on the dead-letter queue at the end.
- calls: add-event requests the stand-in counted (authenticated ones); `calls_429`: those answered
  429, and their share of all calls.
- drain: from the first booking sent to the last delivery (the last call answered with an eventId).
- backlog: from the first 202 a sender got (the first booking its webhook call did not deliver)
  to the last delivery. `rate_share`: the deliveries in that span (after its start, up to and with
  the last) over what the limit allows in it, span × limit / real window (the sustained rate; the
  burst allowance left at the start is not counted, so a row may exceed 100 %). None without a
  backlog.
- ideal drain: the earliest the last booking could be delivered, computed from the limit's rules
  for a client that calls for each booking as soon as it has arrived and the limit admits it.

Budgets, checked per row (only pacing `on` is meant to meet them): every booking delivered exactly
once, none dead-lettered, at most 2 % of calls answered 429, at least 90 % of the allowed rate while
a backlog exists (met without a backlog).

`make bench` runs it after its other measures and puts `run_burst()`'s dict under "burst".
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import RATE_LIMIT_PLANS, RateLimit
from bookhook_dev.testing.lambda_emulation import (
    InvocationFailed,
    http_api_event,
    queue_is_empty,
    queued_messages,
)
from bookhook_dev.testing.template import TEMPLATE_PATH
from bookhook_dev.tools import cli, stripe_samples, typeform_samples
from bookhook_dev.tools.local_runner import (
    Handler,
    invoke,
    local_stack,
    rate_limit_environment,
    template_worker_concurrency,
)

ROOT = TEMPLATE_PATH.parent
PACINGS = ("on", "off")
SOURCES = ("zapier", "typeform", "stripe")
MAX_429_SHARE = 0.02
MIN_RATE_SHARE = 0.90
# A row's end: the queue read empty this long (nothing delayed or in flight came back).
_QUIET_SECONDS = 2.0
_POLL_SECONDS = 0.25
# What a row's process may take beyond its drain timeout: starting moto, the stand-in, containers.
_SETUP_SECONDS = 120.0
_LABEL = re.compile(r"Burst booking ([0-9]+)")
# Senders later than this share of the arrival time (or a second) are noted under the table: the
# burst did not arrive as planned.
_BEHIND_NOTED_SHARE = 0.25


@dataclass(frozen=True)
class BurstConfig:
    bookings: int = 600
    seconds: float = 10.0
    senders: int = 8
    arrivals: str = "even"  # or "poisson"
    seed: int = 13
    # BizKitHub's limit: the Free plan, its hour lasting window / time_scale real seconds.
    limit: int = RATE_LIMIT_PLANS["Free"][0]
    burst: int = RATE_LIMIT_PLANS["Free"][1]
    window: float = 3600.0
    time_scale: float = 60.0
    workers: int = field(default_factory=template_worker_concurrency)
    sender_retries: int = 3
    sender_retry_seconds: float = 1.0
    sender_timeout_seconds: float = 30.0
    mix: tuple[int, int, int] = (3, 1, 1)  # Zapier : Typeform : Stripe
    timeout_factor: float = 5.0

    def __post_init__(self) -> None:
        if self.bookings < 1 or self.senders < 1 or self.workers < 1 or self.seconds < 0:
            raise ValueError("bookings, senders and workers must be positive, seconds not negative")
        if self.arrivals not in ("even", "poisson"):
            raise ValueError("arrivals must be even or poisson")
        _ = self.rate_limit  # RateLimit checks the limit's numbers

    @property
    def rate_limit(self) -> RateLimit:
        return RateLimit(self.limit, self.burst, window=self.window, time_scale=self.time_scale)

    @classmethod
    def from_json(cls, text: str) -> BurstConfig:
        values = json.loads(text)
        values["mix"] = tuple(values["mix"])
        return cls(**values)


# --- the bookings --------------------------------------------------------------------------------


def arrival_offsets(config: BurstConfig) -> list[float]:
    """When each booking arrives, in seconds after the first could."""
    if config.arrivals == "even":
        return [number * config.seconds / config.bookings for number in range(config.bookings)]
    chance = random.Random(config.seed)
    return sorted(chance.uniform(0, config.seconds) for _ in range(config.bookings))


@dataclass(frozen=True)
class Booking:
    number: int
    source: str
    offset: float  # seconds after the start

    @property
    def label(self) -> str:
        """What its title carries (the Typeform rules make it "Training: <label>")."""
        return f"Burst booking {self.number:03d}"


def plan_bookings(config: BurstConfig) -> list[Booking]:
    """The bookings in arrival order, their sources drawn (seeded) in the configured mix."""
    chance = random.Random(config.seed + 1)
    sources = chance.choices(SOURCES, weights=config.mix, k=config.bookings)
    return [
        Booking(number, source, offset)
        for number, (source, offset) in enumerate(zip(sources, arrival_offsets(config), strict=True), 1)
    ]


def webhook_event(booking: Booking, seed: int) -> dict[str, Any]:
    """A fresh API Gateway event for the booking (a Stripe one signed now, as each delivery is)."""
    unique = f"{seed}x{booking.number:06d}"
    now = time.time()
    request_id = f"burst{unique}{now:.6f}"
    if booking.source == "zapier":
        body = {
            "calendarId": defaults.CALENDAR_ID,
            "startTime": "2026-12-09T08:00:00+01:00",
            "duration": "30",
            "title": booking.label,
        }
        headers = {
            "content-type": "application/json",
            "authorization": f"Bearer {defaults.ZAPIER_TOKEN}",
            "idempotency-key": f"burst-{unique}",
            "user-agent": "Zapier",
        }
        return http_api_event(
            method="POST", path="/webhooks/zapier", body=json.dumps(body).encode(), headers=headers
        )
    if booking.source == "typeform":
        response = typeform_samples.booking_response(token=f"burst{unique}")
        response["event_id"] = f"01BURST{unique}"
        typeform_samples.answers_with(response, name=booking.label)
        return typeform_samples.api_gateway_event(
            typeform_samples.body_bytes(response),
            request_id=request_id,
            time=time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            time_epoch_ms=int(now * 1000),
            trace_id=f"Root=1-{int(now):08x}-{booking.number:024x}",
        )
    session = stripe_samples.checkout_session(
        session_id=f"cs_live_burst{unique}",
        intent_id=f"pi_burst{unique}",
        metadata=dict(stripe_samples.BOOKING_METADATA, title=booking.label),
    )
    event = stripe_samples.stripe_event("checkout.session.completed", session, event_id=f"evt_burst{unique}")
    return stripe_samples.api_gateway_event(
        stripe_samples.body_bytes(event), request_id=request_id, timestamp=int(now)
    )


# --- the senders ---------------------------------------------------------------------------------


@dataclass
class Sending:
    """One booking from its sender's side."""

    booking: Booking
    planned: float  # when it was due to be sent (Unix time)
    answers: list[tuple[float, float, int]] = field(default_factory=list)  # (sent, answered, status)
    final: int | None = None  # the status it settled on; None: the sender gave up

    @property
    def first_sent(self) -> float:
        return self.answers[0][0]


def _retries(status: int, seconds: float, config: BurstConfig) -> bool:
    return status >= 500 or status in (409, 429) or seconds > config.sender_timeout_seconds


def send_all(handler: Handler, bookings: Sequence[Booking], config: BurstConfig) -> list[Sending]:
    """Each booking sent at its moment by the first of `config.senders` threads free, and sent
    again as its sender would; returns when every booking has its final answer."""
    start = time.time()
    order = itertools.count()
    sendings = [Sending(booking, start + booking.offset) for booking in bookings]
    due = [(s.planned, next(order), s) for s in sendings]
    heapq.heapify(due)
    changed = threading.Condition()
    unsettled = len(bookings)
    broken: list[BaseException] = []  # a sender's own failure (a bug here) stops them all

    def take() -> Sending | None:
        with changed:
            while unsettled and not broken:
                wait = due[0][0] - time.time() if due else None
                if wait is not None and wait <= 0:
                    return heapq.heappop(due)[2]
                changed.wait(wait)
            return None

    def sender() -> None:
        try:
            send_until_settled()
        except BaseException as error:
            with changed:
                broken.append(error)
                changed.notify_all()

    def send_until_settled() -> None:
        nonlocal unsettled
        while (sending := take()) is not None:
            event = webhook_event(sending.booking, config.seed)
            sent = time.time()
            try:
                status = int(invoke(handler, event)["statusCode"])
            except InvocationFailed:
                status = 500  # what API Gateway answers when the function fails
            answered = time.time()
            with changed:
                sending.answers.append((sent, answered, status))
                if not _retries(status, answered - sent, config):
                    sending.final = status
                    unsettled -= 1
                elif len(sending.answers) > config.sender_retries:
                    unsettled -= 1  # gave up
                else:
                    heapq.heappush(due, (answered + config.sender_retry_seconds, next(order), sending))
                changed.notify_all()

    threads = [threading.Thread(target=sender, name=f"sender-{n}") for n in range(config.senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if broken:
        raise broken[0]
    return sendings


# --- the limit's arithmetic ----------------------------------------------------------------------


def ideal_drain_seconds(offsets: Sequence[float], rate_limit: RateLimit) -> float:
    """When the last booking could be admitted at the earliest, after the first arrived: each call
    as soon as its booking has arrived and both of the limit's rules admit it (RateLimit)."""
    window = rate_limit.real_window
    interval = window / rate_limit.limit
    admitted: list[float] = []
    bucket_full_at = offsets[0] if offsets else 0.0
    for offset in offsets:
        moment = max(offset, admitted[-1] if admitted else offset)
        moment = max(moment, bucket_full_at - (rate_limit.burst - 1) * interval)
        if len(admitted) >= rate_limit.limit:
            moment = max(moment, admitted[-rate_limit.limit] + window)
        admitted.append(moment)
        bucket_full_at = max(bucket_full_at, moment) + interval
    return admitted[-1] - offsets[0] if admitted else 0.0


# --- one row -------------------------------------------------------------------------------------


def run_row(config: BurstConfig, pacing: str) -> dict[str, Any]:
    """One row, in this process: start the local stack, send the burst, wait, measure."""
    import boto3

    rate_limit = config.rate_limit
    bookings = plan_bookings(config)
    timeout = config.seconds + config.timeout_factor * max(
        ideal_drain_seconds([b.offset for b in bookings], rate_limit), 10.0
    )
    environment = {"BIZKITHUB_PACING": pacing} | rate_limit_environment(rate_limit)
    with local_stack(
        log_level="ERROR",
        environment=environment,
        processes=True,
        webhook_concurrency=config.senders,
        worker_concurrency=config.workers,
    ) as stack:
        stand_in, queue, dead_letters = stack.stand_in, stack.delivery_queue_url, stack.dead_letter_queue_url
        if stand_in is None or queue is None or dead_letters is None:
            raise RuntimeError("the burst needs the stand-in and the embedded queues")
        stack.start_containers()
        stand_in.set_rate_limit(rate_limit)
        sendings = send_all(stack.handler, bookings, config)
        sqs = boto3.client("sqs")
        numbers = {b.number for b in bookings}
        sent_all = max(s.answers[-1][1] for s in sendings)
        quiet_since: float | None = None
        timed_out = True
        while time.time() < sent_all + timeout:
            delivered = {_number(e) for e in stand_in.accepted_events}
            if queue_is_empty(sqs, queue):
                quiet_since = quiet_since or time.time()
                if numbers <= delivered or time.time() - quiet_since >= _QUIET_SECONDS:
                    timed_out = False
                    break
            else:
                quiet_since = None
            time.sleep(_POLL_SECONDS)
        measured = _measure(config, sendings, stand_in.calls, stand_in.rate_limit_counts())
        measured |= {
            "pacing": pacing,
            "dead_lettered": queued_messages(sqs, dead_letters),
            "waited_after_sending_seconds": time.time() - sent_all,
            "timed_out": timed_out,
        }
    return measured | _budgets(measured)


def _number(event: dict[str, Any]) -> int | None:
    match = _LABEL.search(str(event.get("title", "")))
    return int(match.group(1)) if match else None


def _measure(
    config: BurstConfig, sendings: Sequence[Sending], calls: Sequence[Any], counts: Any
) -> dict[str, Any]:
    rate_limit = config.rate_limit
    deliveries = sorted(call.received_at for call in calls if call.event_id is not None)
    per_booking = Counter(_number(call.body["event"]) for call in calls if call.event_id is not None)
    numbers = {s.booking.number for s in sendings}
    first_sent = min(s.first_sent for s in sendings)
    queued_at = [answered for s in sendings for _, answered, status in s.answers if status == 202]
    latencies = [answered - sent for s in sendings for sent, answered, _ in s.answers]
    finals = Counter(str(s.final) if s.final is not None else "gave up" for s in sendings)
    last_delivery = deliveries[-1] if deliveries else None
    backlog: dict[str, Any] = {"backlog_seconds": None, "deliveries_in_backlog": None, "rate_share": None}
    if queued_at and last_delivery is not None and last_delivery > min(queued_at):
        start = min(queued_at)
        span = last_delivery - start
        within = sum(1 for moment in deliveries if start < moment <= last_delivery)
        backlog = {
            "backlog_seconds": span,
            "deliveries_in_backlog": within,
            "rate_share": within / (span * rate_limit.limit / rate_limit.real_window),
        }
    return {
        "sent": len(sendings),
        "sent_within_seconds": max(s.first_sent for s in sendings) - first_sent,
        # How late the latest booking was first sent: its senders were all still waiting for answers.
        "senders_behind_seconds": max(s.first_sent - s.planned for s in sendings),
        "webhook_requests": sum(len(s.answers) for s in sendings),
        "final_answers": dict(sorted(finals.items())),
        "webhook_answer_p50_ms": statistics.median(latencies) * 1000,
        "webhook_answer_max_ms": max(latencies) * 1000,
        "delivered": len(numbers & set(per_booking)),
        "duplicates": sum(count - 1 for number, count in per_booking.items() if number in numbers),
        "missing": len(numbers - set(per_booking)),
        "unexpected_events": sum(count for number, count in per_booking.items() if number not in numbers),
        "calls": counts.total_requests,
        "calls_429": counts.total_limited,
        "share_429": counts.total_limited / counts.total_requests if counts.total_requests else 0.0,
        "drain_seconds": last_delivery - first_sent if last_delivery is not None else None,
    } | backlog


def _budgets(row: dict[str, Any]) -> dict[str, Any]:
    budgets = {
        "exactly_once": row["duplicates"] == 0 and row["missing"] == 0,
        "none_dead_lettered": row["dead_lettered"] == 0,
        "share_429": row["share_429"] <= MAX_429_SHARE,
        "rate_share": row["rate_share"] is None or row["rate_share"] >= MIN_RATE_SHARE,
    }
    return {"budgets": budgets, "pass": all(budgets.values())}


# --- both rows, each in a process of its own ----------------------------------------------------


def _child_environment() -> dict[str, str]:
    # The row decides AWS, BizKitHub and Powertools itself: nothing of the caller's may leak in.
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BIZKITHUB_", "POWERTOOLS_"))}
    return kept | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src" / "function"), str(ROOT / "src")])}


def run_burst(
    config: BurstConfig,
    pacings: Sequence[str] = PACINGS,
    progress: Callable[[str], None] | None = None,
    *,
    side_by_side: bool = False,
) -> dict[str, Any]:
    """Every row, each in a fresh process, one after the other (`side_by_side`: at once, sharing
    the machine, for tests that need no timing), then the figures as one dict."""
    bookings = plan_bookings(config)
    ideal = ideal_drain_seconds([b.offset for b in bookings], config.rate_limit)
    timeout = _SETUP_SECONDS + config.seconds + 2 * config.timeout_factor * max(ideal, 10.0)
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        running: dict[str, tuple[subprocess.Popen[bytes], Path, Path]] = {}

        def start(pacing: str) -> None:
            if progress is not None:
                progress(f"pacing {pacing} ({config.bookings} bookings in {config.seconds:g} s)…")
            result, log = Path(work) / f"{pacing}.json", Path(work) / f"{pacing}.log"
            command = [sys.executable, "-m", "bookhook_dev.build.burst", "--row", pacing]
            command += ["--config", json.dumps(asdict(config)), "--row-result", str(result)]
            with log.open("wb") as stderr:
                process = subprocess.Popen(  # noqa: S603 - our own module, our own arguments
                    command,
                    env=_child_environment(),
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,  # the functions' log lines and Powertools' metric lines
                    stderr=stderr,
                )
            running[pacing] = (process, result, log)

        def finish(pacing: str) -> None:
            process, result, log = running[pacing]
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            del running[pacing]
            if process.returncode != 0 or not result.exists():
                tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
                raise RuntimeError(f"the burst row (pacing {pacing}) failed:\n{tail}")
            rows[pacing] = json.loads(result.read_text(encoding="utf-8"))

        try:
            for pacing in pacings:
                start(pacing)
                if not side_by_side:
                    finish(pacing)
            for pacing in list(running):
                finish(pacing)
        finally:
            for process, _, _ in running.values():  # a row failed: the others are not waited for
                process.kill()
                process.wait()
    mix = Counter(b.source for b in bookings)
    return {
        "config": asdict(config),
        "mix": {source: mix[source] for source in SOURCES},
        "real_window_seconds": config.rate_limit.real_window,
        "allowed_per_second": config.limit / config.rate_limit.real_window,
        "ideal_drain_seconds": ideal,
        "budgets": {"max_share_429": MAX_429_SHARE, "min_rate_share": MIN_RATE_SHARE},
        "rows": rows,
    }


_BUDGET_NAMES = {
    "exactly_once": "each once",
    "none_dead_lettered": "dead letters",
    "share_429": "429 share",
    "rate_share": "rate",
}


def _final_answers(finals: dict[str, int]) -> str:
    other = sum(count for status, count in finals.items() if status not in ("200", "202"))
    return f"{finals.get('200', 0)} / {finals.get('202', 0)} / {other}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def table(result: dict[str, Any]) -> str:
    """Both rows side by side, with the budgets."""
    config, rows = result["config"], result["rows"]
    names = list(rows)
    mix = ", ".join(f"{count} {source}" for source, count in result["mix"].items())
    lines = [
        f"burst: {config['bookings']} bookings in {config['seconds']:g} s ({config['arrivals']}; {mix}), "
        f"{config['senders']} senders, {config['workers']} workers",
        f"BizKitHub: {config['limit']:,} an hour, burst {config['burst']}, the hour lasting "
        f"{result['real_window_seconds']:g} s ({result['allowed_per_second']:.1f} calls/s); "
        f"ideal drain {result['ideal_drain_seconds']:.1f} s",
    ]

    def row(label: str, values: list[str], budget: str = "") -> None:
        lines.append(f"{label:44}" + "".join(f"{value:>18}" for value in values) + f"   {budget}")

    row("", [f"pacing {name}" for name in names], "budget")
    lines.append("-" * (44 + 18 * len(names) + 12))
    row(
        "bookings sent (within)",
        [f"{rows[n]['sent']} ({rows[n]['sent_within_seconds']:.1f} s)" for n in names],
    )
    row("  senders behind schedule, at most", [f"{rows[n]['senders_behind_seconds']:.1f} s" for n in names])
    row("  answered 200 / 202 / other", [_final_answers(rows[n]["final_answers"]) for n in names])
    row("  webhook requests (with retries)", [f"{rows[n]['webhook_requests']:,}" for n in names])
    row(
        "webhook answer p50 / max",
        [
            f"{rows[n]['webhook_answer_p50_ms']:.0f} / {rows[n]['webhook_answer_max_ms']:.0f} ms"
            for n in names
        ],
    )
    row(
        "delivered / duplicates / missing",
        [f"{rows[n]['delivered']} / {rows[n]['duplicates']} / {rows[n]['missing']}" for n in names],
        "each once",
    )
    row("dead-lettered", [str(rows[n]["dead_lettered"]) for n in names], "none")
    row("add-event calls", [f"{rows[n]['calls']:,}" for n in names])
    row(
        "  answered 429 (share)",
        [f"{rows[n]['calls_429']:,} ({rows[n]['share_429']:.1%})" for n in names],
        f"<= {MAX_429_SHARE:.0%}",
    )
    row("drain: first send -> last delivery", [_seconds(rows[n]["drain_seconds"]) for n in names])
    row("backlog: first 202 -> last delivery", [_seconds(rows[n]["backlog_seconds"]) for n in names])
    row(
        "  delivery rate, share of allowed",
        ["-" if rows[n]["rate_share"] is None else f"{rows[n]['rate_share']:.0%}" for n in names],
        f">= {MIN_RATE_SHARE:.0%}",
    )
    verdicts = []
    for name in names:
        failed = [_BUDGET_NAMES[budget] for budget, met in rows[name]["budgets"].items() if not met]
        verdict = "PASS" if not failed else "FAIL: " + ", ".join(failed)
        verdicts.append(verdict + (" (timed out)" if rows[name]["timed_out"] else ""))
    lines.append("")
    lines.extend(f"pacing {name}: {verdict}" for name, verdict in zip(names, verdicts, strict=True))
    for name in names:
        behind = rows[name]["senders_behind_seconds"]
        if behind > max(1.0, _BEHIND_NOTED_SHARE * config["seconds"]):
            lines.append(
                f"note: pacing {name}: the {config['senders']} senders, each waiting for its answer, fell "
                f"{behind:.1f} s behind: the burst came slower than planned (more: --senders)"
            )
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """`bookhook burst`'s options."""
    count, number = cli.positive(int), cli.positive(float)
    free_limit, free_burst = RATE_LIMIT_PLANS["Free"]
    parser.add_argument("--bookings", type=count, default=600, help="distinct bookings (default 600)")
    parser.add_argument("--seconds", type=number, default=10.0, help="they arrive within (default 10)")
    parser.add_argument("--senders", type=count, default=8, help="concurrent senders (default 8)")
    parser.add_argument(
        "--arrivals",
        choices=("even", "poisson"),
        default="even",
        help="evenly spaced, or at seeded random moments (default even)",
    )
    parser.add_argument("--seed", type=int, default=13, help="the seed of the random moments (default 13)")
    parser.add_argument("--plan", choices=list(RATE_LIMIT_PLANS), help="a published plan's limit and burst")
    parser.add_argument(
        "--limit", type=count, help=f"requests a window (default: the Free plan's {free_limit})"
    )
    parser.add_argument(
        "--burst", type=count, help=f"burst allowance (default: the Free plan's {free_burst})"
    )
    parser.add_argument(
        "--window", type=number, default=3600.0, help="the window, in BizKitHub's seconds (default 3600)"
    )
    parser.add_argument(
        "--time-scale",
        type=number,
        default=60.0,
        help="how much faster the stand-in's clock runs (default 60)",
    )
    parser.add_argument("--workers", type=count, help="worker concurrency (default: the template's)")
    parser.add_argument(
        "--pacing", choices=("on", "off", "both"), default="both", help="which rows to run (default both)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to this file")
    parser.add_argument("--row", choices=PACINGS, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--row-result", type=Path, help=argparse.SUPPRESS)
    return run


def main(argv: list[str]) -> int:
    """`bookhook burst ARGV…`."""
    args, _ = cli.parse(["burst", *argv])
    return run(args)


def run(args: argparse.Namespace) -> int:
    if args.row is not None:
        row = run_row(BurstConfig.from_json(args.config), args.row)
        args.row_result.write_text(json.dumps(row), encoding="utf-8")
        return 0

    limit, burst = RATE_LIMIT_PLANS[args.plan or "Free"]
    choices: dict[str, Any] = {
        "bookings": args.bookings,
        "seconds": args.seconds,
        "senders": args.senders,
        "arrivals": args.arrivals,
        "seed": args.seed,
        "limit": args.limit or limit,
        "burst": args.burst or burst,
        "window": args.window,
        "time_scale": args.time_scale,
    }
    if args.workers is not None:
        choices["workers"] = args.workers
    config = BurstConfig(**choices)
    pacings = PACINGS if args.pacing == "both" else (args.pacing,)
    result = run_burst(
        config, pacings, progress=lambda step: print(f"burst: {step}", file=sys.stderr, flush=True)
    )
    print(table(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.main(["burst", *sys.argv[1:]]))
