"""How the rules word what people read: sentences, labels, dates and numbers in one language.

``workflows/`` may not import the engine. Its sentences are marked with the standard library's
gettext (the global domain), which ``engine/i18n.py`` binds to the tkksd catalog when the
language is Indonesian; until then, and with ``TKKSD_LANGUAGE=en``, they read in English.
The labels a sentence quotes (fields, events, choices) follow the same language: ``language()``
asks gettext itself, so a sentence and the labels inside it never mix languages.

Names a person may have to type come with their label: a field as ``key (Label)``, an event or a
choice as ``Label (code)``. Dates read as ``15 Januari 2026``, numbers as ``6,5``, as
``engine/i18n.py`` writes them (no Babel here: this package uses the standard library only).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from gettext import gettext as _
from typing import Any


def N_(message: str) -> str:
    """Mark ``message`` for the catalog; it is translated where it is shown."""
    return message


class LazyText:
    """A marked message worded only when it is shown: the parts of a definition a problem may
    name (``event 'sign'``). Definitions are parsed and checked at every start; asking gettext
    for each of their parts would double the time that takes."""

    __slots__ = ("message", "names")

    def __init__(self, message: str, **names: Any):
        self.message, self.names = message, names

    def __str__(self) -> str:
        return _(self.message).format(**self.names)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


MONTHS = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"), N_("July"),
          N_("August"), N_("September"), N_("October"), N_("November"), N_("December"))


def language() -> str:
    """``"id"`` or ``"en"``: the language gettext speaks now."""
    # The catalog translates this marker into its own language's code; untranslated, it stays "en".
    return "en" if _("en") == "en" else "id"


def label(text: Any) -> str:
    """A definition's label (``Label``, or a table with ``id`` and ``en``) in the reader's language."""
    lang = language()
    if hasattr(text, "get") and not isinstance(text, str):
        return str(text.get(lang) or text.get("id") or "")
    return str(text)


def field(defn, key: str) -> str:
    """A field as people type and read it: ``signed_on (Tanggal penandatanganan)``."""
    return f"{key} ({label(defn.field(key).label)})" if defn.has_field(key) else key


def fields(defn, keys: Iterable[str]) -> str:
    return ", ".join(field(defn, k) for k in keys)


def field_label(defn, key: str) -> str:
    """Only the label of a field (where nobody types it): ``Mitra``."""
    return label(defn.field(key).label) if defn.has_field(key) else key


def event(defn, name: str) -> str:
    """An event as people read and type it: ``Penilaian ulang IKN (ikn_reassess)``."""
    return with_code(label(defn.event(name).label), name) if defn.has_event(name) else f"'{name}'"


def choice(view, key: str, value: Any) -> str:
    """A choice value (an urusan, a partner type, a form) by its label, with the code one types.
    The labels are the engine's; a view that does not offer them leaves the code."""
    lookup = getattr(view, "choice_label", None)
    text = lookup(key, str(value), language()) if lookup is not None else str(value)
    return with_code(text, str(value))


def choices(view, key: str, values: Iterable[Any]) -> str:
    return ", ".join(choice(view, key, v) for v in values)


def with_code(text: str, code: str) -> str:
    """``Label (code)``, or the code alone when the label is the code or names it already."""
    if not text or text == code or f"({code})" in text:
        return text or code
    return f"{text} ({code})"


def day(value: date) -> str:
    """``15 Januari 2026`` / ``15 January 2026``."""
    return f"{value.day} {_(MONTHS[value.month - 1])} {value.year}"


def value(v: Any) -> str:
    """A value quoted in a sentence: dates as people read them, numbers in the reader's notation."""
    if isinstance(v, date):
        return day(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return number(v)
    return str(v)


def number(v: int | float, decimals: int | None = None) -> str:
    """``1.044`` and ``6,5`` in Indonesian, ``1,044`` and ``6.5`` in English."""
    if decimals is not None:
        text = f"{v:,.{decimals}f}"
    elif isinstance(v, int) or float(v).is_integer():
        text = f"{int(v):,}"
    else:
        text = f"{v:,.10g}"
    return text.translate(str.maketrans(",.", ".,")) if language() == "id" else text


def percent(v: int | float) -> str:
    """A share given in percent: ``12,5 %`` / ``12.5%``."""
    return number(v) + (" %" if language() == "id" else "%")


def said(text: Any) -> str:
    """A sentence written in a shipped definition (a condition rule's message, an approval's name),
    as the catalog translates it; a deployment's own text is shown as written."""
    return _(str(text)) if text else ""
