"""The values a notice will show, as JSON for the outbox row, and back.

A notice is recorded in the transaction of the change that causes it, and rendered later by
the drain (and by `tkksd outbox show`). What it shows must be what was true when it was
recorded, so the values themselves are stored, not a reference to rows that may change.
Dates and aware datetimes are tagged (``{"$date": "2024-05-01"}``,
``{"$datetime": "2024-05-01T00:00:00+00:00"}``) so they come back as the same types.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

DATE, DATETIME = "$date", "$datetime"


# Values that are JSON as they are. Most of a notice's values are such texts and numbers: they
# are taken as they are without a call each (every notice encodes some eighty values).
_AS_THEY_ARE = frozenset({str, bool, int, float, type(None)})


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data (mappings, lists, text, numbers, booleans, None)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime):
        return {DATETIME: value.isoformat()}
    if isinstance(value, date):
        return {DATE: value.isoformat()}
    if isinstance(value, dict):
        return {str(k): v if type(v) in _AS_THEY_ARE else encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [v if type(v) in _AS_THEY_ARE else encode(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "items"):  # any other mapping
        return {str(k): encode(v) for k, v in value.items()}
    return str(value)


def decode(value: Any) -> Any:
    """The inverse of ``encode``."""
    if isinstance(value, dict):
        if len(value) == 1:
            if DATETIME in value:
                return datetime.fromisoformat(value[DATETIME])
            if DATE in value:
                return date.fromisoformat(value[DATE])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value
