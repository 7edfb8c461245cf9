"""Delivery into a local Maildir (the default): any mail client can open the folder.

``mailbox.Maildir.add`` writes each message under ``tmp/``, fsyncs it and then links it into
``new/``, so a reader never sees half a message, even if the daemon is killed mid-write.
"""

from __future__ import annotations

import asyncio
import mailbox
import os
import threading
from collections.abc import Sequence
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does
from pathlib import Path

from notifiers.base import Message, Outcome, build_email
from notifiers.errors import InvalidMessage, TransientError


class MaildirTransport:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._box: mailbox.Maildir | None = None
        # Maildir's unique-name counter is not thread-safe; overlapping batches take turns.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MaildirTransport(path={str(self.path)!r})"

    async def deliver(self, messages: Sequence[Message]) -> list[Outcome]:
        # File writes with fsync block; keep them off the event loop.
        return await asyncio.to_thread(self._deliver_all, list(messages))

    async def aclose(self) -> None:
        self._box = None

    def _deliver_all(self, messages: list[Message]) -> list[Outcome]:
        with self._lock:
            return [self._deliver_one(msg) for msg in messages]

    def _deliver_one(self, msg: Message) -> Outcome:
        try:
            data = build_email(msg).as_bytes()
        except InvalidMessage as exc:
            return Outcome.from_error(exc, msg.message_id)
        except (ValueError, LookupError) as exc:  # the generator refused a header or body
            error = InvalidMessage(_("The message could not be serialised: {problem}.").format(problem=exc), message_id=msg.message_id)
            return Outcome.from_error(error, msg.message_id)
        try:
            self._mailbox().add(data)
        except OSError as exc:
            # A full disk or a permission problem can be fixed without touching the message.
            error = TransientError(
                _("Could not write to the Maildir {path}: {problem}.").format(path=self.path, problem=exc.strerror or exc),
                message_id=msg.message_id,
            )
            return Outcome.from_error(error, msg.message_id)
        return Outcome(msg.message_id, "sent")

    def _mailbox(self) -> mailbox.Maildir:
        if self._box is None:
            # Created on first delivery, not at construction: building a transport stays free
            # of side effects (e.g. `tkksd --help` must not make folders).
            # Maildir(create=True) makes only the last folder; var/mail/ may not exist yet.
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._box = mailbox.Maildir(self.path, factory=None, create=True)
        return self._box
