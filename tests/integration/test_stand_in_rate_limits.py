"""The BizKitHub stand-in's rate limits over real sockets: per key, sliding window plus burst bucket,
the X-RateLimit-* headers, 429 with Retry-After, a scaled clock, and no limits unless asked."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from bookhook_dev.testing import defaults
from bookhook_dev.testing.bizkithub_stand_in import (
    ADD_EVENT_PATH,
    RATE_LIMIT_EXCEEDED,
    RATE_LIMIT_PLANS,
    BizKitHubStandIn,
    RateLimit,
    Slow,
    Status,
)

KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"
OTHER_KEY = "DEV_abcdefghijklmnopqrstuvwxyz12"
ROOT_KEY = "ROOT0123456789abcdefghijklmnopqr"
T0 = 1_700_000_000
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


class FakeClock:
    """Real Unix time as the test says it is; read from handler threads, set by the test."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def http() -> Iterator[urllib3.PoolManager]:
    pool = urllib3.PoolManager(retries=False, maxsize=64, timeout=urllib3.Timeout(connect=2.0, read=5.0))
    yield pool
    pool.clear()


def limited_stand_in(rate_limit: RateLimit | None) -> BizKitHubStandIn:
    return BizKitHubStandIn(rate_limit=rate_limit).start()


@pytest.fixture
def free(clock: FakeClock) -> Iterator[BizKitHubStandIn]:
    stand_in = limited_stand_in(RateLimit.plan("Free", clock=clock))
    yield stand_in
    stand_in.stop()


def post(
    http: urllib3.PoolManager,
    stand_in: BizKitHubStandIn,
    *,
    key: str | None = KEY,
    body: Any = None,
    query: bool = False,
) -> urllib3.BaseHTTPResponse:
    url = stand_in.base_url + ADD_EVENT_PATH
    headers = {"Content-Type": "application/json"}
    if key is not None and query:
        url += f"?apiKey={key}"
    elif key is not None:
        headers["Authorization"] = f"Bearer {key}"
    payload = {"event": defaults.documented_example_event()} if body is None else body
    return http.request("POST", url, body=json.dumps(payload).encode(), headers=headers)


def statuses(http: urllib3.PoolManager, stand_in: BizKitHubStandIn, count: int, key: str = KEY) -> list[int]:
    return [post(http, stand_in, key=key).status for _ in range(count)]


def rate_headers(response: urllib3.BaseHTTPResponse) -> tuple[int, int, int]:
    limit, remaining, reset = (int(response.headers[name]) for name in RATE_HEADERS)
    return limit, remaining, reset


def assert_rate_limited(response: urllib3.BaseHTTPResponse, retry_after: int) -> None:
    assert response.status == 429
    assert response.headers["Retry-After"] == str(retry_after)
    error = response.json()["error"]
    assert error == {"code": RATE_LIMIT_EXCEEDED, "message": "Too many requests", "retry_after": retry_after}


# --- off unless asked --------------------------------------------------------------------


def test_no_limits_and_no_headers_by_default(http: urllib3.PoolManager) -> None:
    with BizKitHubStandIn() as stand_in:
        responses = [post(http, stand_in) for _ in range(60)]

        assert [response.status for response in responses] == [200] * 60
        assert not any(name in response.headers for response in responses for name in RATE_HEADERS)
        assert stand_in.rate_limit is None
        counts = stand_in.rate_limit_counts()
        assert (counts.requests, counts.limited) == ({KEY: 60}, {})


def test_set_rate_limit_turns_limits_on_and_off(http: urllib3.PoolManager, clock: FakeClock) -> None:
    with BizKitHubStandIn() as stand_in:
        assert statuses(http, stand_in, 3) == [200] * 3
        stand_in.set_rate_limit(RateLimit(limit=10, burst=2, clock=clock))
        assert stand_in.rate_limit == RateLimit(limit=10, burst=2)
        assert statuses(http, stand_in, 3) == [200, 200, 429]
        stand_in.set_rate_limit(None)
        response = post(http, stand_in)
        assert response.status == 200
        assert "X-RateLimit-Limit" not in response.headers
        assert stand_in.rate_limit_counts().limited == {KEY: 1}


