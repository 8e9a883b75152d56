"""BookingSecrets, SecretStore (with fake Powertools providers) and each function's settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from aws_lambda_powertools.utilities.parameters.types import TransformOptions
from pydantic import ValidationError

from bookhook.errors import ConfigurationError
from bookhook.secrets import API_KEY_FIELD, BookingSecrets, SecretStore, SenderSecretsMalformed
from bookhook.settings import MappingSettings, SettingsError, WebhookSettings, WorkerSettings

API_KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"
TOKEN = "zap-token-0123456789abcdef"
PREVIOUS_TOKEN = "zap-previous-token-fedcba9876543210"
ROOT = Path(__file__).resolve().parents[2]
SECRET_ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:bookhook-AbCdEf"


def document(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {API_KEY_FIELD: API_KEY, "webhookSecrets": {"zapier": [TOKEN]}}
    doc.update(overrides)
    return doc


# --- BookingSecrets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "tokens"),
    [
        (TOKEN, [TOKEN]),
        ([TOKEN], [TOKEN]),
        ([TOKEN, PREVIOUS_TOKEN], [TOKEN, PREVIOUS_TOKEN]),
        ("exactly8", ["exactly8"]),
    ],
)
def test_sender_secrets(configured: Any, tokens: list[str]) -> None:
    secrets = BookingSecrets.model_validate(document(webhookSecrets={"zapier": configured}))

    assert secrets.sender_secrets("zapier") == tokens


TYPEFORM_SECRET = "typeform-secret-0123456789"
GENERIC_MESSAGE = (
    "this sender's credentials are not configured correctly; the operator must fix the booking secret"
)


@pytest.mark.parametrize(
    ("configured", "secret_field", "problem"),
    [
        pytest.param(
            [TOKEN, PREVIOUS_TOKEN, "third-token-0123456789"],
            "webhookSecrets.zapier",
            "holds 3 secrets; 1 is expected, or 2 while one is rotated",
            id="three tokens",
        ),
        pytest.param([], "webhookSecrets.zapier", "holds 0 secrets", id="empty list"),
        pytest.param("sh0rt", "webhookSecrets.zapier", "is shorter than 8 characters", id="short string"),
        pytest.param("1234567", "webhookSecrets.zapier", "is shorter than 8 characters", id="7 characters"),
        pytest.param(
            [TOKEN, "1234567"], "webhookSecrets.zapier.1", "is shorter than 8 characters", id="short second"
        ),
        pytest.param("", "webhookSecrets.zapier", "is shorter than 8 characters", id="empty string"),
        pytest.param(
            [TOKEN, 12345678], "webhookSecrets.zapier.1", "is a number, not a string", id="number item"
        ),
        pytest.param([None], "webhookSecrets.zapier.0", "is null, not a string", id="null item"),
        pytest.param([[TOKEN]], "webhookSecrets.zapier.0", "is an array, not a string", id="nested list"),
        pytest.param(
            {"token": TOKEN}, "webhookSecrets.zapier", "is an object, not a string or a list", id="object"
        ),
        pytest.param(12345678, "webhookSecrets.zapier", "is a number, not a string or a list", id="number"),
        pytest.param(True, "webhookSecrets.zapier", "is a boolean, not a string or a list", id="boolean"),
        pytest.param(None, "webhookSecrets.zapier", "is null, not a string or a list", id="null"),
    ],
)
def test_a_malformed_sender_entry_fails_only_that_sender(
    configured: Any, secret_field: str, problem: str
) -> None:
    # Reading the document succeeds: only the use of this one entry fails.
    secrets = BookingSecrets.model_validate(
        document(
            webhookSecrets={"zapier": configured, "typeform": TYPEFORM_SECRET, "stripe": [PREVIOUS_TOKEN]}
        )
    )

    with pytest.raises(SenderSecretsMalformed) as caught:
        secrets.sender_secrets("zapier")

    error = caught.value
    assert (error.status, error.code, error.source) == (503, "configuration_error", "zapier")
    assert (error.message, str(error), error.field) == (GENERIC_MESSAGE, GENERIC_MESSAGE, None)
    assert error.secret_field == secret_field
    assert problem in error.problem
    for value in (TOKEN, "1234567", "sh0rt", "12345678"):
        assert value not in error.problem
    # The other senders and the key are untouched.
    assert secrets.sender_secrets("typeform") == [TYPEFORM_SECRET]
    assert secrets.sender_secrets("stripe") == [PREVIOUS_TOKEN]
    assert secrets.bizkithub_key() == API_KEY


@pytest.mark.parametrize(
    ("configured", "kind"),
    [
        pytest.param(TOKEN, "a string", id="string"),
        pytest.param([TOKEN], "an array", id="list"),
        pytest.param(None, "null", id="null"),
        pytest.param(42, "a number", id="number"),
    ],
)
def test_webhook_secrets_not_an_object_fails_every_sender_but_not_the_key(configured: Any, kind: str) -> None:
    secrets = BookingSecrets.model_validate(document(webhookSecrets=configured))

    for sender in ("zapier", "typeform", "stripe"):
        with pytest.raises(SenderSecretsMalformed) as caught:
            secrets.sender_secrets(sender)
        assert caught.value.message == GENERIC_MESSAGE
        assert caught.value.secret_field == "webhookSecrets"
        assert caught.value.problem == f"is {kind}, not an object of senders"
        assert TOKEN not in caught.value.problem
    assert secrets.bizkithub_key() == API_KEY
    assert repr(secrets) == "BookingSecrets(senders=<not an object>)"


def test_malformed_entries_of_unknown_senders_are_ignored() -> None:
    secrets = BookingSecrets.model_validate(
        document(webhookSecrets={"zapier": [TOKEN], "calendly": [], "typeform ": 7, "": None})
    )

    assert secrets.sender_secrets("zapier") == [TOKEN]
    assert secrets.sender_secrets("typeform") == []  # no entry: authentication fails closed (401)


def test_sender_secrets_for_an_unknown_sender_is_empty() -> None:
    secrets = BookingSecrets.model_validate(document())

    assert secrets.sender_secrets("typeform") == []
    assert BookingSecrets.model_validate({API_KEY_FIELD: API_KEY}).sender_secrets("zapier") == []


def test_sender_secrets_returns_a_copy() -> None:
    secrets = BookingSecrets.model_validate(document())

    secrets.sender_secrets("zapier").append("injected-token-123")

    assert secrets.sender_secrets("zapier") == [TOKEN]


def test_unknown_secret_fields_are_ignored() -> None:
    secrets = BookingSecrets.model_validate(document(comment="rotated 2026-05"))

    assert (secrets.bizkithub_key(), secrets.sender_secrets("zapier")) == (API_KEY, [TOKEN])


@pytest.mark.parametrize(
    "key",
    [API_KEY, "DEV_LocalStandInKey0123456789abc", "ROOT" + "a1" * 14, "PROD" + "0" * 28],
)
def test_bizkithub_key_valid(key: str) -> None:
    assert BookingSecrets.model_validate(document(**{API_KEY_FIELD: key})).bizkithub_key() == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "PRODshort",
        "TEST" + "a" * 28,
        "prod" + "a" * 28,
        "DEV" + "a" * 29,
        "PROD" + "a" * 27,
        "PROD" + "a" * 29,
        "PROD" + "a" * 27 + "-",
        " PROD" + "a" * 28,
        "PROD" + "a" * 27 + "\n",
    ],
)
def test_bizkithub_key_invalid(key: str) -> None:
    secrets = BookingSecrets.model_validate(document(**{API_KEY_FIELD: key}))

    with pytest.raises(ConfigurationError) as caught:
        secrets.bizkithub_key()

    assert "bizkithubApiKey" in caught.value.message
    assert caught.value.status == 503
    if key.strip():
        assert key.strip() not in str(caught.value)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({"webhookSecrets": {"zapier": [TOKEN]}}, id="missing"),
        pytest.param(document(**{API_KEY_FIELD: None}), id="null"),
        pytest.param(document(**{API_KEY_FIELD: 12345}), id="number"),
        pytest.param(document(**{API_KEY_FIELD: [API_KEY]}), id="list"),
    ],
)
def test_a_missing_or_non_string_api_key_fails_only_when_used(raw: dict[str, Any]) -> None:
    secrets = BookingSecrets.model_validate(raw)

    assert secrets.sender_secrets("zapier") == [TOKEN]  # the senders still authenticate
    with pytest.raises(ConfigurationError) as caught:
        secrets.bizkithub_key()
    assert "bizkithubApiKey" in caught.value.message
    assert caught.value.status == 503
    assert API_KEY not in str(caught.value)
    assert "12345" not in str(caught.value)


def test_repr_and_str_show_no_values() -> None:
    secrets = BookingSecrets.model_validate(
        document(webhookSecrets={"zapier": [TOKEN, PREVIOUS_TOKEN], "typeform": "typeform-secret-1"})
    )

    for text in (repr(secrets), str(secrets), f"{secrets}", f"{secrets!r}", repr([secrets])):
        assert text == "BookingSecrets(senders=['typeform', 'zapier'])" or text == (
            "[BookingSecrets(senders=['typeform', 'zapier'])]"
        )
        for value in (API_KEY, TOKEN, PREVIOUS_TOKEN, "typeform-secret-1"):
            assert value not in text


def test_booking_secrets_are_frozen() -> None:
    secrets = BookingSecrets.model_validate(document())

    with pytest.raises(ValidationError):
        secrets.bizkithub_api_key = "PROD" + "b" * 28  # type: ignore[misc]


# --- SecretStore ----------------------------------------------------------------------------------


class RecordingProvider(SecretsProvider):
    """Replaces `get`, the one method SecretStore calls; records its arguments."""

    def __init__(self, result: Any) -> None:
        # SecretsProvider.__init__ would build a boto3 client; nothing here talks to AWS.
        self.store = {}
        self.result = result
        self.calls: list[dict[str, Any]] = []

    def get(
        self,
        name: str,
        max_age: int | None = None,
        transform: TransformOptions = None,
        force_fetch: bool = False,
        **sdk_options: Any,
    ) -> str | bytes | dict[str, Any] | None:
        self.calls.append(
            {"name": name, "max_age": max_age, "transform": transform, "force_fetch": force_fetch}
        )
        if isinstance(self.result, Exception):
            raise self.result
        value: str | bytes | dict[str, Any] | None = self.result
        return value


class StoredSecretProvider(SecretsProvider):
    """Replaces only the Secrets Manager call: Powertools' own caching and JSON transform run."""

    def __init__(self, secret_string: str) -> None:
        self.store = {}  # what BaseProvider.__init__ sets up; Powertools' `get` caches in it
        self.secret_string = secret_string
        self.fetches = 0

    def _get(self, name: str, **sdk_options: Any) -> str | bytes:
        self.fetches += 1
        return self.secret_string


