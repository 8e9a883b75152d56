"""A realistic Typeform booking response, for sample events, tests and the benchmark.

The form ("Book a training", id GymB00k1) matches the rules in src/function/typeform_rules.toml:
a date question, a time dropdown, name, email and phone, a hidden `branch`, and answers of every
other documented type that the rules do not use.
"""

from __future__ import annotations

import copy
import json
from typing import Any

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
