"""Importing agreements from a sheet (CSV or XLSX): validate every row, then write all or nothing.

The rule (docs/import.md):

* Every row is checked; each problem is reported as row, column and one plain sentence. One
  bad row and nothing is written (``ImportRefused``).
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

How it scales: the sheet is streamed and taken ``CHUNK_ROWS`` rows at a time: checked, compared
with the stored agreements they name, and (unless a dry run) written through the kernel's
batched ``create_many``/``change_many``, all in one transaction, so that a bad row further down
rolls back what the chunks above it wrote. What is kept across chunks does not grow with the
sheet: counters, the first ``KEPT_PROBLEMS`` problems and conflicts, the first ``KEPT_IDS``
numbers, and a ledger on disk (``import_ledger.Ledger``) of the rows already seen (duplicates, parents).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from workflows import guards
from workflows.spec import WorkflowDefinition

from engine.store import db

from engine.inventory import sheets
from engine.context import Context
from engine.inventory.import_ledger import Ledger
from engine.inventory.sheet_dates import to_date
from engine.errors import ConfigurationError, ImportConflicts, ImportRefused, PermissionDenied
from engine.lifecycle import kernel
from engine.lifecycle.agreement import Agreement
from engine.lifecycle.lifecycle_order import moves_backwards
from engine.store.tables import agreements, history, id_counters, opds
from engine.lifecycle import locations

NUMBER_RE = re.compile(r"^([A-Z][A-Z0-9]{0,9})-(\d{4})-(\d{1,6})$")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Rows checked, looked up and written together: the import holds one chunk of rows at a time.
CHUNK_ROWS = 2000
# Problems and conflicts kept for the summary (the CLI prints 200); the rest are counted.
KEPT_PROBLEMS = 1000
# Numbers of added and updated agreements listed in the summary; the rest are counted.
KEPT_IDS = 1000
# The progress callback is told (rows done, rows in all) this often.
PROGRESS_EVERY = 1000
# The most rows one import takes unless [import] max_rows says otherwise (a spreadsheet holds 1,048,576).
DEFAULT_MAX_ROWS = 1_000_000
# Chunk of names looked up with one IN (...) query.
LOOKUP_CHUNK = 500


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
    stored_parent: str | None = None  # the stored agreement's parent number
    action: str = "new"  # new | update | same | conflict
    changes: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _keep(items: list, item: Any, limit: int) -> None:
    if len(items) < limit:
        items.append(item)


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do): counts, and the first problems,
    conflicts and numbers (a summary of a million rows does not hold a million of anything)."""

    path: str
    dry_run: bool
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    added_ids: list[str] = field(default_factory=list)  # the first KEPT_IDS
    updated_ids: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)  # the first KEPT_PROBLEMS
    problem_count: int = 0
    problem_rows: int = 0  # rows with at least one problem
    conflicts: list[RowProblem] = field(default_factory=list)  # rows left alone (--skip-conflicts)
    conflict_count: int = 0

    def add_problems(self, found: list[RowProblem]) -> None:
        """The problems of one row (none: nothing to note)."""
        if found:
            self.problem_rows += 1
            self.problem_count += len(found)
            for p in found:
                _keep(self.problems, p, KEPT_PROBLEMS)

    def add_conflict(self, conflict: RowProblem) -> None:
        self.conflict_count += 1
        _keep(self.conflicts, conflict, KEPT_PROBLEMS)

    def count_added(self, number: str) -> None:
        self.added += 1
        _keep(self.added_ids, number, KEPT_IDS)

    def count_updated(self, number: str) -> None:
        self.updated += 1
        _keep(self.updated_ids, number, KEPT_IDS)

    def only_problems(self) -> None:
        """A sheet with problems would change nothing: only they are reported."""
        self.added = self.updated = self.unchanged = self.conflict_count = 0
        self.added_ids, self.updated_ids, self.conflicts = [], [], []
        self.problems.sort(key=lambda p: p.row)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path, "dry_run": self.dry_run, "rows": self.rows, "added": self.added,
            "updated": self.updated, "unchanged": self.unchanged, "added_ids": self.added_ids,
            "updated_ids": self.updated_ids, "problems": [p.as_dict() for p in self.problems],
            "problem_count": self.problem_count, "conflicts": [p.as_dict() for p in self.conflicts],
            "conflict_count": self.conflict_count, "ids_listed_at_most": KEPT_IDS,
            "problems_listed_at_most": KEPT_PROBLEMS,
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
        # Sheets repeat their locations: each distinct one is resolved once (a bounded cache).
        self._by_key: dict[str, WorkflowDefinition] = {}
        self._located = functools.lru_cache(maxsize=4096)(self._location_problems)

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

    def location_problems(self, defn: WorkflowDefinition, values: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        """(column, sentence) for a ``location`` or ``desa_parties`` naming no unit, or the wrong kind."""
        location, parties = values.get("location"), values.get("desa_parties")
        if location is None and parties is None:
            return ()
        self._by_key.setdefault(defn.key, defn)
        return self._located(defn.key, location, parties)

    def _location_problems(self, defn_key: str, location: Any, parties: Any) -> tuple[tuple[str, str], ...]:
        values = {"location": location, "desa_parties": parties}
        return tuple(locations.row_problems(self._by_key[defn_key], values, self.units))


# ------------------------------------------------------------------------- checking one row
#
# A row is checked in steps, each adding what it finds wrong to the row's list of problems:
# its workflow first (every other step needs the definition), then its number, state and
# date, its core values, its field values, the date rules between them, its locations, its
# parent. A row with any problem gives no plan.

Bad = Callable[[str | None, str], None]


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
    """The row's plan, or None with what is wrong with it added to ``problems``."""
    start = len(problems)

    def bad(column: str | None, message: str) -> None:
        problems.append(RowProblem(number_row, column, message))

    defn = _row_definition(chk, raw, bad)
    if defn is None:
        return None
    number = _row_number(defn, raw, bad)
    state = _row_state(defn, raw, bad)
    since = _row_since(chk, raw, bad)
    values = _core_values(chk, raw, bad)
    present = _field_values(chk, defn, raw, values, bad)
    _date_rule_problems(chk, defn, values, bad)
    for key, message in chk.location_problems(defn, values):
        bad(key, message)
    parent = _row_parent(raw, number, bad)
    if len(problems) > start:
        return None
    import_key = None if number else _row_key(defn.name, values)
    return RowPlan(number_row, number, import_key, defn, state, since, values, frozenset(present), parent)


def _row_definition(chk: _Checker, raw: Mapping[str, Any], bad: Bad) -> WorkflowDefinition | None:
    try:
        return chk.defn(raw.get("workflow"), raw.get("workflow_version"), raw.get("id"))
    except ValueError as exc:
        bad("workflow_version" if "version" in str(exc) and raw.get("workflow") else "workflow", str(exc))
        return None


def _row_number(defn: WorkflowDefinition, raw: Mapping[str, Any], bad: Bad) -> str | None:
    """The agreement number the row gives (None: a number is given at import)."""
    number = raw.get("id")
    if number is None:
        return None
    number = str(number).strip().upper()
    if not NUMBER_RE.match(number):
        bad("id", f"id '{raw.get('id')}' is not an agreement number like {defn.id_prefix}-2021-0042")
        return None
    return number


def _row_state(defn: WorkflowDefinition, raw: Mapping[str, Any], bad: Bad) -> str | None:
    """The state's code; its label in place of the code is accepted ("Terintegrasi (berjalan)")."""
    state = raw.get("state")
    if state is None:
        bad("state", f"needs a state ({', '.join(s.name for s in defn.states)})")
        return None
    state = str(state).strip()
    if defn.has_state(state):
        return state
    by_label = [s.name for s in defn.states if state.lower() in (s.label.id.lower(), s.label.en.lower(), s.name.lower())]
    if by_label:
        return by_label[0]
    bad("state", f"unknown state '{state}' for workflow {defn.name} (states: {', '.join(s.name for s in defn.states)})")
    return None


def _row_since(chk: _Checker, raw: Mapping[str, Any], bad: Bad) -> date | None:
    since = raw.get("state_since")
    if since is None:
        return None
    try:
        since = _as_date(since)
    except ValueError as exc:
        bad("state_since", f"state_since {exc}")
        return None
    if since > chk.today:
        bad("state_since", f"state_since {since.isoformat()} is in the future (today is {chk.today.isoformat()})")
    return since


def _core_values(chk: _Checker, raw: Mapping[str, Any], bad: Bad) -> dict[str, Any]:
    """Title, partner and lead OPD (a code, or the OPD's name as the directory writes it)."""
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
        if CONTROL_CHARACTERS.search(v):
            bad(key, f"{key} contains control characters")
            continue
        values[key] = v
    return values


def _field_values(chk: _Checker, defn: WorkflowDefinition, raw: Mapping[str, Any], values: dict[str, Any],
                  bad: Bad) -> set[str]:
    """Adds the typed values of the workflow's field columns to ``values``; returns the field
    columns the sheet has (an empty cell among them clears the stored value)."""
    present = set()
    fields = chk.fields(defn)
    raw = _location_alias(fields, raw)
    for key, v in raw.items():
        if key in sheets.FIXED:
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
    return present


def _date_rule_problems(chk: _Checker, defn: WorkflowDefinition, values: Mapping[str, Any], bad: Bad) -> None:
    """The workflow's ``after`` rules (an end before its start) and ``not_future`` rules."""
    after, not_future = chk.date_rules(defn)
    for key, other in after:
        a, b = values.get(key), values.get(other)
        if isinstance(a, date) and isinstance(b, date) and a <= b:
            bad(key, f"{key} {a.isoformat()} must be after {other} {b.isoformat()} (the end comes before the start)")
    for key in not_future:
        v = values.get(key)
        if isinstance(v, date) and v > chk.today:
            bad(key, f"{key} {v.isoformat()} is in the future (today is {chk.today.isoformat()})")


def _row_parent(raw: Mapping[str, Any], number: str | None, bad: Bad) -> str | None:
    parent = raw.get("parent")
    if parent is None:
        return None
    parent = str(parent).strip().upper()
    if not NUMBER_RE.match(parent):
        bad("parent", f"parent '{raw.get('parent')}' is not an agreement number")
        return None
    if number is not None and parent == number:
        bad("parent", "an agreement cannot be its own parent")
        return None
    return parent


# ------------------------------------------------------------------------- one chunk: check


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _check_chunk(chk: _Checker, rows: list[tuple[int, dict[str, Any]]], ledger: Ledger,
                 result: ImportResult) -> list[RowPlan]:
    """The plans of the chunk's good rows; the problems of the others go to ``result``."""
    plans = []
    for number_row, raw in rows:
        found: list[RowProblem] = []
        plan = check_row(chk, number_row, raw, found)
        if plan is not None:
            first = ledger.first_row(plan.number or plan.import_key, number_row)
            if first is None:
                plans.append(plan)
            else:
                what = f"id {plan.number}" if plan.number else "the same workflow, title, partner and lead OPD (and no id)"
                found.append(RowProblem(number_row, "id", f"duplicate: row {first} already has {what}"))
        result.add_problems(found)
    return plans


# ------------------------------------------------------------------------- one chunk: compare with the database


def _stored_plain(row) -> dict[str, Any]:
    out = {"title": row.title, "partner": row.partner, "lead_opd": row.lead_opd}
    out.update({k: v for k, v in (row.data or {}).items() if v is not None})
    return out


def _diff(plan: RowPlan) -> dict[str, Any]:
    stored = _stored_plain(plan.existing)
    changes: dict[str, Any] = {}
    for key in (*sheets.CORE_FIELDS, *sorted(plan.present)):
        new = guards.to_plain(plan.values.get(key))
        if stored.get(key) != new:
            changes[key] = plan.values.get(key)
    return changes


def _in_chunks(conn: Connection, column, names: list) -> Iterator[Any]:
    """The agreements whose ``column`` is among ``names``, looked up LOOKUP_CHUNK at a time."""
    for i in range(0, len(names), LOOKUP_CHUNK):
        yield from conn.execute(sa.select(agreements).where(column.in_(names[i:i + LOOKUP_CHUNK])))


@dataclass
class _Stored:
    """The stored agreements a chunk's rows name (by number, by import key) and the numbers
    of their parents."""

    by_number: dict[str, Agreement]
    by_key: dict[str, Agreement]
    number_of: dict[int, str]


def _stored_for(conn: Connection, plans: list[RowPlan]) -> _Stored:
    numbers = [p.number for p in plans if p.number]
    parents = sorted({p.parent for p in plans if p.parent})
    by_number = {r.number: Agreement.from_row(r) for r in _in_chunks(conn, agreements.c.number, list(dict.fromkeys(numbers + parents)))}
    by_key = {r.import_key: Agreement.from_row(r)
              for r in _in_chunks(conn, agreements.c.import_key, [p.import_key for p in plans if p.import_key])}
    parent_ids = sorted({a.parent_id for a in (*by_number.values(), *by_key.values()) if a.parent_id})
    number_of = {r.id: r.number for r in _in_chunks(conn, agreements.c.id, parent_ids)}
    return _Stored(by_number, by_key, number_of)


def _compare_chunk(conn: Connection, ctx: Context, plans: list[RowPlan], ledger: Ledger, result: ImportResult,
                   *, parent_column: bool) -> list[RowPlan]:
    """Each plan compared with its stored agreement: new, update or same; the plans that can go
    on (a plan whose parent is nowhere, or that would change its workflow, is a problem)."""
    stored = _stored_for(conn, plans)
    out = []
    for p in plans:
        if p.parent and p.parent not in stored.by_number and not ledger.has(p.parent):
            ledger.defer_parent(p.row, p.parent)  # it may be a row further down
        existing = stored.by_number.get(p.number) if p.number else stored.by_key.get(p.import_key)
        if existing is None:
            p.action = "new"
        else:
            problem = _workflow_problem(p, existing)
            if problem is not None:
                result.add_problems([problem])
                continue
            _plan_update(ctx, p, existing, stored.number_of, parent_column)
        out.append(p)
    return out


def _workflow_problem(p: RowPlan, existing: Agreement) -> RowProblem | None:
    if existing.workflow != p.defn.name:
        return RowProblem(p.row, "workflow", f"{existing.number} runs workflow {existing.workflow}, not {p.defn.name}; an import cannot change it")
    if existing.workflow_version != p.defn.version:
        return RowProblem(
            p.row, "workflow_version",
            f"{existing.number} runs {existing.workflow} v{existing.workflow_version}; moving it to v{p.defn.version} is `tkksd workflow migrate`, not an import",
        )
    return None


def _plan_update(ctx: Context, p: RowPlan, existing: Agreement, number_of: Mapping[int, str], parent_column: bool) -> None:
    """What the row changes of its stored agreement (its notes name it): ``update`` or ``same``."""
    p.existing = existing
    p.number = existing.number
    p.stored_parent = number_of.get(existing.parent_id) if existing.parent_id else None
    p.changes = _diff(p)
    since_stored = ctx.clock.local(existing.state_entered_at).date()
    if p.state != existing.lifecycle_state:
        p.notes.append(f"state {existing.lifecycle_state} -> {p.state}")
    if p.state_since is not None and p.state_since != since_stored:
        p.notes.append(f"state_since {since_stored.isoformat()} -> {p.state_since.isoformat()}")
    if not parent_column:
        p.parent = p.stored_parent  # a sheet without the column leaves the link alone
    elif p.parent != p.stored_parent:
        p.notes.append(f"parent {p.stored_parent or '-'} -> {p.parent or '-'}")
    if p.changes:
        p.notes.append("changed " + ", ".join(sorted(p.changes)))
    p.action = "update" if p.notes else "same"


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
    for i in range(0, len(ids), LOOKUP_CHUNK):
        q = (sa.select(history.c.agreement_id, sa.func.max(history.c.seq))
             .where(history.c.kind == "import", history.c.agreement_id.in_(ids[i:i + LOOKUP_CHUNK]))
             .group_by(history.c.agreement_id))
        out.update({agreement_id: seq for agreement_id, seq in conn.execute(q)})
    return out


def sheet_keys(keys: list[str | None]) -> set[str]:
    return {k for k in keys if k}


# ------------------------------------------------------------------------- writing


def _fix_counters(conn: Connection, top: Mapping[str, int]) -> None:
    """Raise each PREFIX-YEAR counter to at least the highest imported number in it."""
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


def _raise_top(top: dict[str, int], number: str) -> None:
    """Note ``number`` in ``top`` (PREFIX-YEAR -> highest number seen)."""
    m = NUMBER_RE.match(number)
    if m:
        scope = f"{m.group(1)}-{m.group(2)}"
        top[scope] = max(top.get(scope, 0), int(m.group(3)))


def _entered_at(ctx: Context, plan: RowPlan) -> datetime | None:
    if plan.state_since is None:
        signed = plan.values.get("signed_on")
        return ctx.clock.start_of_day(signed) if isinstance(signed, date) and plan.state != plan.defn.initial else None
    return ctx.clock.start_of_day(plan.state_since)


def _number_year(p: RowPlan) -> int | None:
    """The year an agreement without id is numbered in: the year it was signed (KS-2022-...)."""
    signed = p.values.get("signed_on")
    return signed.year if isinstance(signed, date) else None


def _require_importer(conn: Connection, actor: str) -> None:
    from engine.lifecycle.services import resolve_actor

    if not resolve_actor(conn, actor).holds("secretariat"):
        raise PermissionDenied(f"Only the secretariat (or an admin) may import agreements; '{actor}' is neither.")


class _Writer:
    """Writes an import's plans a chunk at a time through the kernel, inside the caller's
    transaction: new agreements with ``create_many``, changed ones with ``change_many`` (each
    with its history row of kind ``import``); parent links and id counters once every row exists."""

    def __init__(self, conn: Connection, ctx: Context, *, actor: str, source: str, note_extra: str):
        self.conn, self.ctx, self.actor, self.source = conn, ctx, actor, source
        self.suffix = f"; {note_extra}" if note_extra else ""
        self.now = ctx.clock.now()
        self.top: dict[str, int] = {}  # PREFIX-YEAR -> the highest number imported in it

    def write(self, plans: list[RowPlan], ledger: Ledger, result: ImportResult) -> None:
        new = [p for p in plans if p.action == "new"]
        created = kernel.create_many(self.conn, self.ctx, [self._new(p) for p in new], actor=self.actor, kind="import",
                                     event="import", at=self.now, chunk=CHUNK_ROWS)
        for p, t in zip(new, created):
            p.number = t.number
            result.count_added(t.number)
        updates = [p for p in plans if p.action == "update"]
        kernel.change_many(self.conn, self.ctx, [self._change(p) for p in updates], at=self.now)
        for p in updates:
            result.count_updated(p.number)
        for p in plans:
            self._remember(p, ledger, result)

    def _new(self, p: RowPlan) -> kernel.New:
        return kernel.New(p.defn, p.values, p.state, note=f"imported from {self.source} row {p.row} by {self.actor}{self.suffix}",
                          number=p.number, import_key=p.import_key, entered_at=_entered_at(self.ctx, p),
                          year=_number_year(p))

    def _change(self, p: RowPlan) -> kernel.Change:
        return kernel.Change(p.existing, p.defn, "import", p.state, self.actor, "import",
                             note=f"imported from {self.source} row {p.row} by {self.actor}: {'; '.join(p.notes)}{self.suffix}",
                             supplied=p.changes, entered_at=_entered_at(self.ctx, p) if p.state_since is not None else None)

    def _remember(self, p: RowPlan, ledger: Ledger, result: ImportResult) -> None:
        """The plan's parent link (written at the end: the parent may be a row further down) and number."""
        if p.action == "same":
            result.unchanged += 1
        if p.action in ("new", "update") and p.parent != p.stored_parent:
            ledger.link(p.number, p.parent)
        if p.number:
            _raise_top(self.top, p.number)

    def finish(self, ledger: Ledger) -> None:
        """Parent links (a parent may be a row of this very sheet, inserted after its child),
        then the id counters."""
        for batch in ledger.links(LOOKUP_CHUNK):
            names = sorted({parent for _, parent in batch if parent})
            ids = {r.number: r.id for r in _in_chunks(self.conn, agreements.c.number, names)}
            kernel.link_parents(self.conn, {number: ids[parent] if parent else None for number, parent in batch})
        _fix_counters(self.conn, self.top)


# ------------------------------------------------------------------------- the import


def max_import_rows(ctx: Context) -> int:
    """The most rows one import takes ([import] max_rows): stated, and enforced while reading."""
    try:
        return max(1, int(ctx.settings.get("import", "max_rows", DEFAULT_MAX_ROWS)))
    except (TypeError, ValueError):
        raise ConfigurationError("[import] max_rows must be a whole number of rows.") from None


Progress = Callable[[int, "int | None"], None]


def _pass(conn: Connection, ctx: Context, sheet: sheets.Sheet, result: ImportResult, *, writer: _Writer | None,
          skip_conflicts: bool, progress: Progress | None) -> None:
    """Every row of ``sheet`` checked and compared, a chunk at a time; each chunk written while
    nothing is wrong (once a row is bad, or a conflict is not to be skipped, the import will be
    refused: the rest is only checked, to report every problem)."""
    cols = sheets.columns(ctx.registry)
    keys, header_problems = map_header(sheet.header, cols, sheet.header_row)
    if header_problems:
        result.problem_count, result.problem_rows, result.problems = len(header_problems), 1, header_problems
        return
    chk = _Checker(conn, ctx, cols)
    parent_column = "parent" in sheet_keys(keys)
    with Ledger() as ledger:
        for rows in _chunks(sheets.iter_dicts(sheet, keys), CHUNK_ROWS):
            plans = _compare_chunk(conn, ctx, _check_chunk(chk, rows, ledger, result), ledger, result,
                                   parent_column=parent_column)
            for conflict in find_conflicts(conn, plans):
                result.add_conflict(conflict)
            _count_or_write(plans, writer, ledger, result, skip_conflicts)
            _report(progress, result.rows, result.rows + len(rows), sheet.total)
            result.rows += len(rows)
        for row, parent in ledger.parents_nowhere():
            result.add_problems([RowProblem(row, "parent", f"parent {parent} is neither in this sheet nor in the database")])
        if writer is not None and _may_write(result, skip_conflicts):
            writer.finish(ledger)
    if progress is not None:
        progress(result.rows, result.rows)


def _may_write(result: ImportResult, skip_conflicts: bool) -> bool:
    return result.problem_count == 0 and (skip_conflicts or result.conflict_count == 0)


def _count_or_write(plans: list[RowPlan], writer: _Writer | None, ledger: Ledger, result: ImportResult,
                    skip_conflicts: bool) -> None:
    if writer is not None and _may_write(result, skip_conflicts):
        writer.write(plans, ledger, result)
        return
    if writer is not None:
        return  # the import will be refused: nothing to count
    for p in plans:  # a dry run: what would be added and updated
        if p.action == "new":
            result.count_added(p.number or f"(row {p.row})")
        elif p.action == "update":
            result.count_updated(p.number)
        elif p.action == "same":
            result.unchanged += 1


def _report(progress: Progress | None, before: int, after: int, total: int | None) -> None:
    """Tell ``progress`` each multiple of PROGRESS_EVERY passed between ``before`` and ``after``."""
    if progress is None:
        return
    for done in range((before // PROGRESS_EVERY + 1) * PROGRESS_EVERY, after + 1, PROGRESS_EVERY):
        if done != total:  # the last report comes once the whole sheet is done
            progress(done, total)


def import_file(ctx: Context, path: str | Path, actor: str, *, dry_run: bool = False, source: str | None = None,
                note_extra: str = "", skip_conflicts: bool = False, progress: Progress | None = None) -> ImportResult:
    """Validate ``path`` and, unless ``dry_run`` or a row is bad, write it in one transaction.

    Raises ``ImportRefused`` (with the first problems and their count) when a row is bad and
    ``dry_run`` is false, ``ImportConflicts`` when a row would rewind its agreement or overwrite
    what changed in tkksd since it was imported, unless ``skip_conflicts`` (those rows are then
    left alone and listed in ``conflicts``). ``progress(done, total)`` is told every
    PROGRESS_EVERY rows (``total``: None when the sheet does not say) and once at the end.
    """
    source = source or Path(path).name
    result = ImportResult(source, dry_run)
    names = header_names(sheets.columns(ctx.registry))
    with sheets.open_sheet(path, names, max_rows=max_import_rows(ctx), lang=ctx.lang) as sheet:
        if dry_run:
            with db.read(ctx.engine) as conn:
                _pass(conn, ctx, sheet, result, writer=None, skip_conflicts=skip_conflicts, progress=progress)
            if result.problem_count:
                result.only_problems()
            return result
        with db.write(ctx.engine) as conn:
            _require_importer(conn, actor)
            writer = _Writer(conn, ctx, actor=actor, source=source, note_extra=note_extra)
            _pass(conn, ctx, sheet, result, writer=writer, skip_conflicts=skip_conflicts, progress=progress)
            _refuse_unless_clean(result, source, skip_conflicts)
    return result


def _refuse_unless_clean(result: ImportResult, source: str, skip_conflicts: bool) -> None:
    """Raised inside the transaction, so that what the chunks above wrote is rolled back."""
    if result.problem_count:
        result.only_problems()
        raise ImportRefused(source, result.problems, total=result.problem_count, rows=result.problem_rows)
    if result.conflict_count and not skip_conflicts:
        raise ImportConflicts(source, result.conflicts, total=result.conflict_count)
