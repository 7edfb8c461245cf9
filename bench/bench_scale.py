"""Scale: `show`, `list --opd`, `due` and a sweep at 100,000 agreements against 1,000, same
machine, same run; and the daemon's resident memory after a pass at 100,000 against 0.

The inventories come from scripts/make_scale_data.py. Both sizes hold the same *probe*: 20
agreements of DKP due within 30 days (so `list --opd DKP` and `due --opd DKP` return the same
rows at every size) and 100 agreements whose expiry is due now (so the sweep does the same
work at every size). The ratios therefore measure what the size of the tables costs.

Each operation is timed in-process (median of repeats after a warm-up) and as a real `tkksd`
command (median of 3, start-up included). The sweep runs inside a transaction that is rolled
back (as `tkksd simulate` does), so it can be repeated. Goal: each ratio <= 2; RSS ratio <= 1.5.

    .venv/bin/python bench/bench_scale.py                 # PostgreSQL, 1k vs 100k
    .venv/bin/python bench/bench_scale.py --sqlite        # SQLite too
    .venv/bin/python bench/bench_scale.py --big 20000     # a quicker look
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

PG_ADMIN = os.environ.get("TKKSD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TKKSD = str(Path(sys.executable).with_name("tkksd"))


def _pg_fresh(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def _pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _median(fn, repeats: int) -> float:
    fn()  # warm-up: caches, pool, plans
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


class _Rollback(Exception):
    pass


def measure(environ: dict, repeats: int) -> dict[str, float]:
    import sqlalchemy as sa

    from engine.scheduler import agenda

    from engine.store import db

    from engine.scheduler import sweep
    from engine.bootstrap import bootstrap
    from engine.lifecycle.services import list_agreements, show
    from engine.store.tables import agreements

    ctx = bootstrap(environ)
    with ctx.engine.connect() as conn:
        number = conn.execute(sa.select(agreements.c.number).where(agreements.c.id == 1)).scalar_one()
    now = ctx.clock.now()

    def do_due():
        with db.read(ctx.engine) as conn:
            return agenda.items(conn, ctx, now=now, until=now + timedelta(days=30), opd="DKP")

    def do_sweep():
        result = sweep.SweepResult()
        try:
            with db.write(ctx.engine) as conn:
                while sweep.sweep_batch(conn, sweep.at_time(ctx, now), now=now, daemon_id="bench", limit=100,
                                        result=result, on_action=None):
                    pass
                raise _Rollback
        except _Rollback:
            pass
        assert result.fired == 100, result.as_dict()

    assert len(list_agreements(ctx, opd="DKP")) == 20
    # The probe's evaluations (20) and the KB follow-ups among them: the same rows at every size.
    assert sum(1 for i in do_due() if i["rule"] == "periodic_evaluation") == 20
    out = {
        "show": _median(lambda: show(ctx, number), repeats * 5),
        "list --opd": _median(lambda: list_agreements(ctx, opd="DKP"), repeats * 5),
        "due": _median(do_due, repeats * 5),
        "sweep (100 due)": _median(do_sweep, repeats),
    }
    ctx.engine.dispose()
    for label, args in (("cli show", ["show", number]), ("cli list --opd", ["list", "--opd", "DKP"]),
                        ("cli due", ["due", "--opd", "DKP", "--within", "30d"])):
        out[label] = _median(lambda: subprocess.run([TKKSD, *args], env=environ, check=True, capture_output=True), 3)
    return out


def daemon_rss_kb(environ: dict, cwd: Path, settle: float = 3.0) -> int:
    """Start `tkksd daemon`, wait until its first pass is done (nothing due, nothing pending in
    the outbox), then read VmRSS."""
    import sqlalchemy as sa

    from engine.bootstrap import bootstrap

    (cwd / "bench-daemon.toml").write_text("[daemon]\nsweep_seconds = 1\ndrain_seconds = 1\n")
    env = dict(environ, TKKSD_CONFIG=str(cwd / "bench-daemon.toml"))
    proc = subprocess.Popen([TKKSD, "daemon", "--id", "bench"], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ctx = bootstrap(env)
    try:
        end = time.monotonic() + 300
        while time.monotonic() < end:
            with ctx.engine.connect() as conn:
                due = conn.execute(sa.text("SELECT count(*) FROM deadlines WHERE status = 'pending' AND due_at <= :n"),
                                   {"n": ctx.clock.now()}).scalar_one()
                pending = conn.execute(sa.text("SELECT count(*) FROM outbox WHERE status = 'pending'")).scalar_one()
                beats = conn.execute(sa.text("SELECT count(*) FROM heartbeats WHERE last_pass_at IS NOT NULL")).scalar_one()
            if due == 0 and pending == 0 and beats:
                break
            time.sleep(0.5)
        time.sleep(settle)
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")
    finally:
        proc.terminate()
        proc.wait(60)
        ctx.engine.dispose()


def run_backend(backend: str, small: int, big: int, repeats: int, work: Path) -> None:
    from make_scale_data import generate

    print(f"\n== {backend}: {small:,} vs {big:,} agreements ==", flush=True)
    sizes = {"zero": 0, "small": small, "big": big}
    envs = {}
    for key, n in sizes.items():
        home = work / f"{backend}-{key}"
        home.mkdir(parents=True, exist_ok=True)
        if backend == "postgresql":
            url = _pg_fresh(f"tkksd_bench_scale_{key}")
        else:
            url = f"sqlite:///{home / 'tkksd.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TKKSD_")}
        env.update(TKKSD_DATABASE_URL=url, TKKSD_HOME=str(home / "var"), TKKSD_USER="admin")
        envs[key] = env
        if n:
            t = generate(env, agreements=n, quiet=True)
            print(f"generated {key}: {t['agreements']:,} agreements, {t['history']:,} history rows, "
                  f"{t['deadlines']:,} pending deadlines in {t['seconds']} s", flush=True)
        else:
            from make_scale_data import ensure_schema

            ensure_schema(env).engine.dispose()
    small_t = measure(envs["small"], repeats)
    big_t = measure(envs["big"], repeats)
    print(f"{'operation':<18} {small:>9,} {big:>11,}   ratio (goal <= 2)")
    for label in small_t:
        print(f"{label:<18} {small_t[label] * 1000:>7.2f}ms {big_t[label] * 1000:>9.2f}ms   {big_t[label] / small_t[label]:.2f}x")
    rss0 = daemon_rss_kb(envs["zero"], work / f"{backend}-zero")
    rss_big = daemon_rss_kb(envs["big"], work / f"{backend}-big")
    print(f"daemon RSS after a pass: {rss0 / 1024:.1f} MiB at 0, {rss_big / 1024:.1f} MiB at {big:,}: "
          f"{rss_big / rss0:.2f}x (goal <= 1.5)", flush=True)
    if backend == "postgresql":
        for key in sizes:
            _pg_drop(f"tkksd_bench_scale_{key}")


def main() -> int:
    p = argparse.ArgumentParser(description="tkksd scale benchmark")
    p.add_argument("--small", type=int, default=1000)
    p.add_argument("--big", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--sqlite", action="store_true", help="also run on SQLite")
    p.add_argument("--no-postgresql", action="store_true")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tkksd-bench-scale-"))
    try:
        if not args.no_postgresql:
            run_backend("postgresql", args.small, args.big, args.repeats, work)
        if args.sqlite:
            run_backend("sqlite", args.small, args.big, args.repeats, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
