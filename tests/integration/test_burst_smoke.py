"""The burst scenario (`python -m bookhook_dev.build.burst`, part of `make bench`) once, on a small count:
both rows run, report in the agreed shape, and deliver every booking exactly once with nothing
dead-lettered. Nothing here is timed or held to the budgets: that is `make bench`'s job."""

from __future__ import annotations

import json
import time

import pytest
import urllib3

from bookhook_dev.build import burst
from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import ADD_EVENT_PATH, CALLS_PATH, BizKitHubStandIn, RateLimit

pytestmark = pytest.mark.harness

# 40 bookings within 2 s against 360 an hour with a burst of 10, the hour lasting a minute (6 calls
# a second): a backlog forms and drains in seconds. The rows run side by side to keep this short.
CONFIG = burst.BurstConfig(bookings=40, seconds=2, senders=4, limit=360, burst=10, window=3600, time_scale=60)

ROW_KEYS = {
    "pacing",
    "sent",
    "sent_within_seconds",
    "senders_behind_seconds",
    "webhook_requests",
    "final_answers",
    "webhook_answer_p50_ms",
    "webhook_answer_max_ms",
    "delivered",
    "duplicates",
    "missing",
    "unexpected_events",
    "dead_lettered",
    "calls",
    "calls_429",
    "share_429",
    "drain_seconds",
    "backlog_seconds",
    "deliveries_in_backlog",
    "rate_share",
    "waited_after_sending_seconds",
    "timed_out",
    "budgets",
    "pass",
}


def test_both_rows_deliver_every_booking_exactly_once() -> None:
    result = burst.run_burst(CONFIG, side_by_side=True)

    assert set(result) == {
        "config",
        "mix",
        "real_window_seconds",
        "allowed_per_second",
        "ideal_drain_seconds",
        "budgets",
        "rows",
    }
    assert result["config"]["bookings"] == 40
    assert sum(result["mix"].values()) == 40
    assert all(result["mix"][source] > 0 for source in burst.SOURCES)  # every sender is in the mix
    assert result["real_window_seconds"] == 60
    assert set(result["rows"]) == {"on", "off"}
    for pacing, row in result["rows"].items():
        assert set(row) == ROW_KEYS, pacing
        assert row["pacing"] == pacing
        assert not row["timed_out"], pacing
        assert row["sent"] == 40
        # Every sender settled on 200 (delivered) or 202 (queued), none gave up.
        assert set(row["final_answers"]) <= {"200", "202"}, (pacing, row["final_answers"])
        assert sum(row["final_answers"].values()) == 40
        assert (row["delivered"], row["duplicates"], row["missing"]) == (40, 0, 0), pacing
        assert row["unexpected_events"] == 0
        assert row["dead_lettered"] == 0, pacing
        assert row["budgets"]["exactly_once"]
        assert row["budgets"]["none_dead_lettered"]
        assert row["calls"] >= 40
        assert 0 <= row["calls_429"] <= row["calls"]
        assert set(row["budgets"]) == {"exactly_once", "none_dead_lettered", "share_429", "rate_share"}
    table = burst.table(result)
    assert "pacing on" in table
    assert "pacing off" in table


def test_the_ideal_drain_follows_the_limits_rules() -> None:
    free = RateLimit(limit=1000, burst=50, window=3600, time_scale=60)
    # All at once: 50 go with the burst, then one every 60 / 1000 s.
    assert abs(burst.ideal_drain_seconds([0.0] * 600, free) - 550 * 0.06) < 1e-9
    # Arriving slower than the sustained rate: each goes as it arrives.
    assert abs(burst.ideal_drain_seconds([n * 0.1 for n in range(100)], free) - 9.9) < 1e-9
    # The window caps it: 10 an "hour" of 100 s, burst 10: the 11th waits for the first to leave.
    small = RateLimit(limit=10, burst=10, window=100, time_scale=1)
    assert abs(burst.ideal_drain_seconds([0.0] * 11, small) - 100) < 1e-9


def test_the_stand_in_records_when_each_call_arrived() -> None:
    # The burst measures rates from the stand-in's side with this.
    http = urllib3.PoolManager(retries=False)
    with BizKitHubStandIn() as stand_in:
        before = time.time()
        http.request(
            "POST",
            f"{stand_in.base_url}{ADD_EVENT_PATH}?apiKey={defaults.BIZKITHUB_API_KEY}",
            body=json.dumps({"event": defaults.documented_example_event()}).encode(),
            headers={"Content-Type": "application/json"},
        )
        after = time.time()
        [call] = stand_in.calls
        served = http.request("GET", stand_in.base_url + CALLS_PATH).json()

    assert call.status == 200
    assert before <= call.received_at <= after
    assert served[0]["received_at"] == call.received_at
