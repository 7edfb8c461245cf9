"""`tkksd daemon`: sweep due deadlines, drain the outbox, send digests; a heartbeat for `tkksd status`.

At start the sweep, the digests a downtime swallowed and the drain begin at once (the drain on a
worker of its own); the first sweep, those digests and a drain after them are the first pass,
the catch-up after a downtime: its progress goes to the caller, and one summary line to the log
("menyusul 2,5 tahun: 230 peristiwa, 488 surel di var/mail/new"). `--once` makes the same pass
in order (sweep, digests, rounds, outbox) and returns it.
Each deadline is logged at debug level only; a job that acted logs one line. SIGTERM or
SIGINT (the first one) sets a stop flag: the sweep finishes the deadline in hand, commits what
is done and the process exits 0; rows not reached stay pending for the next start.

Several daemons may share one PostgreSQL database (engine.store.leases); on SQLite a second one
is refused. A lost database connection (a restart, a failover) is not fatal: the job logs
one line and the next tick tries again on a fresh connection.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol

import sqlalchemy as sa

from engine.i18n import N_, _, number
from engine.store import db
from engine.store.tables import heartbeats

log = logging.getLogger("tkksd.daemon")


def default_daemon_id(settings) -> str:
    return str(settings.get("daemon", "id", "") or socket.gethostname())


@dataclass
class Totals:
    passes: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    last_error: str | None = None

    def add(self, part: dict[str, int]) -> None:
        for k, v in part.items():
            self.counts[k] = self.counts.get(k, 0) + int(v)


class Progress(Protocol):
    """How far the first pass is: ``progress(stage, done, total)`` for "sweep" (deadlines) and
    "drain" (e-mails); ``close()`` when the pass is over."""

    def __call__(self, stage: str, done: int, total: int) -> None: ...

    def close(self) -> None: ...


class Daemon:
    def __init__(self, ctx, daemon_id: str | None = None, progress: Progress | None = None):
        self.ctx = ctx
        self.progress = progress
        self.daemon_id = daemon_id or default_daemon_id(ctx.settings)
        self.stop = threading.Event()
        self.totals = Totals()
        self.started_at = ctx.clock.now()
        self._lock = threading.Lock()
        # Who holds a claim: unique per process, so two daemons given the same id (the host
        # name by default) never take each other's leased rows for their own.
        self.claim_token = f"{self.daemon_id}/{os.getpid()}"[-80:]
        self._db_down = False
        self._read_only_failures = 0
        self.fatal: str | None = None
        self.caught_up_from: datetime | None = None  # the oldest due time of the first pass
        # A running daemon's first pass: its sweep, the digests a downtime swallowed, and a
        # drain that began after both (so it carries the mail they made); then one summary.
        self._first_sweep_taken = False
        self._first_swept = threading.Event()
        self._first_digested = threading.Event()
        self._first_drained = threading.Event()
        self._draining = threading.Lock()

    # ------------------------------------------------------------------ jobs

    # A database that refuses every write (a read-only file or folder, a full disk) does not
    # heal by itself: after this many failed jobs in a row the daemon stops and says why.
    MAX_READ_ONLY_FAILURES = 3

    def _guarded(self, name: str, fn) -> dict[str, int]:
        try:
            part = fn()
            if self._db_down:
                log.info("%s", _("{job}: the database answers again").format(job=_(JOB_NAMES.get(name, name))))
                self._db_down = False
        except Exception as exc:  # noqa: BLE001 - a job failure is logged and counted, the daemon goes on
            if db.connection_lost(exc):
                # Retried, not fatal: whatever was uncommitted rolled back with the connection.
                if not self._db_down:
                    log.warning("%s", _("{job}: lost the database connection ({error}); retrying at the next tick").format(
                        job=_(JOB_NAMES.get(name, name)), error=db.first_line(exc)))
                self._db_down = True
                with self._lock:
                    self.totals.add({"reconnects": 1})
                    self.totals.last_error = _("{job}: lost the database connection ({error})").format(
                        job=_(JOB_NAMES.get(name, name)), error=db.first_line(exc))[:500]
                return {}
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.error("%s", _("{job} failed: {kind}: {text}").format(job=_(JOB_NAMES.get(name, name)), kind=type(exc).__name__, text=text))
            from engine.store.waiting import is_read_only

            if is_read_only(exc):
                self._read_only_failures += 1
                if self._read_only_failures >= self.MAX_READ_ONLY_FAILURES:
                    log.error("%s", _("the database refuses every write ({error}); stopping after {n} attempts").format(
                        error=db.first_line(exc), n=self._read_only_failures))
                    self.fatal = _("The database cannot be written ({error}); the daemon stopped after {n} attempts.").format(
                        error=db.first_line(exc), n=self._read_only_failures)
                    self.stop.set()
            with self._lock:
                self.totals.errors += 1
                self.totals.last_error = _("{job} failed: {kind}: {text}").format(
                    job=_(JOB_NAMES.get(name, name)), kind=type(exc).__name__, text=text)[:500]
            part = {}
        with self._lock:
            self.totals.add(part)
        return part

    def sweep(self, on_action=None) -> dict[str, int]:
        def run():
            from engine.scheduler.sweep import log_action, sweep

            r = sweep(self.ctx, daemon_id=self.claim_token, stop=self.stop, on_action=on_action or log_action)
            if r.errors:
                with self._lock:
                    self.totals.errors += r.errors
                    self.totals.last_error = _("sweep: {n} deadline(s) failed (see the log)").format(n=r.errors)
            if r.acted or r.errors:
                log.info("%s", _("sweep: {fired} fired, {notified} notices ({folded} folded), {skipped} skipped, {errors} errors").format(
                    **{k: number(v) for k, v in r.as_dict().items()}))
            return {k: v for k, v in r.as_dict().items() if k != "errors"}

        part = self._guarded("sweep", run)
        self.beat()
        return part

    def _counted_sweep(self) -> dict[str, int]:
        """The first pass's sweep: its progress told to ``self.progress``, the oldest due time
        it acted on kept for the summary."""
        from engine.scheduler.sweep import log_action, due_count, oldest_due

        total = due_count(self.ctx) if self.progress else 0
        self.caught_up_from = oldest_due(self.ctx)
        done = 0

        def seen(action: dict[str, Any]) -> None:
            nonlocal done, total
            log_action(action)
            done += 1 + (action.get("folded") or 0)  # the rows it folded were due too
            total = max(total, done)
            if self.progress:
                self.progress("sweep", done, total)

        part = self.sweep(on_action=seen)
        if self.progress and done:
            self.progress("sweep", max(done, total), max(done, total))  # rows cancelled on the way count as done
        return part

    def drain(self) -> dict[str, int]:
        """The drain job. One drain at a time in this process: a run asked for while another
        runs is left to that one, which drains once more if the first pass's sweep and
        digests ended meanwhile (the summary waits for the mail they made)."""
        if not self._draining.acquire(blocking=False):
            return {}
        try:
            while True:
                after_first_pass = self._first_swept.is_set() and self._first_digested.is_set()
                part = self._drain()
                if after_first_pass or self._first_drained.is_set():
                    self._first_drained.set()
                    return part
                if self.stop.is_set() or not (self._first_swept.is_set() and self._first_digested.is_set()):
                    return part
        finally:
            self._draining.release()

    def _drain(self) -> dict[str, int]:
        def run():
            from engine.mail import outbox

            limit = int(self.ctx.settings.get("daemon", "batch_size", 100))
            # Full batches back to back over the same SMTP connections; a short batch means
            # the outbox is drained, and what becomes due meanwhile waits for the next run.
            r = outbox.drain_all(self.ctx, daemon_id=self.claim_token, limit=limit, while_full=True, stop=self.stop,
                                 on_pass=self._drain_progress() if self.progress and not self._first_drained.is_set() else None)
            if r.claimed:
                log.info("%s", _("outbox: {sent} sent, {retried} to retry, {failed} failed").format(
                    sent=number(r.sent), retried=number(r.retried), failed=number(r.failed)))
            return {"sent": r.sent, "retried": r.retried, "failed": r.failed}

        part = self._guarded("drain", run)
        self.beat()
        return part

    def _drain_progress(self):
        from engine.mail.outbox import due_count

        total = due_count(self.ctx)
        done = 0

        def seen(result) -> None:
            nonlocal done, total
            done += result.claimed
            total = max(total, done)
            if self.progress:
                self.progress("drain", done, total)

        return seen

    def digests(self) -> dict[str, int]:
        def run():
            from engine.scheduler.digests import run_due

            sent = run_due(self.ctx)
            if any(sent.values()):
                log.info("%s", _("digests: {weekly} weekly to OPD heads, {monthly} monthly to the chair").format(
                    weekly=sent["digest_opd"], monthly=sent["digest_chair"]))
            return sent

        part = self._guarded("digests", run)
        self.beat()
        return part

    def rounds(self) -> dict[str, int]:
        """Issue 16: reminders and escalation of open evaluation rounds (engine.scheduler.rounds)."""

        def run():
            from engine.scheduler.rounds import remind_due

            return remind_due(self.ctx)

        return self._guarded("rounds", run)

    def sweep_and_rounds(self) -> None:
        with self._lock:
            first, self._first_sweep_taken = not self._first_sweep_taken, True
        if first:  # the catch-up: its progress shown, its start kept for the summary
            self._counted_sweep()
            self._first_swept.set()
            self._first_pass_steps_done()
        else:
            self.sweep()
        if not self.stop.is_set():
            self.rounds()

    def sweep_then_digests(self) -> dict[str, int]:
        """A digest tells what is due *after* this pass's sweep: an expiry the daemon fires in
        the same minute must not be listed as overdue (scheduled digests sweep first)."""
        self.sweep_and_rounds()
        part = self.digests()
        if not self._first_digested.is_set():
            self._first_digested.set()
            self._first_pass_steps_done()
        return part

    def _first_pass_steps_done(self) -> None:
        """Once the first sweep and the start-up digests are done, drain now (not at the next
        tick); if a drain is running, it drains once more when it ends."""
        if self._first_swept.is_set() and self._first_digested.is_set() and not self.stop.is_set():
            self.drain()

    # ------------------------------------------------------------------ heartbeat

    def beat(self, *, stopped: bool = False) -> None:
        now = self.ctx.clock.now()
        with self._lock:
            values = dict(host=socket.gethostname(), pid=os.getpid(), started_at=self.started_at, last_pass_at=now,
                          counts=dict(self.totals.counts), errors=self.totals.errors, last_error=self.totals.last_error,
                          stopped_at=now if stopped else None)
        try:
            with db.write(self.ctx.engine) as conn:
                done = conn.execute(heartbeats.update().where(heartbeats.c.daemon_id == self.daemon_id).values(**values))
                if done.rowcount == 0:
                    conn.execute(heartbeats.insert().values(daemon_id=self.daemon_id, **values))
        except Exception as exc:  # noqa: BLE001 - a missed heartbeat must not stop the work
            if db.connection_lost(exc) and self._db_down:
                return  # already said once
            log.warning("heartbeat not written: %s", str(exc).strip().splitlines()[0] if str(exc).strip() else exc)

    # ------------------------------------------------------------------ running

    def _install_signals(self) -> None:
        def handler(signum, _frame):
            if not self.stop.is_set():
                log.info("%s", _("{signal} received: finishing the item in hand, then stopping").format(
                    signal=signal.Signals(signum).name))
            self.stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _prepare(self):
        from engine.store.leases import bound_transactions, single_daemon

        bound_transactions(self.ctx.engine, float(self.ctx.settings.get("daemon", "lease_seconds", 300)))
        return single_daemon(self.ctx.engine)

    def run_once(self) -> dict[str, Any]:
        """One complete pass: sweep until nothing is due, the current digests, drain the outbox."""
        with self._prepare():
            self._install_signals()
            return self._pass()

    def _pass(self) -> dict[str, Any]:
        """``--once``: sweep, digests, rounds, outbox, in that order, so its summary counts the
        mail the sweep made."""
        self.caught_up_from = None
        self.beat()
        out: dict[str, Any] = {"sweep": self._counted_sweep()}
        if not self.stop.is_set():
            out["digests"] = self.digests()
        if not self.stop.is_set():
            out["rounds"] = self.rounds()  # issue 16
        if not self.stop.is_set():
            out["drain"] = self.drain()
        self.beat(stopped=True)
        out["errors"] = self.totals.errors
        return out

    def summary(self, out: dict[str, Any]) -> str:
        """The pass's one line for people: how far it caught up, what it did, where the mail went."""
        from engine.mail.transport import destination

        return summary_line(out, caught_up_from=self.caught_up_from,
                            now=self.ctx.clock.now(), mail_to=destination(self.ctx.settings))

    def run_forever(self, announce: Callable[[], None] | None = None) -> None:
        """Run until SIGTERM or SIGINT. ``announce`` is called once the signals are handled
        (the first Ctrl-C stops the daemon from then on), before the first pass. The first
        sweep, the start-up digests and the drain after them make the first pass: its progress
        goes to ``self.progress``, its summary to the log."""
        with self._prepare():
            self._install_signals()
            if announce is not None:
                announce()
            self._run_forever()

    def _run_forever(self) -> None:
        from engine.scheduler.scheduling import Jobs, build_scheduler
        from engine.scheduler.sweep import oldest_due

        log.info("%s", _("daemon {id} started (pid {pid}): sweep every {sweep} s, drain every {drain} s").format(
            id=self.daemon_id, pid=os.getpid(), sweep=self.ctx.settings.get("daemon", "sweep_seconds", 60),
            drain=self.ctx.settings.get("daemon", "drain_seconds", 30)))
        self.beat()
        self.caught_up_from = oldest_due(self.ctx)
        # Sweep, drain and the start-up digests begin at once; the drain has a worker of its own,
        # so mail goes out while a backlog is swept (engine.scheduler.scheduling).
        scheduler = build_scheduler(self.ctx.settings, Jobs(self.sweep_and_rounds, self.drain, self.sweep_then_digests))
        quiet = logging.getLogger("apscheduler")
        quiet.setLevel(max(quiet.level, logging.WARNING))  # its job-added lines are not for people
        scheduler.start()
        summarized = False
        try:
            while not self.stop.wait(0.5):
                if not summarized and self._first_drained.is_set():
                    summarized = True
                    self._end_first_pass()
        finally:
            scheduler.shutdown(wait=True)  # running jobs see the stop flag and finish their item
            if self.progress is not None:
                self.progress.close()
            self.beat(stopped=True)
            log.info("%s", _("daemon {id} stopped").format(id=self.daemon_id))

    def _end_first_pass(self) -> None:
        """The first pass is over: the progress bar goes, one summary line stays."""
        if self.progress is not None:
            self.progress.close()
            self.progress = None  # the ticks after the first pass are short: their log lines suffice
        with self._lock:
            counts, errors = dict(self.totals.counts), self.totals.errors
        out = {"sweep": {k: counts.get(k, 0) for k in ("fired", "notified", "folded", "skipped")},
               "digests": {k: counts.get(k, 0) for k in ("digest_opd", "digest_chair")},
               "rounds": {k: counts.get(k, 0) for k in ("round_reminders", "round_escalations")},
               "drain": {k: counts.get(k, 0) for k in ("sent", "retried", "failed")}, "errors": errors}
        log.info("%s", self.summary(out))


