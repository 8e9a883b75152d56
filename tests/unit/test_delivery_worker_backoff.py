"""The worker's wait before the next try: capped exponential backoff with full jitter, and Retry-After."""

from __future__ import annotations

from typing import Any

import pytest

from bookhook.delivery.worker import DeliveryWorker


def _worker(*, base: float = 10, cap: float = 900, jitter: Any = None) -> DeliveryWorker:
    return DeliveryWorker(
        records=None,  # type: ignore[arg-type]  # delays touch nothing but the settings
        add_event=None,  # type: ignore[arg-type]
        delivery_queue=None,  # type: ignore[arg-type]
        dead_letter_queue=None,  # type: ignore[arg-type]
        max_attempts=8,
        lease_seconds=60,
        backoff_base_seconds=base,
        backoff_cap_seconds=cap,
        jitter=jitter or (lambda ceiling: ceiling),  # the top of the jitter range, to see the ceiling
    )


@pytest.mark.parametrize(("tries", "ceiling"), [(1, 10), (2, 20), (3, 40), (7, 640), (8, 900), (20, 900)])
def test_backoff_doubles_per_try_up_to_the_cap(tries: int, ceiling: int) -> None:
    assert _worker().delay_before_next_try(tries, None) == ceiling


def test_full_jitter_draws_between_zero_and_the_ceiling() -> None:
    asked: list[float] = []

    def jitter(ceiling: float) -> float:
        asked.append(ceiling)
        return ceiling / 4

    assert _worker(jitter=jitter).delay_before_next_try(3, None) == 10
    assert asked == [40]


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(120, 120), (5000, 900), (1, 1), (None, 0), ("soon", 0)],
)
def test_retry_after_is_honoured_when_longer_and_capped(retry_after: Any, expected: int) -> None:
    no_jitter = _worker(jitter=lambda ceiling: 0.0)

    assert no_jitter.delay_before_next_try(2, retry_after) == expected
