"""Dates as secretariats type them into a sheet: ``2023-11-20``, ``20/11/2023``, ``20-11-2023``,
``20 November 2023`` or ``20 Nov 2023`` (Indonesian or English month names), or a real date cell.

Day first, as Indonesians write dates: ``03/04/2024`` is 3 April 2024.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from notifiers.formatting import _MONTHS  # noqa: PLC2701 - the month names of the letters, one source

MONTHS: dict[str, int] = {}
for _names in _MONTHS.values():
    for _n, _name in enumerate(_names, start=1):
        MONTHS[_name.lower()] = _n
        MONTHS[_name[:3].lower()] = _n
MONTHS.update({"agt": 8, "agu": 8, "okt": 10, "des": 12, "nop": 11, "sept": 9, "pebruari": 2, "nopember": 11})

_NUMERIC = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_WORDS = re.compile(r"(\d{1,2})\s+([A-Za-z]+)\.?\s+(\d{4})")


def to_date(value: Any) -> Any:
    """A date when ``value`` is one written in a known form; otherwise ``value`` unchanged (the
    caller's own check then says what is wrong with it)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date) or not isinstance(value, str):
        return value
    text = value.strip()
    m = _NUMERIC.fullmatch(text)
    if m:
        day, month, year = (int(g) for g in m.groups())
    else:
        m = _WORDS.fullmatch(text)
        if not m or m.group(2).lower() not in MONTHS:
            return value
        day, month, year = int(m.group(1)), MONTHS[m.group(2).lower()], int(m.group(3))
    try:
        return date(year, month, day)
    except ValueError:
        return value
