"""Generate a large inventory for scale tests and benchmarks: by default 100,000 kerja-sama
agreements and about 1,000,000 history rows, with valid hash chains (``tkksd audit verify``
passes) and the pending deadlines the planner makes for each agreement's state
(``engine.lifecycle.deadlines.plan``, the function every transition uses).

Shape (``--seed`` makes it reproducible):

* 90 % walk the whole path to ``integrated`` (create, identify, verify, synchronize, sign,
  integrate) and then 0-5 evaluation rounds (open_evaluation, continue): 6-16 history rows;
  10 % stop at an earlier state (proposed ... signed). Deadlines all lie in the future.
* ``--probe N`` agreements of ``--probe-opd`` (default DKP; the others never lead by that OPD)
  whose evaluation falls due within 30 days: ``list --opd`` and ``due --opd`` return the same
  N at every size, so their timings compare the cost of the query, not of a longer answer.
* ``--due-now K`` agreements (of other OPDs) whose expiry passed five days ago: a sweep finds
  exactly K expiries (and K folded warnings) at every size.

PostgreSQL is written with COPY, SQLite with executemany, in batches; the database is
initialised first when it has no schema (what `tkksd init` does). Usage:

    TKKSD_DATABASE_URL=postgresql://postgres@127.0.0.1/tkksd_scale \\
        .venv/bin/python scripts/make_scale_data.py --agreements 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS = [
    ("identify", "proposed", "identified", {"field": "food_security", "objective": "Pasokan pangan untuk IKN",
                                            "partner_type": "otorita_ikn", "ikn_relevance": "direct"}),
    ("verify", "identified", "verified", {"legal_basis_ok": True, "partner_standing_ok": True, "mutual_benefit_ok": True,
                                          "ikn_alignment_ok": True, "renstra_fit_ok": True}),
    ("synchronize", "verified", "synchronized", {"plan_ref": "RPJMD 2021-2026 Misi 2",
                                                 "tkksd_recommendation_ref": "REK-TKKSD/01/2026", "burdens_public": False,
                                                 "budgeted_in_apbd": True, "overlap_acknowledged": True}),
    ("sign", "synchronized", "signed", None),  # signed_on/ends_on per agreement
    ("integrate", "signed", "integrated", {"rkpd_ref": "RKPD 2026 DKP-01"}),
]
EARLY = ["proposed", "identified", "verified", "synchronized", "signed"]


def _plain(values):
    from workflows import guards

    return {k: guards.to_plain(v) for k, v in values.items()}


class Generator:
    def __init__(self, ctx, args):
        self.ctx, self.args = ctx, args
        self.rng = random.Random(args.seed)
        self.defn = ctx.registry.latest("kerja-sama")
        self.now = ctx.clock.now()
        self.today = ctx.clock.today()
        from engine.store.tables import opds

        with ctx.engine.connect() as conn:
            codes = [r[0] for r in conn.execute(opds.select().with_only_columns(opds.c.code).order_by(opds.c.code))]
        self.other_opds = [c for c in codes if c != args.probe_opd]
        self.counters: dict[str, int] = {}

    def at(self, days_ago: float) -> datetime:
        return (self.now - timedelta(days=days_ago)).replace(microsecond=0)

    def agreement(self, i: int, kind: str):
        """(agreement row, history rows, deadline rows) for agreement id ``i`` (1-based)."""
        from engine.lifecycle.deadlines import plan
        from engine.store.history import GENESIS, row_hash

        rng = self.rng
        opd = self.args.probe_opd if kind == "probe" else rng.choice(self.other_opds)
        year = 2016 + i % 11
        scope = f"{self.defn.id_prefix}-{year}"
        self.counters[scope] = self.counters.get(scope, 0) + 1
        number = f"{scope}-{self.counters[scope]:04d}"
        base = {"title": f"Kerja sama {i}", "partner": f"Mitra {i % 997}", "lead_opd": opd,
                "document_kind": "PKS" if i % 3 else "KB"}
        if kind == "normal" and rng.random() < 0.10:
            final_state, rounds = rng.choice(EARLY), 0
        else:
            final_state, rounds = "integrated", rng.randint(0, 5)
        # When the agreement entered its current state: recent enough that every deadline
        # lies ahead, except for the probe (evaluation within 30 days) and the due-now sets.
        if kind == "probe":
            entered_days = 365 - rng.randint(2, 28)
        elif final_state == "integrated":
            entered_days = rng.randint(1, 300)
        else:
            entered_days = rng.uniform(0, 10)
        ends = self.today + timedelta(days=rng.randint(240, 1800))  # first warning beyond 30 days
        if kind == "due":
            ends = self.today - timedelta(days=5)
            entered_days = rng.randint(30, 300)
        signed_on = self.today - timedelta(days=entered_days + 10 * rounds + 30)
        values = dict(base)
        events = []
        for name, src, dst, supplied in STEPS:
            if src == final_state and final_state != "integrated":
                break
            sup = dict(supplied) if supplied else {"signed_on": signed_on, "ends_on": ends,
                                                    "signatories": "Bupati Kukar; Mitra", "signed_by_opd_head": False}
            events.append((name, src, dst, sup))
            values.update(sup)
            if dst == final_state:
                break
        for _ in range(rounds):
            events.append(("open_evaluation", "integrated", "under_evaluation", {}))
            events.append(("continue", "under_evaluation", "integrated", {}))
        entered_at = self.at(entered_days)
        n = len(events) + 1
        times = [entered_at - timedelta(days=2 * (n - 1 - k)) for k in range(n)]
        hist = []
        prev = GENESIS
        rows = [("create", None, "proposed", _plain(base), "create")] + [
            (name, src, dst, _plain(sup), "human") for name, src, dst, sup in events]
        for seq, ((event, src, dst, data, hkind), t) in enumerate(zip(rows, times), start=1):
            actor = "admin"
            digest = row_hash(prev, i, seq, event, src, dst, actor, t, None, data, hkind)
            hist.append({"agreement_id": i, "seq": seq, "event": event, "from_state": src, "to_state": dst,
                         "actor": actor, "at": t, "note": None, "data": data, "kind": hkind, "prev_hash": prev,
                         "hash": digest})
            prev = digest
        agreement = {
            "id": i, "number": number, "title": base["title"], "partner": base["partner"], "lead_opd": opd,
            "workflow": self.defn.name, "workflow_version": self.defn.version, "lifecycle_state": final_state,
            "data": _plain({k: v for k, v in values.items() if k not in self.defn.core_fields}), "parent_id": None,
            "state_entered_at": entered_at, "created_at": times[0], "updated_at": entered_at,
            "version": len(hist), "history_seq": len(hist), "history_head": prev, "import_key": None,
        }
        deadlines = [
            {"agreement_id": i, "rule": p.rule.name, "action": p.rule.action, "state": final_state, "due_at": p.due_at,
             "occurrence": 0, "offset_days": p.offset_days, "status": "pending", "created_at": entered_at}
            for p in plan(self.defn, final_state, values, entered_at, self.ctx.clock, self.ctx.settings, entered_at)
        ]
        return agreement, hist, deadlines


def _copy(conn, table, rows, columns):
    """COPY rows (dicts) into ``table`` through psycopg's raw connection."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([json.dumps(r[c], separators=(",", ":")) if c == "data" else r[c] for c in columns])


