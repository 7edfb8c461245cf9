"""What people read, in their language: gettext messages and Babel's dates and numbers.

Message ids in the code are English; the Indonesian catalog (the default language) is compiled
into the package from ``engine/locale/id/*.po`` (see docs/translations.md for extracting, merging
and compiling, and ``tests/test_translations.py``, which fails on a message without a translation).

The language is one per process: the CLI chooses it once from ``TKKSD_LANGUAGE`` (or the
settings) before it runs a command; the daemon keeps it for its lifetime. Mails and reports that
were recorded in a language keep theirs (they take ``lang`` explicitly).

Mark a message with ``_("...")`` where it is shown, or with ``N_("...")`` where it is defined
before the language is known (module-level tables) and translate it with ``_()`` when shown.
Placeholders use ``str.format`` names, never f-strings inside ``_()``: the catalog holds the text
with its ``{names}``.
"""

from __future__ import annotations

import functools
import gettext as _gettext
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

DOMAIN = "tkksd"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"

# The Babel locale of each language (numbers, month names).
_BABEL_LOCALE = {"id": "id_ID", "en": "en_GB"}

_state: dict[str, str] = {"language": DEFAULT_LANGUAGE}


def normalise(language: str | None) -> str | None:
    """``"ID"``, ``" en "`` -> the supported code; None when not supported."""
    code = (language or "").strip().lower().replace("-", "_").split("_")[0]
    return code if code in LANGUAGES else None


def use(language: str) -> None:
    """Speak ``language`` from now on in this process (click's own messages included)."""
    code = normalise(language) or DEFAULT_LANGUAGE
    _state["language"] = code
    # click marks its messages with the standard library's gettext (the global domain): binding
    # that domain to this catalog lets "Usage:" and "Missing option" read in the same language.
    if code != "en":
        _gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
        _gettext.textdomain(DOMAIN)
    else:
        _gettext.textdomain("messages")
    _set_environment_language(code)


def _set_environment_language(code: str) -> None:
    # gettext.gettext (click's) picks the catalog from LANGUAGE/LC_ALL/...; set the first one for
    # this process so the global domain follows the chosen language.
    import os

    os.environ["LANGUAGE"] = code


def language() -> str:
    return str(_state["language"])


@functools.lru_cache(maxsize=None)
def _catalog(code: str) -> _gettext.NullTranslations:
    """The catalog of a supported language code, read once per process."""
    if code == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[code], fallback=True)


def _translation() -> _gettext.NullTranslations:
    return _catalog(language())


def _(message: str) -> str:
    """``message`` in the current language."""
    return _translation().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it yet (see the module's text)."""
    return message


def in_language(message: str, lang: str) -> str:
    """``message`` in ``lang`` whatever the process speaks (a mail recorded in its language)."""
    return _catalog(normalise(lang) or DEFAULT_LANGUAGE).gettext(message)


# --- numbers, dates, times ------------------------------------------------------------------

def _locale(lang: str | None = None) -> str:
    return _BABEL_LOCALE[normalise(lang) or language()]


def number(value: int | float, lang: str | None = None, decimals: int | None = None) -> str:
    """``1044`` -> ``1.044`` (id) / ``1,044`` (en); ``3.55`` -> ``3,55``."""
    from babel.numbers import format_decimal

    if decimals is not None:
        fmt = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=fmt, locale=_locale(lang))
    return format_decimal(value, locale=_locale(lang))


def percent(ratio: float, lang: str | None = None, decimals: int = 1) -> str:
    """``0.484`` -> ``48,4 %`` (id) / ``48.4%`` (en)."""
    from babel.numbers import format_percent

    code = normalise(lang) or language()
    fmt = "#,##0" + ("." + "0" * decimals if decimals else "") + (" %" if code == "id" else "%")
    return format_percent(ratio, format=fmt, locale=_locale(code))


def day(value: date, lang: str | None = None) -> str:
    """``1 Mei 2024`` / ``1 May 2024``."""
    from babel.dates import format_date

    return format_date(value, "d MMMM y", locale=_locale(lang))


def short_day(value: date, lang: str | None = None) -> str:
    """A date in a table, months abbreviated: ``1 Agu 2024`` (id) / ``1 Aug 2024`` (en)."""
    from babel.dates import format_date

    return format_date(value, "d MMM y", locale=_locale(lang))


def moment(value: datetime, zone: ZoneInfo, lang: str | None = None) -> str:
    """An instant as people read it in ``zone``: ``30 Nov 2026 11.14 WITA`` (id) /
    ``30 Nov 2026 11:14 WITA`` (en)."""
    from babel.dates import format_datetime

    local = value.astimezone(zone)
    code = normalise(lang) or language()
    pattern = "d MMM y HH.mm" if code == "id" else "d MMM y HH:mm"
    return f"{format_datetime(local, pattern, locale=_locale(code))} {local.tzname()}"


def days_from_today(days: int, lang: str | None = None) -> str:
    """``-1044`` -> ``terlambat 1.044 hari``; ``12`` -> ``dalam 12 hari``; ``0`` -> ``hari ini``."""
    code = normalise(lang) or language()

    def t(msg: str) -> str:
        return in_language(msg, code)

    if days == 0:
        return t(N_("today"))
    if days < 0:
        return t(N_("{days} days late")).format(days=number(-days, code)) if abs(days) != 1 else t(N_("1 day late"))
    return t(N_("in {days} days")).format(days=number(days, code)) if days != 1 else t(N_("tomorrow"))


def yes_no(value: bool) -> str:
    return _("yes") if value else _("no")
