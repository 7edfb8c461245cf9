"""Importing agreements from a sheet (CSV or XLSX): validate every row, then write all or nothing.

The rule (docs/import.md):

* Every row is checked before anything is written; each problem is reported as row, column
  and one plain sentence. One bad row and nothing is written (``ImportRefused``).
* A row whose id is not in the database is a new agreement: it enters in the state the sheet
  records, with one history row of kind ``import`` (actor, file and row in the note), and has
  been in that state since ``state_since`` (deadlines count from it). A row without an id gets a
  number, and is recognised on the next import by its workflow, title, partner and lead OPD.
* A row whose agreement exists and whose values all equal the stored ones changes nothing.
* A row that differs updates the agreement through the kernel (event ``import``): its own
  history row names what changed, and the handlers re-plan its deadlines. A column absent
  from the sheet leaves the stored value alone; an empty cell clears it.
* Nothing rewinds: a row that would move its agreement backwards in its lifecycle, or change
  an agreement changed in tkksd since it was last imported, is a conflict naming it
  (``ImportConflicts``, nothing written) unless the caller skips conflicts.
* The id counters are raised past every imported number, so new agreements never collide.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from workflows import guards
from workflows.spec import WorkflowDefinition

from engine.store import db

from engine.inventory import sheets
from engine.context import Context
from engine.inventory.sheet_dates import to_date
from engine.errors import ImportConflicts, ImportRefused, PermissionDenied
from engine.lifecycle import kernel
from engine.lifecycle.agreement import Agreement
from engine.lifecycle.lifecycle_order import moves_backwards
from engine.store.tables import agreements, history, id_counters, opds
from engine.lifecycle import locations

NUMBER_RE = re.compile(r"^([A-Z][A-Z0-9]{0,9})-(\d{4})-(\d{1,6})$")


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str | None
    message: str
    agreement: str | None = None  # a conflict names the agreement it would rewind or overwrite

    def sentence(self, lang: str = "en") -> str:
        from engine.inventory.import_messages import sentence

        return sentence(self.row, self.column, self.message, lang)

    def as_dict(self) -> dict[str, Any]:
        out = {"row": self.row, "column": self.column, "message": self.message}
        if self.agreement is not None:
            out["agreement"] = self.agreement
        return out


@dataclass
class RowPlan:
    row: int
    number: str | None
    import_key: str | None
    defn: WorkflowDefinition
    state: str
    state_since: date | None
    values: dict[str, Any]  # typed: core fields and the data fields present in the sheet
    present: frozenset[str]  # field columns the sheet has (an empty cell clears the value)
    parent: str | None
    existing: Agreement | None = None  # the stored agreement, when it exists
    action: str = "new"  # new | update | same | conflict
    changes: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    path: str
    dry_run: bool
    rows: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    conflicts: list[RowProblem] = field(default_factory=list)  # rows left alone (--skip-conflicts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path, "dry_run": self.dry_run, "rows": self.rows, "added": len(self.added),
            "updated": len(self.updated), "unchanged": self.unchanged, "added_ids": self.added,
            "updated_ids": self.updated, "problems": [p.as_dict() for p in self.problems],
            "conflicts": [p.as_dict() for p in self.conflicts],
        }


# ------------------------------------------------------------------------- header


# Columns secretariats add that carry no agreement data: the running number ("No.").
IGNORED_HEADERS = frozenset({"no", "no.", "nomor urut", "no urut", "no. urut", "#", "urut"})


def header_names(cols: list[sheets.Column]) -> set[str]:
    """Every header text that names a column (key, Indonesian or English label), lower case."""
    return {name.strip().lower() for c in cols for name in (c.key, c.label.id, c.label.en)}


def map_header(header: list[str], cols: list[sheets.Column], header_row: int = 1) -> tuple[list[str | None], list[RowProblem]]:
    """Header cells -> column keys. A header may be the key or its Indonesian/English label;
    a "No." column and columns without a header are ignored."""
    names: dict[str, str] = {}
    for c in cols:
        for name in (c.key, c.label.id, c.label.en):
            names.setdefault(name.strip().lower(), c.key)
    keys: list[str | None] = []
    problems: list[RowProblem] = []
    seen: set[str] = set()
    for i, text in enumerate(header):
        if not text or text.strip().lower() in IGNORED_HEADERS:
            keys.append(None)
            continue
        key = names.get(text.strip().lower())
        if key is None:
            problems.append(RowProblem(header_row, text, f"unknown column '{text}'; the columns are the field keys of the loaded workflows (see `tkksd import --template`)"))
            keys.append(None)
        elif key in seen:
            problems.append(RowProblem(header_row, text, f"column '{key}' appears twice"))
            keys.append(None)
        else:
            seen.add(key)
            keys.append(key)
    for required in ("workflow", "state", "title", "partner", "lead_opd"):
        if required not in seen:
            problems.append(RowProblem(header_row, required, f"the sheet has no '{required}' column"))
    return keys, problems


# ------------------------------------------------------------------------- values


def _as_date(value: Any) -> date:
    return guards.parse_date(to_date(value))


def _typed_cell(f, value: Any) -> Any:
    if f.type == "date":
        value = to_date(value)  # 20/11/2023, 20 November 2023, a date cell
    elif f.type in ("text", "reference", "choice", "opd") and not isinstance(value, str):
        value = str(value)
    return guards.parse_value(f, value)


def _row_key(defn_name: str, values: Mapping[str, Any]) -> str:
    text = "\x1f".join([defn_name, str(values.get("title", "")).lower(), str(values.get("partner", "")).lower(),
                        str(values.get("lead_opd", ""))])
    return "sheet:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _date_rules(defn: WorkflowDefinition) -> tuple[list[tuple[str, str]], list[str]]:
    """(after pairs, not-future keys) drawn from the definition's rules, plus start < end."""
    after: list[tuple[str, str]] = []
    not_future: list[str] = []
    for e in defn.events:
        for r in e.rules:
            if r.kind == "after" and (r.params["key"], r.params["other"]) not in after:
                after.append((r.params["key"], r.params["other"]))
            elif r.kind == "not_future" and r.params["key"] not in not_future:
                not_future.append(r.params["key"])
    if defn.has_field("starts_on") and defn.has_field("ends_on") and ("ends_on", "starts_on") not in after:
        after.append(("ends_on", "starts_on"))
    return after, not_future


