"""Engine-core benchmark: start-up cost of the CLI and persisted transitions per second.

Printed, all measured in this one run (medians of several runs each):

1. `tkksd --help` wall time / `python -c pass`                      goal <= 5x
2. `tkksd show ID` wall time / `python -c "import sqlalchemy.orm"`   goal <= 1.3x
3. transitions per second through the service layer / the floor     goal >= 1/3

The floor (3) writes the same rows with plain `sqlite3` in the same transaction shape: every
write statement the service issued for a transition (UPDATE agreements, INSERT history and
whatever the hooks add: deadlines, outbox rows) is captured in a run of its own (a
statement listener would slow the timed runs), then replayed with `sqlite3` on an identical
copy of the starting database, one BEGIN IMMEDIATE ... COMMIT per transition, with the
pragmas engine/db.py sets (WAL, synchronous=FULL). The floor does no reads and no Python
work besides executing them. The service does everything a transition does: reads, guards,
the transitions machine, deadline planning, the notice rendered into the outbox.

    .venv/bin/python bench/bench_core.py
    .venv/bin/python bench/bench_core.py --agreements 100 --rounds 5 --profile

The machines are noisy (±10-15 %; the floor moves with the disk's fsync time, and a slower
fsync raises the ratio): compare the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PYTHON = sys.executable
TKKSD = str(Path(sys.executable).with_name("tkksd"))
NOW = "2027-06-01T08:00"  # fixed: the signing rules must not depend on the day of the run
WALK = ("identify", "verify", "synchronize", "sign", "integrate")


def wall(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def interleaved(pairs: dict[str, tuple[list[str], dict | None]], runs: int, cwd: str) -> dict[str, float]:
    """Median wall time of each command, the commands taking turns so that drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in pairs}
    for name, (cmd, env) in pairs.items():  # warm the page cache once
        wall(cmd, env, cwd)
    for _ in range(runs):
        for name, (cmd, env) in pairs.items():
            times[name].append(wall(cmd, env, cwd))
    return {name: statistics.median(t) for name, t in times.items()}


# ------------------------------------------------------------------------- set-up


def bench_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TKKSD_")}
    env.update({"TKKSD_HOME": str(home), "TKKSD_DATABASE_URL": f"sqlite:///{home / 'tkksd.db'}",
                "TKKSD_USER": "admin", "TKKSD_NOW": NOW})
    return env


def prepare(home: Path, agreements: int) -> list[str]:
    """A database after `tkksd init` with ``agreements`` new agreements; returns their ids."""
    from engine.store import db
    from engine.bootstrap import bootstrap
    from engine.store.directory import sync_directory
    from engine.lifecycle.services import create_agreement, ensure_first_admin

    env = bench_env(home)
    ctx = bootstrap(env, check_schema=False)
    db.upgrade(ctx.engine)
    with db.write(ctx.engine) as conn:
        sync_directory(conn, ctx.settings.opd_file)
        ensure_first_admin(conn, "admin", ctx.clock.now())
    refs = [
        create_agreement(ctx, "admin", title=f"KB Bench {i}", partner=f"Mitra {i}", opd="DKP",
                         values={"document_kind": "KB"})["id"]
        for i in range(agreements)
    ]
    ctx.engine.dispose()  # the last connection checkpoints the WAL into the file
    return refs