def test_secret_store_returns_the_model() -> None:
    provider = RecordingProvider(document(webhookSecrets={"zapier": [TOKEN, PREVIOUS_TOKEN]}))
    store = SecretStore(SECRET_ARN, max_age_seconds=300, provider=provider)

    secrets = store.current()

    assert isinstance(secrets, BookingSecrets)
    assert secrets.bizkithub_key() == API_KEY
    assert secrets.sender_secrets("zapier") == [TOKEN, PREVIOUS_TOKEN]
    assert provider.calls == [{"name": SECRET_ARN, "max_age": 300, "transform": "json", "force_fetch": False}]


def test_secret_store_refresh_forces_a_fetch() -> None:
    provider = RecordingProvider(document())
    store = SecretStore(SECRET_ARN, max_age_seconds=60, provider=provider)

    store.current(refresh=True)
    store.current()

    assert [call["force_fetch"] for call in provider.calls] == [True, False]
    assert {call["max_age"] for call in provider.calls} == {60}


def test_secret_store_caches_through_powertools_until_refresh() -> None:
    provider = StoredSecretProvider(json.dumps(document()))
    store = SecretStore(SECRET_ARN, max_age_seconds=300, provider=provider)

    first = store.current()
    store.current()
    assert provider.fetches == 1

    provider.secret_string = json.dumps(document(**{API_KEY_FIELD: "PROD" + "r" * 28}))
    assert store.current().bizkithub_key() == API_KEY  # still cached
    refreshed = store.current(refresh=True)

    assert provider.fetches == 2
    assert (first.bizkithub_key(), refreshed.bizkithub_key()) == (API_KEY, "PROD" + "r" * 28)
    assert store.current().bizkithub_key() == "PROD" + "r" * 28  # the refreshed value is cached


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (GetParameterError(f"ResourceNotFoundException: {SECRET_ARN} {API_KEY}"), "could not be read"),
        (TransformParameterError(f"Expecting value: line 1 column 1 {API_KEY}"), "not a JSON object"),
    ],
)
def test_secret_store_provider_errors_are_configuration_errors(error: Exception, expected: str) -> None:
    store = SecretStore(SECRET_ARN, max_age_seconds=300, provider=RecordingProvider(error))

    with pytest.raises(ConfigurationError) as caught:
        store.current()

    assert expected in caught.value.message
    assert API_KEY not in str(caught.value)
    assert caught.value.__cause__ is None
    assert (caught.value.status, caught.value.code) == (503, "configuration_error")


