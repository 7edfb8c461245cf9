"""The clock: real time, or the instant set by TKKSD_NOW so coordinators and tests can move through years."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Mapping
from zoneinfo import ZoneInfo

from engine.errors import InvalidInput
from engine.i18n import _

UTC = timezone.utc


def parse_instant(text: str, zone: ZoneInfo) -> datetime:
    """ISO-8601 date or date-time; a naive value is read in the regency's zone."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(_("'{text}' is not an ISO-8601 date or time (e.g. 2026-11-29 or 2026-11-29T08:00).").format(text=text)) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Clock:
    zone: ZoneInfo
    fixed: datetime | None = None  # UTC
    # How far ``advanced()`` moved this clock: leases follow such a move, not TKKSD_NOW.
    skew: timedelta = timedelta(0)

    def now(self) -> datetime:
        return self.fixed if self.fixed is not None else datetime.now(UTC)

    def lease_now(self) -> datetime:
        """The instant leases are measured on: the real time (plus any in-process advance).
        Never TKKSD_NOW: with the business clock fixed, a killed daemon's claims would never
        lapse, and with it set ahead they would lapse at once."""
        return datetime.now(UTC) + self.skew

    def today(self) -> date:
        return self.now().astimezone(self.zone).date()

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

    def start_of_day(self, day: date) -> datetime:
        """Midnight of ``day`` in the regency's zone, as UTC."""
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).astimezone(UTC)

    def advanced(self, delta: timedelta) -> "Clock":
        return Clock(self.zone, self.now() + delta, self.skew + delta)


def from_environment(zone_name: str, environ: Mapping[str, str] | None = None) -> Clock:
    environ = os.environ if environ is None else environ
    zone = ZoneInfo(zone_name)
    fixed = environ.get("TKKSD_NOW")
    return Clock(zone, parse_instant(fixed, zone) if fixed else None)
