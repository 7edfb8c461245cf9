"""engine/hot.py runs a transition's statements on SQLite's driver, below Core. It must write
exactly what Core writes: the same walk is made twice, once on the hot path and once with a
statement listener on the engine (which sends every statement through Core), and the two
databases must hold identical rows. Errors must come out as SQLAlchemy's exception classes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.store import db

from engine.store import hot
from engine.bootstrap import bootstrap
from engine.errors import EventNotAllowed
from engine.lifecycle.services import _statements, fire
from tests.conftest import init_database, make_env
from tests.helpers import add_service, walk_service

from .dbstate import snapshot

NOW = "2026-03-02T09:00:00+08:00"


def _walk(ctx) -> None:
    """A walk that reaches every hot statement: creation, steps, a self-loop that keeps the
    expiry warnings but moves them (extend), a follow-up agreement (upgrade), a return, a
    system event (expire), and a refusal."""
    a = add_service(ctx, title="KB Pangan IKN \u00e9t\u00e9", partner="Otorita IKN")
    walk_service(ctx, a, "integrated")
    fire(ctx, "admin", a, "extend", values={"ends_on": "2032-06-30", "adendum_ref": "ADD/01"})
    fire(ctx, "admin", a, "upgrade")
    b = add_service(ctx, title="MoU Sampah", partner="Kota Balikpapan")
    walk_service(ctx, b, "synchronized")
    fire(ctx, "admin", b, "return", values={"reason": "dokumen kurang"}, note="mohon dilengkapi")
    with pytest.raises(EventNotAllowed):
        fire(ctx, "admin", b, "sign")
    fire(ctx, "system", a, "expire")


def _database(tmp_path, name: str, *, through_core: bool):
    env = make_env(tmp_path / name, f"sqlite:///{tmp_path / name / 'tkksd.db'}", TKKSD_NOW=NOW)
    init_database(env)
    ctx = bootstrap(env)
    if through_core:
        sa.event.listen(ctx.engine, "before_cursor_execute", lambda *args: None)
    return ctx


def test_hot_path_writes_what_core_writes(tmp_path):
    results = {}
    for name, through_core in (("hot", False), ("core", True)):
        ctx = _database(tmp_path, name, through_core=through_core)
        with ctx.engine.connect() as conn, conn.begin():
            assert hot._direct(conn) is (not through_core)
        _walk(ctx)
        results[name] = snapshot(ctx.engine)
        ctx.engine.dispose()
    assert results["hot"].keys() == results["core"].keys()
    for table in results["hot"]:
        assert results["hot"][table] == results["core"][table], f"table {table} differs"
    assert len(results["hot"]["history"]) >= 15 and len(results["hot"]["outbox"]) >= 10


def test_reads_give_what_core_gives(tmp_path):
    ctx = _database(tmp_path, "read", through_core=False)
    ref = add_service(ctx)
    walk_service(ctx, ref, "integrated")
    fire(ctx, "admin", ref, "upgrade")
    stmt = _statements().fire_read_by_number
    with ctx.engine.connect() as conn, conn.begin():
        fast = hot.first(conn, stmt, {"number": ref, "login": "admin"})
        core = conn.execute(stmt, {"number": ref, "login": "admin"}).first()
        assert fast._asdict() == core._asdict()
        assert fast._mapping == dict(core._mapping)
        assert (fast.has_children, fast.user_active, fast.data) == (True, True, core.data)
        assert fast.updated_at.tzinfo is not None
        assert hot.first(conn, stmt, {"number": "KS-1999-0001", "login": "admin"}) is None
        assert hot.all(conn, stmt, {"number": ref, "login": "nobody"})[0].user_roles is None
    ctx.engine.dispose()


def test_outside_a_transaction_or_with_echo_core_runs(tmp_path):
    ctx = _database(tmp_path, "modes", through_core=False)
    with ctx.engine.connect() as conn:
        assert not hot._direct(conn)  # the bare driver would autocommit
        with conn.begin():
            assert hot._direct(conn)
    ctx.engine.echo = True
    with ctx.engine.connect() as conn, conn.begin():
        assert not hot._direct(conn)
    ctx.engine.dispose()


def test_driver_errors_come_out_as_sqlalchemy_errors(tmp_path):
    ctx = _database(tmp_path, "errors", through_core=False)
    ref = add_service(ctx)
    from engine.lifecycle.services import find_agreement

    with db.write(ctx.engine) as conn:
        agreement_id = find_agreement(conn, ref).id
    row = {"agreement_id": agreement_id, "seq": 1, "event": "x", "from_state": None, "to_state": "proposed",
           "actor": "admin", "at": ctx.clock.now(), "note": None, "data": {}, "kind": "human", "prev_hash": "0", "hash": "1"}
    with pytest.raises(sa.exc.IntegrityError) as caught:
        with db.write(ctx.engine) as conn:
            assert hot._direct(conn)
            hot.execute(conn, _statements().insert_history, row)  # seq 1 exists: unique (agreement_id, seq)
    assert "UNIQUE" in str(caught.value.orig)
    with db.read(ctx.engine) as conn:  # and the failed transaction left nothing behind
        assert conn.execute(sa.text("SELECT count(*) FROM history")).scalar() == 1
    ctx.engine.dispose()
