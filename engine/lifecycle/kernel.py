"""The transition kernel: the one module that writes the ``agreements`` and ``history`` tables.

Every change of an agreement comes here: a coordinator's ``fire``, the daemon's timed events,
creation (and the follow-up an upgrade opens), imports, the demo inventory and workflow
migrations. The steps are always the same:

1. the agreement is read once into an ``Agreement`` (a frozen value);
2. the workflow's transitions machine decides (``decide``): the guards are its conditions, an
   event that does not leave the state is its ``MachineError``;
3. the state, data and hash-chained history row are written in the caller's transaction,
   the UPDATE conditional on the version that was read (a lost race is ``Conflict``);
4. the handlers wired at start-up (``engine.bootstrap``: deadlines, then outbox notices) run
   on the ``Transitioned`` in that same transaction, in order.

Bulk work (imports, the demo, migrations) goes through ``create_many`` and ``change_many``,
which write the same rows with one executemany per statement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from workflows import guards
from workflows.spec import Event, WorkflowDefinition

from engine import i18n
from engine.errors import AlreadyDone, Conflict, EventNotAllowed, InvalidInput, NotFound, RequirementsMissing, did_you_mean
from engine.lifecycle.agreement import SYSTEM, Agreement
from engine.lifecycle.guard_view import GuardView, reads_other_agreements, serialize_cross_rules
from engine.lifecycle.machine import MachineError, allowed_events, run_event
from engine.store.history import GENESIS, row_hash
from engine.store.tables import agreements, history, id_counters

log = logging.getLogger("tkksd.engine")

__all__ = ["SYSTEM", "Agreement", "Change", "New", "Transitioned", "change", "change_many", "create", "create_many",
           "decide", "decide_in_write", "fire_in", "handle", "hooks_for", "link_parents", "next_number", "read", "read_by_id",
           "stored_data"]


@dataclass
class Transitioned:
    """What the handlers see of one transition, inside its transaction."""

    agreement_id: int
    number: str
    definition: WorkflowDefinition
    event: str
    from_state: str | None
    to_state: str
    actor: str
    at: datetime
    note: str | None
    supplied: dict[str, Any]
    values: dict[str, Any]  # typed values after the transition
    history_id: int
    history_seq: int
    state_entered_at: datetime
    parent_id: int | None = None
    kind: str = "human"
    extra: dict[str, Any] = field(default_factory=dict)
    # The lead OPD's directory entry when the writer already read it (fire does); the
    # notice handler reads it itself otherwise. ``False``: not read; None: not in the directory.
    lead_opd_entry: Any = False
    # The acting user's name as the users table holds it, when the writer already read it
    # (fire does); ``False``: not read, the notice handler reads it itself.
    actor_user_name: Any = False


@dataclass(frozen=True)
class Change:
    """One decided change of a stored agreement."""

    agreement: Agreement
    definition: WorkflowDefinition
    event: str
    to_state: str
    actor: str
    kind: str
    note: str | None = None
    supplied: Mapping[str, Any] = field(default_factory=dict)
    stored: Mapping[str, Any] | None = None  # typed stored values when the caller has them
    version_to: int | None = None  # a workflow migration: the version the agreement moves to
    entered_at: datetime | None = None  # when it entered to_state, if not now (imports, migrations)


@dataclass(frozen=True)
class New:
    """One agreement to create."""

    definition: WorkflowDefinition
    values: Mapping[str, Any]
    state: str
    note: str | None = None
    number: str | None = None
    import_key: str | None = None
    parent_id: int | None = None
    entered_at: datetime | None = None
    year: int | None = None  # the year its number is counted in (an import: the year it was signed); default now


# ------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class _Statements:
    by_id: Any
    by_number: Any
    update: Any
    head: Any
    insert: Any
    insert_history: Any
    insert_one_history: Any
    last_history: Any
    parent: Any


@lru_cache(maxsize=1)
def _statements() -> _Statements:
    """Built once: a prebuilt statement keeps its cache key, so SQLAlchemy's compiled cache
    answers every later execution. The SET and VALUES clauses come from the parameter keys."""
    return _Statements(
        by_id=sa.select(agreements).where(agreements.c.id == sa.bindparam("id")),
        by_number=sa.select(agreements).where(agreements.c.number == sa.bindparam("number")),
        update=agreements.update().where(agreements.c.id == sa.bindparam("where_id"),
                                         agreements.c.version == sa.bindparam("where_version")),
        head=agreements.update().where(agreements.c.id == sa.bindparam("where_id"))
        .values(history_head=sa.bindparam("head")),
        insert=agreements.insert().returning(agreements.c.id, sort_by_parameter_order=True),
        insert_history=history.insert().returning(history.c.id, sort_by_parameter_order=True),
        insert_one_history=history.insert(),
        last_history=sa.select(history.c.event, history.c.actor, history.c.at)
        .where(history.c.agreement_id == sa.bindparam("id"), history.c.seq == sa.bindparam("seq")),
        parent=agreements.update().where(agreements.c.number == sa.bindparam("where_number"))
        .values(parent_id=sa.bindparam("new_parent")),
    )


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: guards.to_plain(v) for k, v in values.items()}


def rewrite_data(conn: Connection, t: "Transitioned") -> None:
    """Store ``t.values`` again as the data of the agreement ``t`` just changed, inside the same
    transaction: for a handler that normalises what was supplied (a location written as a name
    becomes its code, the IKN status it implies is derived). The change's own version bump and
    history row already cover it, so no second version is taken."""
    conn.execute(agreements.update().where(agreements.c.id == t.agreement_id)
                 .values(data=stored_data(t.definition, t.values)))


def stored_data(defn: WorkflowDefinition, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` column of an agreement with ``values``: everything but the core columns."""
    return _plain({k: v for k, v in values.items() if k not in defn.core_fields})


