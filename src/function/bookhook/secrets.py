"""The one Secrets Manager secret: BizKitHub's API key and each sender's webhook secrets.

Shape (JSON, documented in the README):

    {"bizkithubApiKey": "PROD…", "webhookSecrets": {"zapier": ["<token>", "<previous token>"]}}

Each sender holds a list so a secret can be rotated without downtime (old and new both accepted
while the sender is switched over); a single string is accepted as a list of one.
Read through Powertools parameters, cached for `max_age` seconds, and re-read on demand after
BizKitHub refuses the key. A missing or malformed secret is a `ConfigurationError` (503: the
sender retries after the operator fixes it) whose message names fields, never values.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bookhook.errors import ConfigurationError

# Applied with fullmatch: `$` would accept a trailing newline, and a key with one breaks both auth modes.
API_KEY_PATTERN = re.compile(r"(PROD|DEV_|ROOT)[A-Za-z0-9]{28}")
API_KEY_FIELD = "bizkithubApiKey"


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


SenderSecrets = Annotated[
    list[Annotated[str, Field(min_length=8)]], BeforeValidator(_as_list), Field(min_length=1, max_length=2)
]


class BookingSecrets(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    bizkithub_api_key: Annotated[str, Field(alias=API_KEY_FIELD)]
    webhook_secrets: Annotated[dict[str, SenderSecrets], Field(alias="webhookSecrets")] = {}

    def sender_secrets(self, source: str) -> list[str]:
        """The secrets configured for one sender; empty when none (authentication then fails closed)."""
        return list(self.webhook_secrets.get(source, []))

    def bizkithub_key(self) -> str:
        """The API key, checked against BizKitHub's documented format before it is used."""
        if not API_KEY_PATTERN.fullmatch(self.bizkithub_api_key):
            raise ConfigurationError(
                f"secret field {API_KEY_FIELD} is not a BizKitHub API key "
                "(expected PROD, DEV_ or ROOT followed by 28 letters or digits)"
            )
        return self.bizkithub_api_key

    def __repr__(self) -> str:  # never let a debugger or log line print the values
        return f"BookingSecrets(senders={sorted(self.webhook_secrets)})"

    __str__ = __repr__


class SecretStore:
    """Reads and caches the booking secret; takes an injectable Powertools provider for tests."""

    def __init__(
        self, secret_id: str, *, max_age_seconds: int, provider: SecretsProvider | None = None
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._provider = provider or SecretsProvider()

    def current(self, *, refresh: bool = False) -> BookingSecrets:
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
        try:
            return BookingSecrets.model_validate(raw)
        except ValidationError as error:
            fields = sorted({".".join(str(p) for p in d["loc"]) for d in error.errors(include_input=False)})
            raise ConfigurationError(
                f"the booking secret has missing or malformed fields: {', '.join(fields)}"
            ) from None
