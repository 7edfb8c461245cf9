"""A transport that only records, for tests of the engine (like dramatiq's StubBroker).

It builds every message exactly as the real transports do, so a message that would be
refused for a bad address is refused here too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from email.message import EmailMessage

from notifiers.base import Message, Outcome, build_email
from notifiers.errors import InvalidMessage

Script = Callable[[Message], Outcome]


class RecordingTransport:
    """Records delivered messages; ``script`` may decide an outcome per message.

    ``script`` returning an outcome other than "sent" keeps the message out of ``sent``.
    ``fail_next(status, error)`` queues one-off outcomes for the next messages.
    """

    def __init__(self, script: Script | None = None) -> None:
        self.script = script
        self.sent: list[Message] = []
        self.emails: list[EmailMessage] = []
        self.outcomes: list[Outcome] = []
        self.batches = 0
        self.closed = False
        self._queued: list[tuple[str, str, int | None]] = []

    def fail_next(self, status: str = "retry", error: str = "Simulated failure.", *, code: int | None = None, times: int = 1) -> None:
        self._queued.extend([(status, error, code)] * times)

    def clear(self) -> None:
        self.sent.clear()
        self.emails.clear()
        self.outcomes.clear()

    async def deliver(self, messages: Sequence[Message]) -> list[Outcome]:
        if self.closed:
            raise RuntimeError("This RecordingTransport is closed.")
        self.batches += 1
        results = [self._deliver_one(m) for m in messages]
        self.outcomes.extend(results)
        return results

    async def aclose(self) -> None:
        self.closed = True

    def _deliver_one(self, msg: Message) -> Outcome:
        try:
            email = build_email(msg)
        except InvalidMessage as exc:
            return Outcome.from_error(exc, msg.message_id)
        if self._queued:
            status, error, code = self._queued.pop(0)
            outcome = Outcome(msg.message_id, status, error=error, code=code)  # type: ignore[arg-type]
        elif self.script is not None:
            outcome = self.script(msg)
        else:
            outcome = Outcome(msg.message_id, "sent")
        if outcome.delivered:
            self.sent.append(msg)
            self.emails.append(email)
        return outcome
