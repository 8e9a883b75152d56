"""`bookhook samples`: the sample events in `events/`.

- `resign FILE…`: Stripe signs a timestamp the function accepts for 300 s only, so a stored Stripe
  sample goes stale; this signs copies afresh with the local secret (`defaults.STRIPE_SECRET`) for
  `sam local invoke -e`. The copies go to a new temporary folder, or to stdout (`--stdout`, one
  file); the files themselves are rewritten only with `--in-place`, as the signatures in `events/`
  are otherwise what `write` made (a test holds them to it).
- `write [DIR]`: write the Typeform and Stripe samples again from `typeform_samples` and
  `stripe_samples` (after changing a sample).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bookhook_dev.testing.template import TEMPLATE_PATH
from bookhook_dev.tools import cli, stripe_samples, typeform_samples
from bookhook_dev.tools.event_files import read_event_file

EVENTS_DIR = TEMPLATE_PATH.parent / "events"


def configure(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """`bookhook samples resign|write`."""
    commands = parser.add_subparsers(dest="samples_command", metavar="SUBCOMMAND", required=True)
    resign = commands.add_parser(
        "resign",
        help="sign Stripe event files afresh, into copies (sam local invoke accepts them for 300 s)",
        description="Sign Stripe event files afresh with the local signing secret. By default the "
        "copies go to a new temporary folder, whose path is printed; the files are left as they are.",
    )
    resign.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="an API Gateway event file of a Stripe webhook"
    )
    where = resign.add_mutually_exclusive_group()
    where.add_argument("--stdout", action="store_true", help="print the re-signed event (one FILE) as JSON")
    where.add_argument(
        "--in-place", action="store_true", help="rewrite the files themselves (git shows them changed)"
    )
    write = commands.add_parser(
        "write",
        help="write the Typeform and Stripe samples again",
        description="Write the Typeform and Stripe sample events from typeform_samples and stripe_samples.",
    )
    write.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=EVENTS_DIR,
        metavar="DIR",
        help="where to write them (default: the project's events/)",
    )

    def run(args: argparse.Namespace) -> int:
        if args.samples_command == "write":
            return run_write(args)
        if args.stdout and len(args.files) != 1:
            resign.error("--stdout takes one FILE")
        return run_resign(args)

    return run


def _event_text(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


def run_resign(args: argparse.Namespace) -> int:
    files: list[Path] = args.files
    events = {path: read_event_file(path) for path in files}  # every file checked before any is written
    for path, event in events.items():
        if not stripe_samples.has_stripe_signature(event):
            raise cli.CommandError(f"{path}: no Stripe-Signature header: not a Stripe webhook event")
    resigned = {path: _event_text(stripe_samples.resign_event(event)) for path, event in events.items()}
    if args.stdout:
        [text] = resigned.values()
        sys.stdout.write(text)
        return 0
    if args.in_place:
        targets = {path: path for path in files}
    else:
        if len({path.name for path in files}) != len(files):
            raise cli.CommandError("two FILEs share a name: re-sign them one folder at a time")
        folder = Path(tempfile.mkdtemp(prefix="bookhook-resigned-"))
        targets = {path: folder / path.name for path in files}
    for path, text in resigned.items():
        targets[path].write_text(text, encoding="utf-8")
        print(f"re-signed {path}" + ("" if args.in_place else f" -> {targets[path]}"))
    if not args.in_place:
        print(f"valid for 300 s; e.g. sam local invoke WebhookFunction -e {targets[files[0]]}")
    return 0


def run_write(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    if not directory.is_dir():
        raise cli.CommandError(f"{directory}: no such folder")
    for path in [*typeform_samples.write_samples(directory), *stripe_samples.write_samples(directory)]:
        print(f"wrote {path}")
    return 0
