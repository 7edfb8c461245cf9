"""The register of potential cooperation with IKN (what OIKN's letter asked Kukar to list).

An entry names a field (urusan; transport first), a description, the proposing OPD or unit
(kecamatan, kelurahan, desa), the IKN counterpart and the expected form (KB, PKS, BMD use). Its
status moves gagasan -> dikaji -> siap_diusulkan -> diusulkan, or ditolak; ``promote`` opens a
proposed agreement linked to it, in the same transaction that marks it ``diusulkan``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.context import Context
from engine.errors import InvalidInput, NotFound, PermissionDenied
from engine.i18n import N_, _, in_language
from engine.store import db
from engine.store.tables import agreements, id_counters, opds, potensi, wilayah

STATUSES = ("gagasan", "dikaji", "siap_diusulkan", "diusulkan", "ditolak")
STATUS_LABELS = {"gagasan": N_("Idea"), "dikaji": N_("Under study"), "siap_diusulkan": N_("Ready to be proposed"),
                 "diusulkan": N_("Proposed"), "ditolak": N_("Rejected")}
# The moves a person makes with `potensi status`; `diusulkan` comes only from `promote`.
MOVES = {"gagasan": ("dikaji", "ditolak"), "dikaji": ("siap_diusulkan", "gagasan", "ditolak"),
         "siap_diusulkan": ("dikaji", "ditolak"), "diusulkan": (), "ditolak": ()}
FORMS = {"KB": "Kesepakatan Bersama", "PKS": "Perjanjian Kerja Sama", "BMD": "Pemanfaatan Barang Milik Daerah"}
FIRST_FIELDS = ("transport",)  # OIKN's letter names transport first


def status_label(status: str, lang: str | None = None) -> str:
    """A status as people read it, in ``lang`` (default: the language the process speaks)."""
    message = STATUS_LABELS.get(status)
    if message is None:
        return status
    return in_language(message, lang) if lang else _(message)


def _fields(ctx: Context) -> tuple[str, ...]:
    """The urusan a potential cooperation may belong to: the kerja-sama workflow's field choices."""
    return tuple(ctx.registry.latest("kerja-sama").field("field").choices)


def _next_number(conn: Connection, year: int) -> str:
    scope = f"PI-{year}"
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(id_counters).values(scope=scope, last_value=1).on_conflict_do_update(
        index_elements=[id_counters.c.scope], set_={"last_value": id_counters.c.last_value + 1})
    return f"{scope}-{conn.execute(stmt.returning(id_counters.c.last_value)).scalar_one():04d}"


def _proposer(conn: Connection, code: str) -> dict[str, str]:
    """An OPD code or a wilayah unit code (or unambiguous unit name) -> {code, name, opd}."""
    code = code.strip()
    opd = conn.execute(sa.select(opds).where(opds.c.code == code.upper(), opds.c.active.is_(True))).first()
    if opd is not None:
        return {"code": opd.code, "name": opd.name, "opd": opd.code}
    from engine.lifecycle.locations import kecamatan_of, resolve

    try:
        unit = resolve(conn, code)[0]
    except (InvalidInput, IndexError):
        raise NotFound(_("'{code}' is neither an OPD code nor a kecamatan, kelurahan or desa; "
                         "`tkksd opd list` and `tkksd wilayah list` show them.").format(code=code)) from None
    kec = conn.execute(sa.select(opds.c.code).where(opds.c.kemendagri_code == kecamatan_of(unit))).scalar()
    return {"code": unit.code, "name": f"{unit.level.capitalize()} {unit.name}", "opd": kec or ""}


def _actor(conn: Connection, login: str):
    from engine.lifecycle.services import resolve_actor

    return resolve_actor(conn, login)


def _may_write(actor, opd_code: str) -> bool:
    return actor.holds("secretariat") or actor.holds("tkksd") or ("opd" in actor.roles and actor.opd_code == opd_code)


