"""Event files a user hands `bookhook invoke` and `bookhook samples`: an API Gateway HTTP API
(payload 2.0) event stored as JSON, read and checked, with a one-line error saying what is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bookhook_dev.tools.cli import CommandError


def read_event_file(path: Path) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event stored as JSON, as `sam local invoke -e` takes
    it; CommandError naming the file and what is wrong with it."""
    try:
        document: Any = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: a folder, not an event file") from None
    except OSError as error:
        raise CommandError(f"{path}: cannot be read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not JSON: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise CommandError(
            f"{path}: not JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(document, dict):
        raise CommandError(f"{path}: not an API Gateway HTTP API event: a JSON {type(document).__name__}")
    if "httpMethod" in document:
        raise CommandError(
            f"{path}: an API Gateway REST API (payload 1.0) event; the function takes HTTP API "
            "(payload 2.0) events, like those in events/"
        )
    context = document.get("requestContext")
    if (
        document.get("version") != "2.0"
        or not isinstance(document.get("rawPath"), str)
        or not isinstance(context, dict)
        or not isinstance(context.get("http"), dict)
        or not isinstance(document.get("headers", {}), dict)
        or not isinstance(document.get("body", ""), str)
    ):
        raise CommandError(
            f'{path}: not an API Gateway HTTP API event: it needs version "2.0", rawPath and '
            "requestContext.http (headers an object, body a string), like the files in events/"
        )
    return document
