"""Dates and times as an Indonesian (or English) official letter writes them.

Pure functions over the standard library; the renderer exposes them as jinja2 filters.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Asia/Makassar"
DEFAULT_TZ_ABBR = "WITA"

_MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
           "September", "Oktober", "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
_DAYS = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
# Indonesia has no daylight saving time, so its three zones are exact fixed offsets; used
# only where the tz database is missing (e.g. Windows without the tzdata package).
_FIXED = {
    "Asia/Jakarta": timezone(timedelta(hours=7), "WIB"),
    "Asia/Pontianak": timezone(timedelta(hours=7), "WIB"),
    "Asia/Makassar": timezone(timedelta(hours=8), "WITA"),
    "Asia/Jayapura": timezone(timedelta(hours=9), "WIT"),
}


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "id"


@cache
def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in _FIXED:
            return _FIXED[name]
        raise


# Memoised: one notice formats the same few dates in its subject, text and HTML.
@lru_cache(maxsize=1024)
def tanggal(value: date | datetime | None, lang: str = "id", tz: str = DEFAULT_TZ, *, weekday: bool = False) -> str:
    """``date(2026, 11, 29)`` -> ``"29 November 2026"`` (``"Minggu, 29 November 2026"`` with weekday).

    An aware datetime is first moved to ``tz``, so "the date" is the regency's date.
    """
    if value is None:
        return "-"
    if isinstance(value, datetime):
        value = _local(value, tz).date()
    lang = _lang(lang)
    text = f"{value.day} {_MONTHS[lang][value.month - 1]} {value.year}"
    if weekday:
        text = f"{_DAYS[lang][value.weekday()]}, {text}"
    return text


@lru_cache(maxsize=1024)
def waktu(value: datetime | None, lang: str = "id", tz: str = DEFAULT_TZ, tz_abbr: str = DEFAULT_TZ_ABBR) -> str:
    """An aware datetime -> ``"29 November 2026 pukul 08.00 WITA"`` (en: ``"at 08:00 WITA"``).

    A plain date is written as a date: digests may list whole-day deadlines.
    """
    if value is None:
        return "-"
    if not isinstance(value, datetime):
        return tanggal(value, lang, tz)
    local = _local(value, tz)
    day = tanggal(local.date(), lang)
    if _lang(lang) == "en":
        return f"{day} at {local.hour:02d}:{local.minute:02d} {tz_abbr}"
    # Indonesian usage (PUEBI) separates hours and minutes with a dot.
    return f"{day} pukul {local.hour:02d}.{local.minute:02d} {tz_abbr}"


def _local(value: datetime, tz: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive time would silently be read as the server's zone; refuse instead.
        raise ValueError(f"The time {value.isoformat()} has no time zone.")
    return value.astimezone(zone(tz))
