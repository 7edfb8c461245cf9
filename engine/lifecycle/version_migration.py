"""Moving running agreements from one version of a workflow to another: an explicit, checked step.

An agreement keeps the workflow version it was created under (``agreements.workflow_version``)
for as long as nobody moves it; ``fire`` and the daemon always read that version. A migration
moves every *running* (non-final) agreement of ``NAME`` version V to version W in ONE
transaction, or refuses and changes nothing. Agreements in a final state stay on V: their
history is closed and V stays installed for them.

Where an agreement lands: in the state of the same name, or where ``--map old=new`` sends it.
The migration is refused, naming every agreement concerned, when one would land

* in a state that W does not have (and no mapping says where it goes instead),
* in a state that is final in W (a migration never ends an agreement), or
* without a value W demands for the state it lands in. What W demands for a state S: the
  requirements of every event of W that leads into S from another state (a self-loop such as
  ``extend`` does not lead into S), leaving out ``fresh`` requirements (a reason, a new end
  date: they belong to the moment the event is fired, not to being in S), and counting a
  conditional requirement only when its condition holds for the agreement's values. A value
  that V already demanded for the state the agreement is leaving is not counted: such a gap
  (an imported agreement, say) exists under V too and is not the migration's doing. Only the
  demands W *adds* refuse a migration. The way out is a mapping to an earlier state, whose
  step is then done again under W.

A free-text ``kecamatan`` that W no longer declares becomes the agreement's ``location`` when it
names wilayah units and no location is recorded (the move's history row holds it); otherwise
it stays in the data, as every value W does not declare.

Each moved agreement gets a chained history row (event ``migrate``, kind ``migrate``, note
``NAME vV -> vW``) and keeps the moment it entered its step, so a renamed step keeps its SLA
clock; its deadlines are then reconciled under W by the same hooks as any transition (rules
W dropped are cancelled, rules W added are planned, unchanged ones are kept). Migrations send
no e-mail (``engine.lifecycle.notices`` skips kind ``migrate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from workflows.guards import holds, is_supplied
from workflows.spec import Field, WorkflowDefinition

from engine.store import db
from engine.context import Context
from engine.errors import InvalidInput, MigrationRefused, NotFound, PermissionDenied
from engine.i18n import _
from engine.lifecycle import kernel, locations
from engine.lifecycle.agreement import Agreement
from engine.store.tables import agreements, deadlines

MAX_NAMED = 20  # agreements named in one refusal before "and N more"


@dataclass
class Move:
    """One running agreement: where it would land and what stops it."""

    agreement_id: int
    number: str
    title: str
    from_state: str
    to_state: str
    problems: list[str] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)  # stored values W does not declare (kept as data)
    agreement: Agreement | None = field(default=None, repr=False)  # as read for the plan
    supplied: dict[str, Any] = field(default_factory=dict)  # values the move records (a location from old free text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.number, "title": self.title, "from_state": self.from_state, "to_state": self.to_state,
            "ok": not self.problems, "problems": list(self.problems), "unknown_fields": list(self.unknown_fields),
            "supplied": dict(self.supplied),
        }


@dataclass
class MigrationPlan:
    workflow: str
    from_version: int
    to_version: int
    mapping: dict[str, str]
    moves: list[Move]
    final_kept: int  # agreements on V in a final state: they stay on V

    @property
    def blocked(self) -> list[Move]:
        return [m for m in self.moves if m.problems]

    def as_dict(self, *, dry_run: bool, done: bool = False) -> dict[str, Any]:
        return {
            "refusal": str(refusal(self)) if self.blocked else None,
            "workflow": self.workflow, "from_version": self.from_version, "to_version": self.to_version,
            "map": dict(self.mapping), "dry_run": dry_run, "migrated": done, "ok": not self.blocked,
            "agreements": [m.as_dict() for m in self.moves], "blocked": [m.number for m in self.blocked],
            "final_kept": self.final_kept,
        }


# --------------------------------------------------------------------------- the rule


def demanded_for_state(defn: WorkflowDefinition, state: str, values: Mapping[str, Any]) -> list[Field]:
    """The fields ``defn`` demands of an agreement with ``values`` for being in ``state`` that it lacks.

    See the module docstring: non-fresh requirements of the events leading into ``state`` from
    another state, conditional ones only when their condition holds.
    """
    out: dict[str, Field] = {}
    for e in defn.events:
        if e.dest != state or set(e.sources) <= {state}:
            continue
        for req in e.requires:
            if req.fresh or not holds(req.when, values):
                continue
            f = defn.field(req.key)
            if not is_supplied(f, values.get(req.key)):
                out.setdefault(f.key, f)
    return list(out.values())


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        old, new = old.strip(), new.strip()
        if not sep or not old or not new:
            raise InvalidInput(_("--map needs old=new (a state of the old version = a state of the new one), "
                                 "not '{pair}'.").format(pair=pair))
        if old in out and out[old] != new:
            raise InvalidInput(_("--map gives state '{state}' twice.").format(state=old))
        out[old] = new
    return out


def _versions(ctx: Context, name: str, from_version: int, to_version: int) -> tuple[WorkflowDefinition, WorkflowDefinition]:
    if name not in ctx.registry.names():
        raise NotFound(_("There is no workflow '{name}'; `tkksd workflow list` shows the installed ones.").format(name=name))
    loaded = ", ".join(str(v) for v in ctx.registry.versions(name))
    for v in (from_version, to_version):
        if v not in ctx.registry.versions(name):
            raise NotFound(_("Workflow '{name}' has no version {version} installed (loaded: {loaded}); "
                             "add its file to a folder named in general.workflow_dirs.").format(
                name=name, version=v, loaded=loaded))
    if from_version == to_version:
        raise InvalidInput(_("--from and --to are both {version}; a migration moves agreements between two versions.").format(
            version=from_version))
    return ctx.registry.get(name, from_version), ctx.registry.get(name, to_version)


def _check_mapping(old: WorkflowDefinition, new: WorkflowDefinition, mapping: Mapping[str, str]) -> None:
    for src, dest in mapping.items():
        if not old.has_state(src):
            raise InvalidInput(_("--map {old}={new}: '{old}' is not a state of {workflow} v{version}.").format(
                old=src, new=dest, workflow=old.name, version=old.version))
        if not new.has_state(dest):
            known = ", ".join(s.name for s in new.states if not s.final)
            raise InvalidInput(_("--map {old}={new}: '{new}' is not a state of {workflow} v{version} (its states: {known}).").format(
                old=src, new=dest, workflow=new.name, version=new.version, known=known))
        if new.state(dest).final:
            raise InvalidInput(_("--map {old}={new}: '{new}' is a final state of v{version}; a migration never ends an "
                                 "agreement.").format(old=src, new=dest, version=new.version))


def plan_migration(conn: Connection, ctx: Context, name: str, from_version: int, to_version: int,
                   mapping: Mapping[str, str] | None = None, *, lock: bool = False) -> MigrationPlan:
    """Where each running agreement of ``name`` v``from_version`` would land, and what would stop it."""
    from engine.lifecycle.services import typed_values

    mapping = dict(mapping or {})
    old, new = _versions(ctx, name, from_version, to_version)
    _check_mapping(old, new, mapping)
    finals = set(old.final_states())
    q = (sa.select(agreements)
         .where(agreements.c.workflow == name, agreements.c.workflow_version == from_version,
                agreements.c.lifecycle_state.not_in(finals))
         .order_by(agreements.c.id))
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()  # no coordinator's step slips in between the plan and the move
    rows = conn.execute(q).all()
    final_kept = conn.execute(
        sa.select(sa.func.count()).select_from(agreements)
        .where(agreements.c.workflow == name, agreements.c.workflow_version == from_version,
               agreements.c.lifecycle_state.in_(finals))
    ).scalar_one()
    moves = []
    units = locations.load_units(conn) if rows and old.has_field(locations.LOCATION_ALIAS) else []
    for row in rows:
        state = row.lifecycle_state
        dest = mapping.get(state, state)
        move = Move(row.id, row.number, row.title, state, dest, agreement=Agreement.from_row(row))
        if not new.has_state(dest):
            move.problems.append(_("it is in '{state}', which v{version} does not have (say where it goes with "
                                   "--map {state}=STATE)").format(state=state, version=to_version))
        elif new.state(dest).final:
            move.problems.append(_("it would land in '{state}', a final state of v{version} (map '{old}' to a running "
                                   "state)").format(state=dest, version=to_version, old=state))
        else:
            values = typed_values(new, row)
            old_gaps = {f.key for f in demanded_for_state(old, state, typed_values(old, row))} if old.has_state(state) else set()
            missing = [f.key for f in demanded_for_state(new, dest, values) if f.key not in old_gaps]
            if missing:
                move.problems.append(
                    _("it would be in '{state}' without {fields}, which v{version} requires there (map '{old}' to an "
                      "earlier state to do that step again)").format(state=dest, fields=", ".join(missing),
                                                                     version=to_version, old=state)
                )
        location = locations.migrated_location(conn, old, new, row.data or {}, units) if units else None
        if location:
            move.supplied["location"] = location
        move.unknown_fields = sorted(k for k in (row.data or {}) if not new.has_field(k))
        moves.append(move)
    return MigrationPlan(name, from_version, to_version, mapping, moves, final_kept)


def refusal(plan: MigrationPlan) -> MigrationRefused:
    blocked = plan.blocked
    joiner = _(" and ")
    named = "; ".join(f"{m.number}: {joiner.join(m.problems)}" for m in blocked[:MAX_NAMED])
    more = _("; and {count} more").format(count=len(blocked) - MAX_NAMED) if len(blocked) > MAX_NAMED else ""
    return MigrationRefused(
        _("Migration of {workflow} v{old} -> v{new} refused, nothing was changed ({blocked} of {running} running "
          "agreement(s) would be stranded): {named}{more}.").format(
            workflow=plan.workflow, old=plan.from_version, new=plan.to_version, blocked=len(blocked),
            running=len(plan.moves), named=named, more=more),
        workflow=plan.workflow, from_version=plan.from_version, to_version=plan.to_version, blocked=blocked,
    )


# --------------------------------------------------------------------------- doing it


def _moves(conn: Connection, ctx: Context, new: WorkflowDefinition, plan: MigrationPlan, actor: str) -> None:
    """Every move through the kernel in one batch: each a ``migrate`` history row. A step
    under a new name keeps the moment it was entered (its SLA clock), and its deadline rows
    follow the name first, so the handlers recognise them as this step's and do not plan (and
    later send) the same reminders again."""
    base = f"{plan.workflow} v{plan.from_version} -> v{plan.to_version}"
    renamed = [m for m in plan.moves if m.to_state != m.from_state]
    if renamed:
        conn.execute(
            deadlines.update().where(deadlines.c.agreement_id == sa.bindparam("of_agreement"),
                                     deadlines.c.state == sa.bindparam("old_state")).values(state=sa.bindparam("new_state")),
            [{"of_agreement": m.agreement_id, "old_state": m.from_state, "new_state": m.to_state} for m in renamed],
        )
    kernel.change_many(conn, ctx, [
        kernel.Change(m.agreement, new, "migrate", m.to_state, actor, "migrate",
                      note=base + (f" ({m.from_state} -> {m.to_state})" if m.to_state != m.from_state else ""),
                      supplied=m.supplied,
                      version_to=new.version,
                      entered_at=m.agreement.state_entered_at if m.to_state != m.from_state else None)
        for m in plan.moves
    ])


def migrate(ctx: Context, actor_login: str, name: str, from_version: int, to_version: int,
            mapping: Mapping[str, str] | None = None, *, dry_run: bool = False) -> dict[str, Any]:
    """Move the running agreements of ``name`` from one version to another, all or none.

    ``dry_run``: only the plan (any registered user may ask); its ``refusal`` is the sentence
    the real migration would be refused with, or None. Otherwise admins only; a plan with a
    stranded agreement raises ``MigrationRefused`` before anything is written.
    Returns the plan as data (``MigrationPlan.as_dict``).
    """
    from engine.lifecycle.services import resolve_actor

    if dry_run:
        with db.read(ctx.engine) as conn:
            resolve_actor(conn, actor_login)
            plan = plan_migration(conn, ctx, name, from_version, to_version, mapping)
        return plan.as_dict(dry_run=True)
    with db.write(ctx.engine) as conn:
        actor = resolve_actor(conn, actor_login)
        if not actor.holds("admin"):
            raise PermissionDenied(_("Only an admin may migrate agreements between workflow versions; '{login}' is not "
                                     "one.").format(login=actor.login))
        plan = plan_migration(conn, ctx, name, from_version, to_version, mapping, lock=True)
        if plan.blocked:
            raise refusal(plan)
        _moves(conn, ctx, ctx.registry.get(name, to_version), plan, actor.login)
    return plan.as_dict(dry_run=False, done=True)
