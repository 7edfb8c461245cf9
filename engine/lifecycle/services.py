"""The service layer: create, fire, read. The CLI and the daemon are thin callers of it.

A transition is read in one short transaction and written in another whose UPDATE is
conditional on the version that was read: of two coordinators racing, one wins and the other
gets ``Conflict`` with nothing written. The write transaction holds the state, the data,
the history row, a follow-up agreement if the event creates one, and whatever the hooks
add (deadlines, outbox rows): all or nothing.
"""

from __future__ import annotations

import getpass
import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from workflows import guards
from workflows.spec import Event, WorkflowDefinition

from engine.store import db

from engine.store import hot
from engine.bootstrap import Context
from engine.errors import (
    AlreadyDone,
    Conflict,
    EventNotAllowed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RequirementsMissing,
)
from engine.store.history import GENESIS, row_hash
from engine.lifecycle.machine import MachineError, allowed_events, run_event
from engine.store.tables import agreements, history, id_counters, opds, users

log = logging.getLogger("tkksd.engine")

ALL_ROLES = ("opd", "secretariat", "tkksd", "chair", "admin")
SYSTEM = "system"


# ------------------------------------------------------------------------- users


@dataclass(frozen=True)
class Actor:
    login: str
    roles: frozenset[str]
    opd_code: str | None = None

    def holds(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    def may_fire(self, event: Event, lead_opd: str) -> bool:
        for role in event.roles:
            if role == "opd":
                if "admin" in self.roles or ("opd" in self.roles and self.opd_code == lead_opd):
                    return True
            elif self.holds(role):
                return True
        return False


SYSTEM_ACTOR = Actor(SYSTEM, frozenset({SYSTEM}))


def current_login(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    if environ.get("TKKSD_USER"):
        return environ["TKKSD_USER"]
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return str(os.getuid())


def resolve_actor(conn: Connection, login: str) -> Actor:
    if login == SYSTEM:
        return SYSTEM_ACTOR
    row = conn.execute(_statements().user_by_login, {"login": login}).first()
    return _actor(login, row.active if row else None, row.roles if row else None, row.opd_code if row else None)


def _actor(login: str, active: bool | None, roles: str | None, opd_code: str | None) -> Actor:
    """The user ``login`` from its row's columns (all None: no such user)."""
    if login == SYSTEM:
        return SYSTEM_ACTOR
    if roles is None or not active:
        raise PermissionDenied(
            f"User '{login}' is not registered in tkksd; an admin can add them with `tkksd user add {login} --role ...`."
        )
    return Actor(login, frozenset(r for r in roles.split(",") if r), opd_code)


def add_user(ctx: Context, actor_login: str, login: str, name: str, roles: Sequence[str], opd_code: str | None, email: str = "") -> dict:
    roles = tuple(dict.fromkeys(r.strip().lower() for r in roles if r.strip()))
    if not roles:
        raise InvalidInput("A user needs at least one role (opd, secretariat, tkksd, chair, admin).")
    unknown = [r for r in roles if r not in ALL_ROLES]
    if unknown:
        raise InvalidInput(f"Unknown role '{unknown[0]}'; the roles are {', '.join(ALL_ROLES)}.")
    if not login or login == SYSTEM or any(c.isspace() for c in login):
        raise InvalidInput(f"'{login}' cannot be a login name.")
    from engine.access import check_login

    check_login(login)
    if "opd" in roles and not opd_code:
        raise InvalidInput("A user with the role opd must belong to an OPD (--opd CODE).")
    with db.write(ctx.engine) as conn:
        actor = resolve_actor(conn, actor_login)
        if not actor.holds("admin"):
            raise PermissionDenied(f"Only an admin may add users; '{actor_login}' is not one.")
        if opd_code:
            opd_code = opd_code.upper()
            _require_opd(conn, opd_code)
        if conn.execute(sa.select(users.c.id).where(users.c.login == login)).first():
            raise InvalidInput(f"User '{login}' already exists.")
        conn.execute(
            users.insert().values(
                login=login, name=name or login, roles=",".join(roles), opd_code=opd_code, email=email,
                active=True, created_at=ctx.clock.now(),
            )
        )
    return {"login": login, "name": name or login, "roles": list(roles), "opd": opd_code}


def ensure_first_admin(conn: Connection, login: str, now: datetime) -> bool:
    """`tkksd init` makes whoever runs it the first admin, once."""
    if conn.execute(sa.select(users.c.id).limit(1)).first():
        return False
    conn.execute(users.insert().values(login=login, name=login, roles="admin", opd_code=None, email="", active=True, created_at=now))
    return True


def list_users(ctx: Context) -> list[dict]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(users).order_by(users.c.login)).all()
    return [
        {"login": r.login, "name": r.name, "roles": r.roles.split(","), "opd": r.opd_code, "email": r.email, "active": r.active}
        for r in rows
    ]


def list_opds(ctx: Context, kind: str | None = None) -> list[dict]:
    q = sa.select(opds).where(opds.c.active.is_(True)).order_by(opds.c.kind, opds.c.code)
    if kind:
        q = q.where(opds.c.kind == kind)
    with db.read(ctx.engine) as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def _require_opd(conn: Connection, code: str) -> None:
    if not conn.execute(sa.select(opds.c.code).where(opds.c.code == code, opds.c.active.is_(True))).first():
        raise NotFound(f"Unknown OPD code '{code}'; `tkksd opd list` shows the directory.")


# ------------------------------------------------------------------------- values


def parse_values(defn: WorkflowDefinition, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values from user text, by each field's type; unknown keys are refused."""
    out = {}
    for key, value in raw.items():
        if not defn.has_field(key):
            raise InvalidInput(
                f"'{key}' is not a field of workflow {defn.name} v{defn.version}; "
                f"`tkksd workflow show {defn.name}` lists them."
            )
        try:
            out[key] = guards.parse_value(defn.field(key), value)
        except guards.ValueProblem as exc:
            # The sentence starts with the field key as the user types it (no capital: `Signed_on`
            # is not a key anyone can --set).
            raise InvalidInput(f"{exc}.") from None
    return out


def typed_values(defn: WorkflowDefinition, row: Mapping[str, Any]) -> dict[str, Any]:
    """An agreement's core columns and stored data as typed values."""
    if hasattr(row, "lifecycle_state"):  # a row of agreements (rather than a mapping)
        values: dict[str, Any] = {"title": row.title, "partner": row.partner, "lead_opd": row.lead_opd}
        data = row.data
    else:
        values = {"title": row["title"], "partner": row["partner"], "lead_opd": row["lead_opd"]}
        data = row["data"]
    for key, value in (data or {}).items():
        if value is None:
            continue
        if defn.has_field(key) and defn.field(key).type == "date" and isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                pass
        values[key] = value
    return values


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: guards.to_plain(v) for k, v in values.items()}


# ------------------------------------------------------------------------- reading


def find_agreement(conn: Connection, ref: str, *, for_update: bool = False):
    ref = ref.strip()
    if ref.isdigit():
        row = conn.execute(_statements().agreement_by_id, {"id": int(ref)}).first()
    else:
        row = conn.execute(_statements().agreement_by_number, {"number": ref.upper()}).first()
    if row is None:
        raise NotFound(f"No agreement '{ref}'; `tkksd list` shows them.")
    return row


def definition_of(ctx: Context, row) -> WorkflowDefinition:
    return ctx.registry.get(row.workflow, row.workflow_version)


class _View:
    """What the guards see of an agreement (workflows.guards.AgreementView)."""

    def __init__(self, conn: Connection, ctx: Context, row, values: Mapping[str, Any]):
        self._conn, self._ctx, self._row = conn, ctx, row
        self.values = values
        self.today = ctx.clock.today()

    def count_events(self, event: str) -> int:
        return self._conn.execute(
            _statements().count_events, {"agreement_id": self._row.id, "event": event}
        ).scalar_one()

    def open_overlaps(self, keys: Sequence[str]) -> list[str]:
        defn = definition_of(self._ctx, self._row)
        finals = defn.final_states()
        q = sa.select(agreements.c.number, agreements.c.title, agreements.c.partner, agreements.c.lead_opd, agreements.c.data).where(
            agreements.c.id != self._row.id,
            agreements.c.workflow == self._row.workflow,
            agreements.c.lifecycle_state.not_in(finals),
        )
        for k in keys:
            if k in ("title", "partner", "lead_opd"):
                q = q.where(getattr(agreements.c, k) == self.values.get(k))
        found = []
        for other in self._conn.execute(q):
            other_values = {"title": other.title, "partner": other.partner, "lead_opd": other.lead_opd, **(other.data or {})}
            if all(guards.to_plain(self.values.get(k)) == other_values.get(k) for k in keys):
                found.append(other.number)
        return found

    def limit(self, name: str) -> Any:
        defn = definition_of(self._ctx, self._row)
        configured = self._ctx.settings.section("limits").get(name)
        return configured if configured is not None else defn.settings.get(name)


def _summary(defn: WorkflowDefinition | None, row, lang: str) -> dict[str, Any]:
    label = None
    if defn is not None and defn.has_state(row.lifecycle_state):
        label = defn.state(row.lifecycle_state).label.get(lang)
    return {
        "id": row.number,
        "title": row.title,
        "workflow": row.workflow,
        "workflow_version": row.workflow_version,
        "state": row.lifecycle_state,
        "state_label": label,
        "lead_opd": row.lead_opd,
        "partner": row.partner,
        "version": row.version,
    }


def show(ctx: Context, ref: str) -> dict[str, Any]:
    with db.read(ctx.engine) as conn:
        return show_in(conn, ctx, ref)


def show_in(conn: Connection, ctx: Context, ref: str) -> dict[str, Any]:
    """``show`` inside a transaction the caller holds (fire and create answer from their own
    write transaction instead of opening another one)."""
    row = find_agreement(conn, ref)
    return _shown(conn, ctx, definition_of(ctx, row), row)


def _shown(conn: Connection, ctx: Context, defn: WorkflowDefinition, row, *, parent: str | None = None,
           children: Sequence[str] | None = None) -> dict[str, Any]:
    """``show`` of ``row`` (a row of agreements, or what one now holds: ``_as_written``);
    ``parent``/``children`` when the caller already knows them (``fire`` read them)."""
    statements = _statements()
    if parent is None and row.parent_id is not None:
        parent = conn.execute(statements.number_by_id, {"id": row.parent_id}).scalar()
    if children is None:
        children = conn.execute(statements.children_numbers, {"parent_id": row.id}).scalars().all()
    out = _summary(defn, row, ctx.lang)
    out.update(
        {
            "data": dict(row.data or {}),
            "parent": parent,
            "children": list(children),
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
            "state_entered_at": row.state_entered_at.isoformat(),
            "final": defn.state(row.lifecycle_state).final if defn.has_state(row.lifecycle_state) else False,
        }
    )
    return out


def filter_agreements(q, *, state: str | None = None, opd: str | None = None, workflow: str | None = None):
    """The filters of `list` and `export` on a select over agreements."""
    if state:
        q = q.where(agreements.c.lifecycle_state == state)
    if opd:
        q = q.where(agreements.c.lead_opd == opd.upper())
    if workflow:
        q = q.where(agreements.c.workflow == workflow)
    return q


def list_agreements(ctx: Context, *, state: str | None = None, opd: str | None = None, workflow: str | None = None,
                    limit: int | None = None) -> list[dict[str, Any]]:
    q = sa.select(
        agreements.c.number, agreements.c.title, agreements.c.workflow, agreements.c.workflow_version,
        agreements.c.lifecycle_state, agreements.c.lead_opd, agreements.c.partner, agreements.c.version,
    ).order_by(agreements.c.id)
    q = filter_agreements(q, state=state, opd=opd, workflow=workflow)
    if limit:
        q = q.limit(limit)
    with db.read(ctx.engine) as conn:
        rows = conn.execute(q).all()
    out = []
    for r in rows:
        try:
            defn = ctx.registry.get(r.workflow, r.workflow_version)
        except LookupError:
            defn = None
        out.append(_summary(defn, r, ctx.lang))
    return out


def history_of(ctx: Context, ref: str) -> list[dict[str, Any]]:
    with db.read(ctx.engine) as conn:
        row = find_agreement(conn, ref)
        rows = conn.execute(sa.select(history).where(history.c.agreement_id == row.id).order_by(history.c.seq)).all()
    return [
        {
            "seq": r.seq, "event": r.event, "from": r.from_state, "to": r.to_state, "actor": r.actor,
            "at": r.at.isoformat(), "note": r.note, "kind": r.kind, "data": r.data,
        }
        for r in rows
    ]


def events_for(ctx: Context, ref: str, actor_login: str) -> list[dict[str, Any]]:
    """Every event of the agreement's workflow: whether this user may fire it now, and what it still needs."""
    with db.read(ctx.engine) as conn:
        row = find_agreement(conn, ref)
        try:
            actor = resolve_actor(conn, actor_login)
        except PermissionDenied:
            actor = None
        defn = definition_of(ctx, row)
        values = typed_values(defn, row)
        view = _View(conn, ctx, row, values)
        out = []
        for e in defn.events:
            possible = row.lifecycle_state in e.sources
            missing = guards.missing_requirements(defn, e, values)
            problems = [] if (missing or not possible) else [p.message for p in guards.evaluate(defn, e, view)]
            permitted = actor is not None and actor.may_fire(e, row.lead_opd)
            entry = {
                "event": e.name,
                "label": e.label.get(ctx.lang),
                "from": list(e.sources),
                "to": e.dest,
                "roles": list(e.roles),
                "possible_now": possible,
                "allowed": bool(possible and permitted and not missing and not problems),
                "missing": [
                    {"key": f.key, "type": f.type, "label": f.label.get(ctx.lang), **({"choices": list(f.choices)} if f.type == "choice" else {})}
                    for f in missing
                ],
                "problems": problems,
            }
            out.append(entry)
    return out


# ------------------------------------------------------------------------- writing


@dataclass
class Transitioned:
    """What the hooks see of one transition, inside its transaction."""

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
    # notice hook reads it itself otherwise. ``False``: not read; None: not in the directory.
    lead_opd_entry: Any = False


def _next_number(conn: Connection, prefix: str, year: int) -> str:
    scope = f"{prefix}-{year}"
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(id_counters).values(scope=scope, last_value=1)
    stmt = stmt.on_conflict_do_update(index_elements=[id_counters.c.scope], set_={"last_value": id_counters.c.last_value + 1})
    value = conn.execute(stmt.returning(id_counters.c.last_value)).scalar_one()
    return f"{scope}-{value:04d}"


@dataclass(frozen=True)
class _Statements:
    insert_history: Any
    update_agreement: Any
    agreement_by_id: Any
    agreement_by_number: Any
    user_by_login: Any
    number_by_id: Any
    children_numbers: Any
    count_events: Any
    fire_read_by_id: Any
    fire_read_by_number: Any


@lru_cache(maxsize=1)
def _statements() -> _Statements:
    """The statements of every transition, built once: building a Core construct and its
    cache key costs more than SQLite takes to run it (a prebuilt statement keeps its cache key,
    so executing it skips straight to the compiled form). The SET and VALUES clauses of the
    writes come from the parameter keys; the conditional UPDATE matches the version that was read."""
    return _Statements(
        insert_history=history.insert(),
        update_agreement=agreements.update().where(
            agreements.c.id == sa.bindparam("where_id"), agreements.c.version == sa.bindparam("where_version")
        ),
        agreement_by_id=sa.select(agreements).where(agreements.c.id == sa.bindparam("id")),
        agreement_by_number=sa.select(agreements).where(agreements.c.number == sa.bindparam("number")),
        user_by_login=sa.select(users).where(users.c.login == sa.bindparam("login")),
        number_by_id=sa.select(agreements.c.number).where(agreements.c.id == sa.bindparam("id")),
        children_numbers=sa.select(agreements.c.number)
        .where(agreements.c.parent_id == sa.bindparam("parent_id"))
        .order_by(agreements.c.id),
        count_events=sa.select(sa.func.count()).select_from(history).where(
            history.c.agreement_id == sa.bindparam("agreement_id"), history.c.event == sa.bindparam("event")
        ),
        fire_read_by_id=_fire_read().where(agreements.c.id == sa.bindparam("id")),
        fire_read_by_number=_fire_read().where(agreements.c.number == sa.bindparam("number")),
    )


def _fire_read():
    """Everything ``fire`` reads, in one round trip (each statement costs more in Python than
    SQLite takes to run it): the agreement, the acting user, the lead OPD's directory entry
    (the notice's letter and recipient), the parent's number and whether there are children
    (the answer ``show`` gives). A missing user or OPD leaves its columns NULL."""
    parent = agreements.alias("parent")
    child = agreements.alias("child")
    return sa.select(
        agreements,
        users.c.active.label("user_active"), users.c.roles.label("user_roles"), users.c.opd_code.label("user_opd"),
        opds.c.code.label("opd_code"), opds.c.name.label("opd_name"), opds.c.head_title.label("opd_head_title"),
        opds.c.head_name.label("opd_head_name"), opds.c.head_email.label("opd_head_email"),
        parent.c.number.label("parent_number"),
        sa.exists().where(child.c.parent_id == agreements.c.id).label("has_children"),
    ).select_from(
        agreements.outerjoin(users, users.c.login == sa.bindparam("login"))
        .outerjoin(opds, opds.c.code == agreements.c.lead_opd)
        .outerjoin(parent, parent.c.id == agreements.c.parent_id)
    )


def append_history(conn: Connection, *, agreement_id: int, prev_seq: int, prev_hash: str, event: str, from_state: str | None,
                   to_state: str, actor: str, at: datetime, note: str | None, data: Mapping[str, Any], kind: str,
                   digest: str | None = None) -> tuple[int, int, str]:
    """Insert one chained history row; returns (row id, seq, hash). ``digest``: the row's hash
    when the caller already computed it (``row_hash`` of these very values)."""
    seq = prev_seq + 1
    data = dict(data)
    if digest is None:
        digest = row_hash(prev_hash, agreement_id, seq, event, from_state, to_state, actor, at, note, data, kind)
    row_id = hot.execute(
        conn,
        _statements().insert_history,
        {"agreement_id": agreement_id, "seq": seq, "event": event, "from_state": from_state, "to_state": to_state,
         "actor": actor, "at": at, "note": note, "data": data, "kind": kind, "prev_hash": prev_hash, "hash": digest},
    ).lastrowid
    return row_id, seq, digest


def insert_agreement(conn: Connection, ctx: Context, defn: WorkflowDefinition, *, values: Mapping[str, Any], state: str,
                     actor: str, note: str | None, parent_id: int | None = None, number: str | None = None,
                     kind: str = "create", event: str = "create", import_key: str | None = None,
                     at: datetime | None = None, entered_at: datetime | None = None) -> Transitioned:
    """Write a new agreement and its first history row, then run the hooks; inside ``conn``'s transaction.

    ``entered_at`` is when the agreement entered ``state`` if that was before now (an imported
    agreement has been in its state since the date its sheet records); deadlines count from it.
    """
    now = at or ctx.clock.now()
    entered_at = entered_at or now
    data = _plain({k: v for k, v in values.items() if k not in defn.core_fields})
    number = number or _next_number(conn, defn.id_prefix, ctx.clock.today().year)
    agreement_id = conn.execute(
        agreements.insert().values(
            number=number, title=values["title"], partner=values["partner"], lead_opd=values["lead_opd"],
            workflow=defn.name, workflow_version=defn.version, lifecycle_state=state, data=data,
            parent_id=parent_id, state_entered_at=entered_at, created_at=now, updated_at=now,
            version=1, history_seq=0, history_head=GENESIS, import_key=import_key,
        )
    ).inserted_primary_key[0]
    hist_id, seq, digest = append_history(
        conn, agreement_id=agreement_id, prev_seq=0, prev_hash=GENESIS, event=event, from_state=None,
        to_state=state, actor=actor, at=now, note=note, data=_plain(values), kind=kind,
    )
    conn.execute(agreements.update().where(agreements.c.id == agreement_id).values(history_seq=seq, history_head=digest))
    t = Transitioned(
        agreement_id, number, defn, event, None, state, actor, now, note, dict(values), dict(values),
        hist_id, seq, entered_at, parent_id, kind,
    )
    for hook in ctx.hooks:
        hook(conn, t, ctx)
    return t


def create_agreement(ctx: Context, actor_login: str, *, title: str, partner: str, opd: str, workflow: str = "kerja-sama",
                     values: Mapping[str, Any] | None = None, note: str | None = None) -> dict[str, Any]:
    try:
        defn = ctx.registry.latest(workflow)
    except LookupError as exc:
        raise NotFound(str(exc).strip("'\"") + ".") from None
    raw = dict(values or {})
    for key in defn.core_fields:
        raw.pop(key, None)
    typed = parse_values(defn, {"title": title, "partner": partner, "lead_opd": opd, **raw})
    with db.write(ctx.engine) as conn:
        actor = resolve_actor(conn, actor_login)
        _require_opd(conn, typed["lead_opd"])
        may_add = actor.holds("secretariat") or actor.holds("tkksd") or (
            "opd" in actor.roles and actor.opd_code == typed["lead_opd"]
        )
        if not may_add:
            raise PermissionDenied(
                f"User '{actor.login}' may not register agreements for {typed['lead_opd']} "
                "(the secretariat, TKKSD members and the lead OPD's own users may)."
            )
        t = insert_agreement(conn, ctx, defn, values=typed, state=defn.initial, actor=actor.login, note=note)
        return show_in(conn, ctx, t.number)


def _refuse_unknown_event(defn: WorkflowDefinition, number: str, event: str, state: str) -> None:
    if not defn.has_event(event):
        raise EventNotAllowed(agreement=number, event=event, state=state, allowed=allowed_events(defn, state))


def _refuse_not_allowed(conn: Connection, defn: WorkflowDefinition, row, event: str) -> None:
    """Not allowed now. When the newest change is this very event, two people raced for the same
    step and the other one won: say so as a conflict rather than as a puzzling refusal."""
    last = conn.execute(
        sa.select(history.c.event, history.c.actor, history.c.at)
        .where(history.c.agreement_id == row.id, history.c.seq == row.history_seq)
    ).first()
    if last is not None and last.event == event:
        raise AlreadyDone(agreement=row.number, event=event, by=last.actor, at=last.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                          state=row.lifecycle_state)
    raise EventNotAllowed(agreement=row.number, event=event, state=row.lifecycle_state,
                          allowed=allowed_events(defn, row.lifecycle_state))


def fire(ctx: Context, actor_login: str, ref: str, event: str, *, values: Mapping[str, Any] | None = None,
         note: str | None = None, kind: str | None = None) -> dict[str, Any]:
    """Fire ``event`` on agreement ``ref``; returns the agreement as ``show`` does.

    Refusals (unknown event, not allowed now, wrong role, missing requirements, bad values)
    raise before anything is written; a lost race raises ``Conflict``.
    """
    note = note.strip() if note and note.strip() else None
    with ctx.engine.connect() as conn:
        # Read phase: a snapshot, no lock held (SQLite's write lock is taken only by the write
        # phase, so a refusal never waits for another writer). Write phase: a second
        # transaction on the same pooled connection (a checkout costs more than the statements).
        with conn.begin():
            row, actor, defn, e, dest, supplied, stored = _prepare_fire(conn, ctx, actor_login, ref, event, values, note)
        conn.execution_options(**db.WRITE_OPTIONS)  # BEGIN IMMEDIATE on SQLite, as db.write
        with conn.begin():
            return _write_fire(conn, ctx, row, actor, defn, e, dest, supplied, stored, note, kind)


def _read_for_fire(conn: Connection, ref: str, login: str):
    ref = ref.strip()
    statements = _statements()
    if ref.isdigit():
        row = hot.first(conn, statements.fire_read_by_id, {"id": int(ref), "login": login})
    else:
        row = hot.first(conn, statements.fire_read_by_number, {"number": ref.upper(), "login": login})
    if row is None:
        raise NotFound(f"No agreement '{ref}'; `tkksd list` shows them.")
    return row


def _lead_opd_entry(row) -> SimpleNamespace | None:
    """The lead OPD's directory entry as ``fire`` read it (None: not in the directory)."""
    if row.opd_code is None:
        return None
    return SimpleNamespace(code=row.opd_code, name=row.opd_name, head_title=row.opd_head_title,
                           head_name=row.opd_head_name, head_email=row.opd_head_email)


def _prepare_fire(conn: Connection, ctx: Context, actor_login: str, ref: str, event: str,
                  values: Mapping[str, Any] | None, note: str | None):
    """The read phase of ``fire``: every refusal, before anything is written."""
    row = _read_for_fire(conn, ref, actor_login)
    actor = _actor(actor_login, row.user_active, row.user_roles, row.user_opd)
    defn = definition_of(ctx, row)
    state = row.lifecycle_state
    _refuse_unknown_event(defn, row.number, event, state)
    e = defn.event(event)
    if state not in e.sources:
        _refuse_not_allowed(conn, defn, row, event)
    if not actor.may_fire(e, row.lead_opd):
        who = " or ".join("the lead OPD" if r == "opd" else r for r in e.roles)
        raise PermissionDenied(f"User '{actor.login}' may not fire '{event}' on {row.number}; it needs {who}.")
    raw = dict(values or {})
    if note and defn.note_field and defn.note_field not in raw and any(r.key == defn.note_field for r in e.requires):
        raw[defn.note_field] = note
    supplied = parse_values(defn, raw)
    if "lead_opd" in supplied:
        _require_opd(conn, supplied["lead_opd"])
    stored = typed_values(defn, row)
    view = _View(conn, ctx, row, stored)
    problems: list[guards.Problem] = []

    def guard(_event_name: str) -> bool:
        problems.extend(guards.evaluate(defn, e, view, supplied))
        return not problems

    try:
        dest = run_event(defn, state, event, guard)
    except MachineError:  # defensive: the definition check above should have caught it
        raise EventNotAllowed(agreement=row.number, event=event, state=state, allowed=allowed_events(defn, state)) from None
    if dest is None:
        raise RequirementsMissing(
            agreement=row.number, event=event, state=state,
            missing=[p.message for p in problems if p.missing],
            problems=[p.message for p in problems if not p.missing],
        )
    log.debug("read %s version %s for %s", row.number, row.version, event)
    return row, actor, defn, e, dest, supplied, stored


def _write_fire(conn: Connection, ctx: Context, row, actor: Actor, defn: WorkflowDefinition, e: Event, dest: str,
                supplied: Mapping[str, Any], stored: Mapping[str, Any], note: str | None, kind: str | None) -> dict[str, Any]:
    """The write phase of ``fire``: everything here commits together or not at all."""
    kind = kind or ("system" if actor.login == SYSTEM else "human")
    t = apply_transition(
        conn, ctx, row, defn, event=e.name, to_state=dest, actor=actor.login, note=note,
        supplied=supplied, kind=kind, stored=stored,
    )
    if t.values["lead_opd"] == row.lead_opd:
        t.lead_opd_entry = _lead_opd_entry(row)
    if e.creates is not None:
        t.extra["created"] = _create_follow_up(conn, ctx, defn, e, row, t.values, actor.login, t.at)
    for hook in ctx.hooks:
        hook(conn, t, ctx)
    # Answered from this transaction: what was written, without reading the row back. A new
    # child can only come from this very transition (any other change of the agreement
    # would have failed its version check), so the children read before still hold.
    children = [] if not (row.has_children or e.creates is not None) else None
    shown = _shown(conn, ctx, defn, _as_written(row, defn, t), parent=row.parent_number, children=children)
    if "created" in t.extra:
        shown["created"] = t.extra["created"]  # the follow-up this event opened (upgrade: the PKS)
    return shown


def _as_written(row, defn: WorkflowDefinition, t: Transitioned) -> SimpleNamespace:
    """The agreement row as ``apply_transition`` left it, as far as ``show`` reads it (what
    reading the row back in this transaction would give)."""
    fields = row._asdict()
    fields.update(
        {k: t.values[k] for k in defn.core_fields},
        lifecycle_state=t.to_state, data=_as_stored(_stored_data(defn, t.values)), updated_at=t.at,
        state_entered_at=t.state_entered_at, version=row.version + 1, history_seq=t.history_seq,
    )
    return SimpleNamespace(**fields)


def _stored_data(defn: WorkflowDefinition, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` column of an agreement with ``values``: everything but the core columns."""
    return _plain({k: v for k, v in values.items() if k not in defn.core_fields})


_JSON_SCALARS = (str, int, float, bool, type(None))


def _as_stored(data: dict[str, Any]) -> dict[str, Any]:
    # What the JSON column gives back; plain values already are (a list or a nested mapping
    # would come back changed, so those take the round trip).
    if all(type(v) in _JSON_SCALARS for v in data.values()):
        return data
    import json

    return json.loads(json.dumps(data))


def apply_transition(conn: Connection, ctx: Context, row, defn: WorkflowDefinition, *, event: str, to_state: str,
                     actor: str, note: str | None, supplied: Mapping[str, Any], kind: str,
                     stored: Mapping[str, Any] | None = None, version_to: int | None = None,
                     at: datetime | None = None) -> Transitioned:
    """Write one change of an agreement inside ``conn``'s transaction: state, data, history row.

    ``row`` is the agreement as read before; the UPDATE is conditional on its version, so a
    change made in between raises ``Conflict``. The caller runs the hooks (deadlines, outbox)
    on the returned ``Transitioned`` in the same transaction. Used by ``fire``, imports
    (kind ``import``) and workflow migrations (kind ``migrate``, with ``version_to``).
    """
    now = at or ctx.clock.now()
    stored = dict(stored) if stored is not None else typed_values(defn, row)
    new_values = {**stored, **supplied}
    core = {k: new_values[k] for k in defn.core_fields}
    data = _stored_data(defn, new_values)
    state = row.lifecycle_state
    entered_at = now if to_state != state else row.state_entered_at
    # The conditional UPDATE comes first: a loser stops here, before it touches history.
    seq = row.history_seq + 1
    supplied_plain = _plain(supplied)
    digest = row_hash(row.history_head, row.id, seq, event, state, to_state, actor, now, note, supplied_plain, kind)
    extra = {"workflow_version": version_to} if version_to is not None else {}
    result = hot.execute(
        conn,
        _statements().update_agreement,
        {
            "where_id": row.id, "where_version": row.version,
            "lifecycle_state": to_state, "data": data, "updated_at": now, "state_entered_at": entered_at,
            "version": row.version + 1, "history_seq": seq, "history_head": digest, **core, **extra,
        },
    )
    if result.rowcount != 1:
        raise Conflict(agreement=row.number, expected_version=row.version, event=event)
    hist_id, _, _ = append_history(
        conn, agreement_id=row.id, prev_seq=row.history_seq, prev_hash=row.history_head, event=event,
        from_state=state, to_state=to_state, actor=actor, at=now, note=note, data=supplied_plain, kind=kind,
        digest=digest,
    )
    return Transitioned(
        row.id, row.number, defn, event, state, to_state, actor, now, note, dict(supplied), new_values,
        hist_id, seq, entered_at, row.parent_id, kind,
    )


def _create_follow_up(conn: Connection, ctx: Context, defn: WorkflowDefinition, e: Event, row, values: Mapping[str, Any],
                      actor: str, now: datetime) -> str:
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
    t = insert_agreement(
        conn, ctx, target, values=child, state=c.state, actor=actor,
        note=f"follow-up of {row.number} ({e.name})", parent_id=row.id, at=now,
    )
    return t.number


# ------------------------------------------------------------------------- audit


def audit_verify(ctx: Context) -> tuple[int, int, list[str]]:
    """Check every agreement's chain; returns (agreements, rows, problems: first break per agreement)."""
    from engine.store.history import verify_chain

    problems: list[str] = []
    n_agreements = n_rows = 0
    with db.read(ctx.engine) as conn:
        heads = conn.execute(
            sa.select(agreements.c.id, agreements.c.number, agreements.c.lifecycle_state, agreements.c.history_seq, agreements.c.history_head)
            .order_by(agreements.c.id)
        ).all()
        by_id = {h.id: h._mapping for h in heads}
        rows = conn.execution_options(yield_per=5000).execute(
            sa.select(history).order_by(history.c.agreement_id, history.c.seq)
        )
        current: int | None = None
        bucket: list[Mapping[str, Any]] = []

        def flush() -> None:
            nonlocal n_agreements
            if current is None:
                return
            head = by_id.pop(current, None)
            if head is None:
                problems.append(f"history rows for agreement id {current} have no agreement (it was deleted)")
                return
            n_agreements += 1
            brk = verify_chain(head, bucket)
            if brk is not None:
                problems.append(brk.sentence())

        for r in rows:
            n_rows += 1
            if r.agreement_id != current:
                flush()
                current, bucket = r.agreement_id, []
            bucket.append(r._mapping)
        flush()
        for head in by_id.values():
            n_agreements += 1
            problems.append(f"{head['number']}: has no history rows (they were deleted)")
    return n_agreements, n_rows, problems


def iter_refs(refs: Iterable[str]) -> list[str]:
    return [r for r in refs if r]
