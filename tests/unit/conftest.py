"""Unit tests open no sockets: any attempt fails the test loudly."""

from __future__ import annotations

import socket
from typing import Any

import pytest

# The template's fixtures (`template`, `translated`), for the template's tests.
from tests.unit.template_fixtures import template, translated  # noqa: F401


class SocketBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise SocketBlocked("unit tests must not open network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