@pytest.mark.parametrize(
    ("secret_string", "expected"),
    [
        (f"{API_KEY_FIELD}={API_KEY}", "not a JSON object"),
        ("", "not a JSON object"),
        (f'["{API_KEY}"]', "not a JSON object"),
        (f'"{API_KEY}"', "not a JSON object"),
        ("null", "not a JSON object"),
    ],
)
def test_secret_store_with_real_transform(secret_string: str, expected: str) -> None:
    store = SecretStore(SECRET_ARN, max_age_seconds=300, provider=StoredSecretProvider(secret_string))

    with pytest.raises(ConfigurationError) as caught:
        store.current()

    assert expected in caught.value.message
    assert API_KEY not in str(caught.value)


@pytest.mark.parametrize("raw", [API_KEY, [API_KEY], None, b"{}", 42])
def test_secret_store_non_dict_is_a_configuration_error(raw: Any) -> None:
    store = SecretStore(SECRET_ARN, max_age_seconds=300, provider=RecordingProvider(raw))

    with pytest.raises(ConfigurationError) as caught:
        store.current()

    assert caught.value.message == "the booking secret is not a JSON object"


@pytest.mark.parametrize(
    ("raw", "broken", "working"),
    [
        pytest.param(
            document(webhookSecrets={"zapier": [TOKEN, "sh0rt"], "stripe": [PREVIOUS_TOKEN]}),
            ["zapier"],
            ["stripe", "typeform"],
            id="short token",
        ),
        pytest.param(
            document(webhookSecrets={"zapier": [TOKEN, TOKEN, TOKEN], "typeform": TYPEFORM_SECRET}),
            ["zapier"],
            ["stripe", "typeform"],
            id="three tokens",
        ),
        pytest.param(
            document(webhookSecrets=TOKEN), ["stripe", "typeform", "zapier"], [], id="not an object"
        ),
        pytest.param(
            {API_KEY_FIELD: 12345, "webhookSecrets": {"zapier": "t1ny", "typeform": TYPEFORM_SECRET}},
            ["zapier"],
            ["stripe", "typeform"],
            id="bad key and a short token",
        ),
    ],
)
def test_secret_store_reads_a_document_with_malformed_parts(
    raw: dict[str, Any], broken: list[str], working: list[str]
) -> None:
    store = SecretStore(SECRET_ARN, max_age_seconds=300, provider=RecordingProvider(raw))

    secrets = store.current()  # no error for the document as a whole

    for sender in broken:
        with pytest.raises(SenderSecretsMalformed) as caught:
            secrets.sender_secrets(sender)
        assert caught.value.message == GENERIC_MESSAGE
        for value in (TOKEN, "sh0rt", "t1ny", "12345"):
            assert value not in f"{caught.value} {caught.value.secret_field} {caught.value.problem}"
    for sender in working:
        secrets.sender_secrets(sender)  # configured or empty: no error
    if raw[API_KEY_FIELD] == API_KEY:
        assert secrets.bizkithub_key() == API_KEY
    else:
        with pytest.raises(ConfigurationError, match=API_KEY_FIELD):
            secrets.bizkithub_key()


