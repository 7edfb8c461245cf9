"""A real `tkksd daemon` process: SIGKILL in the middle of a large sweep loses nothing and fires
nothing twice; SIGTERM finishes the item in hand and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import sqlalchemy as sa

from tests.conftest import tkksd_executable

from .conftest import ctx_at, day, signing

N = 400


def _bulk(ctx, n: int) -> list[str]:
    """n integrated agreements written as one import (the hooks plan their deadlines)."""
    from engine.store import db
    from engine.lifecycle.services import insert_agreement, parse_values

    c = ctx_at(ctx, day(0))
    defn = c.registry.latest("kerja-sama")
    ends = signing(200)["sign"]
    numbers = []
    with db.write(c.engine) as conn:
        for i in range(n):
            values = parse_values(defn, {"title": f"PKS {i}", "partner": f"Mitra {i}", "lead_opd": "DKP",
                                         "document_kind": "PKS", **ends})
            numbers.append(insert_agreement(conn, c, defn, values=values, state="integrated", actor="admin",
                                            note="import", kind="import", event="import").number)
    return numbers


def _counts(ctx) -> dict[str, int]:
    from engine.store.tables import deadlines, history, outbox

    with ctx.engine.connect() as conn:
        return {
            "expire_fired": conn.execute(sa.select(sa.func.count()).select_from(deadlines).where(
                deadlines.c.rule == "expiry", deadlines.c.status == "fired")).scalar_one(),
            "expire_history": conn.execute(sa.select(sa.func.count()).select_from(history).where(
                history.c.event == "expire")).scalar_one(),
            "distinct_expired": conn.execute(sa.select(sa.func.count(sa.distinct(history.c.agreement_id))).where(
                history.c.event == "expire")).scalar_one(),
            "warnings": conn.execute(sa.select(sa.func.count()).select_from(outbox).where(
                outbox.c.kind == "expiry_warning")).scalar_one(),
            "expired_notices": conn.execute(sa.select(sa.func.count()).select_from(outbox).where(
                outbox.c.kind == "expired")).scalar_one(),
            "warning_rows": conn.execute(sa.select(sa.func.count()).select_from(deadlines).where(
                deadlines.c.rule == "expiry_warning")).scalar_one(),
            "warnings_folded": conn.execute(sa.select(sa.func.count()).select_from(deadlines).where(
                deadlines.c.rule == "expiry_warning", deadlines.c.status == "fired",
                deadlines.c.result.like("folded%"))).scalar_one(),
            "pending_due": conn.execute(sa.text(
                "SELECT count(*) FROM deadlines WHERE status = 'pending' AND rule IN ('expiry', 'expiry_warning')")).scalar_one(),
        }


def _start(env, tmp_path, now: str) -> subprocess.Popen:
    e = dict(env, TKKSD_NOW=now)
    return subprocess.Popen([*tkksd_executable(), "daemon"], env=e, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _fired(ctx) -> int:
    from engine.store.tables import deadlines

    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(deadlines).where(
            deadlines.c.rule == "expiry", deadlines.c.status == "fired")).scalar_one()


def _wait_for_fired(ctx, at_least: int, timeout: float = 60.0) -> int:
    """The number of expiries fired, once it is ``at_least``. One count per poll, not all of
    ``_counts``: polling every 50 ms must not take the CPU the daemon under test needs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fired = _fired(ctx)
        if fired >= at_least:
            return fired
        time.sleep(0.05)
    raise AssertionError(f"timed out; counts {_counts(ctx)}")


@pytest.mark.slow
def test_sigkill_mid_sweep_loses_nothing_and_fires_nothing_twice(env, ctx, cli, tmp_path):
    (tmp_path / "tkksd.toml").write_text("[daemon]\nbatch_size = 10\ndrain_seconds = 3600\n")
    numbers = _bulk(ctx, N)
    proc = _start(env, tmp_path, day(400))
    try:
        seen = _wait_for_fired(ctx, 20)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    mid = _counts(ctx)
    assert seen <= mid["expire_fired"] < N, "the kill must land in the middle of the sweep"
    # Whatever committed is consistent: a fired row has its history row and its notices.
    assert mid["expire_fired"] == mid["expire_history"] == mid["distinct_expired"] == mid["expired_notices"]

    out = cli("daemon", "--once", now=day(400)).stdout
    assert f"dijalankan {N - mid['expire_fired']}," in out
    end = _counts(ctx)
    assert end["expire_fired"] == end["expire_history"] == end["distinct_expired"] == N
    # Each agreement ended on day 200: at day 400 its warnings speak of a past date, so they
    # are folded (recorded on their rows), not mailed (issue 12.1); its expiry is mailed.
    assert end["warnings"] == 0 and end["expired_notices"] == N and end["pending_due"] == 0
    assert end["warnings_folded"] == end["warning_rows"] > 0
    assert cli("doctor", now=day(400)).returncode == 0
    assert cli("audit", "verify").returncode == 0
    assert len(numbers) == N


@pytest.mark.slow
def test_sigterm_finishes_the_item_in_hand_and_exits_zero(env, ctx, cli, tmp_path):
    (tmp_path / "tkksd.toml").write_text("[daemon]\nbatch_size = 10\ndrain_seconds = 3600\n")
    _bulk(ctx, 200)
    proc = _start(env, tmp_path, day(400))
    try:
        _wait_for_fired(ctx, 10)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "SIGTERM diterima" in stderr and "berhenti" in stderr
    c = _counts(ctx)
    assert c["expire_fired"] == c["expire_history"] == c["expired_notices"]
    status = cli("status", "--json", now=day(400)).json()
    assert status["daemons"] and status["daemons"][0]["stopped_at"] is not None
    assert status["daemons"][0]["counts"].get("fired", 0) == c["expire_fired"]
    cli("daemon", "--once", now=day(400))
    assert _counts(ctx)["expire_history"] == 200


def _stderr_until_started(proc: subprocess.Popen) -> str:
    """The daemon's stderr up to its "dimulai" (started) line, logged once it handles signals. A
    signal sent before it (a fixed sleep on a loaded machine) reaches the daemon while it still
    imports, before it handles signals."""
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "dimulai" in line:
            break
    return "".join(seen)


def test_idle_daemon_stops_on_sigint(env, tmp_path):
    proc = _start(env, tmp_path, day(0))
    try:
        before = _stderr_until_started(proc)
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=30)
        stderr = before + rest
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "Ctrl-C untuk berhenti" in stderr and "dimulai" in stderr and stderr.rstrip().endswith("berhenti")
