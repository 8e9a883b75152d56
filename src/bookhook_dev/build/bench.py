"""`make bench`: cold start, warm cost per request, memory and package size, each against a
baseline measured in the same run. Prints a table and writes bench-results.json.

- Cold start: a fresh interpreter imports the webhook handler and builds what its first request
  builds (settings, clients, rules), in a Lambda-like environment with tracing on; the same for
  the delivery worker; baseline: a fresh interpreter importing only boto3, pydantic and urllib3.
  Median of `--runs` runs each.
- The same cold start from a deployment package laid out as `sam build` leaves it (no bytecode;
  the runtime cannot write any, so every cold start compiles) and after `build_package` (pruned,
  hash-based bytecode), both run with the runtime's Python (`--runtime-python`). The package is
  built for this machine's architecture (the arm64 one from `make build` cannot run here), with
  boto3 and friends from the runtime Python's environment, as the Lambda runtime provides them.
- Warm cost per request for each sender: the real handler called in-process with its sample event
  (a new booking each time; AWS faked in-process by moto, BizKitHub the stand-in on loopback),
  against a minimal handler that only parses JSON, checks an HMAC and POSTs the same body to the
  same stand-in with a reused urllib3 pool. p50 and p99. Also the handler's p50 less the time
  moto itself spends answering (its request routing and DynamoDB emulation, which in Lambda is a
  network round trip instead): what is our code, Powertools and the botocore client; and of that,
  the botocore client's share (building, signing and parsing the DynamoDB calls).
- Peak RSS of the warm process after its requests, and the package's zipped size.
- The phone library (libphonenumber, `import phonenumbers`, from the distribution requirements.txt
  pins): its installed size, and its cold start in a fresh interpreter (import, then the first
  parse and check of a national number, which loads that region's metadata) against the same
  baseline; from the dev environment and, when the package holds it, from the built package. The
  other distribution of the same library was measured once, when choosing (Python 3.12, median of
  25, hash-based bytecode): `phonenumbers` 9.0.43 22.0 MB installed (44 MB with bytecode), import
  16.6 ms; `phonenumberslite` 9.0.42 1.3 MB (2.2 MB), 16.7 ms: the same code and metadata, without
  geocoding, carrier and time-zone data. Hence the lite one.
- A burst against BizKitHub's rate limit (`bookhook_dev.build.burst`: 600 bookings within 10 s against
  the Free plan with its hour compressed to a minute), with pacing on and off, each in a fresh
  process: delivered exactly once, dead letters, calls answered 429, drain time, and the delivery
  rate while a backlog exists against what the limit allows; `--burst-bookings`, `--burst-seconds`
  and `--burst-senders` size it, `--no-burst` skips it.
This is a benchmark, not a test: `make test` runs it once on tiny counts so it cannot rot.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import importlib.metadata
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bookhook_dev.build import burst
from bookhook_dev.testing import defaults
from bookhook_dev.testing.template import TEMPLATE_PATH
from bookhook_dev.tools import cli

ROOT = TEMPLATE_PATH.parent
FUNCTION_SOURCE = ROOT / "src" / "function"

# Each prints the import time (what the budget is about), then the time to also build what the
# first request builds (settings, AWS clients, rules): the whole cold start a sender waits for.
_HANDLER_COLD = (
    "import time; t = time.perf_counter()\n"
    "from bookhook.handlers import webhook; i = time.perf_counter()\n"
    "webhook.current_services(); print(i - t, time.perf_counter() - t)"
)
_WORKER_COLD = (
    "import time; t = time.perf_counter()\n"
    "from bookhook.handlers import delivery_worker; i = time.perf_counter()\n"
    "delivery_worker.current_worker(); print(i - t, time.perf_counter() - t)"
)
# libphonenumber's import, then what the first phone costs: a parse that loads the region's metadata.
_PHONE_COLD = (
    "import time; t = time.perf_counter()\n"
    "import phonenumbers; i = time.perf_counter()\n"
    "n = phonenumbers.parse('777123456', 'CZ'); assert phonenumbers.is_valid_number(n)\n"
    "phonenumbers.national_significant_number(n); print(i - t, time.perf_counter() - t)"
)
PHONE_MODULE = "phonenumbers"
_BASELINE_COLD = (
    "import time; t = time.perf_counter()\n"
    "import boto3, pydantic, urllib3\n"
    "d = time.perf_counter() - t; print(d, d)"
)


def step(what: str) -> None:
    """Which measurement the bench is on (it runs for minutes, silent otherwise)."""
    print(f"bench: {what}", file=sys.stderr, flush=True)


def lambda_environment(pythonpath: list[Path]) -> dict[str, str]:
    """What the function's environment looks like in Lambda (template values, tracing on)."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return keep | {
        "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath),
        "PYTHONDONTWRITEBYTECODE": "1",  # Lambda's filesystem is read-only
        "LAMBDA_TASK_ROOT": str(pythonpath[0]),
        "AWS_LAMBDA_FUNCTION_NAME": "bookhook-bench",
        "_X_AMZN_TRACE_ID": "Root=1-6744a0f0-3c1f6e2a5b7d8e9f0a1b2c3d;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": defaults.REGION,
        "POWERTOOLS_SERVICE_NAME": "bookhook",
        "POWERTOOLS_METRICS_NAMESPACE": "BookingWebhooks",
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "BOOKING_SECRET_ARN": f"arn:aws:secretsmanager:{defaults.REGION}:123456789012:secret:bench-AbCdEf",
        "IDEMPOTENCY_TABLE_NAME": "bench-idempotency",
        "DELIVERY_QUEUE_URL": f"https://sqs.{defaults.REGION}.amazonaws.com/123456789012/bench-delivery",
        "DEAD_LETTER_QUEUE_URL": f"https://sqs.{defaults.REGION}.amazonaws.com/123456789012/bench-dead",
    }