def copy_db(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        f = src / f"tkksd.db{suffix}"
        if f.exists():
            shutil.copy2(f, dst / f.name)


# ------------------------------------------------------------------------- transitions


def step_values() -> dict[str, dict[str, str]]:
    from tests.helpers import KS_STEPS

    return {event: values for event, (_, values) in KS_STEPS.items()}


def run_service(home: Path, refs: list[str], capture: bool, warm: str) -> tuple[float, list[list[tuple[str, tuple]]]]:
    """Walk every agreement to integrated through services.fire; seconds and the write
    statements of each transaction.

    The agreement ``warm`` walks first, untimed: a new engine compiles each statement once and
    the first notice loads its templates, costs a long-running daemon pays once in its life
    (the floor has nothing to warm)."""
    import sqlalchemy as sa

    from engine.bootstrap import bootstrap
    from engine.lifecycle.services import fire

    ctx = bootstrap(bench_env(home))
    values = step_values()
    for event in WALK:
        fire(ctx, "admin", warm, event, values=values[event])
    transactions: list[list[tuple[str, tuple]]] = []
    current: list[tuple[str, tuple]] = []
    if capture:
        @sa.event.listens_for(ctx.engine, "before_cursor_execute")
        def _seen(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                current.append((statement, tuple(parameters) if not executemany else ("many", parameters)))

        @sa.event.listens_for(ctx.engine, "commit")
        def _committed(conn):
            if current:
                transactions.append(list(current))
            current.clear()

    start = time.perf_counter()
    for event in WALK:
        for ref in refs:
            fire(ctx, "admin", ref, event, values=values[event])
    elapsed = time.perf_counter() - start
    ctx.engine.dispose()
    return elapsed, transactions


def run_floor(home: Path, transactions: list[list[tuple[str, tuple]]]) -> float:
    """The same write statements with plain sqlite3, one transaction per transition."""
    conn = sqlite3.connect(home / "tkksd.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    start = time.perf_counter()
    for statements in transactions:
        conn.execute("BEGIN IMMEDIATE")
        for sql, params in statements:
            if params and params[0] == "many":
                conn.executemany(sql, params[1])
            else:
                conn.execute(sql, params)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def shape(transactions: list[list[tuple[str, tuple]]]) -> str:
    """What one transition writes, e.g. 'UPDATE agreements, INSERT history, INSERT outbox'."""
    counts: Counter[str] = Counter()
    for statements in transactions:
        for sql, _ in statements:
            words = sql.split()
            verb = words[0].upper()
            table = words[2] if verb in ("INSERT", "DELETE") else words[1]
            counts[f"{verb} {table}"] += 1
    n = len(transactions) or 1
    return ", ".join(f"{k} x{v / n:.2g}" for k, v in sorted(counts.items()))


def throughput(tmp: Path, agreements: int, rounds: int, profile: bool) -> tuple[float, float, str, list[float]]:
    template = tmp / "template"
    refs = prepare(template, agreements + 1)
    warm = refs.pop()
    n = len(refs) * len(WALK)
    service_rates, floor_rates = [], []
    the_shape = ""
    # The write statements are captured in a run of their own: a statement listener on the
    # engine would slow every execution of the timed run (SQLAlchemy takes its slower path when
    # an engine has cursor events), which production does not pay. With the clock fixed the
    # runs write identical rows.
    captured = tmp / "captured"
    copy_db(template, captured)
    _, transactions = run_service(captured, refs, capture=True, warm=warm)
    shutil.rmtree(captured)
    assert len(transactions) == n, f"expected {n} write transactions, captured {len(transactions)}"
    the_shape = shape(transactions)
    for i in range(rounds):
        a, b = tmp / f"service{i}", tmp / f"floor{i}"
        copy_db(template, a)
        copy_db(template, b)
        seconds, _ = run_service(a, refs, capture=False, warm=warm)
        service_rates.append(n / seconds)
        floor_rates.append(n / run_floor(b, transactions))
        shutil.rmtree(a)
        shutil.rmtree(b)
    if profile:
        a = tmp / "profiled"
        copy_db(template, a)
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        run_service(a, refs, capture=False, warm=warm)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
    per_round = [a / b for a, b in zip(service_rates, floor_rates)]
    return statistics.median(service_rates), statistics.median(floor_rates), the_shape, per_round


# ------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agreements", type=int, default=150, help="agreements walked to integrated per round (5 transitions each)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the throughput measurement")
    parser.add_argument("--runs", type=int, default=15, help="runs of each start-up command")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one service round")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tkksd-bench-") as tmpdir:
        tmp = Path(tmpdir)
        home = tmp / "cli"
        ref = prepare(home, 1)[0]
        env = bench_env(home)
        startup = interleaved(
            {
                "python -c pass": ([PYTHON, "-c", "pass"], None),
                "tkksd --help": ([TKKSD, "--help"], env),
                'python -c "import sqlalchemy.orm"': ([PYTHON, "-c", "import sqlalchemy.orm"], None),
                f"tkksd show {ref}": ([TKKSD, "show", ref], env),
            },
            args.runs,
            str(home),
        )
        service, floor, the_shape, per_round = throughput(tmp, args.agreements, args.rounds, args.profile)

    help_ratio = startup["tkksd --help"] / startup["python -c pass"]
    show_ratio = startup[f"tkksd show {ref}"] / startup['python -c "import sqlalchemy.orm"']
    tx_ratio = service / floor
    print("tkksd engine-core benchmark (medians; SQLite WAL, synchronous=FULL)")
    for name, seconds in startup.items():
        print(f"  {name:<40} {seconds * 1000:8.1f} ms")
    print(f"  transitions/s, service layer              {service:8.0f}")
    print(f"  transitions/s, plain sqlite3 (the floor)  {floor:8.0f}")
    print(f"  one transition writes: {the_shape}")
    print(f"  service / floor, round by round: {' '.join(f'{r:.2f}' for r in per_round)}")
    print()
    print(f"tkksd --help / python -c pass                 {help_ratio:5.2f}x   goal <= 5x    {'ok' if help_ratio <= 5 else 'MISSED'}")
    print(f"tkksd show / python -c 'import sqlalchemy.orm' {show_ratio:5.2f}x   goal <= 1.3x  {'ok' if show_ratio <= 1.3 else 'MISSED'}")
    print(f"service transitions/s / floor                 {tx_ratio:5.2f}    goal >= 0.33  {'ok' if tx_ratio >= 1 / 3 else 'MISSED'}")


if __name__ == "__main__":
    main()