# ------------------------------------------------------------------------- reading


def read(conn: Connection, ref: str) -> Agreement:
    """The agreement named by its number (or its database id); ``NotFound`` otherwise."""
    ref = ref.strip()
    if ref.isdigit():
        row = conn.execute(_statements().by_id, {"id": int(ref)}).first()
    else:
        row = conn.execute(_statements().by_number, {"number": ref.upper()}).first()
    if row is None:
        raise NotFound(i18n._("No agreement '{ref}'; `tkksd list` shows them.").format(ref=ref))
    return Agreement.from_row(row)


def read_by_id(conn: Connection, agreement_id: int) -> Agreement:
    row = conn.execute(_statements().by_id, {"id": agreement_id}).first()
    if row is None:
        raise NotFound(i18n._("No agreement with id {id}.").format(id=agreement_id))
    return Agreement.from_row(row)


# ------------------------------------------------------------------------- deciding


def decide(conn: Connection, ctx, agreement: Agreement, defn: WorkflowDefinition, event: str,
           supplied: Mapping[str, Any], stored: Mapping[str, Any],
           admit: Callable[[Event], Mapping[str, Any]] | None = None) -> tuple[str, dict[str, Any]]:
    """Where ``event`` takes the agreement, as the workflow's machine decides, and the values
    it supplies; refusals raise.

    An event the machine refuses from this state is ``EventNotAllowed`` (``AlreadyDone`` when
    the newest change was this very event: someone else fired it first). Once the machine
    accepts the source state, its condition runs ``admit`` (the caller's permission check and
    value parsing, which returns the supplied values) and then the guards; a guard that says
    no is ``RequirementsMissing`` with what is missing and which rules fail.
    """
    state = agreement.lifecycle_state
    if not defn.has_event(event):
        _refuse_unknown_event(defn, agreement, event)
    problems: list[guards.Problem] = []
    admitted = dict(supplied)

    def condition(_event_name: str) -> bool:
        e = defn.event(event)
        if admit is not None:
            admitted.update(admit(e))
        view = GuardView(conn, ctx, agreement, defn, stored, admitted)
        problems.extend(guards.evaluate(defn, e, view, admitted))
        return not problems

    try:
        dest = run_event(defn, state, event, condition)
    except MachineError:
        _refuse_not_allowed(conn, ctx, defn, agreement, event)
    if dest is None:
        raise RequirementsMissing(
            agreement=agreement.number, event=event, state=state,
            missing=[_field_named(defn, p) for p in problems if p.missing],
            problems=[p.message for p in problems if not p.missing],
        )
    return dest, admitted


def _field_named(defn: WorkflowDefinition, problem: guards.Problem) -> str:
    """A missing field as the reader knows it: its key (what ``--set`` takes) and its label in
    the reader's language. The guards name a missing requirement ``key (label)`` in the language
    gettext speaks (workflows/wording.py), English until the CLI binds the catalog: that one is
    relabelled here; a rule's own sentence about what is missing (an incomplete scorecard) is
    kept as it is."""
    if problem.key and defn.has_field(problem.key):
        f = defn.field(problem.key)
        if problem.message == f"{f.key} ({f.label.en})":
            return f"{f.key} ({f.label.get(i18n.language())})"
    return problem.message