# --- the documented answers --------------------------------------------------------------


def test_a_burst_beyond_the_allowance_is_refused_as_documented(
    free: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    assert statuses(http, free, 50) == [200] * 50

    refused = post(http, free)

    # The next token of 1,000 an hour arrives 3.6 s later: Retry-After rounds up to 4.
    assert_rate_limited(refused, retry_after=4)
    assert rate_headers(refused) == (1000, 0, T0 + 4)
    assert len(free.accepted_events) == 50  # nothing created for the refused request
    assert free.calls[-1].status == 429
    assert free.calls[-1].event_id is None
    counts = free.rate_limit_counts()
    assert (counts.requests, counts.limited, counts.total_requests, counts.total_limited) == (
        {KEY: 51},
        {KEY: 1},
        51,
        1,
    )


def test_headers_count_down_and_reset_is_when_remaining_next_rises(
    free: BizKitHubStandIn, http: urllib3.PoolManager, clock: FakeClock
) -> None:
    seen = [rate_headers(post(http, free)) for _ in range(5)]

    assert seen == [(1000, remaining, T0 + 4) for remaining in (49, 48, 47, 46, 45)]
    clock.now = T0 + 3.6  # one token back
    assert rate_headers(post(http, free)) == (1000, 45, math.ceil(T0 + 7.2))
    clock.now = T0 + 3600  # the bucket is full again and the window empty of these requests
    assert rate_headers(post(http, free)) == (1000, 49, T0 + 3604)


def test_answers_to_refused_bodies_count_and_carry_the_headers(
    free: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    invalid = post(http, free, body={"event": {"title": "no calendar"}})

    assert invalid.status == 400
    assert rate_headers(invalid) == (1000, 49, T0 + 4)
    assert rate_headers(post(http, free)) == (1000, 48, T0 + 4)


def test_refused_keys_are_not_counted_and_get_no_headers(
    free: BizKitHubStandIn, http: urllib3.PoolManager
) -> None:
    for key in (None, "not-a-key"):
        response = post(http, free, key=key)
        assert response.status == 401
        assert "X-RateLimit-Remaining" not in response.headers
    assert free.rate_limit_counts().total_requests == 0
    assert rate_headers(post(http, free))[1] == 49


def test_refused_requests_do_not_use_up_the_allowance(
    free: BizKitHubStandIn, http: urllib3.PoolManager, clock: FakeClock
) -> None:
    statuses(http, free, 50)
    assert statuses(http, free, 5) == [429] * 5

    clock.now = T0 + 3.6  # exactly one token came back, and the 429s took none of it
    assert statuses(http, free, 2) == [200, 429]


# --- the window and the bucket -----------------------------------------------------------


def test_the_window_slides(http: urllib3.PoolManager, clock: FakeClock) -> None:
    stand_in = limited_stand_in(RateLimit(limit=5, burst=5, window=100, clock=clock))
    try:
        for offset in (0, 10, 20, 30, 40):
            clock.now = T0 + offset
            assert post(http, stand_in).status == 200
        clock.now = T0 + 50
        full = post(http, stand_in)
        assert_rate_limited(full, retry_after=50)  # the request of T0 leaves the window at T0 + 100
        assert rate_headers(full) == (5, 0, T0 + 100)

        clock.now = T0 + 100
        # A fixed window would start afresh here; a sliding one frees only the request of T0.
        assert post(http, stand_in).status == 200
        again = post(http, stand_in)
        assert_rate_limited(again, retry_after=10)
        assert rate_headers(again) == (5, 0, T0 + 110)
    finally:
        stand_in.stop()


def test_the_window_caps_a_burst_followed_by_the_sustained_rate(
    http: urllib3.PoolManager, clock: FakeClock
) -> None:
    # 10 per 100 s, burst 5: a token every 10 s.
    stand_in = limited_stand_in(RateLimit(limit=10, burst=5, window=100, clock=clock))
    try:
        assert statuses(http, stand_in, 6) == [200] * 5 + [429]
        for offset in (10, 20, 30, 40, 50):
            clock.now = T0 + offset
            assert post(http, stand_in).status == 200

        clock.now = T0 + 60  # a token is there, but 10 requests are in the window
        capped = post(http, stand_in)
        assert_rate_limited(capped, retry_after=40)
        assert rate_headers(capped) == (10, 0, T0 + 100)

        clock.now = T0 + 100  # the first five leave the window, the bucket is full
        assert rate_headers(post(http, stand_in)) == (10, 4, T0 + 110)
    finally:
        stand_in.stop()


def test_a_client_paced_at_the_limit_is_never_refused(http: urllib3.PoolManager, clock: FakeClock) -> None:
    stand_in = limited_stand_in(RateLimit(limit=20, burst=2, window=100, clock=clock))
    try:
        results = []
        for index in range(60):  # three windows, one request every 100 / 20 s
            clock.now = T0 + index * 5
            results.append(post(http, stand_in).status)
        assert results == [200] * 60
    finally:
        stand_in.stop()


# --- a scaled clock ----------------------------------------------------------------------


def test_time_scale_compresses_the_hour_and_headers_are_in_real_seconds(
    http: urllib3.PoolManager, clock: FakeClock
) -> None:
    # Free, its hour lasting 60 real seconds: burst 50, then a token every 0.06 s, 1,000 a minute.
    stand_in = limited_stand_in(RateLimit.plan("Free", time_scale=60.0, clock=clock))
    try:
        assert statuses(http, stand_in, 51) == [200] * 50 + [429]
        refused = stand_in.calls[-1]
        assert refused.status == 429
        early = post(http, stand_in)
        assert_rate_limited(early, retry_after=1)  # 0.06 s, at least one whole second
        assert rate_headers(early) == (1000, 0, T0 + 1)

        for step in range(1, 951):  # each token as it arrives: 950 more by T0 + 57 s
            clock.now = T0 + step * 0.06
            assert post(http, stand_in).status == 200, step

        clock.now = T0 + 951 * 0.06
        capped = post(http, stand_in)  # 1,000 within the last real minute
        assert_rate_limited(capped, retry_after=3)  # the burst of T0 leaves at T0 + 60
        assert rate_headers(capped) == (1000, 0, T0 + 60)
        clock.now = T0 + 60
        assert rate_headers(post(http, stand_in))[1] == 49
    finally:
        stand_in.stop()


def test_waiting_retry_after_in_real_time_is_enough(http: urllib3.PoolManager) -> None:
    # An "hour" of one real second: 4 a second, burst 2.
    stand_in = limited_stand_in(RateLimit(limit=4, burst=2, window=3600, time_scale=3600))
    try:
        assert statuses(http, stand_in, 2) == [200, 200]
        before = time.time()
        refused = post(http, stand_in)
        assert_rate_limited(refused, retry_after=1)
        assert before <= rate_headers(refused)[2] <= math.ceil(time.time() + 0.25)

        time.sleep(int(refused.headers["Retry-After"]))
        assert post(http, stand_in).status == 200
    finally:
        stand_in.stop()


# --- whose requests ----------------------------------------------------------------------


def test_root_keys_have_no_limits(http: urllib3.PoolManager, clock: FakeClock) -> None:
    stand_in = limited_stand_in(RateLimit(limit=2, burst=2, clock=clock))
    try:
        responses = [post(http, stand_in, key=ROOT_KEY) for _ in range(20)]
        assert [response.status for response in responses] == [200] * 20
        assert not any("X-RateLimit-Limit" in response.headers for response in responses)
        assert statuses(http, stand_in, 3) == [200, 200, 429]
        counts = stand_in.rate_limit_counts()
        assert counts.requests == {ROOT_KEY: 20, KEY: 3}
        assert counts.limited == {KEY: 1}
    finally:
        stand_in.stop()


def test_each_key_has_its_own_window_whichever_way_it_is_sent(
    http: urllib3.PoolManager, clock: FakeClock
) -> None:
    stand_in = limited_stand_in(RateLimit(limit=10, burst=3, clock=clock))
    try:
        assert [post(http, stand_in, query=index % 2 == 1).status for index in range(4)] == [200] * 3 + [429]
        assert statuses(http, stand_in, 4, key=OTHER_KEY) == [200] * 3 + [429]
        assert stand_in.rate_limit_counts().limited == {KEY: 1, OTHER_KEY: 1}
    finally:
        stand_in.stop()


def test_scripted_faults_bypass_the_limiter_but_slow_answers_count(
    http: urllib3.PoolManager, clock: FakeClock
) -> None:
    stand_in = limited_stand_in(RateLimit(limit=10, burst=3, clock=clock))
    try:
        stand_in.script(Status(503), Slow(0.0))
        outage = post(http, stand_in)
        assert outage.status == 503
        assert "X-RateLimit-Limit" not in outage.headers
        slow = post(http, stand_in)
        assert slow.status == 200
        assert rate_headers(slow)[1] == 2
        assert stand_in.rate_limit_counts().requests == {KEY: 1}
    finally:
        stand_in.stop()


def test_reset_forgets_windows_and_counts_but_keeps_the_limit(
    http: urllib3.PoolManager, clock: FakeClock
) -> None:
    stand_in = limited_stand_in(RateLimit(limit=10, burst=2, clock=clock))
    try:
        assert statuses(http, stand_in, 3) == [200, 200, 429]
        stand_in.reset()
        assert stand_in.rate_limit_counts().total_requests == 0
        assert statuses(http, stand_in, 3) == [200, 200, 429]
    finally:
        stand_in.stop()


# --- concurrency -------------------------------------------------------------------------


def test_concurrent_requests_never_exceed_the_allowance(http: urllib3.PoolManager, clock: FakeClock) -> None:
    stand_in = limited_stand_in(RateLimit(limit=100, burst=10, clock=clock))
    results: list[int] = []
    results_lock = threading.Lock()
    start = threading.Barrier(40)

    def call(key: str) -> None:
        start.wait()
        status = post(http, stand_in, key=key).status
        with results_lock:
            results.append(status)

    try:
        threads = [threading.Thread(target=call, args=(KEY if i % 2 else OTHER_KEY,)) for i in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(results) == [200] * 20 + [429] * 20  # ten for each key, the time standing still
        assert len(stand_in.accepted_events) == 20
        counts = stand_in.rate_limit_counts()
        assert counts.requests == {KEY: 20, OTHER_KEY: 20}
        assert counts.limited == {KEY: 10, OTHER_KEY: 10}
    finally:
        stand_in.stop()


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Free", "starter", " PROFESSIONAL "])
def test_published_plans(name: str) -> None:
    limit, burst = RATE_LIMIT_PLANS[name.strip().capitalize()]
    plan = RateLimit.plan(name, time_scale=60.0)
    assert (plan.limit, plan.burst, plan.window, plan.real_window) == (limit, burst, 3600.0, 60.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: RateLimit(limit=0, burst=0),
        lambda: RateLimit(limit=10, burst=11),
        lambda: RateLimit(limit=10, burst=0),
        lambda: RateLimit(limit=10, burst=5, window=0),
        lambda: RateLimit(limit=10, burst=5, time_scale=-1.0),
        lambda: RateLimit(limit=10, burst=5, time_scale=math.inf),
        lambda: RateLimit(limit=True, burst=1),
        lambda: RateLimit.plan("Enterprise"),
    ],
)
def test_nonsense_limits_are_rejected(make: Any) -> None:
    with pytest.raises(ValueError, match=r"must|unknown plan"):
        make()
