"""Environment the deployed function gets from template.yaml's Globals, set before any test imports
the handler (Powertools reads it when Logger, Metrics and Tracer are created)."""

from __future__ import annotations

import os

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bookhook")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "BookingWebhooks")
os.environ.setdefault("POWERTOOLS_LOGGER_LOG_EVENT", "false")
os.environ.setdefault("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "false")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
