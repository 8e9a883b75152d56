"""Stripe's part of the settings, and the source it binds."""

from __future__ import annotations

import json

import pytest

from bookhook.errors import Unauthenticated
from bookhook.request import WebhookRequest
from bookhook.settings import MappingSettings, SettingsError
from bookhook.sources import Booking, Ignored
from bookhook.sources.stripe import StripeConfig, config_from_settings, signature_header, source
from bookhook_dev.testing import defaults
from bookhook_dev.tools.stripe_samples import INTENT_PAID, body_bytes, checkout_session, stripe_event

REQUIRED_ENV: dict[str, str] = {}  # mapping needs no AWS settings
COMPLETED = "checkout.session.completed"
ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
INTENT_SUCCEEDED = "payment_intent.succeeded"
SECRET = "whsec_configTestSecret0123456789abcdef"
FIXED = 1_800_000_000.0
BODY = body_bytes(stripe_event(COMPLETED, checkout_session()))


def config(**env: str) -> StripeConfig:
    return config_from_settings(MappingSettings.model_validate({**REQUIRED_ENV, **env}))


def settings_error(**env: str) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        config(**env)
    return caught.value


def test_defaults() -> None:
    stripe_config = config()

    assert stripe_config.booking_events == frozenset({COMPLETED, ASYNC_SUCCEEDED, INTENT_SUCCEEDED})
    assert stripe_config.allow_test_mode is False
    assert dict(stripe_config.metadata_defaults) == {}
    assert stripe_config.tolerance_seconds == 300
    assert stripe_config.zone is None
    assert stripe_config.default_calendar_id is None


def test_zone_calendar_and_tolerance_come_from_the_settings() -> None:
    stripe_config = config(
        DEFAULT_TIMEZONE="Europe/Prague",
        DEFAULT_CALENDAR_ID=defaults.CALENDAR_ID,
        STRIPE_SIGNATURE_TOLERANCE_SECONDS="600",
    )

    assert stripe_config.zone is not None
    assert stripe_config.zone.key == "Europe/Prague"
    assert stripe_config.default_calendar_id == defaults.CALENDAR_ID
    assert stripe_config.tolerance_seconds == 600


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (COMPLETED, {COMPLETED}),
        (f"{COMPLETED},{ASYNC_SUCCEEDED}", {COMPLETED, ASYNC_SUCCEEDED}),
        (f" {INTENT_SUCCEEDED} , {COMPLETED} ,", {INTENT_SUCCEEDED, COMPLETED}),
        (f"{COMPLETED},{COMPLETED}", {COMPLETED}),
    ],
)
def test_a_subset_of_booking_events(value: str, expected: set[str]) -> None:
    assert config(STRIPE_BOOKING_EVENTS=value).booking_events == frozenset(expected)


@pytest.mark.parametrize(
    "value",
    [
        "checkout.session.expired",
        f"{COMPLETED},checkout.session.async_payment_failed",
        f"{COMPLETED};{INTENT_SUCCEEDED}",
        "charge.succeeded",
        "CHECKOUT.SESSION.COMPLETED",
        "",
        " , ",
    ],
)
def test_bad_booking_events_name_the_variable(value: str) -> None:
    error = settings_error(STRIPE_BOOKING_EVENTS=value)

    assert "STRIPE_BOOKING_EVENTS" in str(error)
    assert COMPLETED in str(error)  # it lists what may be used


def test_metadata_defaults_of_strings() -> None:
    value = json.dumps({"calendarId": defaults.CALENDAR_ID, "duration": "60", "locationTitle": "Praha"})

    stripe_config = config(STRIPE_METADATA_DEFAULTS=value)

    assert dict(stripe_config.metadata_defaults) == {
        "calendarId": defaults.CALENDAR_ID,
        "duration": "60",
        "locationTitle": "Praha",
    }


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        "",
        "[]",
        '["duration"]',
        "null",
        '"duration"',
        '{"duration": 60}',
        '{"isBlocking": true}',
        '{"title": null}',
        '{"title": {"text": "x"}}',
    ],
)
def test_bad_metadata_defaults_name_the_variable(value: str) -> None:
    error = settings_error(STRIPE_METADATA_DEFAULTS=value)

    assert "STRIPE_METADATA_DEFAULTS" in str(error)
    assert "JSON object of strings" in str(error)


