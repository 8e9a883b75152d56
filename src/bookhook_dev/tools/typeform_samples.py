"""A realistic Typeform booking response, for sample events, tests and the benchmark.

The form ("Book a training", id GymB00k1) matches the rules in src/function/typeform_rules.toml:
a date question, a time dropdown, name, email and phone, a hidden `branch`, and answers of every
other documented type that the rules do not use.

Two shapes of it:
- `booking_response()`: as real deliveries usually come, each answer carrying `field.ref`;
- `documented_shape_response()`: the same booking shaped like Typeform's published example payload
  (https://www.typeform.com/developers/webhooks/example-payload/): answers carry only
  `field: {id, type}`, the refs are in `definition.fields`.

The Typeform files in `events/` are written (and signed with `bookhook_dev.testing.defaults.TYPEFORM_SECRET`)
by this module; a test holds them to it. After changing a sample, rewrite them:

    .venv/bin/bookhook samples write
"""

from __future__ import annotations

import base64
import copy
import json
import sys
from pathlib import Path
from typing import Any

from bookhook.sources.typeform import expected_signature
from bookhook_dev.testing import defaults
from bookhook_dev.tools import cli

FORM_ID = "GymB00k1"

_FIELDS = [
    ("q_date", "booking_date", "date", "Which day?"),
    ("q_time", "booking_time", "dropdown", "What time?"),
    ("q_name", "name", "short_text", "Your name"),
    ("q_email", "email", "email", "Your email"),
    ("q_phone", "phone", "phone_number", "Your phone"),
    ("q_goals", "goals", "multiple_choice", "Your goals"),
    ("q_level", "experience", "multiple_choice", "Experience"),
    ("q_notes", "notes", "long_text", "Anything else?"),
    ("q_age", "age", "number", "Your age"),
    ("q_news", "newsletter", "yes_no", "Newsletter?"),
    ("q_site", "website", "website", "Your website"),
    ("q_file", "medical_note", "file_upload", "Medical note"),
    ("q_pay", "deposit", "payment", "Deposit"),
    ("q_rate", "rating", "rating", "How did you hear of us?"),
]


def _answer(ref: str, answer_type: str, value: Any) -> dict[str, Any]:
    field_id, _, field_type, _ = next(f for f in _FIELDS if f[1] == ref)
    return {
        "type": answer_type,
        answer_type: value,
        "field": {"id": field_id, "type": field_type, "ref": ref},
    }


_RESPONSE: dict[str, Any] = {
    "event_id": "01JDXKQ3M4ZV6P9W2R8T5Y7B1C",
    "event_type": "form_response",
    "form_response": {
        "form_id": FORM_ID,
        "token": "a3a12ec67a1365927098a606107fac15",
        "landed_at": "2026-11-24T09:58:12Z",
        "submitted_at": "2026-11-24T10:01:47Z",
        "hidden": {"branch": "Vinohrady"},
        "calculated": {"score": 0},
        "variables": [
            {"key": "score", "type": "number", "number": 0},
            {"key": "plan", "type": "text", "text": "trial"},
        ],
        "definition": {
            "id": FORM_ID,
            "title": "Book a training",
            "fields": [
                {"id": fid, "ref": ref, "type": ftype, "title": title, "properties": {}}
                for fid, ref, ftype, title in _FIELDS
            ],
            "endings": [{"id": "end1", "ref": "thanks", "title": "See you!", "type": "thankyou_screen"}],
        },
        "answers": [
            _answer("booking_date", "date", "2026-12-03"),
            _answer("booking_time", "choice", {"id": "t1030", "label": "10:30", "ref": "slot_1030"}),
            _answer("name", "text", "Jan Barášek"),
            _answer("email", "email", "jan@barasek.com"),
            _answer("phone", "phone_number", "+420777123456"),
            _answer(
                "goals",
                "choices",
                {"ids": ["g1", "g2"], "labels": ["Strength", "Mobility"], "refs": ["s", "m"]},
            ),
            _answer("experience", "choice", {"id": "l2", "label": "Intermediate", "ref": "intermediate"}),
            _answer("notes", "text", "Knee surgery in 2024 – please go easy.\nThanks!"),
            _answer("age", "number", 34),
            _answer("newsletter", "boolean", False),
            _answer("website", "url", "https://barasek.example"),
            _answer("medical_note", "file_url", "https://api.typeform.com/responses/files/abc/note.pdf"),
            _answer(
                "deposit",
                "payment",
                {"amount": "200.00", "last4": "4242", "name": "Jan Barášek", "success": True},
            ),
            _answer("rating", "number", 5),
        ],
        "ending": {"id": "end1", "ref": "thanks"},
    },
}