def _on_older_versions(conn: Connection, ctx: Context) -> dict[tuple[str, str], int]:
    """(workflow, number) -> version of the agreements that run an older version than the latest
    loaded (few: until `tkksd workflow migrate` moves them)."""
    out: dict[tuple[str, str], int] = {}
    for name in ctx.registry.names():
        latest = ctx.registry.latest(name).version
        rows = conn.execute(sa.select(agreements.c.number, agreements.c.workflow_version)
                            .where(agreements.c.workflow == name, agreements.c.workflow_version < latest))
        out.update({(name, r.number): r.workflow_version for r in rows})
    return out


class _Checker:
    """Everything a row is checked against, loaded once per import."""

    def __init__(self, conn: Connection, ctx: Context, cols: list[sheets.Column]):
        self.ctx = ctx
        self.today = ctx.clock.today()
        active = conn.execute(sa.select(opds.c.code, opds.c.name).where(opds.c.active.is_(True))).all()
        self.opd_codes = {r.code for r in active}
        self.opd_by_name = {r.name.strip().lower(): r.code for r in active}  # sheets name the OPD, not its code
        self.rules: dict[str, tuple[list[tuple[str, str]], list[str]]] = {}
        self.col_types = {c.key: c.type for c in cols}
        self.field_maps: dict[str, dict[str, Any]] = {}
        self.units = locations.load_units(conn)  # location and desa_parties are checked against them
        self.older = _on_older_versions(conn, ctx)

    def defn(self, name: str | None, version: Any, number: Any = None) -> WorkflowDefinition:
        if not name:
            raise ValueError(f"needs a workflow ({', '.join(self.ctx.registry.names())})")
        name = str(name).strip()
        if name not in self.ctx.registry.names():
            raise ValueError(f"unknown workflow '{name}' (loaded: {', '.join(self.ctx.registry.names())})")
        v = None
        if version not in (None, ""):
            try:
                v = int(str(version).strip())
            except ValueError:
                raise ValueError(f"workflow_version must be a whole number, not '{version}'") from None
        elif number is not None:
            # An empty version means the latest for a new agreement, and for one that exists the
            # version it runs (a sheet exported before a new version was installed still imports).
            v = self.older.get((name, str(number).strip().upper()))
        try:
            return self.ctx.registry.get(name, v)
        except LookupError as exc:
            raise ValueError(str(exc)) from None

    def fields(self, defn: WorkflowDefinition) -> dict[str, Any]:
        """key -> Field, built once per definition (``defn.has_field`` scans a tuple)."""
        found = self.field_maps.get(defn.key)
        if found is None:
            found = self.field_maps[defn.key] = {f.key: f for f in defn.fields}
        return found

    def date_rules(self, defn: WorkflowDefinition):
        if defn.key not in self.rules:
            self.rules[defn.key] = _date_rules(defn)
        return self.rules[defn.key]


