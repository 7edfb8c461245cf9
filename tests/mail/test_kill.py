"""A drainer killed with SIGKILL in the middle of 1,000 messages, then started again: every
message arrives at least once, and the only duplicates are messages that were in flight at
the kill (claimed, not yet recorded), recognisable by their Message-ID.

The drainer is a real ``tkksd daemon`` process (its drain job runs every second here).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import sqlalchemy as sa

from engine.store import db
from engine.store.tables import outbox

from tests.conftest import tkksd_executable

from .conftest import smtp_sections
from .outboxrows import put
from .smtpd import Recorder

pytestmark = pytest.mark.slow

N = 1000

def test_sigkill_mid_drain_loses_nothing_and_duplicates_only_what_was_in_flight(mail_ctx, smtpd, env, tmp_path):
    server = smtpd(Recorder(decide=lambda mid, n: ("sleep", 0.004)))
    sections = smtp_sections(server) | {"daemon": {"lease_seconds": 2, "drain_seconds": 1, "sweep_seconds": 3600}}
    ctx = mail_ctx(sections)
    with db.write(ctx.engine) as conn:
        for i in range(N):
            put(ctx, [f"kepala{i % 65}@opd.kukar.example"], key=f"kill-test:{i}", conn=conn)

    daemon = [*tkksd_executable(), "daemon", "--log-level", "warning"]
    first = subprocess.Popen([*daemon, "--id", "first"], env=env, cwd=tmp_path)
    try:
        _wait(lambda: len(server.recorder.accepted()) >= 350 or first.poll() is not None, 60)
        assert first.poll() is None, "the drainer finished before it could be killed"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    arrived_at_kill = len(server.recorder.accepted())
    with db.read(ctx.engine) as conn:
        in_flight = {r.message_id for r in conn.execute(
            sa.select(outbox.c.message_id).where(outbox.c.status == "pending", outbox.c.claimed_until.is_not(None)))}
        sent_before = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "sent")).scalar()
    assert 0 < len(in_flight) <= 100 and sent_before < N and arrived_at_kill < N

    second = subprocess.Popen([*daemon, "--id", "second"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: _pending(ctx) == 0 or second.poll() is not None, 120)
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=60)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, err
    with db.read(ctx.engine) as conn:
        statuses = dict(conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)).all())
        all_ids = {r[0] for r in conn.execute(sa.select(outbox.c.message_id))}
    # Besides the 1,000, the daemon may have sent the chair's monthly digest: all were sent.
    assert set(statuses) == {"sent"} and statuses["sent"] >= N
    counts = server.recorder.ids()
    assert set(counts) == all_ids  # every message arrived at least once
    duplicates = {mid for mid, n in counts.items() if n > 1}
    assert duplicates <= in_flight, "a message that was not in flight at the kill arrived twice"
    assert all(counts[mid] == 2 for mid in duplicates)
    print(f"\nkilled after {arrived_at_kill} arrivals; {len(in_flight)} in flight; {len(duplicates)} duplicates")


def _pending(ctx) -> int:
    with db.read(ctx.engine) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "pending")).scalar()


def _wait(condition, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("timed out waiting")
