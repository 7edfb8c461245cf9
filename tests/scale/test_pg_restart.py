"""PostgreSQL restarted under a running daemon: the daemon logs the lost connection once,
carries on at the next tick and finishes the work that fell due meanwhile.

The cluster on a development machine is shared by every test that runs there, so this test
restarts it only when asked: TKKSD_TEST_PG_RESTART=1 (it needs `pg_ctlcluster` and the right
to run it). It waits until the server answers again before it ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from tests.conftest import init_database, make_env
from tests.daemon.conftest import day

from .conftest import bulk_due, scalar, start_daemon, stop, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.skipif(os.environ.get("TKKSD_TEST_PG_RESTART") != "1",
                                 reason="restarts the shared PostgreSQL cluster; set TKKSD_TEST_PG_RESTART=1")]


def _cluster() -> str:
    return sorted(os.listdir("/etc/postgresql"))[0]


def _pg_ready(timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError("PostgreSQL did not come back")


def test_daemon_survives_a_postgresql_restart(pg_database, tmp_path, monkeypatch):
    if not shutil.which("pg_ctlcluster"):
        pytest.skip("pg_ctlcluster is not available")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tkksd.toml").write_text("[daemon]\nsweep_seconds = 1\ndrain_seconds = 1\n")
    env = make_env(tmp_path, pg_database)
    init_database(env)
    from engine.bootstrap import bootstrap

    log = tmp_path / "daemon.log"
    daemon = start_daemon(env, tmp_path, "survivor", now=day(400), stderr=open(log, "w"))
    try:
        time.sleep(3)
        try:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", _cluster(), "main", "restart"],
                           check=True, timeout=120)
        finally:
            _pg_ready()
        time.sleep(3)  # at least one tick against the restarted server
        assert daemon.poll() is None, log.read_text()
        ctx = bootstrap(env)
        bulk_due(ctx, 50, ends_in_days=200)
        wait_until(lambda: scalar(ctx, "SELECT count(*) FROM history WHERE event = 'expire'") == 50, 120,
                   "the daemon to expire the agreements added after the restart")
        ctx.engine.dispose()
    finally:
        stop(daemon)
    text = log.read_text()
    assert daemon.returncode == 0, text
    assert "Traceback" not in text
    assert text.count("lost the database connection") <= 3  # one line per job, not one per tick
