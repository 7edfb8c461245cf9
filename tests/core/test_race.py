"""Two `tkksd fire ID verify` processes at the same instant: one wins, the other gets the
conflict error (exit 6), one history row is written. Run for real on both backends.

Deterministic: the service reads in one transaction and writes in another whose UPDATE is
conditional on the version it read. The test holds the agreement locked (SQLite: a write lock
by BEGIN IMMEDIATE; PostgreSQL: SELECT ... FOR UPDATE on its row) while it starts both
processes, waits until both have logged their read ("read <ID> version <n>"), then releases
the lock: both read version n, so exactly one conditional UPDATE can match.
"""

from __future__ import annotations

import re
import subprocess
import threading

from tests.conftest import tkksd_executable
from tests.helpers import KS_STEPS, add_service, sets, walk_service

from .conftest import sqlite_path
from .dbstate import count


def _hold_lock(database_url: str, ref: str):
    """Start a transaction that blocks every writer of ``ref``; returns its connection."""
    if database_url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(sqlite_path({"TKKSD_DATABASE_URL": database_url}), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        return conn
    import psycopg

    conn = psycopg.connect(database_url)  # not autocommit: the first statement opens the transaction
    conn.execute("SELECT id FROM agreements WHERE number = %s FOR UPDATE", (ref,)).fetchall()
    return conn


class Racer:
    """One `tkksd fire` process whose stderr is read as it comes."""

    def __init__(self, args, env, cwd, ref):
        self.proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.read_done = threading.Event()
        self._pattern = re.compile(rf"read {re.escape(ref)} version (\d+)")
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if self._pattern.search(line):
                self.read_done.set()
        self.read_done.set()  # the process ended (perhaps without reading): stop waiting

    def finish(self, timeout=60):
        stdout = self.proc.stdout.read()
        self.proc.wait(timeout=timeout)
        self._thread.join(timeout=timeout)
        return self.proc.returncode, stdout, self.lines

    def read_version(self) -> int | None:
        for line in self.lines:
            m = self._pattern.search(line)
            if m:
                return int(m.group(1))
        return None


def test_two_processes_fire_verify_at_the_same_instant(ctx, env, database_url, tmp_path):
    ref = add_service(ctx)
    walk_service(ctx, ref, "identified")
    ctx.engine.dispose()

    lock = _hold_lock(database_url, ref)
    racers = []
    try:
        penv = {**env, "TKKSD_LOG_LEVEL": "debug"}
        args = [*tkksd_executable(), "fire", ref, "verify", *sets(KS_STEPS["verify"][1])]
        racers = [Racer(args, penv, tmp_path, ref) for _ in range(2)]
        for r in racers:
            assert r.read_done.wait(timeout=60), "a racer never logged its read"
            assert r.proc.poll() is None, f"a racer ended before the lock was released: {r.lines[-3:]}"
        # Both have read the same version and now wait for the lock: let them go.
        assert [r.read_version() for r in racers] == [2, 2]
    finally:
        lock.rollback()
        lock.close()
    results = [r.finish() for r in racers]

    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 6], results
    (_, win_out, _), (_, _, lose_err) = sorted(results, key=lambda r: r[0])
    assert win_out.strip().startswith(f"Kerja sama {ref} kini berstatus Terverifikasi")
    assert lose_err[-1].startswith(f"Kesalahan: Konflik: {ref} diubah oleh pengguna lain ketika 'verify' sedang dilakukan")
    assert "Traceback" not in "\n".join(lose_err)

    from engine.bootstrap import bootstrap
    from engine.lifecycle.services import audit_verify, history_of, show

    after = bootstrap(env)
    try:
        assert [h["event"] for h in history_of(after, ref)] == ["create", "identify", "verify"]
        assert show(after, ref)["version"] == 3 and show(after, ref)["state"] == "verified"
        assert count(after.engine, "history") == 3
        assert audit_verify(after)[2] == []
    finally:
        after.engine.dispose()