def write_batch(engine, agreements_rows, history_rows, deadline_rows):
    import sqlalchemy as sa

    from engine.store import db
    from engine.store.tables import agreements, deadlines, history

    with db.write(engine) as conn:
        if conn.dialect.name == "postgresql":
            _copy(conn, "agreements", agreements_rows, [c.name for c in agreements.columns])
            _copy(conn, "history", history_rows, [c.name for c in history.columns if c.name != "id"])
            _copy(conn, "deadlines", deadline_rows,
                  ["agreement_id", "rule", "action", "state", "due_at", "occurrence", "offset_days", "status", "created_at"])
        else:
            conn.execute(agreements.insert(), agreements_rows)
            conn.execute(history.insert(), history_rows)
            if deadline_rows:
                conn.execute(deadlines.insert(), deadline_rows)
    _ = sa


def finish(engine, counters):
    import sqlalchemy as sa

    from engine.store import db
    from engine.store.tables import id_counters

    with db.write(engine) as conn:
        for scope, value in counters.items():
            conn.execute(id_counters.delete().where(id_counters.c.scope == scope))
            conn.execute(id_counters.insert().values(scope=scope, last_value=value))
        if conn.dialect.name == "postgresql":
            for table in ("agreements", "history", "deadlines"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT coalesce(max(id), 1) FROM {table}))"))
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def ensure_schema(environ):
    from engine.store import db
    from engine.bootstrap import bootstrap
    from engine.store.directory import sync_directory
    from engine.lifecycle.services import ensure_first_admin

    ctx = bootstrap(environ, check_schema=False, with_hooks=False)
    with ctx.engine.connect() as conn:
        revision = db.current_revision(conn)
        conn.rollback()
    if revision is None:
        db.upgrade(ctx.engine)
        with db.write(ctx.engine) as conn:
            sync_directory(conn, ctx.settings.opd_file)
            ensure_first_admin(conn, environ.get("TKKSD_USER", "admin"), ctx.clock.now())
    return ctx


