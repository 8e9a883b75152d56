"""The sender's HTTP request as the sources see it: exact body bytes and case-insensitive headers.

Signatures and tokens are checked on these bytes, so they are taken from the API Gateway event
before anything parses them: base64-decoded when API Gateway says it encoded them (form posts,
missing content types), else the body string encoded back to the UTF-8 it arrived as.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from bookhook.errors import MalformedRequest, PayloadTooLarge


@dataclass(frozen=True)
class WebhookRequest:
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased
    query: Mapping[str, list[str]] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def media_type(self) -> str | None:
        """`application/json` from `Application/JSON; charset=utf-8`; None when absent."""
        value = self.header("content-type")
        if not value:
            return None
        return value.split(";", 1)[0].strip().lower() or None

    @classmethod
    def from_http_api_event(cls, event: Mapping[str, Any], *, max_body_bytes: int) -> WebhookRequest:
        """Build from an API Gateway HTTP API (payload 2.0) event, enforcing the body size limit."""
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        raw_body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            # Cheap check before decoding: base64 is 4/3 the size of what it encodes.
            if len(raw_body) > (max_body_bytes * 4) // 3 + 4:
                raise PayloadTooLarge(f"the body is larger than {max_body_bytes} bytes")
            try:
                body = base64.b64decode(raw_body, validate=True)
            except (binascii.Error, ValueError):
                raise MalformedRequest(
                    "the body is not valid base64 although API Gateway marked it so"
                ) from None
        else:
            body = raw_body.encode("utf-8")
        if len(body) > max_body_bytes:
            raise PayloadTooLarge(f"the body is larger than {max_body_bytes} bytes")
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(event.get("rawQueryString") or "", keep_blank_values=True):
            query.setdefault(name, []).append(value)
        return cls(body=body, headers=headers, query=query)
