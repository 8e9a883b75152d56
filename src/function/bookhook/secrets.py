"""The one Secrets Manager secret: BizKitHub's API key and each sender's webhook secrets.

Shape (JSON, documented in the README):

    {"bizkithubApiKey": "PROD…", "webhookSecrets": {"zapier": ["<token>", "<previous token>"]}}

Each sender holds a list so a secret can be rotated without downtime (old and new both accepted
while the sender is switched over); a single string is accepted as a list of one.
Read through Powertools parameters, cached for `max_age` seconds, and re-read on demand after
BizKitHub refuses the key.

Each part is checked where it is used, on its own, so one malformed part stops only what needs it:
a sender's entry when that sender's webhook is authenticated (`SenderSecretsMalformed`: that sender
alone is answered 503, the others keep working), the API key when a call to BizKitHub is made (the
webhook and the delivery worker). A secret that is unreadable or not a JSON object stops everything.
Every `ConfigurationError` is a 503 (the sender retries after the operator fixes it) whose message
names fields, never values; the sender's, which an anonymous caller sees, names not even the field.
"""

from __future__ import annotations

import re
from typing import Annotated

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from pydantic import BaseModel, ConfigDict, Field

from bookhook.errors import ConfigurationError

# Applied with fullmatch: `$` would accept a trailing newline, and a key with one breaks both auth modes.
API_KEY_PATTERN = re.compile(r"(PROD|DEV_|ROOT)[A-Za-z0-9]{28}")
API_KEY_FIELD = "bizkithubApiKey"
WEBHOOK_SECRETS_FIELD = "webhookSecrets"
# Rotation: one secret normally, two while a sender is switched from the old one to the new one.
MAX_SENDER_SECRETS = 2
MIN_SECRET_LENGTH = 8


class SenderSecretsMalformed(ConfigurationError):
    """A sender's entry in the booking secret is malformed: that sender cannot be authenticated.

    The message is what an anonymous caller is told, so it is the same for every entry and names no
    field; `secret_field` and `problem` are for the operator's log line and never carry a value.
    """

    def __init__(self, source: str, secret_field: str, problem: str) -> None:
        super().__init__(
            "this sender's credentials are not configured correctly; the operator must fix the booking secret"
        )
        self.source = source
        self.secret_field = secret_field
        self.problem = problem


class BookingSecrets(BaseModel):
    """The secret as read: each part is checked by the method that hands it out (see the module doc)."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    # `object`: whatever the document holds is kept, so a malformed part fails only where it is used.
    bizkithub_api_key: Annotated[object, Field(alias=API_KEY_FIELD)] = None
    webhook_secrets: Annotated[object, Field(alias=WEBHOOK_SECRETS_FIELD, default_factory=dict)]

    def sender_secrets(self, source: str) -> list[str]:
        """The secrets configured for one sender; empty when it has no entry (authentication then fails
        closed). A malformed entry raises `SenderSecretsMalformed`: never a pass, never a guess."""
        entries = self.webhook_secrets
        if not isinstance(entries, dict):
            raise SenderSecretsMalformed(
                source, WEBHOOK_SECRETS_FIELD, f"is {_json_type(entries)}, not an object of senders"
            )
        if source not in entries:
            return []
        return _checked_sender_secrets(source, entries[source])

    def bizkithub_key(self) -> str:
        """The API key, checked against BizKitHub's documented format before it is used."""
        key = self.bizkithub_api_key
        if not isinstance(key, str) or not API_KEY_PATTERN.fullmatch(key):
            raise ConfigurationError(
                f"secret field {API_KEY_FIELD} is missing or not a BizKitHub API key "
                "(expected PROD, DEV_ or ROOT followed by 28 letters or digits)"
            )
        return key

    def __repr__(self) -> str:  # never let a debugger or log line print the values
        entries = self.webhook_secrets
        senders = sorted(str(name) for name in entries) if isinstance(entries, dict) else "<not an object>"
        return f"BookingSecrets(senders={senders})"

    __str__ = __repr__


def _checked_sender_secrets(source: str, entry: object) -> list[str]:
    """One sender's entry as a list of 1 or 2 strings of at least 8 characters, or the error naming
    what is wrong (by field, position and kind; never the value, nor a secret's length)."""
    field = f"{WEBHOOK_SECRETS_FIELD}.{source}"
    secrets = [entry] if isinstance(entry, str) else entry
    if not isinstance(secrets, list):
        raise SenderSecretsMalformed(
            source, field, f"is {_json_type(entry)}, not a string or a list of strings"
        )
    if not 1 <= len(secrets) <= MAX_SENDER_SECRETS:
        raise SenderSecretsMalformed(
            source,
            field,
            f"holds {len(secrets)} secrets; 1 is expected, or {MAX_SENDER_SECRETS} while one is rotated",
        )
    checked: list[str] = []
    for position, secret in enumerate(secrets):
        where = field if isinstance(entry, str) else f"{field}.{position}"
        if not isinstance(secret, str):
            raise SenderSecretsMalformed(source, where, f"is {_json_type(secret)}, not a string")
        if len(secret) < MIN_SECRET_LENGTH:
            raise SenderSecretsMalformed(source, where, f"is shorter than {MIN_SECRET_LENGTH} characters")
        checked.append(secret)
    return checked


def _json_type(value: object) -> str:
    """What a JSON value is, in the words of JSON: the kind only, never the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "not JSON"


class SecretStore:
    """Reads and caches the booking secret; takes an injectable Powertools provider for tests."""

    def __init__(
        self, secret_id: str, *, max_age_seconds: int, provider: SecretsProvider | None = None
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._provider = provider or SecretsProvider()

    def current(self, *, refresh: bool = False) -> BookingSecrets:
        """The secret as a whole: a `ConfigurationError` only when it cannot be read or is not a JSON
        object. Its parts are checked where they are used, so one bad part stops only its users."""
        try:
            raw = self._provider.get(
                self._secret_id, max_age=self._max_age, transform="json", force_fetch=refresh
            )
        except TransformParameterError:
            raise ConfigurationError("the booking secret is not a JSON object") from None
        except GetParameterError:
            raise ConfigurationError(
                "the booking secret could not be read (missing, empty or no access)"
            ) from None
        if not isinstance(raw, dict):
            raise ConfigurationError("the booking secret is not a JSON object")
        return BookingSecrets.model_validate(raw)