def _refuse_unknown_event(defn: WorkflowDefinition, agreement: Agreement, event: str):
    """A name that is no event of the workflow is a typo (``identfy``, ``Identify``): bad input
    with the closest names, not a refusal of the step."""
    names = [e.name for e in defn.events]
    raise InvalidInput(
        i18n._("'{event}' is not an event of workflow {workflow}{hint}; `tkksd events {agreement}` lists what may happen "
               "next.").format(event=event, workflow=defn.name, hint=did_you_mean(event, names), agreement=agreement.number))


def _refuse_not_allowed(conn: Connection, ctx, defn: WorkflowDefinition, agreement: Agreement, event: str):
    """Not allowed now. When the newest change is this very event, two people raced for the
    same step and the other one won: say so as a conflict rather than as a puzzling refusal."""
    state = agreement.lifecycle_state
    lang = i18n.language()
    state_label = defn.state(state).label.get(lang) if defn.has_state(state) else state
    if defn.has_event(event):
        last = conn.execute(_statements().last_history, {"id": agreement.id, "seq": agreement.history_seq}).first()
        if last is not None and last.event == event:
            raise AlreadyDone(agreement=agreement.number, event=event, by=last.actor,
                              at=i18n.moment(last.at, ctx.clock.zone), state=state_label)
    allowed = allowed_events(defn, state)
    labels = {e: defn.event(e).label.get(lang) for e in allowed}
    labels[state] = state_label
    raise EventNotAllowed(agreement=agreement.number, event=event, state=state, allowed=allowed, labels=labels)


def decide_in_write(conn: Connection, ctx, agreement: Agreement, defn: WorkflowDefinition, event: str,
                    supplied: Mapping[str, Any], stored: Mapping[str, Any]) -> str:
    """``decide`` inside a write transaction, serialized first against every writer comparing
    the same values when the event's guards read other agreements: of two overlapping changes
    the second sees the first."""
    if defn.has_event(event) and reads_other_agreements(defn.event(event)):
        serialize_cross_rules(conn, defn, defn.event(event), {**stored, **supplied})
    return decide(conn, ctx, agreement, defn, event, supplied, stored)[0]


# ------------------------------------------------------------------------- writing one change


def change(conn: Connection, ctx, c: Change, *, at: datetime | None = None, run_handlers: bool = True) -> Transitioned:
    """Write one decided change inside ``conn``'s transaction, then run the handlers."""
    return change_many(conn, ctx, [c], at=at, run_handlers=run_handlers)[0]


def change_many(conn: Connection, ctx, changes: Sequence[Change], *, at: datetime | None = None,
                run_handlers: bool = True) -> list[Transitioned]:
    """Write decided changes (one executemany per statement), then the handlers of each.

    Each UPDATE is conditional on the version its ``Agreement`` carries: if any agreement was
    changed in between, ``Conflict`` names it and the caller's transaction rolls back.
    """
    if not changes:
        return []
    now = at or ctx.clock.now()
    updates, rows, ts = [], [], []
    for c in changes:
        update, hist, t = _prepare_change(c, now)
        updates.append(update)
        rows.append(hist)
        ts.append(t)
    _update_checked(conn, changes, updates)
    for t, hist_id in zip(ts, _insert_history(conn, rows)):
        t.history_id = hist_id
    if run_handlers:
        handle(conn, ctx, ts)
    return ts


def _prepare_change(c: Change, now: datetime) -> tuple[dict, dict, Transitioned]:
    a, defn = c.agreement, c.definition
    stored = dict(c.stored) if c.stored is not None else a.typed_values(defn)
    new_values = {**stored, **c.supplied}
    state = a.lifecycle_state
    entered_at = c.entered_at or (now if c.to_state != state else a.state_entered_at)
    seq = a.history_seq + 1
    supplied = _plain(c.supplied)
    digest = row_hash(a.history_head, a.id, seq, c.event, state, c.to_state, c.actor, now, c.note, supplied, c.kind)
    update = {
        "where_id": a.id, "where_version": a.version, "lifecycle_state": c.to_state,
        "data": stored_data(defn, new_values), "updated_at": now, "state_entered_at": entered_at,
        "version": a.version + 1, "history_seq": seq, "history_head": digest,
        "workflow_version": c.version_to if c.version_to is not None else a.workflow_version,
        **{k: new_values[k] for k in defn.core_fields},
    }
    hist = {"agreement_id": a.id, "seq": seq, "event": c.event, "from_state": state, "to_state": c.to_state,
            "actor": c.actor, "at": now, "note": c.note, "data": supplied, "kind": c.kind,
            "prev_hash": a.history_head, "hash": digest}
    t = Transitioned(a.id, a.number, defn, c.event, state, c.to_state, c.actor, now, c.note, dict(c.supplied),
                     new_values, 0, seq, entered_at, a.parent_id, c.kind)
    return update, hist, t


