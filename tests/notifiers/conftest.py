"""Fixtures for the notifier tests: real aiosmtpd servers on 127.0.0.1, TLS via trustme.

Each server runs in aiosmtpd's own thread and event loop; the code under test runs in the
test's loop (``asyncio.run``), so the two talk over a real socket as in production.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller

from .smtp_fakes import RecordingHandler, Server

SERVER_NAME = "mail.kukarkab.test"


def free_port() -> int:
    # aiosmtpd's Controller does not support port=0 (aio-libs/aiosmtpd#388): ask the OS first.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="session")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(context)
    return context


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Server]]:
    """Start aiosmtpd servers: ``smtp_server(handler=None, **controller_and_smtp_options)``."""
    started: list[Controller] = []

    def start(handler: RecordingHandler | None = None, **options: Any) -> Server:
        handler = handler or RecordingHandler()
        port = free_port()
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            server_hostname=SERVER_NAME,  # no reverse lookup per connection
            ready_timeout=10.0,
            **options,
        )
        controller.start()
        started.append(controller)
        return Server(port, handler, controller)

    yield start
    for controller in started:
        controller.stop()
