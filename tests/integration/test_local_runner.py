"""The Docker-free local runner, as `make run` and a user's curl would use it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from bookhook_dev import defaults

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BIZKITHUB_", "POWERTOOLS_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src/function"), str(ROOT / "src")])
    return env


def _run_runner(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own runner, fixed arguments
        [sys.executable, "-m", "bookhook_dev.local_runner", *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_sends_every_sample_and_shows_what_bizkithub_received() -> None:
    run = _run_runner("demo", "--no-serve")

    assert run.returncode == 0, run.stderr[-3000:]
    samples = sorted(p.name for p in (ROOT / "events").glob("*.json"))
    for name in samples:
        assert f"── events/{name}" in run.stdout
    # Every sample once, then the first again; each answered 200 (then the queued demo's 202).
    assert len(re.findall(r"sender got:\s+200 ", run.stdout)) == len(samples) + 1
    replies = re.findall(
        r'sender got:\s+200 \{"status": "(delivered|duplicate)", "eventId": "([a-z]{32})"\}', run.stdout
    )
    delivered = [event_id for status, event_id in replies if status == "delivered"]
    add_event_calls = run.stdout.count("POST /api/v1/calendar/add-event (auth: query) -> 200")
    assert add_event_calls == len(delivered)
    # Every duplicate names an event that was delivered: the base64 Typeform sample repeats the
    # plain one (same response token), and the demo repeats the first sample.
    duplicates = [event_id for status, event_id in replies if status == "duplicate"]
    assert len(duplicates) == 2
    assert set(duplicates) <= set(delivered)
    # The unpaid Checkout Session books nothing, and says why.
    assert run.stdout.count('sender got:        200 {"status": "ignored"') == 1
    # While BizKitHub fails the booking is queued; the worker delivers it; the retry gets its eventId.
    assert 'sender got:        202 {"status": "queued"}' in run.stdout
    assert "BizKitHub answered, try by try: [503, 503, 200]" in run.stdout
    assert re.search(
        r'the sender.s retry got: 200 \{"status": "duplicate", "eventId": "[a-z]{32}"\}', run.stdout
    )


def test_invoke_runs_one_event_file_like_sam_local_invoke() -> None:
    run = _run_runner("invoke", "events/zapier-json.json")

    assert run.returncode == 0, run.stderr[-3000:]
    assert re.search(r'sender got:\s+200 \{"status": "delivered"', run.stdout)
    assert '"title": "Training with Jan"' in run.stdout


@pytest.fixture
def served() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "bookhook_dev.local_runner", "serve", "--port", "0"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
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
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_answers_real_http_requests_through_the_handler(served: str) -> None:
    http = urllib3.PoolManager(retries=False)
    booking = {
        "calendarId": defaults.CALENDAR_ID,
        "startTime": "2026-12-03T09:00:00+01:00",
        "duration": "45",
        "title": "Trial lesson",
    }

    ok = http.request(
        "POST",
        f"{served}/webhooks/zapier",
        body=json.dumps(booking),
        headers={"Authorization": f"Bearer {defaults.ZAPIER_TOKEN}", "Content-Type": "application/json"},
    )
    form = http.request(
        "POST",
        f"{served}/webhooks/zapier",
        body="calendarId=" + defaults.CALENDAR_ID + "&startTime=2026-12-04T09:00:00Z&duration=30&title=Form",
        headers={
            "X-Webhook-Token": defaults.ZAPIER_TOKEN,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    refused = http.request(
        "POST",
        f"{served}/webhooks/zapier",
        body=json.dumps(booking),
        headers={"Content-Type": "application/json"},
    )
    unknown = http.request("POST", f"{served}/webhooks/unknown", body=b"{}")

    assert ok.status == 200, ok.data
    assert re.fullmatch(r"[a-z]{32}", ok.json()["eventId"])
    assert form.status == 200, form.data
    assert refused.status == 401
    assert unknown.status == 404
