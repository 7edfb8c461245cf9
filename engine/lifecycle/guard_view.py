"""What the guards see of an agreement (``workflows.guards.AgreementView``), and the lock that
serializes the guards reading other agreements.

A rule such as ``no_open_overlap`` compares the agreement with the others. Decided on a
snapshot, two overlapping agreements changed at the same moment would both pass; so the kernel
decides such an event again inside its write transaction, after ``serialize_cross_rules``:
SQLite's write lock (BEGIN IMMEDIATE) already orders the writers, and on PostgreSQL a
transaction-scoped advisory lock on the values the rule compares (e.g. the partner, field and
lead OPD) makes the second writer wait for the first to commit and then see it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from workflows import guards
from workflows.spec import Event, WorkflowDefinition

from engine.lifecycle.agreement import Agreement
from engine.lifecycle.labels import choice_label
from engine.store.tables import agreements, history

# Rule kinds whose answer depends on other agreements.
CROSS_AGREEMENT_RULES = frozenset({"no_open_overlap"})


@lru_cache(maxsize=1)
def _count_events():
    return sa.select(sa.func.count()).select_from(history).where(
        history.c.agreement_id == sa.bindparam("agreement_id"), history.c.event == sa.bindparam("event"))


@lru_cache(maxsize=1)
def _count_events_since():
    return _count_events().where(history.c.at >= sa.bindparam("since"))


class GuardView:
    """``values``: the agreement's stored values; ``compared``: what it will hold once the
    event's supplied values are written (what an overlap is judged on)."""

    def __init__(self, conn: Connection, ctx, agreement: Agreement, defn: WorkflowDefinition,
                 values: Mapping[str, Any], supplied: Mapping[str, Any] | None = None):
        self._conn, self._ctx, self._agreement, self._defn = conn, ctx, agreement, defn
        self.values = values
        self.compared = {**values, **(supplied or {})}
        self.today = ctx.clock.today()
        self.state = agreement.lifecycle_state  # rules that apply from some states only (scorecard)

    # How the rules name a choice (an urusan, a partner type, a form) to people: by its label,
    # in the language the rule's sentence is in (``workflows.wording.choice``).
    choice_label = staticmethod(choice_label)

    def opd_urusan(self, code: str) -> list[str]:
        """The urusan the directory lists for OPD ``code`` (the field-within-urusan rule)."""
        from engine.store.urusan import urusan_of

        return urusan_of(self._conn, code)

    def count_events(self, event: str) -> int:
        return self._conn.execute(_count_events(), {"agreement_id": self._agreement.id, "event": event}).scalar_one()

    def count_events_since_entered(self, event: str) -> int:
        """How often ``event`` was fired since the agreement entered its state (a self-loop such as
        a re-assessment during an evaluation keeps that moment)."""
        return self._conn.execute(_count_events_since(), {"agreement_id": self._agreement.id, "event": event,
                                                          "since": self._agreement.state_entered_at}).scalar_one()

    def open_overlaps(self, keys: Sequence[str]) -> list[str]:
        a = self._agreement
        q = sa.select(agreements.c.number, agreements.c.title, agreements.c.partner, agreements.c.lead_opd,
                      agreements.c.data).where(
            agreements.c.id != a.id,
            agreements.c.workflow == a.workflow,
            agreements.c.lifecycle_state.not_in(self._defn.final_states()),
        ).order_by(agreements.c.id)
        for k in keys:
            if k in ("title", "partner", "lead_opd"):
                q = q.where(getattr(agreements.c, k) == self.compared.get(k))
        found = []
        for other in self._conn.execute(q):
            other_values = {"title": other.title, "partner": other.partner, "lead_opd": other.lead_opd, **(other.data or {})}
            if all(guards.to_plain(self.compared.get(k)) == other_values.get(k) for k in keys):
                found.append(other.number)
        return found

    def limit(self, name: str) -> Any:
        configured = self._ctx.settings.section("limits").get(name)
        return configured if configured is not None else self._defn.settings.get(name)


def reads_other_agreements(e: Event) -> bool:
    return any(r.kind in CROSS_AGREEMENT_RULES for r in e.rules)


def serialize_cross_rules(conn: Connection, defn: WorkflowDefinition, e: Event, values: Mapping[str, Any]) -> None:
    """Inside a write transaction: wait for any other writer comparing the same values."""
    if conn.dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE holds the database's one write lock already
    for rule in e.rules:
        if rule.kind not in CROSS_AGREEMENT_RULES:
            continue
        compared = "\x1f".join(f"{k}={guards.to_plain(values.get(k))}" for k in rule.params["keys"])
        digest = hashlib.sha256(f"{defn.name}\x1f{rule.kind}\x1f{compared}".encode("utf-8")).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
