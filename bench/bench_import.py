#!/usr/bin/env python3
"""Import benchmark: `tkksd import` of a 10,000-row XLSX ÷ (openpyxl reading the same file + inserting
the same rows with plain SQL), measured in one run on SQLite. Goal: ≤ 2×.

The import validates every row, writes each agreement, its first history row (hash-chained)
and its planned deadlines, and fixes the id counters, all in one transaction. The baseline
reads the same workbook with openpyxl (read-only, values only) and inserts one row per
agreement with sqlite3 executemany into a table of the same columns.

    .venv/bin/python bench/bench_import.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def make_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TKKSD_")}
    env.update({"TKKSD_DATABASE_URL": f"sqlite:///{folder / 'tkksd.db'}", "TKKSD_HOME": str(folder),
                "TKKSD_USER": "admin", "TKKSD_NOW": "2024-05-01T09:00:00"})
    return env


def fresh_db(folder: Path):
    from engine.store import db
    from engine.bootstrap import bootstrap
    from engine.store.directory import sync_directory
    from engine.store.urusan import load_urusan
    from engine.store.wilayah import sync_wilayah
    from engine.lifecycle.services import ensure_first_admin

    folder.mkdir(parents=True, exist_ok=True)
    env = make_env(folder)
    ctx = bootstrap(env, check_schema=False)
    db.upgrade(ctx.engine)
    with db.write(ctx.engine) as conn:
        sync_directory(conn, ctx.settings.opd_file)
        load_urusan(conn, ctx)
        sync_wilayah(conn, ctx.settings.wilayah_file, ctx.settings.delineation_file)  # rows name their location
        ensure_first_admin(conn, "admin", ctx.clock.now())
    return ctx


def make_workbook(path: Path, rows: int) -> None:
    """A realistic sheet: the demo generator at scale, written by the exporter's XLSX writer."""
    import csv as _csv

    import make_demo_inventory as gen
    from engine.inventory import sheets
    from engine.inventory.exporting import drop_down_lists
    from workflows import load_registry

    registry = load_registry()
    with open(ROOT / "config" / "opd.csv", encoding="utf-8") as fh:
        codes = {r["code"] for r in _csv.DictReader(fh)}
    items = gen.generate(registry, codes, signed=rows - 9, pipeline=9)[:rows]
    cols = sheets.columns(registry)

    class _Ctx:  # drop_down_lists needs only the registry
        pass

    c = _Ctx()
    c.registry = registry
    sheets.write_xlsx(path, cols, items, lists=drop_down_lists(c, cols, sorted(codes)))


def run_import(folder: Path, xlsx: Path) -> tuple[float, int]:
    from engine.inventory.importing import import_file

    ctx = fresh_db(folder)
    t0 = time.perf_counter()
    result = import_file(ctx, xlsx, "admin")
    elapsed = time.perf_counter() - t0
    ctx.engine.dispose()
    return elapsed, result.added


def run_baseline(folder: Path, xlsx: Path) -> tuple[float, int]:
    import openpyxl

    folder.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(folder / "plain.db")
    con.execute("PRAGMA journal_mode=WAL")
    t0 = time.perf_counter()
    wb = openpyxl.load_workbook(xlsx, read_only=True, data_only=True)
    ws = wb["kerja_sama"]
    it = ws.iter_rows(values_only=True)
    header = [str(h) for h in next(it) if h is not None]
    n = len(header)
    con.execute("CREATE TABLE plain (" + ", ".join(f'"{h}"' for h in header) + ")")
    data = [tuple(r[:n]) for r in it if any(v is not None for v in r)]
    wb.close()
    with con:
        con.executemany(f"INSERT INTO plain VALUES ({', '.join('?' * n)})", data)
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed, len(data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tkksd-bench-import-") as tmp:
        tmp = Path(tmp)
        xlsx = tmp / "inventory.xlsx"
        t0 = time.perf_counter()
        os.environ["TKKSD_NOW"] = "2024-05-01T09:00:00"
        make_workbook(xlsx, args.rows)
        build = time.perf_counter() - t0
        imports, baselines = [], []
        for i in range(args.repeat):
            b, nb = run_baseline(tmp / f"base{i}", xlsx)
            t, nt = run_import(tmp / f"imp{i}", xlsx)
            assert nb == nt == args.rows, (nb, nt)
            baselines.append(b)
            imports.append(t)
        imp, base = statistics.median(imports), statistics.median(baselines)
        figures = {
            "rows": args.rows, "xlsx_bytes": xlsx.stat().st_size, "workbook_build_s": round(build, 2),
            "import_s": round(imp, 3), "baseline_s": round(base, 3), "ratio": round(imp / base, 2),
            "import_rows_per_s": round(args.rows / imp), "baseline_rows_per_s": round(args.rows / base),
            "goal_ratio": 2.0, "runs": args.repeat,
        }
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"import benchmark, {args.rows} rows ({figures['xlsx_bytes'] / 1e6:.1f} MB XLSX), median of {args.repeat}:")
        print(f"  tkksd import (validate + agreements + history + deadlines): {imp:.2f} s  ({figures['import_rows_per_s']}/s)")
        print(f"  openpyxl read + plain SQL insert (baseline):               {base:.2f} s  ({figures['baseline_rows_per_s']}/s)")
        print(f"  ratio: {figures['ratio']}x  (goal <= 2x: {'met' if figures['ratio'] <= 2 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