def add(ctx: Context, login: str, *, field: str, description: str, proposer: str, counterpart: str, form: str,
        note: str | None = None) -> dict[str, Any]:
    field = field.strip().lower()
    if field not in _fields(ctx):
        raise _not_an_urusan(ctx, field)
    form = form.strip().upper()
    if form not in FORMS:
        raise InvalidInput(_("The expected form must be one of {choices}, not '{form}'.").format(
            choices=", ".join(FORMS), form=form))
    if not description.strip() or not counterpart.strip():
        raise InvalidInput(_("A potential cooperation needs a description and its IKN counterpart (--counterpart)."))
    with db.write(ctx.engine) as conn:
        actor = _actor(conn, login)
        who = _proposer(conn, proposer)
        if not _may_write(actor, who["opd"]):
            raise PermissionDenied(_("User '{login}' may not register potential cooperation for {proposer} (the "
                                     "secretariat, TKKSD members and the proposer's own users may).").format(
                login=login, proposer=who["code"]))
        now = ctx.clock.now()
        number = _next_number(conn, ctx.clock.today().year)
        conn.execute(potensi.insert().values(
            number=number, field=field, description=description.strip(), proposer=who["code"],
            ikn_counterpart=counterpart.strip(), expected_form=form, status="gagasan", note=note,
            agreement_id=None, created_by=login, created_at=now, updated_at=now))
        return _shown(conn, _find(conn, number))


def _find(conn: Connection, ref: str):
    row = conn.execute(sa.select(potensi).where(potensi.c.number == ref.strip().upper())).first()
    if row is None:
        raise NotFound(_("No potential cooperation '{ref}'; `tkksd potensi list` shows them.").format(ref=ref))
    return row


def _shown(conn: Connection, row) -> dict[str, Any]:
    agreement = None
    if row.agreement_id is not None:
        agreement = conn.execute(sa.select(agreements.c.number).where(agreements.c.id == row.agreement_id)).scalar()
    name = conn.execute(sa.select(opds.c.name).where(opds.c.code == row.proposer)).scalar()
    if name is None:
        unit = conn.execute(sa.select(wilayah.c.name, wilayah.c.level).where(wilayah.c.code == row.proposer)).first()
        name = f"{unit.level.capitalize()} {unit.name}" if unit else row.proposer
    return {
        "id": row.number, "field": row.field, "description": row.description, "proposer": row.proposer,
        "proposer_name": name, "ikn_counterpart": row.ikn_counterpart, "expected_form": row.expected_form,
        "status": row.status, "status_label": status_label(row.status), "note": row.note, "agreement": agreement,
        "created_by": row.created_by, "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
    }


def show(ctx: Context, ref: str) -> dict[str, Any]:
    with db.read(ctx.engine) as conn:
        return _shown(conn, _find(conn, ref))


def _not_an_urusan(ctx: Context, field: str) -> InvalidInput:
    return InvalidInput(_("'{field}' is not an urusan; choose one of {choices}.").format(
        field=field, choices=", ".join(_fields(ctx))))


