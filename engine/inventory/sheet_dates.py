"""Dates as secretariats type them into a sheet: ``2023-11-20``, ``20/11/2023``, ``20-11-2023``,
``20 November 2023`` or ``20 Nov 2023`` (Indonesian or English month names), or a real date cell.

Day first, as Indonesians write dates: ``03/04/2024`` is 3 April 2024.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from typing import Any

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_NUMERIC = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_WORDS = re.compile(r"(\d{1,2})\s+([A-Za-z]+)\.?\s+(\d{4})")
# Older spellings and abbreviations that Babel's month names do not cover.
_MORE_MONTHS = {"agt": 8, "agu": 8, "okt": 10, "des": 12, "nop": 11, "sept": 9, "pebruari": 2, "nopember": 11}


@functools.cache
def months() -> dict[str, int]:
    """Month names (full and first three letters) in Indonesian and English -> month number."""
    from babel.dates import get_month_names

    found: dict[str, int] = {}
    for locale in ("id_ID", "en_GB"):
        for width in ("wide", "abbreviated"):
            for n, name in get_month_names(width, locale=locale).items():
                found[name.lower().rstrip(".")] = n
                found[name[:3].lower()] = n
    found.update(_MORE_MONTHS)
    return found


def _parts(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) of a date written in a known form, real or not; None otherwise."""
    m = _ISO.fullmatch(text)
    if m:
        return int(m.group(1)), int(m.group(2)), int(m.group(3))
    m = _NUMERIC.fullmatch(text)
    if m:
        return int(m.group(3)), int(m.group(2)), int(m.group(1))
    m = _WORDS.fullmatch(text)
    if m and m.group(2).lower() in months():
        return int(m.group(3)), months()[m.group(2).lower()], int(m.group(1))
    return None


def in_known_form(value: Any) -> bool:
    """Whether ``value`` is written as a date is (``31/02/2028`` is, though no such day exists)."""
    return isinstance(value, str) and _parts(value.strip()) is not None


def to_date(value: Any) -> Any:
    """A date when ``value`` is one written in a known form; otherwise ``value`` unchanged (the
    caller's own check then says what is wrong with it)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date) or not isinstance(value, str):
        return value
    parts = _parts(value.strip())
    if parts is None:
        return value
    try:
        return date(*parts)
    except ValueError:
        return value
