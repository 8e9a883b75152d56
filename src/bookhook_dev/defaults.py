"""Embedded values for local runs and tests. None of them is a real credential.

The README, the sample events in `events/`, the local runner's embedded secret and the tests all
use these, so a sample sent to `make run` authenticates out of the box.
"""

from __future__ import annotations

import json

# Sent by the sample events as `Authorization: Bearer …`; the README's curl line uses it too.
ZAPIER_TOKEN = "local-zapier-token-0123456789abcdef"
# Matches BizKitHub's key format (DEV_ + 28 letters/digits) so the stand-in accepts it.
BIZKITHUB_API_KEY = "DEV_LocalStandInKey0123456789abc"
# The calendar id from BizKitHub's documented example.
CALENDAR_ID = "2WRp6X5rSqQa321EjHB2mxZz74u74H84"
SECRET_NAME = "bookhook/local"
TABLE_NAME = "bookhook-local-idempotency"
REGION = "eu-central-1"


def secret_document() -> dict[str, object]:
    return {"bizkithubApiKey": BIZKITHUB_API_KEY, "webhookSecrets": {"zapier": [ZAPIER_TOKEN]}}


def secret_string() -> str:
    return json.dumps(secret_document())