def test_unknown_metadata_default_keys_are_named() -> None:
    error = settings_error(STRIPE_METADATA_DEFAULTS='{"duration": "60", "orderNumber": "x", "colour": "red"}')

    assert "STRIPE_METADATA_DEFAULTS" in str(error)
    assert "colour, orderNumber" in str(error)
    assert "duration" not in str(error).split("unknown keys", 1)[1]


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), ("1", True), ("0", False)])
def test_allow_test_mode(value: str, expected: bool) -> None:
    assert config(STRIPE_ALLOW_TEST_MODE=value).allow_test_mode is expected


# --- source ---------------------------------------------------------------------------------


def signed_request(timestamp: float, body: bytes = BODY, secret: str = SECRET) -> WebhookRequest:
    return WebhookRequest(
        body=body,
        headers={
            "content-type": "application/json",
            "stripe-signature": signature_header(body, secret, int(timestamp)),
        },
    )


def test_source_is_named_stripe_and_acknowledges_rejections() -> None:
    webhook_source = source(config(), clock=lambda: FIXED)

    assert webhook_source.name == "stripe"
    assert webhook_source.acknowledge_rejections is True


def test_source_authenticates_with_the_injected_clock() -> None:
    webhook_source = source(config(), clock=lambda: FIXED)

    webhook_source.authenticate(signed_request(FIXED), [SECRET])
    webhook_source.authenticate(signed_request(FIXED - 299), [SECRET])
    with pytest.raises(Unauthenticated) as caught:
        webhook_source.authenticate(signed_request(FIXED - 400), [SECRET])
    assert "tolerance" in caught.value.message


def test_source_reads_the_clock_at_each_request() -> None:
    now = [FIXED]
    webhook_source = source(config(), clock=lambda: now[0])
    request = signed_request(FIXED)

    webhook_source.authenticate(request, [SECRET])
    now[0] = FIXED + 400
    with pytest.raises(Unauthenticated):
        webhook_source.authenticate(request, [SECRET])


def test_source_uses_the_configured_tolerance() -> None:
    webhook_source = source(config(STRIPE_SIGNATURE_TOLERANCE_SECONDS="600"), clock=lambda: FIXED)

    webhook_source.authenticate(signed_request(FIXED - 400), [SECRET])
    with pytest.raises(Unauthenticated):
        webhook_source.authenticate(signed_request(FIXED - 601), [SECRET])


def test_source_checks_the_secrets_it_is_given() -> None:
    webhook_source = source(config(), clock=lambda: FIXED)
    request = signed_request(FIXED)

    webhook_source.authenticate(request, ["whsec_previous000000000000", SECRET])
    with pytest.raises(Unauthenticated):
        webhook_source.authenticate(request, ["whsec_other0000000000000000"])
    with pytest.raises(Unauthenticated):
        webhook_source.authenticate(request, [])


def test_source_without_a_signature_header_is_unauthenticated() -> None:
    webhook_source = source(config(), clock=lambda: FIXED)

    with pytest.raises(Unauthenticated) as caught:
        webhook_source.authenticate(
            WebhookRequest(body=BODY, headers={"content-type": "application/json"}), [SECRET]
        )

    assert caught.value.field == "Stripe-Signature"


def test_source_reads_bookings_with_its_config() -> None:
    live = source(config(), clock=lambda: FIXED)
    test_mode_allowed = source(config(STRIPE_ALLOW_TEST_MODE="true"), clock=lambda: FIXED)
    test_event = body_bytes(stripe_event(COMPLETED, checkout_session(), livemode=False))
    request = WebhookRequest(body=test_event, headers={"content-type": "application/json"})

    assert isinstance(live.read_booking(request), Ignored)
    booking = test_mode_allowed.read_booking(request)
    assert isinstance(booking, Booking)
    assert booking.key == f"stripe:{INTENT_PAID}"
