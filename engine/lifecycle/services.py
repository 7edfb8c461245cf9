"""The service layer: users, values, reads, and the two public writes (``create_agreement``,
``fire``), which the CLI calls and which hand every change to the kernel
(``engine.lifecycle.kernel``, docs/architecture.md).

``fire`` reads and decides in one short transaction (a refusal never waits for a writer) and
writes in another whose UPDATE is conditional on the version that was read: of two
coordinators racing, one wins and the other gets ``Conflict`` with nothing written. The write
transaction holds the state, the data, the history row, a follow-up agreement if the event
creates one, and what the handlers add (deadlines, outbox rows): all or nothing.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from workflows import guards
from workflows.spec import Event, WorkflowDefinition

from engine import i18n
from engine.context import Context
from engine.errors import InvalidInput, NotFound, PermissionDenied, did_you_mean
from engine.lifecycle import kernel
from engine.lifecycle.agreement import SYSTEM, Agreement, OpdEntry
from engine.lifecycle.agreement import typed_values as _typed_values
from engine.lifecycle.guard_view import GuardView
from engine.lifecycle.kernel import Transitioned
from engine.lifecycle.machine import allowed_events
from engine.store import db
from engine.store.tables import agreements, history, opds, users
from engine.lifecycle import territory

log = logging.getLogger("tkksd.engine")

ALL_ROLES = ("opd", "secretariat", "tkksd", "chair", "admin")


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
            i18n._("User '{login}' is not registered in tkksd; an admin can add them with `tkksd user add {login} --role ...`.")
            .format(login=login)
        )
    return Actor(login, frozenset(r for r in roles.split(",") if r), opd_code)


def add_user(ctx: Context, actor_login: str, login: str, name: str, roles: Sequence[str], opd_code: str | None, email: str = "") -> dict:
    roles = tuple(dict.fromkeys(r.strip().lower() for r in roles if r.strip()))
    if not roles:
        raise InvalidInput(i18n._("A user needs at least one role ({roles}).").format(roles=", ".join(ALL_ROLES)))
    unknown = [r for r in roles if r not in ALL_ROLES]
    if unknown:
        raise InvalidInput(i18n._("Unknown role '{role}'{hint}; the roles are {roles}.").format(
            role=unknown[0], hint=did_you_mean(unknown[0], ALL_ROLES), roles=", ".join(ALL_ROLES)))
    if not login or login == SYSTEM or any(c.isspace() for c in login):
        raise InvalidInput(i18n._("'{login}' cannot be a login name.").format(login=login))
    from engine.lifecycle.access import check_login

    check_login(login)
    if "opd" in roles and not opd_code:
        raise InvalidInput(i18n._("A user with the role opd must belong to an OPD (--opd CODE)."))
    with db.write(ctx.engine) as conn:
        actor = resolve_actor(conn, actor_login)
        if not actor.holds("admin"):
            raise PermissionDenied(i18n._("Only an admin may add users; '{login}' is not one.").format(login=actor_login))
        if opd_code:
            opd_code = opd_code.upper()
            _require_opd(conn, opd_code)
        if conn.execute(sa.select(users.c.id).where(users.c.login == login)).first():
            raise InvalidInput(i18n._("User '{login}' already exists.").format(login=login))
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
        codes = conn.execute(sa.select(opds.c.code).where(opds.c.active.is_(True))).scalars().all()
        raise NotFound(i18n._("Unknown OPD code '{code}'{hint}; `tkksd opd list` shows the directory.").format(
            code=code, hint=did_you_mean(code, codes)))


# ------------------------------------------------------------------------- values


def parse_values(defn: WorkflowDefinition, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values from user text, by each field's type; unknown keys are refused."""
    out = {}
    for key, value in raw.items():
        if not defn.has_field(key):
            raise InvalidInput(
                i18n._("'{key}' is not a field of workflow {workflow} v{version}{hint}; `tkksd workflow show {workflow}` lists "
                       "them.").format(key=key, workflow=defn.name, version=defn.version,
                                       hint=did_you_mean(key, [f.key for f in defn.fields]))
            )
        try:
            out[key] = guards.parse_value(defn.field(key), value)
        except guards.ValueProblem:
            raise InvalidInput(value_refusal(defn.field(key), value)) from None
    return out


