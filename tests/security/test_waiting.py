"""Waiting with words (issue 17.7): a lock wait gives up after [database] lock_wait_seconds with
exit 10 and names what holds the lock; a read-only database is still read; a daemon that cannot
write stops with a sentence."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _db(env) -> Path:
    return Path(env["TKKSD_DATABASE_URL"].split("///", 1)[1])


@pytest.fixture
def sqlite_only(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("about SQLite's write lock")


def hold_write_lock(db_file: Path, announce_import: bool):
    """A process that announces an import (as `tkksd import` does) and holds the write lock."""
    code = f"""
import sqlite3, sys, time
from sqlalchemy import create_engine
from engine.store.waiting import announce
engine = create_engine("sqlite:///{db_file}")
ctx = announce(engine, "import", "an import of daftar.xlsx by sari") if {announce_import} else None
if ctx: ctx.__enter__()
con = sqlite3.connect("{db_file}", isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("UPDATE users SET name = name")
print("held", flush=True)
time.sleep(30)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_held_write_lock_is_named_and_bounded(sqlite_only, cli, env, tmp_path):
    conf = tmp_path / "wait.toml"
    conf.write_text("[database]\nlock_wait_seconds = 1.5\n")
    holder = hold_write_lock(_db(env), announce_import=True)
    try:
        started = time.monotonic()
        r = cli("add", "--title", "T", "--partner", "P", "--opd", "DKP", check=False, extra_env={"TKKSD_CONFIG": str(conf)})
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode == 10, r.stderr
    assert "dikunci oleh" in r.stderr and "daftar.xlsx" in r.stderr and "sari (pid" in r.stderr and "menunggu 1,5 detik" in r.stderr
    assert waited < 15
    assert "Traceback" not in r.stderr


def test_an_unknown_holder_is_still_a_sentence(sqlite_only, cli, env, tmp_path):
    conf = tmp_path / "wait.toml"
    conf.write_text("[database]\nlock_wait_seconds = 1\n")
    holder = hold_write_lock(_db(env), announce_import=False)
    try:
        r = cli("add", "--title", "T", "--partner", "P", "--opd", "DKP", check=False, extra_env={"TKKSD_CONFIG": str(conf)})
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode == 10 and "proses lain" in r.stderr, r.stderr


def test_a_read_only_database_is_read_and_the_daemon_refuses_it(sqlite_only, ctx, env, monkeypatch, tmp_path):
    """Root writes anything, so a read-only copy is simulated where tkksd asks (os.access)."""
    from engine.bootstrap import bootstrap
    from engine.errors import DatabaseUnavailable
    from engine.inventory import reports
    from engine.lifecycle.services import create_agreement, list_agreements
    from engine.store.waiting import check_writable

    create_agreement(ctx, "admin", title="KB Pangan", partner="Otorita IKN", opd="DKP")
    ctx.engine.dispose()
    db_file = _db(env)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if (mode & os.W_OK and str(p).startswith(str(db_file.parent))) else real_access(p, mode))
    ro = bootstrap(env)
    assert str(ro.engine.url).endswith("mode=ro&uri=true")
    assert len(list_agreements(ro)) == 1
    assert reports.build(ro)["totals"]["agreements"] == 1
    with pytest.raises(DatabaseUnavailable, match="tidak dapat ditulisi"):
        check_writable(ro.engine)
    ro.engine.dispose()


@pytest.mark.postgres
def test_a_held_row_lock_on_postgresql_is_named_and_bounded(pg_database, tmp_path):
    import psycopg

    from engine.bootstrap import bootstrap
    from tests.conftest import Cli, _psycopg_dsn, init_database, make_env
    from tests.helpers import KS_STEPS

    env = make_env(tmp_path, pg_database)
    init_database(env)
    ctx = bootstrap(env)
    from engine.lifecycle.services import create_agreement

    ref = create_agreement(ctx, "admin", title="KB Pangan", partner="Otorita IKN", opd="DKP", values={"document_kind": "KB"})["id"]
    ctx.engine.dispose()
    conf = tmp_path / "wait.toml"
    conf.write_text("[database]\nlock_wait_seconds = 1\n")
    with psycopg.connect(_psycopg_dsn(pg_database), application_name="tkksd import pid 4242") as holder:
        holder.execute("SELECT id FROM agreements WHERE number = %s FOR UPDATE", (ref,))
        _, values = KS_STEPS["identify"]
        sets = [x for k, v in values.items() for x in ("--set", f"{k}={v}")]
        started = time.monotonic()
        r = Cli(env, tmp_path)("fire", ref, "identify", *sets, check=False, extra_env={"TKKSD_CONFIG": str(conf)})
        waited = time.monotonic() - started
    assert r.returncode == 10, r.stderr
    assert "dikunci oleh tkksd import pid 4242" in r.stderr and "menunggu 1 detik" in r.stderr, r.stderr
    assert waited < 15