def booking_response(**form_response_changes: Any) -> dict[str, Any]:
    """A fresh copy of the sample webhook body, with `form_response` keys replaced."""
    response = copy.deepcopy(_RESPONSE)
    response["form_response"].update(form_response_changes)
    return response


def answers_with(response: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Replace the value of answers by ref (None removes the answer, as a skipped question)."""
    kept = []
    for answer in response["form_response"]["answers"]:
        ref = answer["field"]["ref"]
        if ref in values:
            if values[ref] is None:
                continue
            answer = {**answer, answer["type"]: values[ref]}
        kept.append(answer)
    response["form_response"]["answers"] = kept
    return response


def body_bytes(response: dict[str, Any]) -> bytes:
    """As Typeform sends it: compact JSON, UTF-8."""
    return json.dumps(response, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- the same booking in the shape of Typeform's published example ---------------------------------

DOCUMENTED_SHAPE_TOKEN = "f1c9e8d7b6a5940312d3c4b5a6978e0f"

# Choice fields' options as the example's definition lists them for a choice question:
# https://www.typeform.com/developers/webhooks/example-payload/ ("choices": [{"id", "ref", "label"}]).
_DEFINITION_CHOICES: dict[str, list[dict[str, str]]] = {
    "booking_time": [
        {"id": "t0900", "ref": "slot_0900", "label": "09:00"},
        {"id": "t1030", "ref": "slot_1030", "label": "10:30"},
        {"id": "t1700", "ref": "slot_1700", "label": "17:00"},
    ],
    "goals": [
        {"id": "g1", "ref": "s", "label": "Strength"},
        {"id": "g2", "ref": "m", "label": "Mobility"},
        {"id": "g3", "ref": "w", "label": "Weight loss"},
    ],
    "experience": [
        {"id": "l1", "ref": "beginner", "label": "Beginner"},
        {"id": "l2", "ref": "intermediate", "label": "Intermediate"},
    ],
}


def _documented_definition_field(field_id: str, ref: str, field_type: str, title: str) -> dict[str, Any]:
    # Keys and order as in the example's `definition.fields`.
    field: dict[str, Any] = {"id": field_id, "title": title, "type": field_type, "ref": ref}
    choices = _DEFINITION_CHOICES.get(ref)
    field["allow_multiple_selections"] = ref == "goals"
    field["allow_other_choice"] = False
    if choices is not None:
        field["choices"] = choices
    return field


def _documented_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer as the published example gives it: `field: {id, type}` and no ref.

    Choice values as in the example too: a choice as `{"label"}`, choices as `{"labels"}`; a
    dropdown as a `text` answer, as the Responses API explanation shows one
    (https://www.typeform.com/developers/responses/JSON-response-explanation/).
    """
    answer_type = answer["type"]
    value = answer[answer_type]
    field = {"id": answer["field"]["id"], "type": answer["field"]["type"]}
    if field["type"] == "dropdown" and answer_type == "choice":
        answer_type, value = "text", value["label"]
    elif answer_type == "choice":
        value = {"label": value["label"]}
    elif answer_type == "choices":
        value = {"labels": value["labels"]}
    return {"type": answer_type, answer_type: value, "field": field}


def documented_shape_response(**form_response_changes: Any) -> dict[str, Any]:
    """The sample booking shaped like Typeform's published example payload, with its own token.

    https://www.typeform.com/developers/webhooks/example-payload/: answers carry `field: {id, type}`
    only; each field's ref is in `definition.fields`; `definition.endings` and `ending` as there.
    Under the shipped rules it books exactly what `booking_response()` books.
    """
    response = booking_response()
    response["event_id"] = "01JDXM7T2QH8V4N6R3K9W5P1ZD"
    form_response = response["form_response"]
    form_response["token"] = DOCUMENTED_SHAPE_TOKEN
    form_response["landed_at"] = "2026-11-24T10:11:30Z"
    form_response["submitted_at"] = "2026-11-24T10:14:04Z"
    form_response["definition"] = {
        "id": FORM_ID,
        "title": "Book a training",
        "fields": [_documented_definition_field(*field) for field in _FIELDS],
        "endings": [
            {
                "id": "end1",
                "ref": "thanks",
                "title": "See you!",
                "type": "thankyou_screen",
                "properties": {"show_button": False, "share_icons": False, "button_mode": "default_redirect"},
            }
        ],
    }
    form_response["answers"] = [_documented_answer(answer) for answer in form_response["answers"]]
    form_response.update(form_response_changes)
    return response


# --- the API Gateway events in events/ ------------------------------------------------------------

_API_ID = "abc123defg"
_DOMAIN = f"{_API_ID}.execute-api.{defaults.REGION}.amazonaws.com"
_TYPEFORM_IP = "3.248.61.112"


def api_gateway_event(
    body: bytes,
    *,
    request_id: str,
    time: str,
    time_epoch_ms: int,
    trace_id: str,
    encode_base64: bool = False,
    secret: str = defaults.TYPEFORM_SECRET,
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event of a signed Typeform delivery, as API Gateway builds one.

    A real HTTP API passes `application/json` as text; `encode_base64=True` makes the robustness
    case of a JSON body base64-encoded anyway (the function must accept either).
    """
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks/typeform",
        "rawPath": "/webhooks/typeform",
        "rawQueryString": "",
        "headers": {
            "accept": "*/*",
            "content-length": str(len(body)),
            "content-type": "application/json",
            "host": _DOMAIN,
            "typeform-signature": expected_signature(secret, body),
            "user-agent": "Typeform Webhooks",
            "x-amzn-trace-id": trace_id,
            "x-forwarded-for": _TYPEFORM_IP,
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": _API_ID,
            "domainName": _DOMAIN,
            "domainPrefix": _API_ID,
            "http": {
                "method": "POST",
                "path": "/webhooks/typeform",
                "protocol": "HTTP/1.1",
                "sourceIp": _TYPEFORM_IP,
                "userAgent": "Typeform Webhooks",
            },
            "requestId": request_id,
            "routeKey": "POST /webhooks/typeform",
            "stage": "$default",
            "time": time,
            "timeEpoch": time_epoch_ms,
        },
        "body": base64.b64encode(body).decode("ascii") if encode_base64 else body.decode("utf-8"),
        "isBase64Encoded": encode_base64,
    }


def sample_events() -> dict[str, dict[str, Any]]:
    """Every Typeform file in `events/`, by file name."""
    booking = body_bytes(booking_response())
    delivered_at, delivered_epoch_ms = "24/Nov/2026:10:01:48 +0000", 1795514508000
    trace = "Root=1-6744a1f0-4c1f6e2a5b7d8e9f0a1b2c3d"
    return {
        # The booking as Typeform delivers it and an HTTP API passes it on: JSON as text.
        "typeform-booking.json": api_gateway_event(
            booking,
            request_id="Jm3cXhw3FiAEMhQ=",
            time=delivered_at,
            time_epoch_ms=delivered_epoch_ms,
            trace_id=trace,
        ),
        # The same delivery with its JSON body base64-encoded. A real HTTP API does not do this
        # for application/json (it passes text/*, JSON, XML and JavaScript as text): a robustness
        # case. The same response as the one above: whichever arrives second is a duplicate.
        "typeform-booking-base64-robustness.json": api_gateway_event(
            booking,
            request_id="Jm3cYhw3FiAEMiQ=",
            time=delivered_at,
            time_epoch_ms=delivered_epoch_ms,
            trace_id=trace,
            encode_base64=True,
        ),
        # The same booking in the shape of Typeform's published example payload (refs only in
        # definition.fields), a response of its own.
        "typeform-booking-documented-shape.json": api_gateway_event(
            body_bytes(documented_shape_response()),
            request_id="Jm3h2gw3FiAEMwA=",
            time="24/Nov/2026:10:14:05 +0000",
            time_epoch_ms=1795515245000,
            trace_id="Root=1-6744a4dd-7e2b9c1d3f4a5b6c7d8e9f01",
        ),
    }


def event_file_text(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


def write_samples(directory: Path) -> list[Path]:
    written = []
    for name, event in sample_events().items():
        (directory / name).write_text(event_file_text(event), encoding="utf-8")
        written.append(directory / name)
    return written


def main(argv: list[str]) -> int:
    """`python -m bookhook_dev.tools.typeform_samples write DIR`: `bookhook samples write DIR`."""
    return cli.main(["samples", *argv])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
