"""Hook: the flags an event raises without being stopped (rules with ``warn = true``, e.g. a
field outside the lead OPD's urusan at `identify`) are recorded as incidents of kind ``flag``,
in the transition's transaction: `tkksd doctor` counts them and the chair's monthly digest lists them."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy.engine import Connection

from workflows import guards

from engine.lifecycle.labels import choice_label


class _HookView:
    """What the guards see of the agreement as the transition left it."""

    def __init__(self, conn: Connection, ctx, t):
        self._conn, self._ctx, self._defn = conn, ctx, t.definition
        self.values = t.values
        self.today = ctx.clock.today()
        self.state = t.from_state

    choice_label = staticmethod(choice_label)  # the flag's sentence names choices by their labels

    def count_events(self, event: str) -> int:
        return 0

    def count_events_since_entered(self, event: str) -> int:
        return 0

    def open_overlaps(self, keys: Sequence[str]) -> list[str]:
        return []

    def limit(self, name: str) -> Any:
        configured = self._ctx.settings.section("limits").get(name)
        return configured if configured is not None else self._defn.settings.get(name)

    def opd_urusan(self, code: str) -> list[str]:
        from engine.store.urusan import urusan_of

        return urusan_of(self._conn, code)


def applies_to(defn) -> bool:
    """Whether any event of the workflow has a rule that only flags."""
    return any(r.params.get("warn") for e in defn.events for r in e.rules)


def after_transition(conn: Connection, t, ctx) -> None:
    defn = t.definition
    if t.kind in ("import", "migrate", "create") or not defn.has_event(t.event):
        return
    event = defn.event(t.event)
    if not any(r.params.get("warn") for r in event.rules):
        return
    from engine.lifecycle.notices import record_incident

    for problem in guards.warnings(defn, event, _HookView(conn, ctx, t), {}):
        record_incident(conn, ctx, kind="flag", agreement_id=t.agreement_id, opd_code=t.values.get("lead_opd"),
                        message=f"{t.number} ({t.event}): {problem.message}.")