def generate(environ, *, agreements: int, probe: int = 20, probe_opd: str = "DKP", due_now: int = 100,
             seed: int = 6, batch: int = 5000, quiet: bool = False) -> dict[str, float]:
    import sqlalchemy as sa

    from engine.store.tables import agreements as agreements_t

    args = argparse.Namespace(agreements=agreements, probe=probe, probe_opd=probe_opd, due_now=due_now, seed=seed)
    ctx = ensure_schema(environ)
    with ctx.engine.connect() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(agreements_t)).scalar_one():
            raise SystemExit("The database already holds agreements; give make_scale_data.py an empty one.")
    gen = Generator(ctx, args)
    started = time.monotonic()
    totals = {"agreements": 0, "history": 0, "deadlines": 0}
    a_rows, h_rows, d_rows = [], [], []
    for i in range(1, agreements + 1):
        kind = "probe" if i <= probe else "due" if i <= probe + due_now else "normal"
        a, h, d = gen.agreement(i, kind)
        a_rows.append(a)
        h_rows.extend(h)
        d_rows.extend(d)
        if len(a_rows) >= batch or i == agreements:
            write_batch(ctx.engine, a_rows, h_rows, d_rows)
            totals["agreements"] += len(a_rows)
            totals["history"] += len(h_rows)
            totals["deadlines"] += len(d_rows)
            a_rows, h_rows, d_rows = [], [], []
            if not quiet:
                print(f"  {totals['agreements']:>7} agreements, {totals['history']:>8} history rows, "
                      f"{totals['deadlines']:>7} deadlines ({time.monotonic() - started:.0f} s)", flush=True)
    finish(ctx.engine, gen.counters)
    ctx.engine.dispose()
    totals["seconds"] = round(time.monotonic() - started, 1)
    return totals


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agreements", type=int, default=100_000)
    p.add_argument("--probe", type=int, default=20, help="agreements of --probe-opd due within 30 days (default 20)")
    p.add_argument("--probe-opd", default="DKP")
    p.add_argument("--due-now", type=int, default=100, help="agreements whose expiry is due now (default 100)")
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--batch", type=int, default=5000)
    args = p.parse_args(argv)
    environ = dict(os.environ)
    environ.setdefault("TKKSD_USER", "admin")
    totals = generate(environ, agreements=args.agreements, probe=args.probe, probe_opd=args.probe_opd,
                      due_now=args.due_now, seed=args.seed, batch=args.batch)
    print(f"done: {totals['agreements']} agreements, {totals['history']} history rows, "
          f"{totals['deadlines']} pending deadlines in {totals['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
