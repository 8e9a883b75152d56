"""Embedded values for local runs and tests. None of them is a real credential.

The README, the sample events in `events/`, the local runner's embedded secret and the tests all
use these, so a sample sent to `make run` authenticates out of the box.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from bookhook_dev.testing.bizkithub_stand_in import RateLimit

# Sent by the sample events as `Authorization: Bearer …`; the README's curl line uses it too.
ZAPIER_TOKEN = "local-zapier-token-0123456789abcdef"
# The Typeform webhook secret the sample Typeform events are signed with.
TYPEFORM_SECRET = "local-typeform-secret-0123456789abcdef"
# The Stripe endpoint signing secret the sample Stripe events are signed with.
STRIPE_SECRET = "whsec_localStripeSigningSecret0123456789"
# Matches BizKitHub's key format (DEV_ + 28 letters/digits) so the stand-in accepts it.
BIZKITHUB_API_KEY = "DEV_LocalStandInKey0123456789abc"
# The calendar id from BizKitHub's documented example.
CALENDAR_ID = "2WRp6X5rSqQa321EjHB2mxZz74u74H84"
SECRET_NAME = "bookhook/local"
TABLE_NAME = "bookhook-local-idempotency"
QUEUE_PREFIX = "bookhook-local"
REGION = "eu-central-1"
# The rate limit `make run` sets on the stand-in to show a burst being paced: an hourly limit of 20
# with a burst of 5, the hour lasting 10 real seconds (so 2 calls a second sustained). The runner
# tells the functions the same window (BIZKITHUB_RATE_LIMIT_WINDOW_SECONDS) from it.
DEMO_RATE_LIMIT = RateLimit(limit=20, burst=5, window=3600, time_scale=360)


def secret_document() -> dict[str, object]:
    return {
        "bizkithubApiKey": BIZKITHUB_API_KEY,
        "webhookSecrets": {
            "zapier": [ZAPIER_TOKEN],
            "typeform": [TYPEFORM_SECRET],
            "stripe": [STRIPE_SECRET],
        },
    }


def secret_string() -> str:
    return json.dumps(secret_document())


# The `event` of BizKitHub's documented add-event example, with the attendee phone written
# "+420 777123456" as the reference shows it.
_DOCUMENTED_EXAMPLE_EVENT: dict[str, Any] = {
    "calendarId": CALENDAR_ID,
    "startTime": "2024-05-01T10:00:00.000Z",
    "endTime": "2024-05-01T12:00:00.000Z",
    "title": "Training with Jan",
    "description": "Training will start in Prague – Nusle.",
    "agenda": "– Warm-up\n– Deadlift technique\n– Cool down",
    "url": "https://gymroom.cz/pobocky/vinohrady",
    "notifyBefore": "1h 30m",
    "blockingTo": "2024-05-01T12:00:00.000Z",
    "locationTitle": "Varšavská 11, 120 00, Praha 2 – Vinohrady",
    "isAllDay": False,
    "isBlocking": True,
    "attendees": [
        {
            "memberId": 1234,
            "customerId": "HxanU4a1n4El61zx",
            "name": "Jan Barášek",
            "email": "jan@barasek.com",
            "phone": "+420 777123456",
        }
    ],
    "type": "training",
}


def documented_example_event() -> dict[str, Any]:
    """A fresh copy, so a test may change it."""
    return copy.deepcopy(_DOCUMENTED_EXAMPLE_EVENT)