def value_refusal(f, raw: Any) -> str:
    """Why ``raw`` is no value of the field ``f``, in the reader's language and naming the field
    by its key (what ``--set`` takes) and its label. The guards decide whether a value parses;
    the sentence is said here, where the language is known. It starts with the key as the user
    types it (no capital: `Signed_on` is not a key anyone can --set)."""
    name = f"{f.key} ({f.label.get(i18n.language())})"
    text = "" if raw is None else str(raw).strip()
    if raw is None:
        return i18n._("{field} needs a value.").format(field=name)
    if f.type == "date":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return i18n._("{field} must be a date as YYYY-MM-DD, not '{value}'.").format(field=name, value=text)
        return i18n._("{field} is not a real date: '{value}'.").format(field=name, value=text)
    if f.type == "bool":
        return i18n._("{field} must be yes or no (true/false), not '{value}'.").format(field=name, value=raw)
    if f.type == "number":
        return i18n._("{field} must be a number, not '{value}'.").format(field=name, value=raw)
    if not text:
        return i18n._("{field} cannot be empty.").format(field=name)
    if f.type == "choice" and text.isprintable():
        return i18n._("{field} must be one of {choices}, not '{value}'{hint}.").format(
            field=name, choices=", ".join(f.choices), value=text, hint=did_you_mean(text, f.choices))
    return i18n._("{field} contains control characters.").format(field=name)


def typed_values(defn: WorkflowDefinition, row) -> dict[str, Any]:
    """An agreement's core columns and stored data as typed values (``row``: an ``Agreement``
    or any result row with the agreement's columns)."""
    return _typed_values(defn, row.title, row.partner, row.lead_opd, row.data)


# ------------------------------------------------------------------------- reading


def find_agreement(conn: Connection, ref: str) -> Agreement:
    return kernel.read(conn, ref)


def definition_of(ctx: Context, row) -> WorkflowDefinition:
    return ctx.registry.get(row.workflow, row.workflow_version)


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
    """``show`` of ``row`` (an ``Agreement``: as read, or as ``fire`` just wrote it);
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


def _problem_text(problem: guards.Problem) -> str:
    """A guard's problem as a sentence of its own: what is missing says so, as in a refusal."""
    return i18n._("missing {fields}").format(fields=problem.message) if problem.missing else problem.message


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
        view = GuardView(conn, ctx, row, defn, values)
        out = []
        leaving = set(allowed_events(defn, row.lifecycle_state))  # what the machine allows from here
        for e in defn.events:
            possible = e.name in leaving
            missing = guards.missing_requirements(defn, e, values)
            problems = [] if (missing or not possible) else [_problem_text(p) for p in guards.evaluate(defn, e, view)]
            permitted = actor is not None and (actor.may_fire(e, row.lead_opd) or territory.acts_as_lead(conn, actor, e.roles, row.id))
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


def insert_agreement(conn: Connection, ctx: Context, defn: WorkflowDefinition, *, values: Mapping[str, Any], state: str,
                     actor: str, note: str | None, parent_id: int | None = None, number: str | None = None,
                     kind: str = "create", event: str = "create", import_key: str | None = None,
                     at: datetime | None = None, entered_at: datetime | None = None) -> Transitioned:
    """One new agreement through the kernel, inside ``conn``'s transaction (tests and tools
    that build agreements by hand)."""
    new = kernel.New(defn, values, state, note=note, number=number, import_key=import_key, parent_id=parent_id,
                     entered_at=entered_at)
    return kernel.create(conn, ctx, new, actor=actor, kind=kind, event=event, at=at)


