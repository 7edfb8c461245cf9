"""The sweep costs what is due, not what exists.

Two databases with the same number of due deadlines (default 1,000 step reminders) among
10,000 and among 1,000,000 agreements. Every agreement also has two pending deadlines in the
future and one fired in the past, so the deadline table holds 3 rows per agreement. Rows are
generated with SQLAlchemy Core executemany in batches of 20,000 (no history rows: the notify
path does not read them). The timed part is the real ``engine.scheduler.sweep.sweep``: claim, render
each reminder into the outbox, mark fired, commit per batch.

    .venv/bin/python bench/bench_sweep.py                       # 10k vs 1M, SQLite files in a temp dir
    .venv/bin/python bench/bench_sweep.py --sizes 10000 100000 --due 500
    TKKSD_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/bench_%d .venv/bin/python bench/bench_sweep.py

Goal: time(1M) / time(10k) <= 1.5. Compare the ratio, not the absolute times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 20_000
NOW = datetime(2027, 6, 1, 1, 0, tzinfo=timezone.utc)


def build(url: str, n: int, due: int, home: Path):
    import sqlalchemy as sa

    from engine.store import db
    from engine.bootstrap import bootstrap
    from engine.store.directory import sync_directory
    from engine.store.history import GENESIS
    from engine.store.tables import agreements, deadlines

    env = {"TKKSD_DATABASE_URL": url, "TKKSD_HOME": str(home), "TKKSD_NOW": NOW.isoformat()}
    ctx = bootstrap(env, check_schema=False)
    db.upgrade(ctx.engine)
    with db.write(ctx.engine) as conn:
        sync_directory(conn, ctx.settings.opd_file)
    t0 = time.perf_counter()
    entered = NOW - timedelta(days=20)
    future = NOW + timedelta(days=60)
    with ctx.engine.connect() as conn:
        for start in range(0, n, BATCH):
            ids = range(start + 1, min(n, start + BATCH) + 1)
            conn.execute(agreements.insert(), [
                dict(id=i, number=f"KS-BENCH-{i:07d}", title=f"Kerja sama {i}", partner=f"Mitra {i % 500}", lead_opd="DKP",
                     workflow="kerja-sama", workflow_version=1, lifecycle_state="proposed",
                     data={"document_kind": "PKS"}, parent_id=None, state_entered_at=entered, created_at=entered,
                     updated_at=entered, version=1, history_seq=0, history_head=GENESIS, import_key=None)
                for i in ids
            ])
            rows = []
            for i in ids:
                is_due = i <= due
                rows.append(dict(agreement_id=i, rule="step_sla", action="notify", state="proposed",
                                 due_at=NOW - timedelta(hours=1) if is_due else future, occurrence=0, offset_days=14,
                                 status="pending", created_at=entered))
                rows.append(dict(agreement_id=i, rule="escalation", action="notify", state="proposed",
                                 due_at=future + timedelta(days=14), occurrence=0, offset_days=28, status="pending",
                                 created_at=entered))
                rows.append(dict(agreement_id=i, rule="old", action="notify", state="identified",
                                 due_at=entered - timedelta(days=100), occurrence=0, offset_days=30, status="fired",
                                 created_at=entered - timedelta(days=200), fired_at=entered))
            conn.execute(deadlines.insert(), rows)
            conn.commit()
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('agreements', 'id'), :n)"), {"n": n})
            conn.commit()
            conn.execute(sa.text("ANALYZE"))
        else:
            conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return ctx, time.perf_counter() - t0


def claim_ms(ctx, repeats: int = 20) -> float:
    """Median time of the claim query alone (rolled back)."""
    from engine.scheduler.sweep import claim

    times = []
    for _ in range(repeats):
        with ctx.engine.connect() as conn:
            conn.begin()
            t = time.perf_counter()
            claim(conn, NOW, 100)
            times.append(time.perf_counter() - t)
            conn.rollback()
    return statistics.median(times) * 1000


def run(url: str, n: int, due: int, home: Path) -> dict:
    from engine.scheduler.sweep import sweep

    ctx, gen = build(url, n, due, home)
    claim_before = claim_ms(ctx)
    t = time.perf_counter()
    result = sweep(ctx, daemon_id="bench", batch_size=100)
    elapsed = time.perf_counter() - t
    assert result.notified == due, result
    ctx.engine.dispose()
    return {"agreements": n, "due": due, "generate_s": gen, "sweep_s": elapsed, "claim_ms": claim_before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 1_000_000])
    parser.add_argument("--due", type=int, default=1_000)
    args = parser.parse_args()
    url_tpl = os.environ.get("TKKSD_BENCH_DATABASE_URL")
    results = []
    with tempfile.TemporaryDirectory(prefix="tkksd-bench-sweep-") as tmp:
        for n in args.sizes:
            home = Path(tmp) / f"n{n}"
            if url_tpl:
                url = url_tpl % n if "%d" in url_tpl else url_tpl
                _fresh_pg(url)
            else:
                url = f"sqlite:///{home / 'tkksd.db'}"
            r = run(url, n, args.due, home)
            results.append(r)
            print(f"{n:>9,} agreements ({3 * n:,} deadline rows): generated in {r['generate_s']:.1f} s; "
                  f"claim query {r['claim_ms']:.2f} ms; sweep of {args.due:,} due reminders {r['sweep_s']:.2f} s "
                  f"({args.due / r['sweep_s']:.0f}/s)", flush=True)
    small, large = results
    ratio = large["sweep_s"] / small["sweep_s"]
    print(f"ratio sweep({large['agreements']:,}) / sweep({small['agreements']:,}) = {ratio:.2f} (goal <= 1.5); "
          f"claim query ratio {large['claim_ms'] / small['claim_ms']:.2f}")


def _fresh_pg(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres".replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
