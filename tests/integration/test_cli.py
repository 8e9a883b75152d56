"""The `bookhook` command: help for every subcommand, one-line errors, Ctrl-C, the samples' files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bookhook_dev.tools import cli
from tests.integration.conftest import ROOT, bookhook_env, run_bookhook

STRIPE_EVENTS = sorted((ROOT / "events").glob("stripe-*.json"))

# Each subcommand's options, as a user reads them in its --help.
OPTIONS = {
    "run": ["--port", "--no-serve", "--real-aws", "--bizkithub-url", "--log-level"],
    "serve": ["--port", "--real-aws", "--bizkithub-url", "--log-level"],
    "invoke": ["FILE", "--real-aws", "--bizkithub-url", "--log-level"],
    "check": ["--rules", "PAYLOAD"],
    "replay": ["--dead-letter-queue-url", "--delivery-queue-url", "--message-id", "--rules"],
    "samples": ["resign", "write"],
    "build-package": ["BUILD_DIR"],
    "bench": [
        "--runs",
        "--requests",
        "--runtime-python",
        "--output",
        "--work-dir",
        "--no-dependencies",
        "--burst-bookings",
        "--burst-seconds",
        "--burst-senders",
        "--no-burst",
    ],
    "burst": ["--bookings", "--seconds", "--senders", "--arrivals", "--plan", "--pacing", "--json"],
}


def test_every_command_is_tested() -> None:
    assert set(OPTIONS) == set(cli.COMMANDS)


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_help_of_each_subcommand_describes_each_option(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])

    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: bookhook {command} ")
    for option in OPTIONS[command]:
        assert option in shown, option
    assert "%(default)" not in shown


@pytest.mark.parametrize("subcommand", ["resign", "write"])
def test_help_of_the_samples_subcommands(subcommand: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["samples", subcommand, "--help"])

    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    for option in {"resign": ["FILE", "--stdout", "--in-place"], "write": ["DIR"]}[subcommand]:
        assert option in shown, option


def test_the_console_script_is_installed_beside_this_python() -> None:
    script = Path(sys.executable).parent / "bookhook"
    assert script.exists(), "make installs the project (editable) into the venv"
    run = subprocess.run([script, "--help"], capture_output=True, text=True, check=False)  # noqa: S603
    assert run.returncode == 0, run.stderr
    assert all(command in run.stdout for command in cli.COMMANDS)


@pytest.mark.parametrize(
    ("module", "first_line"),
    [
        ("bookhook_dev.build.build_package", "usage: bookhook build-package"),
        ("bookhook_dev.tools.stripe_samples", "usage: bookhook samples"),
        ("bookhook_dev.tools.typeform_samples", "usage: bookhook samples"),
        ("bookhook_dev.tools.typeform_check", "usage: bookhook check"),
        ("bookhook_dev.tools.local_runner", "usage: bookhook"),
    ],
)
def test_the_old_module_entry_points_run_the_same_commands(module: str, first_line: str) -> None:
    run = subprocess.run(  # noqa: S603 - our own modules
        [sys.executable, "-m", module, "--help"],
        env=bookhook_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(first_line)


def _one_line_error(run: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_invoke_names_the_file_and_its_problem_in_one_line(tmp_path: Path) -> None:
    not_json = tmp_path / "not-json.json"
    not_json.write_text("{oops", encoding="utf-8")
    not_an_event = tmp_path / "booking.json"
    not_an_event.write_text(json.dumps({"calendarId": "x", "title": "a booking body"}), encoding="utf-8")
    rest_event = tmp_path / "rest.json"
    rest_event.write_text(json.dumps({"httpMethod": "POST", "path": "/webhooks/zapier"}), encoding="utf-8")

    cases = {
        tmp_path / "missing.json": "no such file",
        not_json: "not JSON: Expecting property name enclosed in double quotes (line 1, column 2)",
        not_an_event: "not an API Gateway HTTP API event",
        rest_event: "an API Gateway REST API (payload 1.0) event",
    }
    for path, problem in cases.items():
        # A good file first: every file is read before the stack starts, so nothing is sent.
        run = run_bookhook("invoke", "events/zapier-json.json", str(path))

        assert run.returncode == 1, run.stdout
        assert _one_line_error(run).startswith(f"bookhook invoke: {path}: {problem}")
        assert run.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invoke"], "bookhook invoke: the following arguments are required: FILE"),
        (["run", "--port", "http"], "bookhook run: argument --port: not a port number"),
        (["serve", "--bizkithub-url", "localhost:8080"], "bookhook serve: argument --bizkithub-url: not an"),
        (["bench", "--runs", "0"], "bookhook bench: argument --runs: not a number above 0"),
        (
            ["samples", "resign", "--stdout", "a.json", "b.json"],
            "bookhook samples resign: --stdout takes one",
        ),
        (["nonsense"], "bookhook: argument COMMAND: invalid choice: 'nonsense'"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(args)

    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(message), line
    assert line.endswith("--help)")


def test_replay_without_aws_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["replay"])

    assert code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert (
        line == "bookhook replay: give --dead-letter-queue-url and --delivery-queue-url (the stack's outputs)"
    )


def test_samples_resign_writes_copies_and_leaves_the_files_alone(capsys: pytest.CaptureFixture[str]) -> None:
    before = {path: path.read_bytes() for path in STRIPE_EVENTS}

    assert cli.main(["samples", "resign", *map(str, STRIPE_EVENTS)]) == 0

    assert {path: path.read_bytes() for path in STRIPE_EVENTS} == before
    shown = capsys.readouterr().out.splitlines()
    copies = [Path(line.rsplit(" -> ", 1)[1]) for line in shown if " -> " in line]
    assert [copy.name for copy in copies] == [path.name for path in STRIPE_EVENTS]
    [folder] = {copy.parent for copy in copies}
    assert str(folder) in shown[-1]
    try:
        for original, copy in zip(STRIPE_EVENTS, copies, strict=True):
            stored, fresh = json.loads(original.read_bytes()), json.loads(copy.read_bytes())
            assert fresh["headers"].pop("stripe-signature") != stored["headers"].pop("stripe-signature")
            assert fresh == stored  # only the signature changed
    finally:
        shutil.rmtree(folder)


def test_samples_resign_to_stdout_prints_the_event_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    path = STRIPE_EVENTS[0]
    before = path.read_bytes()

    assert cli.main(["samples", "resign", "--stdout", str(path)]) == 0

    event = json.loads(capsys.readouterr().out)
    timestamp = int(event["headers"]["stripe-signature"].split(",")[0].removeprefix("t="))
    assert abs(timestamp - time.time()) < 60
    assert path.read_bytes() == before


def test_samples_resign_in_place_rewrites_only_the_signature(tmp_path: Path) -> None:
    path = tmp_path / STRIPE_EVENTS[0].name
    shutil.copy(STRIPE_EVENTS[0], path)

    assert cli.main(["samples", "resign", "--in-place", str(path)]) == 0

    stored, fresh = json.loads(STRIPE_EVENTS[0].read_bytes()), json.loads(path.read_bytes())
    assert fresh["headers"].pop("stripe-signature") != stored["headers"].pop("stripe-signature")
    assert fresh == stored


def test_samples_resign_refuses_a_file_that_is_not_a_stripe_event(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["samples", "resign", str(ROOT / "events" / "zapier-json.json")]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith("zapier-json.json: no Stripe-Signature header: not a Stripe webhook event")


def test_samples_write_writes_what_events_holds(tmp_path: Path) -> None:
    assert cli.main(["samples", "write", str(tmp_path)]) == 0

    written = sorted(tmp_path.iterdir())
    assert written
    for path in written:
        assert path.read_bytes() == (ROOT / "events" / path.name).read_bytes(), path.name


def test_ctrl_c_during_run_exits_130_in_one_line() -> None:
    # As a terminal's Ctrl-C does: SIGINT to the whole process group (the containers too).
    process = subprocess.Popen(
        [sys.executable, "-m", "bookhook_dev.tools.cli", "run", "--no-serve"],
        cwd=ROOT,
        env=bookhook_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        time.sleep(1.5)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines() == ["bookhook run: interrupted"]
