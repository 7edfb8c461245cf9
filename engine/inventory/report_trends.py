"""Trends over time for the report: signings per year and month, hanging per quarter, evaluations per year."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any, Iterable, Sequence

from notifiers.formatting import _MONTHS  # noqa: PLC2701 - the month names of the letters, one source

from engine.lifecycle.labels import choice_label


def _month_label(year: int, month: int, lang: str) -> str:
    return f"{_MONTHS['en' if lang == 'en' else 'id'][month - 1][:3]} {year}"


def _months_between(first: date, last: date) -> list[tuple[int, int]]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def signings(signed_days: Iterable[date], lang: str) -> dict[str, list[dict[str, Any]]]:
    """Signings per year and per month (every month between the first and the last, zeros included)."""
    days = sorted(signed_days)
    if not days:
        return {"per_year": [], "per_month": []}
    years = Counter(d.year for d in days)
    months = Counter((d.year, d.month) for d in days)
    return {
        "per_year": [{"key": str(y), "label": str(y), "count": years[y]} for y in range(days[0].year, days[-1].year + 1)],
        "per_month": [{"key": f"{y}-{m:02d}", "label": _month_label(y, m, lang), "count": months[(y, m)]}
                      for y, m in _months_between(days[0], days[-1])],
    }


def _quarter(d: date) -> tuple[int, int]:
    return d.year, (d.month - 1) // 3 + 1


def hanging_per_quarter(since_days: Sequence[date], today: date, lang: str) -> list[dict[str, Any]]:
    """How many of the agreements hanging today were already hanging at the end of each quarter.

    Only today's hanging list is known (a resolved case leaves no "hanging" record), so each
    quarter counts the cases that began before its end and still hang: a rising line means
    cases pile up rather than get solved.
    """
    if not since_days:
        return []
    start = _quarter(min(since_days))
    end = _quarter(today)
    out = []
    y, q = start
    while (y, q) <= end:
        count = sum(1 for d in since_days if _quarter(d) <= (y, q))
        out.append({"key": f"{y}-Q{q}", "label": f"{'Q' if lang == 'en' else 'T'}{q} {y}", "count": count})
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


def evaluations_per_year(events: Iterable[tuple[str, int]], outcomes: Sequence[str], lang: str) -> dict[str, Any]:
    """Evaluation outcomes (event, year) counted per year: ``{"years": [...], "series": [{outcome, label, values}]}``."""
    counts = Counter(events)
    years = sorted({y for _, y in counts})
    if years:
        years = list(range(years[0], years[-1] + 1))
    series = [{"outcome": o, "label": choice_label("outcome", o, lang), "values": [counts[(o, y)] for y in years]}
              for o in outcomes if any(counts[(o, y)] for y in years)]
    return {"years": [str(y) for y in years], "series": series}
