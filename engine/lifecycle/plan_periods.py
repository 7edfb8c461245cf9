"""Dates that deadlines hang on beyond a field's own value. Planning periods from the configuration (``[limits.planning_periods]``): the end of the
period a plan reference cites anchors the re-synchronization deadlines (``plan_period:<field>``
anchors of ``[[deadlines]]`` rules)."""

from __future__ import annotations

from datetime import date
from typing import Any

from workflows.plans import Period, cited_among, periods

from engine.lifecycle.per_definition import by_identity


def configured(settings) -> dict[str, Any]:
    return dict(settings.section("limits").get("planning_periods") or {})


def all_periods(settings) -> list[Period]:
    return sorted(periods(configured(settings)), key=lambda p: (p.ends_on, p.id))


@by_identity(1)
def _configured_periods(settings) -> tuple[Period, ...]:
    # Read from the settings once: deadline planning asks in every transition that has a plan reference.
    return tuple(periods(configured(settings)))


def period_end(settings, reference: Any) -> date | None:
    """The last day of the period ``reference`` cites; None when it cites none configured."""
    period = cited_among(_configured_periods(settings), reference)
    return period.ends_on if period is not None else None


def next_yearly(anchor: str, start: date | None) -> date | None:
    """``yearly:MM-DD:<field>``: that day of the year after ``start``'s year (a contribution due
    by 31 March for every year after the first); None without a start date."""
    if start is None:
        return None
    month, day = (int(x) for x in anchor.split(":")[1].split("-"))
    return date(start.year + 1, month, day)
