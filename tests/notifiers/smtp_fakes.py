"""Misbehaving and recording aiosmtpd handlers for the SMTP transport tests."""

from __future__ import annotations

import asyncio
import email
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any

    def parsed(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=default_policy)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    """Accepts everything and keeps what it got. Subclasses misbehave on purpose."""

    received: list[Received] = field(default_factory=list)
    peers: set[Any] = field(default_factory=set)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.peers.add(session.peer)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer))
        return "250 2.0.0 OK"

    def message_ids(self) -> list[str]:
        return [r.parsed()["Message-ID"] for r in self.received]


@dataclass
class ScriptedDataHandler(RecordingHandler):
    """Answers DATA from a script of replies; a 250 stores the message, anything else does not."""

    script: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        reply = self.script.pop(0) if self.script else "250 2.0.0 OK"
        if reply.startswith("250"):
            return await super().handle_DATA(server, session, envelope)
        return reply


@dataclass
class RcptHandler(RecordingHandler):
    """Refuses some recipients with a given reply."""

    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"


@dataclass
class DropHandler(RecordingHandler):
    """Drops the connection once the DATA of the chosen messages arrived, without replying."""

    drop_subjects: set[str] = field(default_factory=set)

    async def handle_DATA(self, server, session, envelope) -> str:
        subject = email.message_from_bytes(envelope.content, policy=default_policy)["Subject"]
        if subject in self.drop_subjects:
            self.drop_subjects.discard(subject)
            server.transport.abort()  # as if the server crashed before committing the message
            return "451 4.3.0 never seen by the client"
        return await super().handle_DATA(server, session, envelope)


@dataclass
class No8BitHandler(RecordingHandler):
    """An old server: no 8BITMIME in its EHLO reply."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        session.host_name = hostname
        return [r for r in responses if "8BITMIME" not in r.upper()]


@dataclass
class SlowHandler(RecordingHandler):
    """Waits before answering MAIL, RCPT and DATA."""

    delay: float = 0.0
    data_delay: float = 0.0

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(self.data_delay or self.delay)
        return await super().handle_DATA(server, session, envelope)


class Authenticator:
    def __init__(self, login: str, password: str) -> None:
        self.login, self.password = login.encode(), password.encode()
        self.attempts: list[bytes] = []
        self.mechanisms: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.attempts.append(auth_data.login)
        self.mechanisms.append(mechanism)
        ok = auth_data.login == self.login and auth_data.password == self.password
        return AuthResult(success=ok, handled=False)


@dataclass
class Server:
    port: int
    handler: RecordingHandler
    controller: Controller