def _update_checked(conn: Connection, changes: Sequence[Change], updates: list[dict]) -> None:
    """The conditional UPDATEs; a loser stops here, before anything touches history."""
    stmt = _statements().update
    if len(updates) == 1 or not conn.dialect.supports_sane_multi_rowcount:
        for c, params in zip(changes, updates):
            if conn.execute(stmt, params).rowcount != 1:
                raise Conflict(agreement=c.agreement.number, expected_version=c.agreement.version, event=c.event)
        return
    if conn.execute(stmt, updates).rowcount == len(updates):
        return
    for c, params in zip(changes, updates):  # which one moved on: the one not holding our new head
        if read_by_id(conn, c.agreement.id).history_head != params["history_head"]:
            raise Conflict(agreement=c.agreement.number, expected_version=c.agreement.version, event=c.event)


def _insert_history(conn: Connection, rows: list[dict]) -> list[int]:
    if len(rows) == 1:
        return [conn.execute(_statements().insert_one_history, rows[0]).inserted_primary_key[0]]
    return list(conn.execute(_statements().insert_history, rows).scalars())


def handle(conn: Connection, ctx, ts: Sequence[Transitioned], *, created: bool = False) -> None:
    """Run the handlers wired at start-up on ``ts``, in their order, in this transaction.

    A handler runs only on the transitions of definitions it applies to (``hooks_for``).
    For agreements created just now a handler may have a batched form
    (``ctx.batch_hooks``, wired beside it): it takes them all at once.
    """
    for hook in ctx.hooks:
        mine = [t for t in ts if hook in hooks_for(ctx, t.definition)]
        if not mine:
            continue
        batch = ctx.batch_hooks.get(hook) if created else None
        if batch is not None:
            batch(conn, mine, ctx)
            continue
        for t in mine:
            hook(conn, t, ctx)


def hooks_for(ctx, defn: WorkflowDefinition) -> tuple:
    """The hooks that have anything to do for agreements of ``defn``, decided once per
    definition (by its identity and version; again when ``ctx.hooks`` was replaced)."""
    hooks = tuple(ctx.hooks)
    key = (id(defn), defn.version)
    cached = ctx.hooks_by_definition.get(key)
    if cached is not None and cached[0] is defn and cached[1] == hooks:
        return cached[2]
    chosen = tuple(h for h in hooks if h not in ctx.hook_applies or ctx.hook_applies[h](defn))
    # The definition itself is kept with the decision, so its id cannot be reused by another.
    ctx.hooks_by_definition[key] = (defn, hooks, chosen)
    return chosen


# ------------------------------------------------------------------------- firing an event


def fire_in(conn: Connection, ctx, agreement: Agreement, defn: WorkflowDefinition, *, event: str, actor: str,
            note: str | None = None, supplied: Mapping[str, Any] | None = None, kind: str | None = None,
            stored: Mapping[str, Any] | None = None, to_state: str | None = None, decided_in_write: bool = False,
            lead_opd_entry: Any = False, actor_user_name: Any = False, at: datetime | None = None) -> Transitioned:
    """Fire ``event`` inside ``conn``'s write transaction: decide, write, open the follow-up the
    event creates, run the handlers.

    ``to_state``: the machine's decision on a snapshot (``fire``'s read phase); what depends on
    other agreements is decided again here unless ``decided_in_write`` says that it was.
    """
    supplied = dict(supplied or {})
    stored = dict(stored) if stored is not None else agreement.typed_values(defn)
    if to_state is None or not decided_in_write and reads_other_agreements(defn.event(event)):
        to_state = decide_in_write(conn, ctx, agreement, defn, event, supplied, stored)
    kind = kind or (SYSTEM if actor == SYSTEM else "human")
    c = Change(agreement, defn, event, to_state, actor, kind, note, supplied, stored)
    t = change(conn, ctx, c, at=at, run_handlers=False)
    if t.values["lead_opd"] == agreement.lead_opd:
        t.lead_opd_entry = lead_opd_entry
    t.actor_user_name = actor_user_name
    e = defn.event(event)
    if e.creates is not None:
        t.extra["created"] = _create_follow_up(conn, ctx, defn, e, agreement, t.values, actor, t.at)
    handle(conn, ctx, [t])
    return t


