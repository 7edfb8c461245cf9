"""One writer: no module but the kernel (engine/lifecycle/kernel.py) issues INSERT, UPDATE or
DELETE on the ``agreements`` and ``history`` tables.

Checked twice: statically, by reading every engine module with ``ast`` (Core constructs on
those tables, and SQL text naming them), and at run time, by a ``before_cursor_execute``
listener that records which engine module issued each such statement during a workflow walk,
an upgrade that opens a follow-up, a daemon sweep, an import (new and changed rows), the
demo inventory and a workflow migration. The scanner is itself tested on code that writes elsewhere.
"""

from __future__ import annotations

import ast
import re
import traceback
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
KERNEL = ENGINE / "lifecycle" / "kernel.py"
GUARDED = ("agreements", "history")
WRITES = ("insert", "update", "delete")
SQL_WRITE = re.compile(r"\b(insert\s+into|update|delete\s+from)\s+[\"`]?(agreements|history)\b", re.IGNORECASE)


def writes_in(source: str) -> list[str]:
    """Every place in ``source`` that writes a guarded table, as 'line N: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        # agreements.insert(), history.update(), ...
        if isinstance(node, ast.Attribute) and node.attr in WRITES and isinstance(node.value, ast.Name) \
                and node.value.id in GUARDED:
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        # sa.insert(agreements), update(history), postgresql.insert(agreements), ...
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name) \
                and node.args[0].id in GUARDED:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in WRITES:
                found.append(f"line {node.lineno}: {name}({node.args[0].id})")
        # raw SQL text
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_WRITE.search(node.value):
            found.append(f"line {node.lineno}: SQL {SQL_WRITE.search(node.value).group(0)!r}")
    return found


def engine_modules() -> list[Path]:
    # Alembic migrations create the schema (DDL through `op`), they are not part of the running engine.
    return [p for p in sorted(ENGINE.rglob("*.py")) if "migrations" not in p.relative_to(ENGINE).parts]


def test_no_module_but_the_kernel_writes_agreements_or_history():
    offenders = {}
    for path in engine_modules():
        if path == KERNEL:
            continue
        found = writes_in(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}
    assert writes_in(KERNEL.read_text(encoding="utf-8")), "the kernel itself must be seen writing"


@pytest.mark.parametrize("source", [
    "from engine.store.tables import agreements\nagreements.update().values(lifecycle_state='x')",
    "from engine.store.tables import history\nstmt = history.insert()",
    "import sqlalchemy as sa\nsa.delete(agreements)",
    "from sqlalchemy.dialects.sqlite import insert\ninsert(history).on_conflict_do_nothing()",
    "conn.exec_driver_sql('UPDATE agreements SET version = version + 1')",
    "conn.execute(sa.text('delete from \"history\" where id = 1'))",
    "conn.execute(text('INSERT INTO history (seq) VALUES (1)'))",
])
def test_the_scanner_sees_a_writer_added_elsewhere(source):
    assert writes_in(source)


@pytest.mark.parametrize("source", [
    "deadlines.update().values(status='fired')",
    "sa.select(agreements).where(agreements.c.id == 1)",
    "conn.execute(sa.text('SELECT * FROM history'))",
    "log.info('history updated')",
])
def test_the_scanner_lets_other_statements_pass(source):
    assert writes_in(source) == []


# --------------------------------------------------------------------------- at run time


class WriterLog:
    """Which engine module issued each write on a guarded table."""

    def __init__(self):
        self.writers: dict[str, set[str]] = {}

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not SQL_WRITE.search(statement):
            return
        module = "?"
        for frame in reversed(traceback.extract_stack()):
            path = Path(frame.filename)
            if ENGINE in path.parents:
                module = str(path.relative_to(ROOT))
                break
        self.writers.setdefault(module, set()).add(SQL_WRITE.search(statement).group(0).lower())


def test_every_write_at_run_time_comes_from_the_kernel(ctx, env, tmp_path):
    from engine.inventory.exporting import export_file
    from engine.inventory.importing import import_file
    from engine.lifecycle.services import create_agreement, fire
    from engine.scheduler.sweep import at_time, sweep
    from tests.helpers import walk_service

    writers = WriterLog()
    sa.event.listen(ctx.engine, "before_cursor_execute", writers)
    try:
        ref = create_agreement(ctx, "admin", title="KB Pangan", partner="Otorita IKN", opd="DKP",
                               values={"document_kind": "KB"})["id"]
        walk_service(ctx, ref, "integrated")
        fire(ctx, "admin", ref, "upgrade")  # opens the follow-up PKS
        demo = ROOT / "config" / "demo" / "inventory.csv"
        import_file(ctx, demo, "admin", note_extra="demo")
        sheet = tmp_path / "sheet.csv"
        export_file(ctx, sheet)
        text = sheet.read_text(encoding="utf-8").replace("Pasokan pangan", "Pasokan pangan dan energi", 1)
        sheet.write_text(text, encoding="utf-8")
        import_file(ctx, sheet, "admin")  # a changed row: an update through the kernel
        later = at_time(ctx, ctx.clock.now().replace(year=2032))
        result = sweep(later, daemon_id="test", now=later.clock.now())
        assert result.fired > 0
    finally:
        sa.event.remove(ctx.engine, "before_cursor_execute", writers)
    _migrate_watched(env, tmp_path, writers)
    assert set(writers.writers) == {str(KERNEL.relative_to(ROOT))}, writers.writers
    assert {"insert into agreements", "update agreements", "insert into history"} <= writers.writers[str(KERNEL.relative_to(ROOT))]


def _migrate_watched(env, tmp_path, writers: WriterLog) -> None:
    """A workflow migration (kerja-sama v2 -> v3, one state renamed), watched by ``writers``."""
    from engine.bootstrap import bootstrap
    from engine.lifecycle.version_migration import migrate
    from tests.bmd.conftest import write_settings
    from tests.bmd.test_versions import write_v3

    folder = tmp_path / "definitions"
    folder.mkdir()
    write_v3(folder)
    with_v3 = bootstrap({**env, "TKKSD_CONFIG": str(write_settings(tmp_path / "tkksd-v3.toml", [folder]))})
    sa.event.listen(with_v3.engine, "before_cursor_execute", writers)
    try:
        done = migrate(with_v3, "admin", "kerja-sama", 2, 3, {"synchronized": "harmonized"})
        assert done["migrated"] and done["agreements"]
    finally:
        sa.event.remove(with_v3.engine, "before_cursor_execute", writers)
        with_v3.engine.dispose()
