"""Errors raised by the notifiers package.

The tree::

    NotifierError
    ├── ConfigurationError      a transport or renderer was set up wrongly (also a ValueError)
    ├── InvalidMessage          a message that must not be built (bad address, bad header name)
    ├── TemplateError           a template is missing, or its context does not fit it
    └── TransportError          delivery did not happen
        ├── TransientError      try again later (4xx, lost connection, timeout)
        │   ├── ServerUnreachable  no connection to the server at all (refused, timed out, TLS)
        │   └── LoginRefused    the login was refused for good: no further attempt
        └── PermanentError      do not try again (5xx); the engine raises an incident

Every error keeps its context as attributes (``message_id``, ``code``, ``reply``) so callers
can record it, and its ``str()`` is one plain sentence fit for a CLI or an outbox row. No
error text ever contains a password: transports build their sentences from server replies
and their own wording only.
"""

from __future__ import annotations


class NotifierError(Exception):
    """Base of every error raised by notifiers."""

    def __init__(
        self,
        sentence: str,
        *,
        message_id: str | None = None,
        code: int | None = None,
        reply: str | None = None,
    ) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.message_id = message_id
        self.code = code
        self.reply = reply

    def __str__(self) -> str:
        return self.sentence


class ConfigurationError(NotifierError, ValueError):
    """A transport or renderer option is wrong; fix the configuration, not the message."""


class InvalidMessage(NotifierError):
    """The message cannot be built safely (e.g. an address with a line break in it)."""


class TemplateError(NotifierError):
    """A template is missing or its rendering failed (e.g. an undefined context name)."""


class TransportError(NotifierError):
    """Delivery failed; the subclass says whether trying again can help."""


class TransientError(TransportError):
    """A temporary failure: the same message may succeed later."""


class ServerUnreachable(TransientError):
    """No connection could be made (refused, timed out, no STARTTLS, a TLS failure): the message
    is fine, the server is not there. After a few of these in a row a transport stops trying
    for the rest of its session (a circuit breaker) instead of waiting on a dead server for
    every message."""


class LoginRefused(TransientError):
    """The server refused the login for good (5xx to AUTH). The messages are fine, but trying
    again with the same account and password would only add failed logins (an account lock,
    a ban of the host): the transport makes no further attempt, and says so for every message."""


class PermanentError(TransportError):
    """A permanent failure: sending the same message again will fail again."""