def create_agreement(ctx: Context, actor_login: str, *, title: str, partner: str, opd: str, workflow: str = "kerja-sama",
                     values: Mapping[str, Any] | None = None, note: str | None = None) -> dict[str, Any]:
    try:
        defn = ctx.registry.latest(workflow)
    except LookupError:
        raise NotFound(i18n._("Unknown workflow '{name}'{hint}; `tkksd workflow list` shows the installed ones.").format(
            name=workflow, hint=did_you_mean(workflow, ctx.registry.names()))) from None
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
                i18n._("User '{login}' may not register agreements for {opd} (the secretariat, TKKSD members and the "
                       "lead OPD's own users may).").format(login=actor.login, opd=typed["lead_opd"])
            )
        t = kernel.create(conn, ctx, kernel.New(defn, typed, defn.initial, note=note), actor=actor.login)
        return show_in(conn, ctx, t.number)


def apply_transition(conn: Connection, ctx: Context, row: Agreement, defn: WorkflowDefinition, *, event: str,
                     to_state: str, actor: str, note: str | None, supplied: Mapping[str, Any], kind: str) -> Transitioned:
    """Write one already-decided change of ``row`` through the kernel (no handlers): the
    conditional UPDATE raises ``Conflict`` when ``row`` is stale."""
    change = kernel.Change(row, defn, event, to_state, actor, kind, note, supplied)
    return kernel.change(conn, ctx, change, run_handlers=False)


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
        # transaction on the same pooled connection; the kernel decides there again what
        # depends on other agreements.
        with conn.begin():
            read = _read_for_fire(conn, ref, actor_login)
            defn = definition_of(ctx, read.agreement)
            stored = read.agreement.typed_values(defn)
            dest, supplied = kernel.decide(conn, ctx, read.agreement, defn, event, {}, stored,
                                           admit=_admission(conn, read, defn, values, note))
            log.debug("read %s version %s for %s", read.agreement.number, read.agreement.version, event)
        conn.execution_options(**db.WRITE_OPTIONS)  # BEGIN IMMEDIATE on SQLite, as db.write
        with conn.begin():
            t = kernel.fire_in(conn, ctx, read.agreement, defn, event=event, actor=read.actor.login, note=note,
                               supplied=supplied, kind=kind, stored=stored, to_state=dest,
                               lead_opd_entry=read.lead_opd_entry, actor_user_name=read.actor_name)
            return _shown_after_fire(conn, ctx, defn, read, t)


@dataclass(frozen=True)
class _FireRead:
    """What ``fire`` reads in one round trip."""

    agreement: Agreement
    actor: Actor
    lead_opd_entry: OpdEntry | None
    parent_number: str | None
    has_children: bool
    actor_name: str | None  # the users table's name of the acting user (the notice names them)


def _read_for_fire(conn: Connection, ref: str, login: str) -> _FireRead:
    ref = ref.strip()
    statements = _statements()
    if ref.isdigit():
        row = conn.execute(statements.fire_read_by_id, {"id": int(ref), "login": login}).first()
    else:
        row = conn.execute(statements.fire_read_by_number, {"number": ref.upper(), "login": login}).first()
    if row is None:
        raise NotFound(i18n._("No agreement '{ref}'; `tkksd list` shows them.").format(ref=ref))
    entry = None
    if row.opd_code is not None:
        entry = OpdEntry(row.opd_code, row.opd_name, row.opd_head_title, row.opd_head_name, row.opd_head_email)
    actor = _actor(login, row.user_active, row.user_roles, row.user_opd) if login != SYSTEM else SYSTEM_ACTOR
    return _FireRead(Agreement.from_row(row), actor, entry, row.parent_number, bool(row.has_children), row.user_name)


def _admission(conn: Connection, read: _FireRead, defn: WorkflowDefinition, values: Mapping[str, Any] | None,
               note: str | None):
    """What ``fire`` checks once the machine accepts the event from this state: the acting
    user's role, then the values supplied (``--note`` counting as the reason)."""

    def admit(e: Event) -> dict[str, Any]:
        if not (read.actor.may_fire(e, read.agreement.lead_opd)
                or territory.acts_as_lead(conn, read.actor, e.roles, read.agreement.id)):
            from engine.lifecycle.access import role_label

            who = ", ".join(i18n._("the lead OPD") if r == "opd" else role_label(r) for r in e.roles)
            raise PermissionDenied(i18n._("User '{login}' may not fire '{event}' on {agreement}; it needs one of: {roles}.").format(
                login=read.actor.login, event=e.name, agreement=read.agreement.number, roles=who))
        raw = dict(values or {})
        if note and defn.note_field and defn.note_field not in raw and any(r.key == defn.note_field for r in e.requires):
            raw[defn.note_field] = note
        supplied = parse_values(defn, raw)
        if "lead_opd" in supplied:
            _require_opd(conn, supplied["lead_opd"])
        return supplied

    return admit