def _create_follow_up(conn: Connection, ctx, defn: WorkflowDefinition, e: Event, parent: Agreement,
                      values: Mapping[str, Any], actor: str, now: datetime) -> str:
    c = e.creates
    target = defn if c.workflow == defn.name else ctx.registry.latest(c.workflow)
    child = {k: values[k] for k in c.copy if values.get(k) not in (None, "")}
    child.update(c.set)
    try:
        child["title"] = c.title.format_map({k: guards.to_plain(v) for k, v in values.items()})
    except (KeyError, ValueError):
        child["title"] = values["title"]
    child.setdefault("partner", values["partner"])
    child.setdefault("lead_opd", values["lead_opd"])
    # The note is stored in the hash-chained history, so it stays one text whatever the reader's language.
    new = New(target, child, c.state, note=f"follow-up of {parent.number} ({e.name})", parent_id=parent.id)
    return create(conn, ctx, new, actor=actor, at=now).number


# ------------------------------------------------------------------------- creating


def next_number(conn: Connection, prefix: str, year: int) -> str:
    scope = f"{prefix}-{year}"
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(id_counters).values(scope=scope, last_value=1)
    stmt = stmt.on_conflict_do_update(index_elements=[id_counters.c.scope], set_={"last_value": id_counters.c.last_value + 1})
    value = conn.execute(stmt.returning(id_counters.c.last_value)).scalar_one()
    return f"{scope}-{value:04d}"


def create(conn: Connection, ctx, new: New, *, actor: str, kind: str = "create", event: str = "create",
           at: datetime | None = None) -> Transitioned:
    """Write one new agreement and its first history row, then run the handlers."""
    return create_many(conn, ctx, [new], actor=actor, kind=kind, event=event, at=at)[0]


def create_many(conn: Connection, ctx, items: Sequence[New], *, actor: str, kind: str = "create",
                event: str = "create", at: datetime | None = None, chunk: int = 2000) -> list[Transitioned]:
    """Write new agreements, each with its first history row chained from GENESIS, with one
    executemany per statement and chunk; then the handlers (batched where wired so)."""
    now = at or ctx.clock.now()
    out: list[Transitioned] = []
    for start in range(0, len(items), chunk):
        part = items[start:start + chunk]
        ts = _create_chunk(conn, ctx, part, actor=actor, kind=kind, event=event, now=now)
        handle(conn, ctx, ts, created=True)
        out.extend(ts)
    return out


def _create_chunk(conn: Connection, ctx, part: Sequence[New], *, actor: str, kind: str, event: str,
                  now: datetime) -> list[Transitioned]:
    year = ctx.clock.today().year
    rows = []
    for n in part:
        v, defn = n.values, n.definition
        rows.append({
            "number": n.number or next_number(conn, defn.id_prefix, n.year or year), "title": v["title"], "partner": v["partner"],
            "lead_opd": v["lead_opd"], "workflow": defn.name, "workflow_version": defn.version,
            "lifecycle_state": n.state, "data": stored_data(defn, v), "parent_id": n.parent_id,
            "state_entered_at": n.entered_at or now, "created_at": now, "updated_at": now, "version": 1,
            "history_seq": 1, "history_head": GENESIS, "import_key": n.import_key,
        })
    ids = list(conn.execute(_statements().insert, rows).scalars())
    hist = []
    for n, agreement_id in zip(part, ids):
        data = _plain(n.values)
        digest = row_hash(GENESIS, agreement_id, 1, event, None, n.state, actor, now, n.note, data, kind)
        hist.append({"agreement_id": agreement_id, "seq": 1, "event": event, "from_state": None, "to_state": n.state,
                     "actor": actor, "at": now, "note": n.note, "data": data, "kind": kind,
                     "prev_hash": GENESIS, "hash": digest})
    hist_ids = _insert_history(conn, hist)
    heads = [{"where_id": i, "head": h["hash"]} for i, h in zip(ids, hist)]
    conn.execute(_statements().head, heads[0] if len(heads) == 1 else heads)
    return [
        Transitioned(agreement_id, row["number"], n.definition, event, None, n.state, actor, now, n.note,
                     dict(n.values), dict(n.values), hist_id, 1, row["state_entered_at"], n.parent_id, kind)
        for n, row, agreement_id, hist_id in zip(part, rows, ids, hist_ids)
    ]


def link_parents(conn: Connection, links: Mapping[str, int | None]) -> None:
    """Set (or clear, with None) the parent of agreements by number: an imported sheet's links,
    written once every row of the sheet exists."""
    if links:
        conn.execute(_statements().parent, [{"where_number": n, "new_parent": p} for n, p in links.items()])