# --- Settings -------------------------------------------------------------------------------------

REQUIRED_ENV = {"BOOKING_SECRET_ARN": SECRET_ARN, "IDEMPOTENCY_TABLE_NAME": "bookhook-idempotency"}


def test_settings_defaults() -> None:
    config = WebhookSettings.from_environ(REQUIRED_ENV)

    assert config.model_dump() == {
        "booking_secret_arn": SECRET_ARN,
        "idempotency_table_name": "bookhook-idempotency",
        "bizkithub_base_url": "https://api.bizkithub.com",
        "bizkithub_auth_mode": "query",
        "bizkithub_connect_timeout_seconds": 3.0,
        "bizkithub_read_timeout_seconds": 8.0,
        "default_timezone": None,
        "default_calendar_id": None,
        "default_phone_region": None,
        "secret_max_age_seconds": 300,
        "idempotency_ttl_days": 7,
        "in_flight_wait_seconds": 5.0,
        "webhook_deadline_seconds": 10.0,
        "max_body_bytes": 256 * 1024,
        "typeform_rules_file": "typeform_rules.toml",
        "delivery_queue_url": None,
        "stripe_booking_events": (
            "checkout.session.completed,checkout.session.async_payment_succeeded,payment_intent.succeeded"
        ),
        "stripe_allow_test_mode": False,
        "stripe_metadata_defaults": "{}",
        "stripe_signature_tolerance_seconds": 300,
        "bizkithub_pacing": "on",
        "bizkithub_rate_limit_window_seconds": 3600,
    }
    assert config.zone is None
    assert config.typeform_rules_path == ROOT / "src/function/typeform_rules.toml"


