"""The benchmark's code paths, once, on tiny counts: a benchmark that rots is worse than none.
Nothing here is timed or compared against a budget (that is `make bench`'s job)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bookhook_dev.build import bench

pytestmark = pytest.mark.harness


def test_the_benchmark_runs_end_to_end_on_tiny_counts(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"

    code = bench.main(
        [
            "--runs", "1",
            "--requests", "2",
            "--no-dependencies",  # package our code only; dependencies come from this environment
            "--runtime-python", sys.executable,
            "--output", str(output),
            "--work-dir", str(tmp_path / "work"),
            # A burst too small to meet the limit: the scenario's path through the bench, no more
            # (test_burst_smoke.py runs the scenario itself).
            "--burst-bookings", "4",
            "--burst-seconds", "0.5",
            "--burst-senders", "2",
        ]
    )  # fmt: skip

    assert code == 0
    results = json.loads(output.read_text())
    assert set(results["cold_start_seconds"]) == {
        "baseline (import boto3, pydantic, urllib3)",
        "webhook handler import",
        "webhook handler import + first-request set-up",
        "delivery worker import",
        "delivery worker import + first-request set-up",
    }
    assert all(seconds > 0 for seconds in results["cold_start_seconds"].values())
    assert set(results["warm"]) >= {
        "zapier",
        "typeform",
        "stripe",
        "baseline",
        "peak_rss_mb",
        "handler_rss_mb",
    }
    assert results["warm"]["handler_requests"] == 7
    for sender in ("zapier", "typeform", "stripe"):
        # moto's own time was counted (so it is told apart from the handler's) and is only part of it
        figures = results["warm"][sender]
        assert 0 < figures["aws_client_p50_ms"] < figures["without_aws_fake_p50_ms"] < figures["p50_ms"]
        # The claim and the record: with rate-limit headers but no pressure, pacing adds no AWS call.
        assert figures["aws_calls_per_request"] == {"PutItem": 1.0, "UpdateItem": 1.0}, sender
    assert results["package_zipped_bytes"] > 0
    # The built package holds hash-based bytecode for our modules, the plain one none.
    built = tmp_path / "work" / "built" / "WebhookFunction" / "bookhook" / "__pycache__"
    [first, *_] = sorted(built.glob("*.pyc"))
    # PEP 552 flags: 0b01 = hash-based, source not checked (valid inside Lambda's zip)
    assert int.from_bytes(first.read_bytes()[4:8], "little") == 0b01
    assert not (tmp_path / "work" / "sam-build" / "WebhookFunction" / "bookhook" / "__pycache__").exists()
    # The burst ran both rows and delivered its bookings.
    assert set(results["burst"]["rows"]) == {"on", "off"}
    assert all(row["delivered"] == 4 for row in results["burst"]["rows"].values())
