"""The outbox records what happened; the drain writes the mail (issue 11, point 2)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa

from tests.helpers import add_service


def _rows(ctx):
    from engine.store.tables import outbox

    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(outbox).order_by(outbox.c.id)).all()


def test_snapshot_round_trip_keeps_dates_and_times():
    from engine.lifecycle.snapshot import decode, encode

    value = {"due_at": datetime(2026, 3, 2, 16, 0, tzinfo=timezone.utc), "ends_on": date(2031, 1, 15),
             "items": [{"at": date(2024, 5, 1), "n": 3, "ok": True, "none": None}], "pair": ("a", 1)}
    assert decode(encode(value)) == {**value, "pair": ["a", 1]}


def test_a_transition_records_a_snapshot_and_the_drain_renders_it(ctx, cli):
    from engine.lifecycle.notices import message_id_for
    from engine.mail.outbox import drain_all
    from engine.mail.rendering import text_of
    from notifiers.memory import RecordingTransport

    ref = add_service(ctx, title="KB Snapshot", document_kind="KB")
    (row,) = _rows(ctx)
    # Recorded in the transaction: kind, recipients, snapshot; no text yet.
    assert row.kind == "transition" and row.to_addrs and row.subject == "" and row.text_body == ""
    assert row.snapshot["agreement"]["id"] == ref and row.snapshot["lang"] == "id"
    assert row.message_id == message_id_for(row.dedupe_key, ctx.settings.get("mail", "domain", "tkksd.localdomain"))
    expected = text_of(ctx, row)
    assert ref in expected.subject and "KB Snapshot" in expected.text

    # `outbox show` renders a row not drained yet.
    shown = cli("outbox", "show", str(row.id), "--json").json()
    assert shown["subject"] == expected.subject and shown["text_body"] == expected.text

    transport = RecordingTransport()
    assert drain_all(ctx, daemon_id="t", transport=transport).sent == 1
    (sent,) = transport.sent
    assert (sent.subject, sent.text, sent.html) == (expected.subject, expected.text, expected.html)
    assert sent.message_id == row.message_id
    (after,) = _rows(ctx)
    # What was sent stays readable on the row.
    assert (after.status, after.subject, after.text_body, after.html_body) == (
        "sent", expected.subject, expected.text, expected.html)


def test_a_notice_that_cannot_be_rendered_fails_with_an_incident_and_the_drain_goes_on(ctx):
    from engine.lifecycle.notices import enqueue
    from engine.mail.outbox import drain_all
    from engine.store import db
    from engine.store.tables import incidents
    from notifiers.memory import RecordingTransport

    add_service(ctx, title="Baik", document_kind="PKS")
    with db.write(ctx.engine) as conn:
        enqueue(conn, ctx, kind="no_such_notice", agreement_id=None, to=["secretariat"], dedupe_key="test:broken")
    transport = RecordingTransport()
    result = drain_all(ctx, daemon_id="t", transport=transport)
    by_kind = {r.kind: r for r in _rows(ctx)}
    assert by_kind["no_such_notice"].status == "failed"
    assert "cannot be built" in by_kind["no_such_notice"].last_error
    assert by_kind["transition"].status == "sent" and result.sent >= 1
    with ctx.engine.connect() as conn:
        kinds = [r.kind for r in conn.execute(sa.select(incidents))]
    assert "delivery_failed" in kinds
