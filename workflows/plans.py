"""Planning periods (RPJMD, Renstra) and which one a plan reference cites.

A period is plain data (``[limits.planning_periods.<id>]`` in the settings): ``kind``,
``label``, ``starts_on``, ``ends_on`` (ISO dates), ``cites`` (the texts that name it in a
reference, e.g. "RPJMD 2016-2021"), ``source`` and ``verified``. A reference cites a period when
it contains one of its ``cites`` texts, compared case-insensitively with every kind of dash
read as "-" and runs of spaces as one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

_DASHES = re.compile(r"\s*[\u2010-\u2015\u2212-]\s*")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Period:
    id: str
    kind: str
    label: str
    starts_on: date | None
    ends_on: date
    cites: tuple[str, ...]
    source: str = ""
    verified: bool = True


def _normal(text: str) -> str:
    return _SPACES.sub(" ", _DASHES.sub("-", text)).strip().lower()


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        return date.fromisoformat(value)
    return None


def periods(table: Mapping[str, Any] | None) -> list[Period]:
    """The configured periods, those without an end date left out."""
    out = []
    for pid, raw in (table or {}).items():
        if not isinstance(raw, Mapping) or _date(raw.get("ends_on")) is None:
            continue
        label = str(raw.get("label") or pid)
        out.append(Period(pid, str(raw.get("kind", "")), label, _date(raw.get("starts_on")), _date(raw["ends_on"]),
                          tuple(raw.get("cites") or [label]), str(raw.get("source", "")), bool(raw.get("verified", True))))
    return out


def cited_period(table: Mapping[str, Any] | None, reference: Any) -> Period | None:
    """The period ``reference`` cites (the longest matching text wins), or None."""
    return cited_among(periods(table), reference)


def cited_among(candidates: Sequence[Period], reference: Any) -> Period | None:
    """``cited_period`` among periods read from the table already (a caller that asks often)."""
    if not isinstance(reference, str) or not reference.strip():
        return None
    text = _normal(reference)
    best: tuple[int, Period] | None = None
    for p in candidates:
        for cite in p.cites:
            c = _normal(cite)
            if c and c in text and (best is None or len(c) > best[0]):
                best = (len(c), p)
    return best[1] if best else None