def _location_alias(fields: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """A row of a workflow that records units instead of the free text ``kecamatan``: its names
    (separated by ``,`` or ``;``) are read as the ``location`` when that cell is empty, and
    otherwise left aside, the units being the more precise record."""
    alias = locations.LOCATION_ALIAS
    if alias not in raw or alias in fields or "location" not in fields:
        return raw
    raw = dict(raw)
    text = raw.pop(alias)
    if text is not None and raw.get("location") is None:
        raw["location"] = locations.location_from_alias(text)
    return raw


def check_row(chk: _Checker, number_row: int, raw: dict[str, Any], problems: list[RowProblem]) -> RowPlan | None:
    start = len(problems)

    def bad(column: str | None, message: str) -> None:
        problems.append(RowProblem(number_row, column, message))

    try:
        defn = chk.defn(raw.get("workflow"), raw.get("workflow_version"), raw.get("id"))
    except ValueError as exc:
        bad("workflow_version" if "version" in str(exc) and raw.get("workflow") else "workflow", str(exc))
        return None

    number = raw.get("id")
    if number is not None:
        number = str(number).strip().upper()
        if not NUMBER_RE.match(number):
            bad("id", f"id '{raw.get('id')}' is not an agreement number like {defn.id_prefix}-2021-0042")
            number = None

    state = raw.get("state")
    if state is None:
        bad("state", f"needs a state ({', '.join(s.name for s in defn.states)})")
    else:
        state = str(state).strip()
        if not defn.has_state(state):
            # A label in place of the code is accepted ("Terintegrasi (berjalan)").
            by_label = [s.name for s in defn.states if state.lower() in (s.label.id.lower(), s.label.en.lower(), s.name.lower())]
            if by_label:
                state = by_label[0]
            else:
                bad("state", f"unknown state '{state}' for workflow {defn.name} (states: {', '.join(s.name for s in defn.states)})")

    since = raw.get("state_since")
    if since is not None:
        try:
            since = _as_date(since)
        except ValueError as exc:
            bad("state_since", f"state_since {exc}")
            since = None
        else:
            if since > chk.today:
                bad("state_since", f"state_since {since.isoformat()} is in the future (today is {chk.today.isoformat()})")

    values: dict[str, Any] = {}
    for key in sheets.CORE_FIELDS:
        v = raw.get(key)
        if v is None:
            bad(key, f"{key} is required")
            continue
        v = str(v).strip()
        if key == "lead_opd":
            v = chk.opd_by_name.get(v.lower(), v).upper()
            if v not in chk.opd_codes:
                bad(key, f"unknown OPD code '{v}'; `tkksd opd list` shows the directory")
                continue
        if guards._CONTROL.search(v):
            bad(key, f"{key} contains control characters")
            continue
        values[key] = v

    present = set()
    fields = chk.fields(defn)
    fixed = sheets.FIXED
    raw = _location_alias(fields, raw)
    for key, v in raw.items():
        if key in fixed:
            continue
        f = fields.get(key)
        if f is None:
            if v is not None:
                bad(key, f"'{key}' is not a field of workflow {defn.name} v{defn.version}; leave this cell empty")
            continue
        present.add(key)
        if v is None:
            continue
        try:
            values[key] = _typed_cell(f, v)
        except guards.ValueProblem as exc:
            bad(key, str(exc))
            continue
        if f.type == "opd" and values[key] not in chk.opd_codes:
            bad(key, f"unknown OPD code '{values[key]}' in {key}")

    after, not_future = chk.date_rules(defn)
    for key, other in after:
        a, b = values.get(key), values.get(other)
        if isinstance(a, date) and isinstance(b, date) and a <= b:
            bad(key, f"{key} {a.isoformat()} must be after {other} {b.isoformat()} (the end comes before the start)")
    for key in not_future:
        v = values.get(key)
        if isinstance(v, date) and v > chk.today:
            bad(key, f"{key} {v.isoformat()} is in the future (today is {chk.today.isoformat()})")

    for key, message in locations.row_problems(defn, values, chk.units):
        bad(key, message)

    parent = raw.get("parent")
    if parent is not None:
        parent = str(parent).strip().upper()
        if not NUMBER_RE.match(parent):
            bad("parent", f"parent '{raw.get('parent')}' is not an agreement number")
            parent = None
        elif number is not None and parent == number:
            bad("parent", "an agreement cannot be its own parent")
            parent = None

    if len(problems) > start:
        return None
    import_key = None if number else _row_key(defn.name, values)
    return RowPlan(number_row, number, import_key, defn, state, since, values, frozenset(present), parent)


# ------------------------------------------------------------------------- comparing with the database


def _stored_plain(row) -> dict[str, Any]:
    out = {"title": row.title, "partner": row.partner, "lead_opd": row.lead_opd}
    out.update({k: v for k, v in (row.data or {}).items() if v is not None})
    return out


def _diff(ctx: Context, plan: RowPlan, parent_number: str | None) -> dict[str, Any]:
    stored = _stored_plain(plan.existing)
    changes: dict[str, Any] = {}
    for key in (*sheets.CORE_FIELDS, *sorted(plan.present)):
        new = guards.to_plain(plan.values.get(key))
        if stored.get(key) != new:
            changes[key] = plan.values.get(key)
    return changes


def plan_rows(conn: Connection, ctx: Context, sheet: sheets.Sheet) -> tuple[list[RowPlan], list[RowProblem]]:
    cols = sheets.columns(ctx.registry)
    keys, problems = map_header(sheet.header, cols, sheet.header_row)
    if problems:
        return [], problems
    chk = _Checker(conn, ctx, cols)
    plans: list[RowPlan] = []
    first_seen: dict[str, int] = {}
    for number_row, raw in sheets.iter_dicts(sheet, keys):
        plan = check_row(chk, number_row, raw, problems)
        if plan is None:
            continue
        ident = plan.number or plan.import_key
        if ident in first_seen:
            what = f"id {plan.number}" if plan.number else "the same workflow, title, partner and lead OPD (and no id)"
            problems.append(RowProblem(number_row, "id", f"duplicate: row {first_seen[ident]} already has {what}"))
            continue
        first_seen[ident] = number_row
        plans.append(plan)

    # The stored agreements these rows name, looked up in chunks.
    numbers = [p.number for p in plans if p.number]
    parents = {p.parent for p in plans if p.parent}
    import_keys = [p.import_key for p in plans if p.import_key]
    by_number: dict[str, Any] = {}
    by_key: dict[str, Any] = {}
    wanted = list(dict.fromkeys(numbers + sorted(parents)))
    for i in range(0, len(wanted), 500):
        for r in conn.execute(sa.select(agreements).where(agreements.c.number.in_(wanted[i:i + 500]))):
            by_number[r.number] = Agreement.from_row(r)
    for i in range(0, len(import_keys), 500):
        for r in conn.execute(sa.select(agreements).where(agreements.c.import_key.in_(import_keys[i:i + 500]))):
            by_key[r.import_key] = Agreement.from_row(r)
    parent_ids = {r.parent_id for r in list(by_number.values()) + list(by_key.values()) if r.parent_id}
    number_of: dict[int, str] = {}
    ids = sorted(parent_ids)
    for i in range(0, len(ids), 500):
        for r in conn.execute(sa.select(agreements.c.id, agreements.c.number).where(agreements.c.id.in_(ids[i:i + 500]))):
            number_of[r.id] = r.number

    in_sheet = set(numbers)
    for p in plans:
        if p.parent and p.parent not in in_sheet and p.parent not in by_number:
            problems.append(RowProblem(p.row, "parent", f"parent {p.parent} is neither in this sheet nor in the database"))
            continue
        existing = by_number.get(p.number) if p.number else by_key.get(p.import_key)
        if existing is None:
            p.action = "new"
            continue
        p.existing = existing
        if existing.workflow != p.defn.name:
            problems.append(RowProblem(p.row, "workflow", f"{existing.number} runs workflow {existing.workflow}, not {p.defn.name}; an import cannot change it"))
            continue
        if existing.workflow_version != p.defn.version:
            problems.append(RowProblem(
                p.row, "workflow_version",
                f"{existing.number} runs {existing.workflow} v{existing.workflow_version}; moving it to v{p.defn.version} is `tkksd workflow migrate`, not an import",
            ))
            continue
        p.number = existing.number
        stored_parent = number_of.get(existing.parent_id) if existing.parent_id else None
        p.changes = _diff(ctx, p, stored_parent)
        since_stored = ctx.clock.local(existing.state_entered_at).date()
        if p.state != existing.lifecycle_state:
            p.notes.append(f"state {existing.lifecycle_state} -> {p.state}")
        if p.state_since is not None and p.state_since != since_stored:
            p.notes.append(f"state_since {since_stored.isoformat()} -> {p.state_since.isoformat()}")
        if p.parent != stored_parent and "parent" in sheet_keys(keys):
            p.notes.append(f"parent {stored_parent or '-'} -> {p.parent or '-'}")
        elif "parent" not in sheet_keys(keys):
            p.parent = stored_parent
        if p.changes:
            p.notes.append("changed " + ", ".join(sorted(p.changes)))
        p.action = "update" if p.notes else "same"
    return plans, problems


def find_conflicts(conn: Connection, plans: list[RowPlan]) -> list[RowProblem]:
    """Rows that would move their agreement backwards in its lifecycle, or overwrite what
    changed in tkksd since the agreement was last imported; their plans become ``conflict``."""
    updates = [p for p in plans if p.action == "update"]
    imported_at = _last_import_seqs(conn, [p.existing.id for p in updates])
    conflicts = []
    for p in updates:
        a = p.existing
        if moves_backwards(p.defn, a.lifecycle_state, p.state):
            message = (f"{a.number} is '{a.lifecycle_state}' in tkksd; the sheet's '{p.state}' would move it backwards "
                       "(an import never rewinds an agreement)")
            conflicts.append(RowProblem(p.row, "state", message, a.number))
        elif a.id in imported_at and a.history_seq > imported_at[a.id]:
            message = (f"{a.number} was changed in tkksd after it was imported (it is now '{a.lifecycle_state}', "
                       f"version {a.version}); the sheet would overwrite that ({'; '.join(p.notes)})")
            conflicts.append(RowProblem(p.row, None, message, a.number))
        else:
            continue
        p.action = "conflict"
    return conflicts


def _last_import_seqs(conn: Connection, ids: list[int]) -> dict[int, int]:
    """agreement id -> seq of its newest history row of kind ``import`` (if any)."""
    out: dict[int, int] = {}
    for i in range(0, len(ids), 500):
        q = (sa.select(history.c.agreement_id, sa.func.max(history.c.seq))
             .where(history.c.kind == "import", history.c.agreement_id.in_(ids[i:i + 500]))
             .group_by(history.c.agreement_id))
        out.update({agreement_id: seq for agreement_id, seq in conn.execute(q)})
    return out


def sheet_keys(keys: list[str | None]) -> set[str]:
    return {k for k in keys if k}


# ------------------------------------------------------------------------- writing


def _fix_counters(conn: Connection, numbers: list[str]) -> None:
    """Raise each PREFIX-YEAR counter to at least the highest imported number in it."""
    top: dict[str, int] = {}
    for n in numbers:
        m = NUMBER_RE.match(n)
        if m:
            scope = f"{m.group(1)}-{m.group(2)}"
            top[scope] = max(top.get(scope, 0), int(m.group(3)))
    if not top:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(id_counters)
    stmt = stmt.on_conflict_do_update(
        index_elements=[id_counters.c.scope],
        set_={"last_value": sa.case((stmt.excluded.last_value > id_counters.c.last_value, stmt.excluded.last_value),
                                    else_=id_counters.c.last_value)},
    )
    conn.execute(stmt, [{"scope": s, "last_value": v} for s, v in sorted(top.items())])


def _entered_at(ctx: Context, plan: RowPlan) -> datetime | None:
    if plan.state_since is None:
        signed = plan.values.get("signed_on")
        return ctx.clock.start_of_day(signed) if isinstance(signed, date) and plan.state != plan.defn.initial else None
    return ctx.clock.start_of_day(plan.state_since)


def _number_year(p: RowPlan) -> int | None:
    """The year an agreement without id is numbered in: the year it was signed (KS-2022-...)."""
    signed = p.values.get("signed_on")
    return signed.year if isinstance(signed, date) else None


def apply_plans(conn: Connection, ctx: Context, plans: list[RowPlan], *, actor: str, source: str, note_extra: str = "") -> ImportResult:
    """Write the plans through the kernel: new agreements in one batch, changed ones in
    another (each with its history row of kind ``import``), then the sheet's parent links."""
    from engine.lifecycle.services import resolve_actor

    result = ImportResult(source, False)
    who = resolve_actor(conn, actor)
    if not (who.holds("secretariat")):
        raise PermissionDenied(f"Only the secretariat (or an admin) may import agreements; '{actor}' is neither.")
    now = ctx.clock.now()
    suffix = f"; {note_extra}" if note_extra else ""

    new = [p for p in plans if p.action == "new"]
    created = kernel.create_many(conn, ctx, [
        kernel.New(p.defn, p.values, p.state, note=f"imported from {source} row {p.row} by {actor}{suffix}",
                   number=p.number, import_key=p.import_key, entered_at=_entered_at(ctx, p),
                   year=_number_year(p))
        for p in new
    ], actor=actor, kind="import", event="import", at=now)
    for p, t in zip(new, created):
        p.number = t.number
        result.added.append(t.number)

    updates = [p for p in plans if p.action == "update"]
    kernel.change_many(conn, ctx, [
        kernel.Change(p.existing, p.defn, "import", p.state, actor, "import",
                      note=f"imported from {source} row {p.row} by {actor}: {'; '.join(p.notes)}{suffix}",
                      supplied=p.changes, entered_at=_entered_at(ctx, p) if p.state_since is not None else None)
        for p in updates
    ], at=now)
    result.updated = [p.number for p in updates]
    result.unchanged = sum(1 for p in plans if p.action == "same")
    _link_parents(conn, plans)
    _fix_counters(conn, [p.number for p in plans if p.number])
    return result


def _link_parents(conn: Connection, plans: list[RowPlan]) -> None:
    """Parent links (a parent may be a row of this very sheet, inserted above)."""
    linked = [p for p in plans if p.action in ("new", "update") and p.parent]
    cleared = [p for p in plans if p.action == "update" and not p.parent and p.existing.parent_id]
    if not (linked or cleared):
        return
    names = sorted({p.parent for p in linked})
    ids: dict[str, int] = {}
    for i in range(0, len(names), 500):
        for r in conn.execute(sa.select(agreements.c.id, agreements.c.number).where(agreements.c.number.in_(names[i:i + 500]))):
            ids[r.number] = r.id
    links: dict[str, int | None] = {p.number: ids[p.parent] for p in linked}
    links.update({p.number: None for p in cleared})
    kernel.link_parents(conn, links)


def max_import_rows(ctx: Context) -> int:
    """The most rows one import takes ([import] max_rows): stated, and enforced while reading."""
    try:
        return max(1, int(ctx.settings.get("import", "max_rows", 200_000)))
    except (TypeError, ValueError):
        from engine.errors import ConfigurationError

        raise ConfigurationError("[import] max_rows must be a whole number of rows.") from None


def import_file(ctx: Context, path: str | Path, actor: str, *, dry_run: bool = False, source: str | None = None,
                note_extra: str = "", skip_conflicts: bool = False, progress=None) -> ImportResult:
    """Validate ``path`` and, unless ``dry_run`` or a row is bad, write it in one transaction.

    Raises ``ImportRefused`` (with every problem) when a row is bad and ``dry_run`` is false,
    ``ImportConflicts`` when a row would rewind its agreement or overwrite what changed in tkksd
    since it was imported, unless ``skip_conflicts`` (those rows are then left alone and listed
    in ``conflicts``).
    """
    sheet = sheets.read(path, header_names(sheets.columns(ctx.registry)), max_rows=max_import_rows(ctx))
    sheet.on_progress = progress
    source = source or Path(path).name
    if dry_run:
        with db.read(ctx.engine) as conn:
            plans, problems = plan_rows(conn, ctx, sheet)
            conflicts = find_conflicts(conn, plans) if not problems else []
        result = ImportResult(source, True, rows=len(sheet.rows), problems=problems, conflicts=conflicts)
        if not problems:
            result.added = [p.number or f"(row {p.row})" for p in plans if p.action == "new"]
            result.updated = [p.number for p in plans if p.action == "update"]
            result.unchanged = sum(1 for p in plans if p.action == "same")
        return result
    with db.write(ctx.engine) as conn:
        plans, problems = plan_rows(conn, ctx, sheet)
        if problems:
            raise ImportRefused(source, problems)
        conflicts = find_conflicts(conn, plans)
        if conflicts and not skip_conflicts:
            raise ImportConflicts(source, conflicts)
        result = apply_plans(conn, ctx, plans, actor=actor, source=source, note_extra=note_extra)
        result.conflicts = conflicts
    result.rows = len(sheet.rows)
    return result