def cold_start(python: str, code: str, pythonpath: list[Path], runs: int) -> tuple[float, float]:
    """Median seconds (import; import and first-request set-up), each in a fresh interpreter."""
    samples: list[tuple[float, float]] = []
    for _ in range(runs):
        result = subprocess.run(  # noqa: S603 - our own interpreter and code
            [python, "-c", code],
            env=lambda_environment(pythonpath),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"cold start failed:\n{result.stderr[-2000:]}")
        imported, ready = result.stdout.strip().splitlines()[-1].split()
        samples.append((float(imported), float(ready)))
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def phone_distribution() -> tuple[str, str, int]:
    """(distribution, version, installed bytes) of what provides `import phonenumbers` here:
    every file the distribution installed, bytecode caches left out (the build makes its own)."""
    [name, *_] = importlib.metadata.packages_distributions()[PHONE_MODULE]
    distribution = importlib.metadata.distribution(name)
    size = 0
    for file in distribution.files or ():
        path = Path(str(distribution.locate_file(file)))
        if "__pycache__" not in file.parts and path.is_file():
            size += path.stat().st_size
    return name, distribution.version, size


def phone_library(
    python: str, dev_path: list[Path], built: Path, runtime_libs: Path, runs: int
) -> dict[str, Any]:
    """The phone library's size and cold start, from the dev environment and the built package."""
    name, version, installed = phone_distribution()
    imported, ready = cold_start(sys.executable, _PHONE_COLD, dev_path, runs)
    figures: dict[str, Any] = {
        "distribution": f"{name}=={version}",
        "installed_bytes": installed,
        "import_seconds": imported,
        "import_and_first_parse_seconds": ready,
    }
    in_package = built / PHONE_MODULE
    if in_package.is_dir():  # not with --no-dependencies
        figures["package_bytes_with_bytecode"] = sum(
            p.stat().st_size for p in in_package.rglob("*") if p.is_file()
        )
        figures["package_import_and_first_parse_seconds"] = cold_start(
            python, _PHONE_COLD, [built, runtime_libs], runs
        )[1]
    return figures


