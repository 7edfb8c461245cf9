"""Two overlapping agreements synchronized at the same moment: exactly one passes, the other is
refused naming the first. Run for real on both backends, as two `tkksd fire` processes.

The agreements share partner and lead OPD; each is re-scoped at synchronize to the same new
field (``--set field=transport``), so neither overlaps anything on the snapshot either read.
The `no_open_overlap` rule reads other agreements, so the kernel decides it again inside the
write transaction, serialized (SQLite: the write lock; PostgreSQL: an advisory lock on the
compared values). As in test_race.py the test holds the writers back (SQLite: BEGIN IMMEDIATE;
PostgreSQL: both rows FOR UPDATE) until both processes have logged their read.
"""

from __future__ import annotations

from tests.conftest import tkksd_executable
from tests.helpers import KS_STEPS, add_service, sets, walk_service

from .conftest import sqlite_path
from .dbstate import count
from .test_race import Racer


def _hold_writers(database_url: str, refs: list[str]):
    if database_url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(sqlite_path({"TKKSD_DATABASE_URL": database_url}), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        return conn
    import psycopg

    conn = psycopg.connect(database_url)
    conn.execute("SELECT id FROM agreements WHERE number = ANY(%s) FOR UPDATE", (refs,)).fetchall()
    return conn


def test_two_overlapping_synchronize_at_the_same_instant(ctx, env, database_url, tmp_path):
    first = add_service(ctx, title="KB Pangan A")
    second = add_service(ctx, title="KB Pangan B")
    walk_service(ctx, first, "verified")
    walk_service(ctx, second, "verified", identify={"field": "health"})
    ctx.engine.dispose()
    values = {k: v for k, v in KS_STEPS["synchronize"][1].items() if k != "overlap_acknowledged"}
    values["field"] = "transport"  # both re-scoped to the same field: an overlap neither snapshot shows
    values["urusan_reason"] = "Angkutan hasil pangan ke IKN"  # transport is not among DKP's urusan

    lock = _hold_writers(database_url, [first, second])
    racers = []
    try:
        penv = {**env, "TKKSD_LOG_LEVEL": "debug"}
        for ref in (first, second):
            racers.append(Racer([*tkksd_executable(), "fire", ref, "synchronize", *sets(values)], penv, tmp_path, ref))
        for r in racers:
            assert r.read_done.wait(timeout=60), "a racer never logged its read"
            assert r.proc.poll() is None, f"a racer ended before the lock was released: {r.lines[-3:]}"
    finally:
        lock.rollback()
        lock.close()
    results = dict(zip((first, second), (r.finish() for r in racers)))

    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 5], results
    winner = next(ref for ref, (code, _, _) in results.items() if code == 0)
    loser = first if winner == second else second
    _, _, lose_err = results[loser]
    assert lose_err[-1] == (
        f"Kesalahan: Peristiwa 'synchronize' tidak dapat dilakukan pada {loser}: kerja sama lain yang masih berjalan memiliki "
        f"Mitra, Urusan pemerintahan, OPD pengampu yang sama: {winner}; nyatakan bahwa hal ini disadari dengan "
        f"overlap_acknowledged=ya."
    ), lose_err
    assert "Traceback" not in "\n".join(lose_err)

    from engine.bootstrap import bootstrap
    from engine.lifecycle.services import audit_verify, show

    after = bootstrap(env)
    try:
        assert show(after, winner)["state"] == "synchronized" and show(after, winner)["data"]["field"] == "transport"
        kept_field = "food_security" if loser == first else "health"
        assert show(after, loser)["state"] == "verified" and show(after, loser)["data"]["field"] == kept_field
        assert count(after.engine, "history") == 2 * 3 + 1
        assert audit_verify(after)[2] == []
    finally:
        after.engine.dispose()
