"""The lease of a claimed batch while the drain builds its messages: two drains against one
aiosmtpd, on SQLite and PostgreSQL, with a lease of two seconds.

Building a batch can take longer than the lease: a digest's XLSX list is read from the agenda
of every agreement (the fault test saw a batch built for half a minute under load). Until
this was fixed the lease was kept alive only during delivery, so a slow build let the lease
lapse, another drain claimed the whole batch and sent it, and then the first one sent it too.
Here the first drain's attachments wait until the second drain has tried its claim.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta

from engine.mail.outbox import claim, drain_all, drain_once

from .conftest import smtp_sections
from .outboxrows import put, row, rows

LEASE = 2.0


def slow_attachments(release: threading.Event, started: threading.Event):
    """``ctx.attachments`` that takes until ``release`` (at most a minute) to build."""

    def build(ctx, batch):
        started.set()
        release.wait(60)
        return {}

    return build


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def in_thread(fn) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run():
        try:
            out["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_a_batch_built_longer_than_its_lease_is_not_claimed_by_another_drain(mail_ctx, smtpd):
    server = smtpd()
    ctx = mail_ctx(smtp_sections(server) | {"daemon": {"lease_seconds": LEASE}})
    ids = [put(ctx, [f"kepala{i}@opd.kukar.example"]) for i in range(3)]
    release, started = threading.Event(), threading.Event()
    slow = dataclasses.replace(ctx, attachments=slow_attachments(release, started))

    first, out = in_thread(lambda: drain_all(slow, daemon_id="a", limit=10))
    try:
        wait_for(started.is_set, "the first drain to build its batch")
        time.sleep(LEASE * 1.5)  # the claim's lease would have run out by now
        other = drain_all(ctx, daemon_id="b", limit=10)
    finally:
        release.set()
        first.join(60)
    assert "error" not in out, out.get("error")
    assert other.claimed == 0, "the second drain took a batch the first one was still building"
    assert out["result"].sent == 3
    assert all(row(ctx, i).status == "sent" for i in ids)
    assert sorted(server.recorder.ids().values()) == [1, 1, 1]


def test_a_batch_taken_while_it_was_built_is_not_sent_by_the_first_drain(mail_ctx, smtpd):
    # The lease could not be kept (here: the second drain's clock runs a lease ahead, as if
    # the first had stood still); the first drain learns so before sending, and sends nothing.
    server = smtpd()
    ctx = mail_ctx(smtp_sections(server) | {"daemon": {"lease_seconds": LEASE}})
    oid = put(ctx, ["dkp@opd.kukar.example"])
    release, started = threading.Event(), threading.Event()
    slow = dataclasses.replace(ctx, attachments=slow_attachments(release, started))

    first, out = in_thread(lambda: drain_once(slow, daemon_id="a", limit=10))
    try:
        wait_for(started.is_set, "the first drain to build its batch")
        ahead = dataclasses.replace(ctx, clock=ctx.clock.advanced(timedelta(seconds=LEASE + 1)))
        assert [r.id for r in claim(ahead, daemon_id="b", limit=10)] == [oid]
        time.sleep(LEASE / 2)  # longer than one renewal interval: the build took that long
    finally:
        release.set()
        first.join(60)
    assert "error" not in out, out.get("error")
    assert out["result"].sent == 0
    assert server.recorder.ids() == {}
    r = row(ctx, oid)
    assert (r.status, r.claimed_by, r.attempts) == ("pending", "b", 0)
    assert [x.id for x in rows(ctx, status="pending")] == [oid]
