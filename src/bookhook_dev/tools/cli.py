"""`bookhook`: the developer's command (run locally, invoke, check rules, replay, samples, build, bench).

Each subcommand's options and code live in its module (`local_runner`, `typeform_check`, …), which
is imported only when that subcommand runs: `bookhook --help` starts no AWS library, and
`bookhook build-package` stays standard-library only, as the Lambda runtime's Python runs it.
Each command module's `python -m bookhook_dev.<package>.<module>` (for samples: `tools.stripe_samples`
or `tools.typeform_samples`) runs the same code through `main()` here.

Errors a user can fix are one line on stderr: 2 for a usage error, 1 otherwise (`CommandError`);
Ctrl-C is one line and 130, as a shell reports a command ended by SIGINT.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn, TypeVar

PROG = "bookhook"

Number = TypeVar("Number", int, float)
Runner = Callable[[argparse.Namespace], int]
# Adds a subcommand's options to its parser and returns the code that runs it.
Configure = Callable[[argparse.ArgumentParser], Runner]


class CommandError(Exception):
    """A problem the user can fix (a missing file, a bad value): printed as one line, no traceback."""

    def __init__(self, message: str, *, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line that says where the help is (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def positive(kind: Callable[[str], Number]) -> Callable[[str], Number]:
    """An argparse type: a number of `kind` (int, float) above 0, else a usage error saying so."""

    def convert(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0:  # not `value <= 0`: NaN is neither
            raise argparse.ArgumentTypeError(f"not a number above 0: {text!r}")
        return value

    return convert


@dataclass(frozen=True)
class Command:
    help: str
    module: str
    configure: str  # the function in `module` (a Configure)


COMMANDS = {
    "run": Command(
        "the webhook locally: send the samples in events/, show the results, then serve",
        "bookhook_dev.tools.local_runner",
        "configure_run",
    ),
    "serve": Command(
        "serve the template's routes on 127.0.0.1 until Ctrl-C",
        "bookhook_dev.tools.local_runner",
        "configure_serve",
    ),
    "invoke": Command(
        "invoke the webhook function with API Gateway event files (like sam local invoke -e)",
        "bookhook_dev.tools.local_runner",
        "configure_invoke",
    ),
    "check": Command(
        "check Typeform booking rules and dry-run payloads through them",
        "bookhook_dev.tools.typeform_check",
        "configure",
    ),
    "replay": Command(
        "send dead-lettered bookings back to the delivery queue (real AWS)",
        "bookhook_dev.tools.replay",
        "configure",
    ),
    "samples": Command(
        "the sample events in events/: re-sign the Stripe ones, or write them all again",
        "bookhook_dev.tools.sample_files",
        "configure",
    ),
    "build-package": Command(
        "prune a sam build output and precompile it (run with the runtime's Python)",
        "bookhook_dev.build.build_package",
        "configure",
    ),
    "bench": Command(
        "measure cold start, warm cost, memory, package size and a rate-limited burst",
        "bookhook_dev.build.bench",
        "configure",
    ),
    "burst": Command(
        "only the burst against BizKitHub's rate limit, with pacing on and off",
        "bookhook_dev.build.burst",
        "configure",
    ),
}


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in `argv`: the top level has no options taking a value, so it is the
    first word that is not an option."""
    return next((word for word in argv if not word.startswith("-")), None)


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, Runner]:
    """`argv` parsed as `bookhook` would (SystemExit on a usage error or --help), with the code to run."""
    parser = Parser(prog=PROG, description="The webhook receiver's developer tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    runner: Runner | None = None
    chosen = _chosen(argv)
    for name, command in COMMANDS.items():
        description = command.help[0].upper() + command.help[1:] + "."
        subparser = commands.add_parser(name, help=command.help, description=description)
        if name == chosen:
            # Only the chosen one is configured: each imports its module, some of them heavy.
            configure: Configure = getattr(importlib.import_module(command.module), command.configure)
            runner = configure(subparser)
    args = parser.parse_args(argv)
    assert runner is not None  # parse_args exits unless a known subcommand was named
    return args, runner


def main(argv: Sequence[str] | None = None) -> int:
    """The `bookhook` console script: the exit status of the subcommand."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    chosen = _chosen(arguments)
    prog = f"{PROG} {chosen}" if chosen in COMMANDS else PROG
    try:
        args, runner = parse(arguments)
        return runner(args)
    except CommandError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        # Cleanup ran on the way out (each command's `with` blocks); a traceback would say nothing.
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`bookhook … | head`): nothing left to say, not even at exit's flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    # Through the module the others import: run as __main__, this file's CommandError is another class.
    from bookhook_dev.tools import cli

    raise SystemExit(cli.main())
