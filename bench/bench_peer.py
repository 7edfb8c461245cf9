"""Peer benchmark: tkksd beside SpiffWorkflow 3 on the same five-step workflow, in one run.

Both walk agreements through identify -> verify -> synchronize -> sign -> integrate, each
step one SQLite transaction on its own database file (WAL, synchronous=FULL):

- SpiffWorkflow (``pip install -e '.[bench]'``): the five steps are BPMN user tasks
  (bench/peer_five_steps.bpmn). A step is BEGIN IMMEDIATE, load the instance's serialized JSON,
  deserialize it, complete the ready user task with the step's values, run the engine steps,
  serialize, UPDATE the instance, INSERT a history row, COMMIT. That is the least a
  persistent Spiff application does; Spiff has no roles, guards, deadlines or outbox.
- tkksd: ``engine.lifecycle.services.fire`` with the kerja-sama values of the README's walk,
  doing its full work: reads, role and guard checks, the transitions machine, the hash-chained
  history row, deadlines planned and the notice written to the outbox.

Printed: step-transactions per second of each (median of the rounds; the two take turns so
that drift in the machine's load hits both alike), the ratio tkksd / Spiff (goal >= 2x) and the
load average. Creating the instances is set-up and not timed, for both.

    .venv/bin/python bench/bench_peer.py
    .venv/bin/python bench/bench_peer.py --agreements 100 --rounds 5

The machines are noisy: compare the ratio, not the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_core import WALK, bench_env, copy_db, prepare, step_values  # noqa: E402

BPMN = Path(__file__).with_name("peer_five_steps.bpmn")
PROCESS_ID = "kerja_sama"
GOAL = 2.0


# ------------------------------------------------------------------------- SpiffWorkflow


class SpiffStore:
    """Spiff instances in a SQLite file: their serialized JSON, a version and a history."""

    SCHEMA = (
        "CREATE TABLE instances (id INTEGER PRIMARY KEY, serialized TEXT NOT NULL, version INTEGER NOT NULL,"
        " updated_at TEXT NOT NULL)",
        "CREATE TABLE history (id INTEGER PRIMARY KEY, instance_id INTEGER NOT NULL REFERENCES instances(id),"
        " seq INTEGER NOT NULL, task TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL, data TEXT NOT NULL)",
        "CREATE INDEX history_instance ON history (instance_id, seq)",
    )

    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")

    def create_schema(self) -> None:
        for statement in self.SCHEMA:
            self.conn.execute(statement)

    def close(self) -> None:
        self.conn.close()


def spiff_parts():
    """The parsed workflow spec and a serializer (made once, as an application would)."""
    from SpiffWorkflow.bpmn.parser import BpmnParser
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN))
    return parser.get_spec(PROCESS_ID), BpmnWorkflowSerializer()


def spiff_prepare(path: Path, instances: int) -> list[int]:
    """A database with ``instances`` new instances, each waiting at its first user task."""
    from SpiffWorkflow.bpmn import BpmnWorkflow

    spec, serializer = spiff_parts()
    store = SpiffStore(path)
    store.create_schema()
    ids = []
    store.conn.execute("BEGIN IMMEDIATE")
    for _ in range(instances):
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        cur = store.conn.execute("INSERT INTO instances (serialized, version, updated_at) VALUES (?, 1, ?)",
                                 (serializer.serialize_json(workflow), now_text()))
        ids.append(cur.lastrowid)
    store.conn.execute("COMMIT")
    store.close()
    return ids


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat()


def spiff_step(store: SpiffStore, serializer, instance_id: int, step: str, values: dict[str, str]) -> None:
    """One step, one transaction: load, advance the ready user task, store the JSON and history."""
    from SpiffWorkflow.util.task import TaskState

    conn = store.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        serialized, version = conn.execute("SELECT serialized, version FROM instances WHERE id = ?", (instance_id,)).fetchone()
        workflow = serializer.deserialize_json(serialized)
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        if task is None or task.task_spec.name != step:
            raise RuntimeError(f"instance {instance_id}: expected the user task {step}, found {task and task.task_spec.name}")
        task.data.update(values)
        task.run()
        workflow.do_engine_steps()
        at = now_text()
        updated = conn.execute("UPDATE instances SET serialized = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
                               (serializer.serialize_json(workflow), version + 1, at, instance_id, version)).rowcount
        if updated != 1:
            raise RuntimeError(f"instance {instance_id} changed underneath")
        conn.execute("INSERT INTO history (instance_id, seq, task, actor, at, data) VALUES (?, ?, ?, ?, ?, ?)",
                     (instance_id, version, step, "admin", at, json.dumps(values)))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def run_spiff(path: Path, ids: list[int], warm: int) -> float:
    """Seconds to walk every instance through the five steps (``warm`` first, untimed)."""
    _, serializer = spiff_parts()
    values = step_values()
    store = SpiffStore(path)
    for step in WALK:
        spiff_step(store, serializer, warm, step, values[step])
    start = time.perf_counter()
    for step in WALK:
        for instance_id in ids:
            spiff_step(store, serializer, instance_id, step, values[step])
    elapsed = time.perf_counter() - start
    done = store.conn.execute("SELECT count(*) FROM history").fetchone()[0]
    store.close()
    assert done == (len(ids) + 1) * len(WALK), f"Spiff wrote {done} history rows"
    return elapsed


# ------------------------------------------------------------------------- tkksd


def run_tkksd(home: Path, refs: list[str], warm: str) -> tuple[float, dict[str, int]]:
    """Seconds to walk every agreement through the five steps with ``services.fire``, and what
    the walk wrote (history, deadline and outbox rows), to show the work was done."""
    import sqlalchemy as sa

    from engine.bootstrap import bootstrap
    from engine.lifecycle.services import fire
    from engine.store.tables import deadlines, history, outbox

    ctx = bootstrap(bench_env(home))
    values = step_values()
    for event in WALK:  # a new engine compiles each statement once; a daemon pays that once
        fire(ctx, "admin", warm, event, values=values[event])
    start = time.perf_counter()
    for event in WALK:
        for ref in refs:
            fire(ctx, "admin", ref, event, values=values[event])
    elapsed = time.perf_counter() - start
    with ctx.engine.connect() as conn:
        written = {table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                   for table in (history, deadlines, outbox)}
    ctx.engine.dispose()
    return elapsed, written


# ------------------------------------------------------------------------- main


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(tmp: Path, agreements: int, rounds: int) -> tuple[list[float], list[float], dict[str, int]]:
    tkksd_template, spiff_template = tmp / "tkksd-template", tmp / "spiff-template.db"
    refs = prepare(tkksd_template, agreements + 1)
    warm_ref = refs.pop()
    ids = spiff_prepare(spiff_template, agreements + 1)
    warm_id = ids.pop()
    steps = agreements * len(WALK)
    tkksd_rates, spiff_rates, written = [], [], {}
    for i in range(rounds):
        home, spiff_db = tmp / f"tkksd{i}", tmp / f"spiff{i}.db"
        copy_db(tkksd_template, home)
        shutil.copyfile(spiff_template, spiff_db)
        first, second = ("tkksd", "spiff") if i % 2 == 0 else ("spiff", "tkksd")
        for who in (first, second):
            if who == "tkksd":
                seconds, written = run_tkksd(home, refs, warm_ref)
                tkksd_rates.append(steps / seconds)
            else:
                spiff_rates.append(steps / run_spiff(spiff_db, ids, warm_id))
        shutil.rmtree(home)
        spiff_db.unlink()
    return tkksd_rates, spiff_rates, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agreements", type=int, default=100, help="agreements (instances) walked per round, five steps each")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; tkksd and Spiff take turns going first")
    args = parser.parse_args()

    from importlib.metadata import version

    load_before = load()
    with tempfile.TemporaryDirectory(prefix="tkksd-bench-peer-") as tmpdir:
        tkksd_rates, spiff_rates, written = measure(Path(tmpdir), args.agreements, args.rounds)
    load_after = load()
    tkksd, spiff = statistics.median(tkksd_rates), statistics.median(spiff_rates)
    ratio = tkksd / spiff
    per_round = [t / s for t, s in zip(tkksd_rates, spiff_rates)]
    steps = args.agreements * len(WALK)
    print(f"peer benchmark: {args.agreements} agreements x {len(WALK)} steps per round, {args.rounds} rounds "
          f"(medians; SQLite WAL, synchronous=FULL, one transaction per step)")
    print(f"  SpiffWorkflow {version('SpiffWorkflow'):<8} step-transactions/s  {spiff:8.0f}")
    print(f"  tkksd                  step-transactions/s  {tkksd:8.0f}")
    print(f"  tkksd wrote in the last round: {written.get('history', 0)} history rows, "
          f"{written.get('deadlines', 0)} deadline rows, {written.get('outbox', 0)} outbox rows "
          f"(for {steps + len(WALK)} steps, the warm-up walk included, plus creation)")
    print(f"  tkksd / Spiff, round by round: {' '.join(f'{r:.2f}' for r in per_round)}")
    print(f"  load average (1, 5, 15 min): before {load_before}, after {load_after} on {os.cpu_count()} CPUs")
    print()
    print(f"tkksd / SpiffWorkflow step-transactions/s     {ratio:5.2f}x   goal >= {GOAL:g}x  {'ok' if ratio >= GOAL else 'MISSED'}")


if __name__ == "__main__":
    main()
