"""`tkksd daemon`: sweep due deadlines, drain the outbox, send digests; a heartbeat for `tkksd status`.

One log line per action on stderr, without timestamps (journald adds them). SIGTERM or
SIGINT sets a stop flag: the sweep finishes the deadline in hand, commits what is done and
the process exits 0; rows not reached stay pending for the next start.

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
from typing import Any

import sqlalchemy as sa

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


class Daemon:
    def __init__(self, ctx, daemon_id: str | None = None):
        self.ctx = ctx
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

    # ------------------------------------------------------------------ jobs

    # A database that refuses every write (a read-only file or folder, a full disk) does not
    # heal by itself: after this many failed jobs in a row the daemon stops and says why.
    MAX_READ_ONLY_FAILURES = 3

    def _guarded(self, name: str, fn) -> dict[str, int]:
        try:
            part = fn()
            if self._db_down:
                log.info("%s: the database answers again", name)
                self._db_down = False
        except Exception as exc:  # noqa: BLE001 - a job failure is logged and counted, the daemon goes on
            if db.connection_lost(exc):
                # Retried, not fatal: whatever was uncommitted rolled back with the connection.
                if not self._db_down:
                    log.warning("%s: lost the database connection (%s); retrying at the next tick", name, db.first_line(exc))
                self._db_down = True
                with self._lock:
                    self.totals.add({"reconnects": 1})
                    self.totals.last_error = f"{name}: database connection lost: {db.first_line(exc)}"[:500]
                return {}
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.error("%s failed: %s: %s", name, type(exc).__name__, text)
            from engine.store.waiting import is_read_only

            if is_read_only(exc):
                self._read_only_failures += 1
                if self._read_only_failures >= self.MAX_READ_ONLY_FAILURES:
                    log.error("the database refuses every write (%s); stopping after %d attempts",
                              db.first_line(exc), self._read_only_failures)
                    self.fatal = f"The database cannot be written ({db.first_line(exc)}); the daemon stopped after {self._read_only_failures} attempts."
                    self.stop.set()
            with self._lock:
                self.totals.errors += 1
                self.totals.last_error = f"{name}: {type(exc).__name__}: {text}"[:500]
            part = {}
        with self._lock:
            self.totals.add(part)
        return part

    def sweep(self) -> dict[str, int]:
        def run():
            from engine.scheduler.sweep import sweep

            r = sweep(self.ctx, daemon_id=self.claim_token, stop=self.stop)
            if r.errors:
                with self._lock:
                    self.totals.errors += r.errors
                    self.totals.last_error = f"sweep: {r.errors} deadline(s) failed (see the log)"
            if r.acted or r.errors:
                log.info("sweep: %s", " ".join(f"{k}={v}" for k, v in r.as_dict().items()))
            return {k: v for k, v in r.as_dict().items() if k != "errors"}

        part = self._guarded("sweep", run)
        self.beat()
        return part

    def drain(self) -> dict[str, int]:
        def run():
            from engine.mail import outbox

            limit = int(self.ctx.settings.get("daemon", "batch_size", 100))
            # Full batches back to back over the same SMTP connections; a short batch means
            # the outbox is drained, and what becomes due meanwhile waits for the next run.
            r = outbox.drain_all(self.ctx, daemon_id=self.claim_token, limit=limit, while_full=True, stop=self.stop)
            return {"sent": r.sent, "retried": r.retried, "failed": r.failed}

        part = self._guarded("drain", run)
        self.beat()
        return part

    def digests(self) -> dict[str, int]:
        def run():
            from engine.scheduler.digests import run_due

            return run_due(self.ctx)

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
        self.sweep()
        if not self.stop.is_set():
            self.rounds()

    def sweep_then_digests(self) -> dict[str, int]:
        """A digest tells what is due *after* this pass's sweep: an expiry the daemon fires in
        the same minute must not be listed as overdue (scheduled digests sweep first)."""
        self.sweep_and_rounds()
        return self.digests()

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
                log.info("%s received: finishing the item in hand, then stopping", signal.Signals(signum).name)
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
            return self._run_once()

    def _run_once(self) -> dict[str, Any]:
        self._install_signals()
        self.beat()
        out: dict[str, Any] = {"sweep": self.sweep()}
        if not self.stop.is_set():
            out["digests"] = self.digests()
        if not self.stop.is_set():
            out["rounds"] = self.rounds()  # issue 16
        if not self.stop.is_set():
            out["drain"] = self.drain()
        self.beat(stopped=True)
        out["errors"] = self.totals.errors
        return out

    def run_forever(self) -> None:
        with self._prepare():
            self._run_forever()

    def _run_forever(self) -> None:
        from engine.scheduler.scheduling import Jobs, build_scheduler

        self._install_signals()
        self.beat()
        scheduler = build_scheduler(self.ctx.settings, Jobs(self.sweep_and_rounds, self.drain, self.sweep_then_digests))
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler.start()
        log.info("daemon %s started (pid %d): sweep every %ss, drain every %ss", self.daemon_id, os.getpid(),
                 self.ctx.settings.get("daemon", "sweep_seconds", 60), self.ctx.settings.get("daemon", "drain_seconds", 30))
        try:
            while not self.stop.wait(1.0):
                pass
        finally:
            scheduler.shutdown(wait=True)  # running jobs see the stop flag and finish their item
            self.beat(stopped=True)
            log.info("daemon %s stopped", self.daemon_id)


def summary_line(out: dict[str, Any]) -> str:
    s = out.get("sweep", {})
    parts = [f"fired {s.get('fired', 0)}", f"notified {s.get('notified', 0)} (folded {s.get('folded', 0)})",
             f"skipped {s.get('skipped', 0)}"]
    d = out.get("digests") or {}
    parts.append(f"digests {sum(d.values())}")
    rounds = out.get("rounds") or {}
    if any(rounds.values()):  # issue 16: only when an evaluation round sent something
        parts.append(f"evaluation round letters {sum(rounds.values())}")
    r = out.get("drain") or {}
    parts.append(f"mail sent {r.get('sent', 0)} retried {r.get('retried', 0)} failed {r.get('failed', 0)}")
    parts.append(f"errors {out.get('errors', 0)}")
    return "tkksd daemon --once: " + ", ".join(parts)


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