def _shown_after_fire(conn: Connection, ctx: Context, defn: WorkflowDefinition, read: _FireRead,
                      t: Transitioned) -> dict[str, Any]:
    """``show`` answered from this transaction: what was written, without reading the row back.
    A new child can only come from this very transition (any other change of the agreement
    would have failed its version check), so the children read before still hold."""
    a = read.agreement
    written = dataclasses.replace(
        a, **{k: t.values[k] for k in defn.core_fields}, lifecycle_state=t.to_state,
        data=_as_stored(kernel.stored_data(defn, t.values)), updated_at=t.at, state_entered_at=t.state_entered_at,
        version=a.version + 1, history_seq=t.history_seq,
    )
    children = [] if not (read.has_children or "created" in t.extra) else None
    shown = _shown(conn, ctx, defn, written, parent=read.parent_number, children=children)
    if "created" in t.extra:
        shown["created"] = t.extra["created"]  # the follow-up this event opened (upgrade: the PKS)
    return shown


_JSON_SCALARS = (str, int, float, bool, type(None))


def _as_stored(data: dict[str, Any]) -> dict[str, Any]:
    # What the JSON column gives back; plain values already are (a list or a nested mapping
    # would come back changed, so those take the round trip).
    if all(type(v) in _JSON_SCALARS for v in data.values()):
        return data
    return json.loads(json.dumps(data))


@dataclass(frozen=True)
class _Statements:
    user_by_login: Any
    number_by_id: Any
    children_numbers: Any
    fire_read_by_id: Any
    fire_read_by_number: Any


@lru_cache(maxsize=1)
def _statements() -> _Statements:
    """The reads of every ``fire`` and ``show``, built once (a prebuilt statement keeps its
    cache key, so executing it goes straight to the compiled form)."""
    return _Statements(
        user_by_login=sa.select(users).where(users.c.login == sa.bindparam("login")),
        number_by_id=sa.select(agreements.c.number).where(agreements.c.id == sa.bindparam("id")),
        children_numbers=sa.select(agreements.c.number)
        .where(agreements.c.parent_id == sa.bindparam("parent_id"))
        .order_by(agreements.c.id),
        fire_read_by_id=_fire_read().where(agreements.c.id == sa.bindparam("id")),
        fire_read_by_number=_fire_read().where(agreements.c.number == sa.bindparam("number")),
    )


def _fire_read():
    """Everything ``fire`` reads, in one round trip: the agreement, the acting user (with the
    name the notice gives them), the lead OPD's directory entry (the notice's letter and recipient), the parent's number and whether
    there are children (the answer ``show`` gives). A missing user or OPD leaves its columns NULL."""
    parent = agreements.alias("parent")
    child = agreements.alias("child")
    return sa.select(
        agreements,
        users.c.active.label("user_active"), users.c.roles.label("user_roles"), users.c.opd_code.label("user_opd"),
        users.c.name.label("user_name"),
        opds.c.code.label("opd_code"), opds.c.name.label("opd_name"), opds.c.head_title.label("opd_head_title"),
        opds.c.head_name.label("opd_head_name"), opds.c.head_email.label("opd_head_email"),
        parent.c.number.label("parent_number"),
        sa.exists().where(child.c.parent_id == agreements.c.id).label("has_children"),
    ).select_from(
        agreements.outerjoin(users, users.c.login == sa.bindparam("login"))
        .outerjoin(opds, opds.c.code == agreements.c.lead_opd)
        .outerjoin(parent, parent.c.id == agreements.c.parent_id)
    )


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
                problems.append(i18n._("history rows for agreement id {id} have no agreement (it was deleted)").format(id=current))
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
            problems.append(i18n._("{agreement}: has no history rows (they were deleted)").format(agreement=head["number"]))
    return n_agreements, n_rows, problems
