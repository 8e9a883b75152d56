"""The function's own log lines, at DEBUG, for tests that check nothing personal is logged.

Powertools' handler keeps the stdout it found at import (under pytest, the session's capture, which
`capfd` does not read), so while `function_log()` is open it writes to a buffer instead; `capfd`
still reads the rest (metrics, anything printed).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bookhook.handlers import webhook as webhook_module


@contextmanager
def function_log() -> Iterator[io.StringIO]:
    level, handler = webhook_module.logger.log_level, webhook_module.logger.registered_handler
    buffer = io.StringIO()
    webhook_module.logger.setLevel("DEBUG")
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
        webhook_module.logger.setLevel(level)


def all_output(log: io.StringIO, capfd: pytest.CaptureFixture[str]) -> str:
    """Log lines, then whatever else reached stdout and stderr; checks that DEBUG was on."""
    captured = capfd.readouterr()
    output = log.getvalue() + captured.out + captured.err
    assert '"message":"request read"' in output  # the DEBUG line: the log really is at DEBUG
    return output