def test_settings_read_every_variable_from_text() -> None:
    config = WebhookSettings.from_environ(
        {
            **REQUIRED_ENV,
            "BIZKITHUB_BASE_URL": "http://127.0.0.1:3001",
            "BIZKITHUB_AUTH_MODE": "bearer",
            "BIZKITHUB_CONNECT_TIMEOUT_SECONDS": "1.5",
            "BIZKITHUB_READ_TIMEOUT_SECONDS": "20",
            "DEFAULT_TIMEZONE": "Europe/Prague",
            "DEFAULT_CALENDAR_ID": "2WRp6X5rSqQa321EjHB2mxZz74u74H84",
            "SECRET_MAX_AGE_SECONDS": "0",
            "IDEMPOTENCY_TTL_DAYS": "30",
            "IN_FLIGHT_WAIT_SECONDS": "0.5",
            "MAX_BODY_BYTES": "1024",
            "PATH": "/usr/bin",
            "AWS_REGION": "eu-central-1",
        }
    )

    assert (config.bizkithub_base_url, config.bizkithub_auth_mode) == ("http://127.0.0.1:3001", "bearer")
    assert (config.bizkithub_connect_timeout_seconds, config.bizkithub_read_timeout_seconds) == (1.5, 20.0)
    assert config.zone == ZoneInfo("Europe/Prague")
    assert config.default_calendar_id == "2WRp6X5rSqQa321EjHB2mxZz74u74H84"
    assert (config.secret_max_age_seconds, config.idempotency_ttl_days) == (0, 30)
    assert (config.in_flight_wait_seconds, config.max_body_bytes) == (0.5, 1024)


def test_settings_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DEFAULT_TIMEZONE", "America/New_York")

    config = WebhookSettings.from_environ()

    assert config.booking_secret_arn == SECRET_ARN
    assert config.zone is not None
    assert config.zone.key == "America/New_York"


