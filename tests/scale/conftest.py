"""Helpers for the scale-out tests: agreements in bulk whose deadlines fall due, counts."""

from __future__ import annotations

import subprocess
import time

import sqlalchemy as sa

from tests.conftest import tkksd_executable
from tests.daemon.conftest import ctx_at, day, signing


def bulk_due(ctx, n: int, *, ends_in_days: int = 200, chunk: int = 2000) -> None:
    """``n`` integrated PKS agreements (one import transaction per chunk, hooks planning their
    deadlines) whose expiry and last expiry warning fall due ``ends_in_days`` after day 0."""
    from engine.store import db
    from engine.inventory.bulk import insert_many
    from engine.lifecycle.services import parse_values

    c = ctx_at(ctx, day(0))
    defn = c.registry.latest("kerja-sama")
    ends = signing(ends_in_days)["sign"]
    for start in range(0, n, chunk):
        items = []
        for i in range(start, min(n, start + chunk)):
            values = parse_values(defn, {"title": f"PKS {i}", "partner": f"Mitra {i}", "lead_opd": "DKP",
                                         "document_kind": "PKS", **ends})
            items.append({"defn": defn, "values": values, "state": "integrated", "note": "bulk"})
        with db.write(c.engine) as conn:
            insert_many(conn, c, items, actor="admin", at=c.clock.now())


def scalar(ctx, sql: str) -> int:
    with ctx.engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


def start_daemon(env, cwd, daemon_id: str, now: str | None = None, **popen) -> subprocess.Popen:
    e = dict(env)
    if now:
        e["TKKSD_NOW"] = now
    return subprocess.Popen([*tkksd_executable(), "daemon", "--id", daemon_id], env=e, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=popen.pop("stderr", subprocess.PIPE), text=True, **popen)


def stop(proc: subprocess.Popen, timeout: float = 60) -> str:
    """SIGTERM, then wait; returns stderr (when it was piped)."""
    if proc.poll() is None:
        proc.terminate()
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    return err or ""


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")
