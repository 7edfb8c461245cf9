"""Races between real processes, on both backends: 20 `tkksd fire` at once on one agreement,
a second daemon on SQLite, and an import running beside a sweeping daemon."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, tkksd_executable
from tests.daemon.conftest import day
from tests.helpers import KS_STEPS, add_service, sets, walk_service

from .conftest import bulk_due, scalar, start_daemon, stop, wait_until

RACERS = 20

# Each racer imports the CLI, then waits for the gate file, so that all 20 fire within
# milliseconds of each other instead of one Python start-up apart.
GATED = """
import os, sys, time
from engine.cli import main
gate = sys.argv[1]
while not os.path.exists(gate):
    time.sleep(0.001)
main(sys.argv[2:])
"""


@pytest.mark.slow
def test_twenty_concurrent_fires_one_wins_the_rest_conflict(ctx, env, tmp_path):
    ref = add_service(ctx)
    walk_service(ctx, ref, "identified")
    ctx.engine.dispose()
    gate = tmp_path / "go"
    penv = {**env, "PYTHONPATH": str(ROOT)}
    args = ["fire", ref, "verify", *sets(KS_STEPS["verify"][1])]
    procs = [subprocess.Popen([sys.executable, "-c", GATED, str(gate), *args], env=penv, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(RACERS)]
    time.sleep(3.0)  # every racer has imported the CLI and waits at the gate
    gate.write_text("go")
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]

    codes = sorted(code for code, _, _ in results)
    assert codes == [0] + [6] * (RACERS - 1), results
    winner = [out for code, out, _ in results if code == 0][0]
    assert winner.strip().startswith(f"Kerja sama {ref} kini berstatus Terverifikasi")
    for code, _, err in results:
        if code == 6:
            line = err.strip().splitlines()[-1]
            assert line.startswith("Kesalahan: Konflik:") and ref in line, err
            assert "Traceback" not in err
    from engine.bootstrap import bootstrap
    from engine.lifecycle.services import audit_verify, history_of

    after = bootstrap(env)
    try:
        assert [h["event"] for h in history_of(after, ref)] == ["create", "identify", "verify"]
        assert scalar(after, "SELECT count(*) FROM history WHERE event = 'verify'") == 1
        assert audit_verify(after)[2] == []
    finally:
        after.engine.dispose()


def test_a_second_daemon_on_sqlite_is_refused(sqlite_url, tmp_path):
    from tests.conftest import init_database, make_env

    env = make_env(tmp_path, sqlite_url)
    init_database(env)
    first = start_daemon(env, tmp_path, "first")
    try:
        time.sleep(2.0)
        assert first.poll() is None
        second = subprocess.run([*tkksd_executable(), "daemon", "--id", "second"], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 9, second.stderr
        line = second.stderr.strip().splitlines()[-1]
        assert "Daemon tkksd lain" in line and f"pid {first.pid}" in line and "PostgreSQL" in line
        once = subprocess.run([*tkksd_executable(), "daemon", "--once"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert once.returncode == 9 and "Daemon tkksd lain" in once.stderr
    finally:
        assert "dimulai" in stop(first)
    # The lock went with the process: a new daemon may start.
    again = subprocess.run([*tkksd_executable(), "daemon", "--once"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr


def _sheet(path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["workflow", "state", "state_since", "title", "partner", "lead_opd", "document_kind",
                    "signed_on", "ends_on"])
        for i in range(n):
            w.writerow(["kerja-sama", "integrated", "2025-06-02", f"Impor {i}", f"Mitra impor {i}", "DISHUB", "PKS",
                        "2025-06-01", "2026-03-01"])


def test_an_import_beside_a_sweeping_daemon_stays_consistent(ctx, env, cli, tmp_path):
    existing, imported = 300, 300
    (tmp_path / "tkksd.toml").write_text("[daemon]\nbatch_size = 10\nsweep_seconds = 1\ndrain_seconds = 3600\n")
    bulk_due(ctx, existing, ends_in_days=100)
    _sheet(tmp_path / "sheet.csv", imported)
    now = day(200)
    daemon = start_daemon(env, tmp_path, "sweeper", now=now, stderr=open(tmp_path / "daemon.log", "w"))
    err = ""
    try:
        wait_until(lambda: scalar(ctx, "SELECT count(*) FROM history WHERE event = 'expire'") >= 20, 120,
                   "the daemon to start expiring")
        result = cli("import", "sheet.csv", now=now, timeout=300)
        assert f"{imported}" in result.stdout
        total = existing + imported
        done = False
        try:
            wait_until(lambda: scalar(ctx, "SELECT count(*) FROM history WHERE event = 'expire'") == total, 240,
                       "every agreement to expire")
            done = True
        finally:
            stop(daemon)
            err = (tmp_path / "daemon.log").read_text()
            assert done, err[-3000:]
    finally:
        if daemon.poll() is None:
            stop(daemon)
    assert daemon.returncode == 0, err
    assert scalar(ctx, "SELECT count(*) FROM agreements") == existing + imported
    assert scalar(ctx, "SELECT count(*) FROM agreements WHERE title LIKE 'Impor %'") == imported
    assert scalar(ctx, "SELECT count(DISTINCT agreement_id) FROM history WHERE event = 'expire'") == existing + imported
    assert scalar(ctx, "SELECT count(*) FROM history WHERE event = 'import'") == existing + imported
    assert scalar(ctx, "SELECT count(*) FROM deadlines WHERE status = 'pending' AND rule = 'expiry'") == 0
    assert cli("doctor", now=now, check=False).returncode == 0
    assert cli("audit", "verify").returncode == 0