@pytest.mark.parametrize("name", ["DEFAULT_TIMEZONE", "DEFAULT_CALENDAR_ID"])
def test_empty_optional_variables_mean_unset(name: str) -> None:
    config = WebhookSettings.from_environ({**REQUIRED_ENV, name: ""})

    assert (config.default_timezone, config.default_calendar_id, config.zone) == (None, None, None)


@pytest.mark.parametrize("zone", ["Europe/Prague", "UTC", "America/Argentina/Buenos_Aires"])
def test_zone_property(zone: str) -> None:
    config = WebhookSettings.from_environ({**REQUIRED_ENV, "DEFAULT_TIMEZONE": zone})

    assert config.zone == ZoneInfo(zone)
    assert config.default_timezone == zone


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DEFAULT_TIMEZONE": "Mars/Olympus_Mons"}, "DEFAULT_TIMEZONE"),
        ({"DEFAULT_TIMEZONE": "Europe/Atlantis/"}, "DEFAULT_TIMEZONE"),
        ({"DEFAULT_TIMEZONE": "../../etc/passwd"}, "DEFAULT_TIMEZONE"),
        ({"DEFAULT_TIMEZONE": "/etc/localtime"}, "DEFAULT_TIMEZONE"),
        ({"DEFAULT_TIMEZONE": "Europe/Prague\x00"}, "DEFAULT_TIMEZONE"),
        ({"BIZKITHUB_AUTH_MODE": "basic"}, "BIZKITHUB_AUTH_MODE"),
        ({"BIZKITHUB_AUTH_MODE": "Bearer"}, "BIZKITHUB_AUTH_MODE"),
        ({"DEFAULT_CALENDAR_ID": "not-a-calendar"}, "DEFAULT_CALENDAR_ID"),
        ({"DEFAULT_CALENDAR_ID": "2WRp6X5rSqQa321EjHB2mxZz74u74H8"}, "DEFAULT_CALENDAR_ID"),
        ({"BIZKITHUB_BASE_URL": "ftp://api.bizkithub.com"}, "BIZKITHUB_BASE_URL"),
        ({"BIZKITHUB_BASE_URL": "https://api.bizkithub.com?apiKey=x"}, "BIZKITHUB_BASE_URL"),
        ({"BIZKITHUB_CONNECT_TIMEOUT_SECONDS": "0"}, "BIZKITHUB_CONNECT_TIMEOUT_SECONDS"),
        ({"BIZKITHUB_READ_TIMEOUT_SECONDS": "21"}, "BIZKITHUB_READ_TIMEOUT_SECONDS"),
        ({"SECRET_MAX_AGE_SECONDS": "-1"}, "SECRET_MAX_AGE_SECONDS"),
        ({"IDEMPOTENCY_TTL_DAYS": "6"}, "IDEMPOTENCY_TTL_DAYS"),
        ({"IN_FLIGHT_WAIT_SECONDS": "soon"}, "IN_FLIGHT_WAIT_SECONDS"),
        ({"MAX_BODY_BYTES": "0"}, "MAX_BODY_BYTES"),
        ({"BOOKING_SECRET_ARN": ""}, "BOOKING_SECRET_ARN"),
        ({"IDEMPOTENCY_TABLE_NAME": ""}, "IDEMPOTENCY_TABLE_NAME"),
    ],
)
def test_invalid_variable_is_named(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        WebhookSettings.from_environ({**REQUIRED_ENV, **env})

    message = str(caught.value)
    assert message.startswith("invalid configuration: ")
    assert f"{variable}: " in message
    bad_value = next(iter(env.values()))
    if len(bad_value) > 2:
        assert bad_value not in message


@pytest.mark.parametrize("missing", ["BOOKING_SECRET_ARN", "IDEMPOTENCY_TABLE_NAME"])
def test_missing_required_variable_is_named(missing: str) -> None:
    env = {name: value for name, value in REQUIRED_ENV.items() if name != missing}

    with pytest.raises(SettingsError) as caught:
        WebhookSettings.from_environ(env)

    assert str(caught.value) == f"invalid configuration: {missing}: Field required"


def test_the_worker_reads_its_own_settings_and_needs_both_queues() -> None:
    queues = {"DELIVERY_QUEUE_URL": "https://sqs/delivery", "DEAD_LETTER_QUEUE_URL": "https://sqs/dead"}

    config = WorkerSettings.from_environ({**REQUIRED_ENV, **queues})

    assert config.model_dump() == {
        "booking_secret_arn": SECRET_ARN,
        "idempotency_table_name": "bookhook-idempotency",
        "bizkithub_base_url": "https://api.bizkithub.com",
        "bizkithub_auth_mode": "query",
        "bizkithub_connect_timeout_seconds": 3.0,
        "bizkithub_read_timeout_seconds": 8.0,
        "bizkithub_pacing": "on",
        "bizkithub_rate_limit_window_seconds": 3600,
        "secret_max_age_seconds": 300,
        "idempotency_ttl_days": 7,
        "delivery_queue_url": "https://sqs/delivery",
        "dead_letter_queue_url": "https://sqs/dead",
        "delivery_max_attempts": 8,
        "delivery_backoff_base_seconds": 10.0,
        "delivery_backoff_cap_seconds": 900.0,
        "delivery_lease_seconds": 60,
        "delivery_rate_limit_max_wait_seconds": 3 * 24 * 3600,
    }
    for missing in queues:
        absent = {name: url for name, url in queues.items() if name != missing}
        with pytest.raises(SettingsError, match=f"{missing}: Field required"):
            WorkerSettings.from_environ({**REQUIRED_ENV, **absent})
        with pytest.raises(SettingsError, match=missing):  # a CloudFormation parameter left empty
            WorkerSettings.from_environ({**REQUIRED_ENV, **queues, missing: ""})


def test_mapping_settings_need_nothing_of_aws() -> None:
    """What `replay` reads to map kept webhooks again: no secret, table or queue to invent."""
    config = MappingSettings.from_environ({"DEFAULT_TIMEZONE": "Europe/Prague", "PATH": "/usr/bin"})

    assert config.zone == ZoneInfo("Europe/Prague")
    assert config.typeform_rules_path == ROOT / "src/function/typeform_rules.toml"


def test_every_problem_is_listed() -> None:
    with pytest.raises(SettingsError) as caught:
        WebhookSettings.from_environ({"BIZKITHUB_AUTH_MODE": "basic"})

    message = str(caught.value)
    for variable in ("BOOKING_SECRET_ARN", "IDEMPOTENCY_TABLE_NAME", "BIZKITHUB_AUTH_MODE"):
        assert variable in message


@pytest.mark.parametrize(("value", "region"), [("CZ", "CZ"), ("SK", "SK"), ("us", "US"), (" GB ", "GB")])
def test_default_phone_region(value: str, region: str) -> None:
    config = WebhookSettings.from_environ({**REQUIRED_ENV, "DEFAULT_PHONE_REGION": value})

    assert config.default_phone_region == region


def test_an_empty_default_phone_region_means_unset() -> None:
    assert (
        WebhookSettings.from_environ({**REQUIRED_ENV, "DEFAULT_PHONE_REGION": ""}).default_phone_region
        is None
    )


@pytest.mark.parametrize("value", ["XX", "ZZ", "UK", "CZE", "Czechia", "001", "420", "+420", " ", "C", "EU"])
def test_an_unknown_default_phone_region_is_named(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        WebhookSettings.from_environ({**REQUIRED_ENV, "DEFAULT_PHONE_REGION": value})

    message = str(caught.value)
    assert message.startswith("invalid configuration: DEFAULT_PHONE_REGION: ")
    assert "two-letter region code such as CZ" in message


@pytest.mark.parametrize("zone", ["Europe", "America"])
def test_zone_directory_name_is_a_settings_error(zone: str) -> None:
    with pytest.raises(SettingsError, match="DEFAULT_TIMEZONE"):
        WebhookSettings.from_environ({**REQUIRED_ENV, "DEFAULT_TIMEZONE": zone})
