"""Check Typeform booking rules, and dry-run payloads through them.

    bookhook check [--rules FILE] [PAYLOAD ...]

Validates the rules file (default: the one deployed with the function) exactly as the function
does at start-up. Each PAYLOAD, a raw Typeform webhook body or an API Gateway event file such as
`events/typeform-booking.json`, is mapped without signature verification, and the exact add-event
body that would be sent to BizKitHub is printed, or the error with the field it concerns. An answer
whose ref cannot be resolved (neither its `field.ref` nor `definition.fields` names one) is reported
as a warning: rules can then address it only by its field id.
Exit status: 0 when the rules and every payload are fine (warnings included), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bookhook.errors import WebhookError
from bookhook.request import WebhookRequest
from bookhook.settings import FUNCTION_ROOT, MappingSettings
from bookhook.sources import Ignored, parse_json_body
from bookhook.sources.typeform import read_booking
from bookhook.sources.typeform.mapping import unresolved_answers
from bookhook.sources.typeform.payload import TypeformWebhook
from bookhook.sources.typeform.rules import BookingRules, RulesError, load_rules
from bookhook_dev.tools import cli


def _request_from_file(path: Path) -> WebhookRequest:
    document: Any = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(document, dict) and document.get("version") == "2.0" and "body" in document:
        return WebhookRequest.from_http_api_event(document, max_body_bytes=10 * 1024 * 1024)
    return WebhookRequest(body=path.read_bytes(), headers={"content-type": "application/json"})


def report_unresolved_refs(path: Path, request: WebhookRequest, out: TextIO) -> None:
    """Warn of each answer whose ref is neither on the answer nor in the form definition."""
    try:
        webhook = parse_json_body(request, TypeformWebhook, sender="Typeform", what="Typeform webhook")
    except WebhookError:
        return  # read_booking reports it
    response = webhook.form_response
    if response is None:
        return
    for position, answer in unresolved_answers(response):
        print(
            f"{path}: warning: answer #{position} (field id {answer.field.id}, type {answer.field.type})"
            " has no ref: neither field.ref nor definition.fields names one; rules can address it"
            " only by its field id",
            file=out,
        )


def check_payload(path: Path, rules: BookingRules, out: TextIO) -> bool:
    try:
        request = _request_from_file(path)
        report_unresolved_refs(path, request, out)
        result = read_booking(request, rules)
    except (OSError, ValueError) as error:
        print(f"{path}: cannot be read: {error}", file=out)
        return False
    except WebhookError as error:
        where = f" (field {error.field})" if error.field else ""
        print(f"{path}: {error.status} {error.code}{where}: {error.message}", file=out)
        return False
    if isinstance(result, Ignored):
        print(f"{path}: ignored: {result.reason}", file=out)
        return True
    print(f"{path}: booking key {result.key}; add-event body:", file=out)
    print(json.dumps(result.event.request_body(), indent=2, ensure_ascii=False), file=out)
    return True


def configure(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """`bookhook check`'s options."""
    default_rules = FUNCTION_ROOT / MappingSettings.model_fields["typeform_rules_file"].default
    parser.add_argument(
        "--rules",
        type=Path,
        default=default_rules,
        metavar="FILE",
        help="the rules file to check (default: the deployed one, src/function/typeform_rules.toml)",
    )
    parser.add_argument(
        "payloads",
        nargs="*",
        type=Path,
        metavar="PAYLOAD",
        help="a raw Typeform webhook body (e.g. from Typeform's View deliveries) or an API Gateway "
        "event file such as events/typeform-booking.json, mapped without checking its signature",
    )
    return run


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        rules = load_rules(args.rules)
    except RulesError as error:
        print(f"rules: {error}", file=out)
        return 1
    print(f"rules: {args.rules}: OK, forms {', '.join(sorted(rules.forms)) or '(none)'}", file=out)
    results = [check_payload(path, rules, out) for path in args.payloads]
    return 0 if all(results) else 1


def main(argv: list[str], out: TextIO = sys.stdout) -> int:
    """`bookhook check ARGV…`, its report written to `out`."""
    args, _ = cli.parse(["check", *argv])
    return run(args, out)


if __name__ == "__main__":
    raise SystemExit(cli.main(["check", *sys.argv[1:]]))
