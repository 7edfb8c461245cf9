"""Put rows straight into the outbox (rendered like the engine renders them), for drain tests."""

from __future__ import annotations

import itertools
import uuid

import sqlalchemy as sa

from engine.store import db
from engine.store.tables import outbox

_n = itertools.count(1)


def put(ctx, to, cc=(), *, kind="mail_test", key=None, subject=None, conn=None) -> int:
    from engine.lifecycle.notices import common_context, message_id_for, renderer

    key = key or f"test:{uuid.uuid4().hex}:{next(_n)}"
    rendered = renderer(ctx).render("mail_test", {**common_context(ctx), "recipient": {"name": to[0], "email": to[0], "role": ""}})
    now = ctx.clock.now()
    values = dict(
        dedupe_key=key, kind=kind, agreement_id=None, recipient_opd=None, to_addrs=list(to), cc_addrs=list(cc),
        subject=subject or rendered.subject, text_body=rendered.text, html_body=rendered.html,
        message_id=message_id_for(key, "test.tkksd.example"), status="pending", attempts=0,
        next_attempt_at=now, created_at=now,
    )
    if conn is not None:
        return conn.execute(outbox.insert().values(**values).returning(outbox.c.id)).scalar_one()
    with db.write(ctx.engine) as c:
        return c.execute(outbox.insert().values(**values).returning(outbox.c.id)).scalar_one()


def row(ctx, outbox_id):
    with db.read(ctx.engine) as c:
        return c.execute(sa.select(outbox).where(outbox.c.id == outbox_id)).one()


def rows(ctx, **where):
    q = sa.select(outbox).order_by(outbox.c.id)
    for k, v in where.items():
        q = q.where(outbox.c[k] == v)
    with db.read(ctx.engine) as c:
        return c.execute(q).all()


def incidents_of(ctx):
    from engine.store.tables import incidents

    with db.read(ctx.engine) as c:
        return c.execute(sa.select(incidents).order_by(incidents.c.id)).all()