JOB_NAMES = {"sweep": N_("sweep"), "drain": N_("outbox"), "digests": N_("digests"), "rounds": N_("evaluation rounds")}


def span_text(seconds: float) -> str:
    """How long a catch-up reaches back, as people say it: "2,5 tahun", "3 bulan", "12 hari"."""
    days = seconds / 86400
    if days >= 365:
        years = round(days / 365.25, 1)
        return _("{n} years").format(n=number(years, decimals=1 if years % 1 else 0)) if years != 1 else _("1 year")
    if days >= 60:
        return _("{n} months").format(n=number(round(days / 30.44)))
    if days >= 2:
        return _("{n} days").format(n=number(int(days)))
    return _("1 day") if days >= 1 else _("less than a day")


def summary_line(out: dict[str, Any], *, caught_up_from: datetime | None = None, now: datetime | None = None,
                 mail_to: str = "") -> str:
    """One line: "menyusul 2,5 tahun: 230 peristiwa, 488 surel di var/mail/new (...)" (a catch-up
    of more than a day) or "satu lintasan: ..." , then the detail the tests and operators read."""
    s = out.get("sweep", {})
    d = out.get("digests") or {}
    rounds = out.get("rounds") or {}
    r = out.get("drain") or {}
    events = int(s.get("fired", 0)) + int(s.get("notified", 0))  # what happened; folded and skipped did not
    head = _("one pass")
    if events and caught_up_from is not None and now is not None and (now - caught_up_from).total_seconds() >= 86400:
        head = _("caught up {span}").format(span=span_text((now - caught_up_from).total_seconds()))
    mails = _("{events} events, {mails} e-mails {where}").format(
        events=number(events), mails=number(r.get("sent", 0)), where=mail_to)
    detail = _("fired {fired}, notified {notified}, folded {folded}, skipped {skipped}; digests {digests}").format(
        fired=number(s.get("fired", 0)), notified=number(s.get("notified", 0)), folded=number(s.get("folded", 0)),
        skipped=number(s.get("skipped", 0)), digests=number(sum(d.values())))
    if any(rounds.values()):  # issue 16: only when an evaluation round sent something
        detail += "; " + _("evaluation round letters {n}").format(n=number(sum(rounds.values())))
    detail += "; " + _("mail retried {retried}, failed {failed}; errors {errors}").format(
        retried=number(r.get("retried", 0)), failed=number(r.get("failed", 0)), errors=number(out.get("errors", 0)))
    return f"{head}: {mails} ({detail})"


def status(ctx) -> list[dict[str, Any]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(heartbeats).order_by(heartbeats.c.last_pass_at.desc())).all()
    return [
        {
            "daemon_id": r.daemon_id, "host": r.host, "pid": r.pid,
            "started_at": r.started_at.isoformat() if r.started_at else None,
            "last_pass_at": r.last_pass_at.isoformat() if r.last_pass_at else None,
            "stopped_at": r.stopped_at.isoformat() if r.stopped_at else None,
            "running": r.stopped_at is None, "counts": dict(r.counts or {}), "errors": r.errors, "last_error": r.last_error,
        }
        for r in rows
    ]
