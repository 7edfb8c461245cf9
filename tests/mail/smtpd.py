"""A real aiosmtpd server on 127.0.0.1 for the mail tests, in a thread with its own event loop.

``loop.create_server(..., port=0)`` rather than aiosmtpd's Controller, which cannot take
port 0 (aiosmtpd #388). ``decide(message_id, seen)`` scripts the reply to DATA per message
(``seen`` = how many times this Message-ID reached DATA before): "ok", an SMTP reply such
as "451 4.3.0 try later" or "554 5.7.1 rejected", "drop" (close the connection instead of
answering, after the message arrived), or ("sleep", seconds) before accepting.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

_MID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    answered: str

    @property
    def message_id(self) -> str:
        m = _MID.search(self.data.split(b"\r\n\r\n", 1)[0])
        return m.group(1).decode() if m else ""

    def parsed(self):
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class Recorder:
    decide: Callable[[str, int], object] | None = None
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    seen: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse_rcpt.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        mid = Received("", [], data, "").message_id
        with self.lock:
            n = self.seen[mid]
            self.seen[mid] += 1
        action = self.decide(mid, n) if self.decide else "ok"
        if isinstance(action, tuple) and action[0] == "sleep":
            await asyncio.sleep(action[1])
            action = "ok"
        answer = "250 Message accepted for delivery" if action == "ok" else action
        if action == "drop":
            # The message arrived, but the client never hears so: it cannot know.
            self._keep(envelope, data, "drop")
            server.transport.close()
            return "250 never heard"
        if str(answer).startswith("250"):
            self._keep(envelope, data, "250")
        return answer

    def _keep(self, envelope, data, answered):
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), data, answered))

    # -- views for assertions
    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.answered == "250"]

    def ids(self) -> Counter:
        """Message-ID -> copies that arrived (accepted or dropped after arrival)."""
        with self.lock:
            return Counter(r.message_id for r in self.received)


class SmtpServer:
    def __init__(self, recorder: Recorder, *, tls_context=None, implicit_tls: bool = False,
                 users: dict[str, str] | None = None, port: int = 0):
        self.recorder = recorder
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.users = users
        self.port = port  # 0: any free port; a given one brings a stopped server back where it was
        self.logins: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and self.users is not None:
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(login) == password:
                self.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def _factory(self):
        kwargs = dict(hostname="smtp.test.example", ident="tkksd-test-smtpd", loop=self._loop)
        if self.tls_context is not None and not self.implicit_tls:
            kwargs.update(tls_context=self.tls_context, require_starttls=True)
        if self.users is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=True)
        return SMTP(self.recorder, **kwargs)

    def start(self) -> "SmtpServer":
        self._thread.start()

        async def serve():
            ssl_ctx = self.tls_context if self.implicit_tls else None
            return await self._loop.create_server(self._factory, "127.0.0.1", self.port, ssl=ssl_ctx)

        self._server = asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return  # stopped already (a test stopped it to make an outage)

        async def close():
            self._server.close()
            await self._server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        except Exception:  # noqa: BLE001 - best effort at teardown
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
