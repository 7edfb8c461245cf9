"""Messages and their delivery: templates, rendering, SMTP and Maildir transports.

This package knows nothing of agreements or tables and imports nothing of the project.
Importing it is free: jinja2 and aiosmtplib load only when a renderer or an SMTP transport
is first asked for (the CLI's start-up time matters).
"""

from __future__ import annotations

import importlib
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notifiers.base import Transport

# name -> module that defines it; resolved on first attribute access (PEP 562).
_LAZY = {
    "Message": "notifiers.base",
    "Outcome": "notifiers.base",
    "Refusal": "notifiers.base",
    "Transport": "notifiers.base",
    "build_email": "notifiers.base",
    "backoff_seconds": "notifiers.base",
    "valid_address": "notifiers.addresses",
    "NotifierError": "notifiers.errors",
    "ConfigurationError": "notifiers.errors",
    "InvalidMessage": "notifiers.errors",
    "TemplateError": "notifiers.errors",
    "TransportError": "notifiers.errors",
    "TransientError": "notifiers.errors",
    "PermanentError": "notifiers.errors",
    "Renderer": "notifiers.rendering",
    "Rendered": "notifiers.rendering",
    "MaildirTransport": "notifiers.maildir",
    "SmtpTransport": "notifiers.smtp",
    "RecordingTransport": "notifiers.memory",
}

_TRANSPORTS = {
    "maildir": ("notifiers.maildir", "MaildirTransport"),
    "smtp": ("notifiers.smtp", "SmtpTransport"),
    "memory": ("notifiers.memory", "RecordingTransport"),
}

__all__ = sorted([*_LAZY, "make_transport"])


def make_transport(kind: str, **options: Any) -> Transport:
    """Build a transport by name: ``"maildir"`` (path=...), ``"smtp"`` (host=..., ...) or ``"memory"``.

    Only the chosen transport's module is imported.
    """
    try:
        module_name, class_name = _TRANSPORTS[kind]
    except KeyError:
        from notifiers.errors import ConfigurationError

        choices = ", ".join(repr(k) for k in _TRANSPORTS)
        raise ConfigurationError(_("Unknown mail transport {kind!r}; choose one of {choices}.").format(
            kind=kind, choices=choices)) from None
    cls = getattr(importlib.import_module(module_name), class_name)
    try:
        return cls(**options)
    except TypeError as exc:
        from notifiers.errors import ConfigurationError

        raise ConfigurationError(_("Wrong options for the {kind} mail transport: {problem}.").format(
            kind=kind, problem=exc)) from None


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'notifiers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
