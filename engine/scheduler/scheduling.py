"""The daemon's clock: APScheduler 3.11 holding a few fixed jobs, nothing per agreement.

Agreement deadlines are rows (engine.lifecycle.deadlines); the scheduler only ticks. It runs in UTC
with an in-memory job store (nothing pickled, nothing to lose on restart: anchors.md §2),
each job with a fixed id and ``replace_existing``, ``coalesce`` (a backlog of ticks runs once),
``max_instances=1`` (a long sweep is never overlapped by the next tick) and
``misfire_grace_time=None`` (a late tick still runs). Catch-up after downtime is not the
scheduler's business: the first sweep finds every row that fell due meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
DRAIN_EXECUTOR = "drain"


@dataclass(frozen=True)
class Jobs:
    sweep: Callable[[], None]
    drain: Callable[[], None]
    digests: Callable[[], None]


def build_scheduler(settings, jobs: Jobs, *, now: datetime | None = None):
    """A BackgroundScheduler (not started) with the fixed jobs; sweep and drain run at once."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    from engine.scheduler.digests import DAYS, parse_weekly

    utc = timezone.utc
    zone = ZoneInfo(settings.timezone)
    start = now or datetime.now(utc)
    daemon = settings.section("daemon")
    scheduler = BackgroundScheduler(
        timezone=utc,
        jobstores={"default": MemoryJobStore()},
        # The drain (network) has a worker of its own: in one shared pool the sweep and the
        # catch-up digests at start (which sweep first) took both workers for as long as a
        # backlog of deadlines lasted, and no mail went out meanwhile.
        executors={"default": ThreadPoolExecutor(2), DRAIN_EXECUTOR: ThreadPoolExecutor(1)},
        job_defaults=dict(JOB_DEFAULTS),
    )
    scheduler.add_job(jobs.sweep, IntervalTrigger(seconds=int(daemon.get("sweep_seconds", 60)), timezone=utc),
                      id="sweep", name="sweep due deadlines", replace_existing=True, next_run_time=start)
    scheduler.add_job(jobs.drain, IntervalTrigger(seconds=int(daemon.get("drain_seconds", 30)), timezone=utc),
                      id="drain", name="drain the outbox", replace_existing=True, next_run_time=start,
                      executor=DRAIN_EXECUTOR)
    weekday, at = parse_weekly(str(daemon.get("weekly_digest", "mon 08:00")))
    # Cron in the regency's zone; the digests themselves are idempotent per period, and the
    # pass at start-up sends the current period's if a downtime swallowed its tick.
    scheduler.add_job(jobs.digests, CronTrigger(day_of_week=DAYS[weekday], hour=at.hour, minute=at.minute, timezone=zone),
                      id="digest_weekly", name="weekly OPD digests", replace_existing=True)
    scheduler.add_job(jobs.digests, CronTrigger(day=int(daemon.get("monthly_digest_day", 1)), hour=8, minute=0, timezone=zone),
                      id="digest_monthly", name="monthly chair digest", replace_existing=True)
    scheduler.add_job(jobs.digests, id="digest_startup", name="digests missed while down", replace_existing=True,
                      next_run_time=start)
    return scheduler