def list_all(ctx: Context, *, status: str | None = None, field: str | None = None) -> list[dict[str, Any]]:
    """The register, filtered; an unknown filter value is refused naming the valid ones (a typo
    would otherwise read as an empty register)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(_("'{status}' is not a status of the register; choose one of {choices}.").format(
            status=status, choices=", ".join(STATUSES)))
    if field is not None and field not in _fields(ctx):
        raise _not_an_urusan(ctx, field)
    q = sa.select(potensi).order_by(potensi.c.id)
    if status:
        q = q.where(potensi.c.status == status)
    if field:
        q = q.where(potensi.c.field == field)
    with db.read(ctx.engine) as conn:
        return [_shown(conn, r) for r in conn.execute(q).all()]


def set_status(ctx: Context, login: str, ref: str, status: str, note: str | None = None) -> dict[str, Any]:
    status = status.strip().lower().replace(" ", "_")
    with db.write(ctx.engine) as conn:
        row = _find(conn, ref)
        actor = _actor(conn, login)
        if not (actor.holds("secretariat") or actor.holds("tkksd")):
            raise PermissionDenied(_("Only the secretariat and TKKSD members move potential cooperation on; "
                                     "'{login}' is neither.").format(login=login))
        if status not in MOVES[row.status]:
            allowed = ", ".join(MOVES[row.status]) or _("none")
            if row.status == "siap_diusulkan":
                allowed += " " + _("(or `tkksd potensi promote {ref}`, which makes it diusulkan)").format(ref=row.number)
            raise InvalidInput(_("{ref} is '{status}' and cannot become '{new}'; allowed: {allowed}.").format(
                ref=row.number, status=row.status, new=status, allowed=allowed))
        conn.execute(potensi.update().where(potensi.c.id == row.id).values(
            status=status, note=note or row.note, updated_at=ctx.clock.now()))
        return _shown(conn, _find(conn, ref))


def promote(ctx: Context, login: str, ref: str, lead_opd: str | None = None) -> dict[str, Any]:
    """Open a proposed agreement from a potential cooperation that is ready (``siap_diusulkan``)."""
    from engine.lifecycle.services import insert_agreement, parse_values

    with db.write(ctx.engine) as conn:
        row = _find(conn, ref)
        if row.status != "siap_diusulkan":
            raise InvalidInput(_("{ref} is '{status}'; only an entry that is 'siap_diusulkan' can be promoted "
                                 "(`tkksd potensi status {ref} siap_diusulkan`).").format(ref=row.number, status=row.status))
        actor = _actor(conn, login)
        lead = (lead_opd or _proposer(conn, row.proposer)["opd"]).upper()
        if not lead:
            raise InvalidInput(_("{ref} was proposed by {proposer}, which has no OPD; give the lead OPD with --opd.").format(
                ref=row.number, proposer=row.proposer))
        if not conn.execute(sa.select(opds.c.code).where(opds.c.code == lead, opds.c.active.is_(True))).first():
            raise NotFound(_("Unknown OPD code '{code}'; `tkksd opd list` shows the directory.").format(code=lead))
        if not _may_write(actor, lead):
            raise PermissionDenied(_("User '{login}' may not register agreements for {opd} (the secretariat, TKKSD "
                                     "members and the lead OPD's own users may).").format(login=login, opd=lead))
        workflow = "pemanfaatan-bmd" if row.expected_form == "BMD" else "kerja-sama"
        defn = ctx.registry.latest(workflow)
        raw = {"title": row.description[:200], "partner": f"Otorita Ibu Kota Nusantara ({row.ikn_counterpart})",
               "lead_opd": lead, "partner_type": "otorita_ikn", "objective": row.description, "ikn_relevance": "direct"}
        if workflow == "kerja-sama":
            raw.update(document_kind=row.expected_form, category="SINERGI_IKN", field=row.field)
        unit = conn.execute(sa.select(wilayah.c.code).where(wilayah.c.code == row.proposer)).scalar()
        if unit and defn.has_field("location"):
            raw["location"] = unit
        values = parse_values(defn, {k: v for k, v in raw.items() if defn.has_field(k)})
        t = insert_agreement(conn, ctx, defn, values=values, state=defn.initial, actor=login,
                             note=f"from potential cooperation {row.number}")
        conn.execute(potensi.update().where(potensi.c.id == row.id).values(
            status="diusulkan", agreement_id=t.agreement_id, updated_at=ctx.clock.now()))
        return _shown(conn, _find(conn, ref))


def load_file(ctx: Context, login: str, path) -> tuple[int, int]:
    """Entries from a CSV (field, description, proposer, counterpart, form, status, note; lines
    starting with '#' are comments), skipping those already registered with the same description.
    Returns (added, already there); used by `tkksd demo`."""
    import csv

    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    with db.read(ctx.engine) as conn:
        known = set(conn.execute(sa.select(potensi.c.description)).scalars())
    added = 0
    for row in rows:
        if row["description"] in known:
            continue
        p = add(ctx, login, field=row["field"], description=row["description"], proposer=row["proposer"],
                counterpart=row["counterpart"], form=row["form"], note=row.get("note") or None)
        path_to = {"gagasan": [], "dikaji": ["dikaji"], "siap_diusulkan": ["dikaji", "siap_diusulkan"], "ditolak": ["ditolak"]}
        for status in path_to[row["status"]]:
            set_status(ctx, login, p["id"], status)
        added += 1
    return added, len(rows) - added
