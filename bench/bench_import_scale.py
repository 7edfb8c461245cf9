#!/usr/bin/env python3
"""Import at scale (issue 17.6): time per row and peak memory of `tkksd import` for 10,000 and
100,000 rows, and of `--dry-run` for 1,000,000 rows, each in its own process (peak RSS is the
child's ru_maxrss). Rows are the demo inventory's, repeated with distinct titles and no id.

Goals: 100,000 rows imported with peak RSS <= 300 MB; 1,000,000 rows dry-run <= 400 MB; time per
row at 100k <= 1.2x the time per row at 10k.

    .venv/bin/python bench/bench_import_scale.py [--sizes 10000,100000] [--dry-sizes 1000000] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RSS_GOALS_MB = {(100000, False): 300, (1000000, True): 400}
CHILD = r"""
import os, resource, sys, time
sys.path.insert(0, {root!r})
from engine.store import db
from engine.bootstrap import bootstrap
from engine.store.directory import sync_directory
from engine.store.urusan import load_urusan
from engine.store.wilayah import sync_wilayah
from engine.lifecycle.services import ensure_first_admin
from engine.inventory.importing import import_file
env = dict(os.environ)
ctx = bootstrap(env, check_schema=False)
db.upgrade(ctx.engine)
with db.write(ctx.engine) as conn:
    sync_directory(conn, ctx.settings.opd_file)
    load_urusan(conn, ctx)
    sync_wilayah(conn, ctx.settings.wilayah_file, ctx.settings.delineation_file)
    ensure_first_admin(conn, "admin", ctx.clock.now())
t0 = time.perf_counter()
r = import_file(ctx, {csv!r}, "admin", dry_run={dry})
elapsed = time.perf_counter() - t0
assert not r.problems, r.problems[:3]
print(elapsed, r.rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def write_csv(path: Path, rows: int) -> None:
    with open(ROOT / "config" / "demo" / "inventory.csv", encoding="utf-8") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    demo = list(csv.DictReader(lines))
    with open(path, "w", encoding="utf-8", newline="") as out:
        w = csv.DictWriter(out, fieldnames=list(demo[0]))
        w.writeheader()
        for i in range(rows):
            r = dict(demo[i % len(demo)])
            r["id"] = ""
            r["parent"] = ""
            r["title"] = f"{r['title']} #{i}"
            w.writerow(r)


def measure(folder: Path, csv_path: Path, rows: int, dry: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TKKSD_")}
    env.update({"TKKSD_DATABASE_URL": f"sqlite:///{folder / 'tkksd.db'}", "TKKSD_HOME": str(folder),
                "TKKSD_USER": "admin", "TKKSD_NOW": "2024-05-01T09:00:00"})
    folder.mkdir(parents=True, exist_ok=True)
    code = CHILD.format(root=str(ROOT), csv=str(csv_path), dry=dry)
    conf = folder / "bench.toml"
    conf.write_text(f"[import]\nmax_rows = {rows}\n")
    env["TKKSD_CONFIG"] = str(conf)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if proc.returncode != 0:  # say why (the child's traceback), not only that it failed
        raise SystemExit(f"the {rows:,}-row run failed:\n{proc.stderr[-3000:]}")
    out = proc.stdout.split()
    elapsed, n, rss_kb = float(out[0]), int(out[1]), int(out[2])
    return {"rows": n, "dry_run": dry, "seconds": round(elapsed, 2), "us_per_row": round(elapsed / n * 1e6, 1),
            "peak_rss_mb": round(rss_kb / 1024, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dry-sizes", default="1000000")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="tkksd-bench-scale-") as tmp:
        tmp = Path(tmp)
        plan = [(int(n), False) for n in args.sizes.split(",") if n] + [(int(n), True) for n in args.dry_sizes.split(",") if n]
        for n, dry in plan:
            path = tmp / f"rows-{n}.csv"
            if not path.exists():
                write_csv(path, n)
            results.append(measure(tmp / f"db-{n}-{dry}", path, n, dry))
            print(json.dumps(results[-1]), flush=True)
    by = {(r["rows"], r["dry_run"]): r for r in results}
    if (10000, False) in by and (100000, False) in by:
        ratio = by[(100000, False)]["us_per_row"] / by[(10000, False)]["us_per_row"]
        print(f"time per row at 100k / at 10k: {ratio:.2f} (goal <= 1.2)")
    for (rows, dry), goal in RSS_GOALS_MB.items():
        if (rows, dry) in by:
            what = "dry run" if dry else "import"
            print(f"peak RSS, {rows:,} rows {what}: {by[(rows, dry)]['peak_rss_mb']} MB (goal <= {goal} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