def site_packages(python: str) -> Path:
    out = subprocess.run(  # noqa: S603
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def build_packages(python: str, work: Path, *, with_dependencies: bool) -> tuple[Path, Path]:
    """(as `sam build` leaves it, after our build step), for this machine's architecture."""
    shutil.rmtree(work, ignore_errors=True)
    plain = work / "sam-build" / "WebhookFunction"
    plain.mkdir(parents=True)
    if with_dependencies:
        subprocess.run(  # noqa: S603
            [python, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(plain),
             "-r", str(FUNCTION_SOURCE / "requirements.txt")],
            check=True,
            capture_output=True,
        )  # fmt: skip
    shutil.copytree(FUNCTION_SOURCE, plain, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    built = work / "built" / "WebhookFunction"
    shutil.copytree(plain, built)
    subprocess.run(  # noqa: S603 - the build step under the runtime's Python, as `make build` runs it
        [python, "-m", "bookhook_dev.build.build_package", str(built.parent)],
        env=os.environ | {"PYTHONPATH": str(ROOT / "src")},
        check=True,
        capture_output=True,
    )
    return plain, built


def zipped_size(package: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(package))
    return buffer.tell()


def warm(requests: int) -> dict[str, Any]:
    """Run the warm measurement in a fresh process (so its peak RSS is its own)."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bookhook_dev.build.bench", "--warm-child", str(requests)],
        env=os.environ | {"PYTHONPATH": os.pathsep.join([str(FUNCTION_SOURCE), str(ROOT / "src")])},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"warm run failed:\n{result.stderr[-3000:]}")
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def _current_rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class AwsCallClock:
    """Adds up the time spent in AWS calls, and the part of it moto spends answering them.

    moto answers from botocore's `before-send` hook, after the client has built and signed the
    request and before it parses the response: the rest of a call is the client's work, which the
    function does in Lambda too, where moto's share is a network round trip instead.
    """

    def __init__(self) -> None:
        self.call_seconds = 0.0
        self.fake_seconds = 0.0
        self.operations: Counter[str] = Counter()  # calls made, by operation name

    def install(self) -> None:
        from botocore.client import BaseClient
        from moto.core.botocore_stubber import BotocoreStubber

        call, answer = BaseClient._make_api_call, BotocoreStubber.__call__  # type: ignore[attr-defined]

        def timed_call(client: BaseClient, operation: str, params: Any) -> Any:
            self.operations[operation] += 1
            start = time.perf_counter()
            try:
                return call(client, operation, params)
            finally:
                self.call_seconds += time.perf_counter() - start

        def timed_answer(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return answer(stubber, event_name, request, **kwargs)
            finally:
                self.fake_seconds += time.perf_counter() - start

        BaseClient._make_api_call = timed_call  # type: ignore[attr-defined]
        BotocoreStubber.__call__ = timed_answer  # type: ignore[method-assign,assignment]


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def _warm_child(requests: int) -> None:
    """In-process: the real handler per sender, and the minimal baseline handler."""
    import logging
    import resource

    os.environ.update(
        {
            "POWERTOOLS_SERVICE_NAME": "bookhook",
            "POWERTOOLS_METRICS_NAMESPACE": "BookingWebhooks",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": defaults.REGION,
            "AWS_LAMBDA_FUNCTION_NAME": "bookhook-bench",
        }
    )
    logging.disable(logging.INFO)
    import boto3
    import urllib3
    from moto import mock_aws

    from bookhook.sources.stripe import signature_header
    from bookhook.sources.typeform import expected_signature
    from bookhook_dev.testing.bizkithub_stand_in import BizKitHubStandIn, RateLimit
    from bookhook_dev.testing.lambda_emulation import LocalLambdaContext, provision

    aws_calls = AwsCallClock()
    aws_calls.install()
    events = {path.name: json.loads(path.read_text()) for path in sorted((ROOT / "events").glob("*.json"))}
    with mock_aws(), BizKitHubStandIn() as stand_in:
        # Rate-limit headers on every answer, with room to spare: pacing reads them and, with no
        # pressure, must cost no AWS call (the per-request counts below show it).
        stand_in.set_rate_limit(RateLimit(limit=10_000_000, burst=1_000_000))
        resources = provision(boto3.client("secretsmanager"), boto3.client("dynamodb"), boto3.client("sqs"))
        os.environ.update(
            BOOKING_SECRET_ARN=resources.secret_arn,
            IDEMPOTENCY_TABLE_NAME=resources.table_name,
            BIZKITHUB_BASE_URL=stand_in.base_url,
            DELIVERY_QUEUE_URL=resources.delivery_queue_url,
        )
        harness_rss_mb = _current_rss_mb()  # moto, the stand-in and this script, before the handler
        from bookhook.handlers.webhook import lambda_handler

        def fresh(name: str, n: int) -> dict[str, Any]:
            """The sample with a new booking each time (so every request is a real delivery)."""
            event = copy.deepcopy(events[name])
            body = json.loads(event["body"])
            if name.startswith("zapier"):
                body["title"] = f"Bench {n}"
                event["headers"]["idempotency-key"] = f"bench-{n}"
                raw = json.dumps(body).encode()
                event["headers"]["idempotency-key"] = f"bench-{n}"
            elif name.startswith("typeform"):
                body["form_response"]["token"] = f"bench{n:030d}"
                raw = json.dumps(body).encode()
                event["headers"]["typeform-signature"] = expected_signature(defaults.TYPEFORM_SECRET, raw)
            else:
                body["data"]["object"]["payment_intent"] = f"pi_bench{n}"
                raw = json.dumps(body).encode()
                event["headers"]["stripe-signature"] = signature_header(
                    raw, defaults.STRIPE_SECRET, int(time.time())
                )
            event["body"], event["isBase64Encoded"] = raw.decode(), False
            prepared: dict[str, Any] = event
            return prepared

        senders = {
            "zapier": "zapier-json.json",
            "typeform": "typeform-booking.json",
            "stripe": "stripe-checkout-paid.json",
        }
        lambda_handler(
            fresh(senders["zapier"], -1), LocalLambdaContext()
        )  # the first request builds the services
        results: dict[str, Any] = {}
        for sender, sample in senders.items():
            prepared = [fresh(sample, n) for n in range(requests)]
            timings, without_fake, aws_client = [], [], []
            operations_before = aws_calls.operations.copy()
            for event in prepared:
                fake_before, calls_before = aws_calls.fake_seconds, aws_calls.call_seconds
                start = time.perf_counter()
                response = lambda_handler(event, LocalLambdaContext())
                elapsed = time.perf_counter() - start
                fake = aws_calls.fake_seconds - fake_before
                timings.append(elapsed)
                without_fake.append(elapsed - fake)
                aws_client.append(aws_calls.call_seconds - calls_before - fake)
                if response["statusCode"] != 200:
                    raise RuntimeError(f"{sender}: {response['statusCode']} {response['body']}")
            results[sender] = _percentiles(timings) | {
                "without_aws_fake_p50_ms": statistics.median(without_fake) * 1000,
                "aws_client_p50_ms": statistics.median(aws_client) * 1000,
                "aws_calls_per_request": {
                    operation: count / requests
                    for operation, count in sorted((aws_calls.operations - operations_before).items())
                },
            }

        pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=8))
        url = f"{stand_in.base_url}/api/v1/calendar/add-event"
        sample_event = stand_in.accepted_events[0]
        secret = defaults.ZAPIER_TOKEN.encode()
        timings = []
        for n in range(requests):
            body = json.dumps({"event": sample_event | {"title": f"Baseline {n}"}}).encode()
            signature = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
            start = time.perf_counter()
            json.loads(body)
            hmac.compare_digest(signature, base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()))
            response = pool.request(
                "POST",
                url,
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {defaults.BIZKITHUB_API_KEY}",
                },
            )
            timings.append(time.perf_counter() - start)
            if response.status != 200:
                raise RuntimeError(f"baseline: {response.status}")
        results["baseline"] = _percentiles(timings)
        results["handler_requests"] = requests * len(senders) + 1
        results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        results["harness_rss_mb"] = harness_rss_mb
        results["handler_rss_mb"] = _current_rss_mb() - harness_rss_mb
    print(json.dumps(results))


def configure(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """`bookhook bench`'s options."""
    count, seconds = cli.positive(int), cli.positive(float)
    parser.add_argument(
        "--runs",
        type=count,
        default=15,
        help="fresh interpreters per cold-start figure, the median kept (default 15)",
    )
    parser.add_argument("--requests", type=count, default=334, help="warm requests per sender (default 334)")
    parser.add_argument(
        "--runtime-python",
        default=sys.executable,
        metavar="PYTHON",
        help="the Lambda runtime's Python (3.12), which builds and starts the package (default: this one)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "bench-results.json",
        metavar="FILE",
        help="where the figures go, as JSON (default bench-results.json)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=ROOT / "build" / "bench",
        metavar="DIR",
        help="where the packages are built (default build/bench)",
    )
    parser.add_argument(
        "--no-dependencies", action="store_true", help="package our code only (the tests' shortcut)"
    )
    parser.add_argument(
        "--burst-bookings", type=count, default=600, help="bookings in the burst (default 600)"
    )
    parser.add_argument(
        "--burst-seconds", type=seconds, default=10.0, help="the burst arrives within (default 10)"
    )
    parser.add_argument("--burst-senders", type=count, default=8, help="concurrent senders (default 8)")
    parser.add_argument("--no-burst", action="store_true", help="skip the burst scenario")
    parser.add_argument("--warm-child", type=int, help=argparse.SUPPRESS)
    return run


def main(argv: list[str]) -> int:
    """`bookhook bench ARGV…`."""
    args, _ = cli.parse(["bench", *argv])
    return run(args)


def run(args: argparse.Namespace) -> int:
    if args.warm_child is not None:
        _warm_child(args.warm_child)
        return 0

    if shutil.which(args.runtime_python) is None:
        raise cli.CommandError(f"--runtime-python {args.runtime_python}: no such Python")
    dev_path = [FUNCTION_SOURCE, ROOT / "src", site_packages(sys.executable)]
    step("cold start, baseline…")
    baseline_cold, _ = cold_start(sys.executable, _BASELINE_COLD, dev_path, args.runs)
    step("cold start, webhook handler…")
    handler_import, handler_ready = cold_start(sys.executable, _HANDLER_COLD, dev_path, args.runs)
    step("cold start, delivery worker…")
    worker_import, worker_ready = cold_start(sys.executable, _WORKER_COLD, dev_path, args.runs)
    cold = {
        "baseline (import boto3, pydantic, urllib3)": baseline_cold,
        "webhook handler import": handler_import,
        "webhook handler import + first-request set-up": handler_ready,
        "delivery worker import": worker_import,
        "delivery worker import + first-request set-up": worker_ready,
    }
    step("building the packages…")
    plain, built = build_packages(
        args.runtime_python, args.work_dir, with_dependencies=not args.no_dependencies
    )
    runtime_libs = site_packages(args.runtime_python)  # boto3 & co, as the Lambda runtime provides them
    step("cold start from the packages…")
    package = {
        name: cold_start(args.runtime_python, _HANDLER_COLD, [path, runtime_libs], args.runs)[1]
        for name, path in (("as sam build leaves it", plain), ("after make build", built))
    }
    step("the phone library…")
    phones = phone_library(args.runtime_python, dev_path, built, runtime_libs, args.runs)
    step(f"warm requests ({args.requests} per sender)…")
    warm_results = warm(args.requests)
    burst_results = None
    if not args.no_burst:
        config = burst.BurstConfig(
            bookings=args.burst_bookings, seconds=args.burst_seconds, senders=args.burst_senders
        )
        burst_results = burst.run_burst(config, progress=lambda what: step(f"burst, {what}"))
    results = {
        "cold_start_seconds": cold,
        "cold_start_ratio_handler_to_baseline": handler_import / baseline_cold,
        "cold_start_ratio_handler_with_setup_to_baseline": handler_ready / baseline_cold,
        "cold_start_ratio_worker_to_baseline": worker_import / baseline_cold,
        "package_cold_start_seconds": package,
        "package_speedup": package["as sam build leaves it"] / package["after make build"],
        "package_zipped_bytes": zipped_size(built),
        "phone_library": phones,
        "phone_import_share_of_baseline": phones["import_and_first_parse_seconds"] / baseline_cold,
        "warm": warm_results,
        "warm_p50_ratio_to_baseline": {
            sender: warm_results[sender]["p50_ms"] / warm_results["baseline"]["p50_ms"]
            for sender in ("zapier", "typeform", "stripe")
        },
        "warm_p50_ratio_without_aws_fake_to_baseline": {
            sender: warm_results[sender]["without_aws_fake_p50_ms"] / warm_results["baseline"]["p50_ms"]
            for sender in ("zapier", "typeform", "stripe")
        },
        "runs": args.runs,
        "requests_per_sender": args.requests,
        "python": sys.version.split()[0],
        "runtime_python": args.runtime_python,
    }
    if burst_results is not None:
        results["burst"] = burst_results
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(_table(results))
    if burst_results is not None:
        print()
        print(burst.table(burst_results))
    print(f"\nwritten to {args.output}")
    return 0


def _table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    for name, seconds in results["cold_start_seconds"].items():
        rows.append((f"cold start, {name}", f"{seconds * 1000:.0f} ms"))
    for label, key in (
        ("  ratio handler import / baseline (budget <= 1.3)", "cold_start_ratio_handler_to_baseline"),
        ("  ratio handler import + set-up / baseline", "cold_start_ratio_handler_with_setup_to_baseline"),
        ("  ratio worker import / baseline", "cold_start_ratio_worker_to_baseline"),
    ):
        rows.append((label, f"{results[key]:.2f}"))
    for name, seconds in results["package_cold_start_seconds"].items():
        rows.append((f"cold start from the package, {name}", f"{seconds * 1000:.0f} ms"))
    rows.append(("  speed-up of make build (budget >= 2)", f"{results['package_speedup']:.2f}"))
    for sender in ("zapier", "typeform", "stripe", "baseline"):
        figures = results["warm"][sender]
        rows.append((f"warm {sender} p50 / p99", f"{figures['p50_ms']:.2f} / {figures['p99_ms']:.2f} ms"))
    for sender, ratio in results["warm_p50_ratio_to_baseline"].items():
        rows.append((f"  warm p50 ratio {sender} / baseline (budget <= 1.5)", f"{ratio:.2f}"))
    for sender, ratio in results["warm_p50_ratio_without_aws_fake_to_baseline"].items():
        p50 = results["warm"][sender]["without_aws_fake_p50_ms"]
        rows.append((f"  warm {sender} p50 less moto's own time, ratio", f"{p50:.2f} ms, {ratio:.2f}"))
    for sender in ("zapier", "typeform", "stripe"):
        client = results["warm"][sender]["aws_client_p50_ms"]
        rows.append((f"    of which the AWS client (botocore), {sender} p50", f"{client:.2f} ms"))
    for sender in ("zapier", "typeform", "stripe"):
        calls = results["warm"][sender]["aws_calls_per_request"]
        text = ", ".join(f"{operation} {count:g}" for operation, count in calls.items())
        rows.append((f"  AWS calls per request (pacing on, no pressure), {sender}", text))
    warm = results["warm"]
    rows.append(
        (
            f"peak RSS after {warm['handler_requests']} requests (whole process)",
            f"{warm['peak_rss_mb']:.0f} MB",
        )
    )
    rows.append(("  of which moto, the stand-in and the bench harness", f"{warm['harness_rss_mb']:.0f} MB"))
    rows.append(
        ("  of which the handler (imports, clients, 1,000 requests)", f"{warm['handler_rss_mb']:.0f} MB")
    )
    rows.append(("deployment package, zipped", f"{results['package_zipped_bytes'] / 1e6:.1f} MB"))
    phones = results["phone_library"]
    rows.append(
        (f"phone library {phones['distribution']}, installed", f"{phones['installed_bytes'] / 1e6:.1f} MB")
    )
    if "package_bytes_with_bytecode" in phones:
        rows.append(
            ("  in the package, with bytecode", f"{phones['package_bytes_with_bytecode'] / 1e6:.1f} MB")
        )
    rows.append(("  cold start, import", f"{phones['import_seconds'] * 1000:.1f} ms"))
    rows.append(
        (
            "  cold start, import + first parse / baseline",
            f"{phones['import_and_first_parse_seconds'] * 1000:.1f} ms, "
            f"{results['phone_import_share_of_baseline']:.2f}",
        )
    )
    if "package_import_and_first_parse_seconds" in phones:
        seconds = phones["package_import_and_first_parse_seconds"]
        rows.append(("  from the package after make build, import + first parse", f"{seconds * 1000:.1f} ms"))
    return "\n".join(
        [f"{'measure':58} {'value':>16}", "-" * 75] + [f"{label:58} {value:>16}" for label, value in rows]
    )


if __name__ == "__main__":
    raise SystemExit(cli.main(["bench", *sys.argv[1:]]))
