"""Wilayah and potential cooperation: `tkksd wilayah list|of`, `tkksd potensi add|list|show|status|promote|export`."""

from __future__ import annotations

import click

from engine.i18n import N_, _

from .common import actor, context, emit_json, table
from .tables import Column


@click.group(help=N_(
    "Kecamatan, kelurahan and desa of Kukar with their IKN delineation status.\n\n"
    "\b\nExample:\n"
    "  tkksd wilayah list --kecamatan 64.02.13\n"
    "  tkksd wilayah of KS-2026-0001"))
def wilayah():
    pass


def _not_a_kecamatan(name: str) -> str:
    return _("'{name}' is not a kecamatan; `tkksd wilayah list --level kecamatan` lists them.").format(name=name)


@wilayah.command("list", help=N_(
    "List the units: code, name, level, kecamatan, head, IKN delineation status.\n\n"
    "\b\nExample:\n"
    "  tkksd wilayah list --kecamatan Samboja\n"
    "  tkksd wilayah list --level kecamatan --json"))
@click.option("--kecamatan", default=None, help=N_("Only this kecamatan (code or name) and its units."))
@click.option("--level", type=click.Choice(["kecamatan", "kelurahan", "desa"]), default=None, help=N_("Only this level."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def wilayah_list(kecamatan, level, as_json):
    import sqlalchemy as sa

    from engine.errors import DatabaseNotReady, NotFound
    from engine.lifecycle.locations import resolve, unit_dict
    from engine.store import db
    from engine.store.tables import wilayah as table_

    ctx = context()
    with db.read(ctx.engine) as conn:
        q = sa.select(table_).where(table_.c.active.is_(True)).order_by(table_.c.code)
        if kecamatan:
            units = resolve(conn, kecamatan)
            if not units or units[0].level != "kecamatan":
                raise NotFound(_not_a_kecamatan(kecamatan))
            code = units[0].code
            q = q.where(sa.or_(table_.c.code == code, table_.c.parent_code == code))
        if level:
            q = q.where(table_.c.level == level)
        rows = [unit_dict(r) for r in conn.execute(q)]
    if not rows and not kecamatan:
        raise DatabaseNotReady(_("The wilayah table is empty; run `tkksd init` to load the kecamatan, kelurahan and desa."))
    if as_json:
        emit_json(rows)
        return
    table(_labelled(rows, ctx.lang), [Column("code", _("Code"), keep=True), Column("name", _("Name"), wide=True),
                                      Column("level_label", _("Level")), Column("kecamatan", _("Kecamatan")),
                                      Column("head_title", _("Head")), Column("ikn_label", _("IKN delineation"))])


def _labelled(units: list[dict], lang: str) -> list[dict]:
    """Labels for people: the level and the delineation status in words (kecamatan, kelurahan
    and desa are what these units are called in either language)."""
    from engine.inventory.wilayah_report import STATUS_LABELS

    levels = {"kecamatan": "Kecamatan", "kelurahan": "Kelurahan", "desa": "Desa"}
    return [{**u, "level_label": levels[u["level"]], "ikn_label": STATUS_LABELS["en" if lang == "en" else "id"][u["ikn_status"]]}
            for u in units]


@wilayah.command("of", help=N_(
    "Where an agreement is located, the IKN status of each unit, and its IKN decision deadline.\n\n"
    "\b\nExample:\n"
    "  tkksd wilayah of KS-2026-0001 --json"))
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def wilayah_of(ref, as_json):
    import sqlalchemy as sa

    from engine.lifecycle.locations import locations_of
    from engine.lifecycle.services import find_agreement
    from engine.store import db
    from engine.store.tables import deadlines

    ctx = context()
    with db.read(ctx.engine) as conn:
        row = find_agreement(conn, ref)
        units = locations_of(conn, row.id)
        due = conn.execute(sa.select(sa.func.min(deadlines.c.due_at)).where(
            deadlines.c.agreement_id == row.id, deadlines.c.rule == "ikn_decision", deadlines.c.status == "pending")).scalar()
    data = row.data or {}
    out = {"id": row.number, "units": units, "ikn_delineation": data.get("ikn_delineation"),
           "ikn_decision_due": ctx.clock.local(due).date().isoformat() if due else None,
           "ikn_relevance": data.get("ikn_relevance"), "ikn_assessed_on": data.get("ikn_assessed_on")}
    if as_json:
        emit_json(out)
        return
    from engine.i18n import day, days_from_today

    if not units:
        click.echo(_("{ref} has no location yet (`tkksd fire {ref} <event> --set location=...`).").format(ref=row.number))
        return
    # The source of each status (research notes, in English) stays in --json: a person reads the status.
    table(_labelled(units, ctx.lang), [Column("code", _("Code"), keep=True), Column("name", _("Name"), wide=True),
                                       Column("level_label", _("Level")), Column("ikn_label", _("IKN delineation"))])
    if due:
        due_day = ctx.clock.local(due).date()
        click.echo(_("The decision on IKN (hand over, re-scope or end) is due by {day} ({when}).").format(
            day=day(due_day), when=days_from_today((due_day - ctx.clock.today()).days)))
    if out["ikn_assessed_on"]:
        from datetime import date

        from engine.lifecycle.labels import choice_label

        relevance = choice_label("ikn_relevance", out["ikn_relevance"], ctx.lang)
        click.echo(_("IKN relevance: {relevance}, last assessed on {day}.").format(
            relevance=relevance, day=day(date.fromisoformat(out["ikn_assessed_on"]))))


@wilayah.command("agreements", help=N_(
    "The agreements located in a kecamatan or its kelurahan and desa (what its users act on).\n\n"
    "\b\nExample:\n"
    "  TKKSD_USER=camat-samboja tkksd wilayah agreements\n"
    "  tkksd wilayah agreements --kecamatan \"Loa Kulu\" --json"))
@click.option("--kecamatan", default=None, help=N_("A kecamatan (code or name); default: the acting user's kecamatan."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def wilayah_agreements(kecamatan, as_json):
    import sqlalchemy as sa

    from engine.errors import InvalidInput
    from engine.lifecycle import territory
    from engine.lifecycle.locations import resolve
    from engine.lifecycle.services import resolve_actor
    from engine.store import db
    from engine.store.tables import agreements

    ctx = context()
    with db.read(ctx.engine) as conn:
        if kecamatan:
            units = resolve(conn, kecamatan)
            if not units or units[0].level != "kecamatan":
                raise InvalidInput(_not_a_kecamatan(kecamatan))
            code = units[0].code
        else:
            code = territory.kecamatan_code(conn, resolve_actor(conn, actor()).opd_code)
            if code is None:
                raise InvalidInput(_("You are not a user of a kecamatan; name one with --kecamatan."))
        ids = territory.agreement_ids_in(conn, code)
        rows = conn.execute(sa.select(agreements.c.number, agreements.c.title, agreements.c.workflow,
                                      agreements.c.workflow_version, agreements.c.lifecycle_state, agreements.c.lead_opd)
                            .where(agreements.c.id.in_(ids)).order_by(agreements.c.number)).all() if ids else []
    out = [{"id": r.number, "title": r.title, "workflow": r.workflow, "state": r.lifecycle_state, "lead_opd": r.lead_opd}
           for r in rows]
    if as_json:
        emit_json(out)
        return
    labelled = [{**a, "workflow_label": _workflow_label(ctx, r), "state_label": _state_label(ctx, r)} for a, r in zip(out, rows)]
    table(labelled, [Column("id", _("Number"), keep=True), Column("title", _("Title"), wide=True),
                     Column("workflow_label", _("Workflow")), Column("state_label", _("State")),
                     Column("lead_opd", "OPD", keep=True)])


def _definition(ctx, row):
    try:
        return ctx.registry.get(row.workflow, row.workflow_version)
    except LookupError:
        return None


def _workflow_label(ctx, row) -> str:
    defn = _definition(ctx, row)
    return defn.label.get(ctx.lang) if defn is not None else row.workflow


def _state_label(ctx, row) -> str:
    defn = _definition(ctx, row)
    state = row.lifecycle_state
    return defn.state(state).label.get(ctx.lang) if defn is not None and defn.has_state(state) else state


# ------------------------------------------------------------------------- potensi


@click.group(help=N_(
    "The register of potential cooperation with IKN (OIKN's inventory request).\n\n"
    "\b\nExample:\n"
    "  tkksd potensi add --field transport --description \"Angkutan umum Samboja - IKN\" \\\n"
    "        --proposer DISHUB --counterpart \"Deputi Transformasi Hijau dan Digital\" --form PKS\n"
    "  tkksd potensi status PI-2026-0001 dikaji\n"
    "  tkksd potensi promote PI-2026-0001\n"
    "  tkksd potensi export potensi-ikn.xlsx"))
def potensi():
    pass


# What `potensi show` prints, in this order (the labels translated when shown).
SHOWN = (("id", N_("Number")), ("field_label", N_("Field")), ("description", N_("Description")),
         ("proposer_name", N_("Proposer")), ("ikn_counterpart", N_("IKN counterpart")), ("expected_form", N_("Form")),
         ("status_label", N_("Status")), ("agreement", N_("Agreement")), ("note", N_("Note")))


def _field_label(key: str) -> str:
    from engine.i18n import language
    from engine.inventory.wilayah_report import field_label

    return field_label(key, language())


def _print(p: dict) -> None:
    shown = {**p, "field_label": _field_label(p["field"])}
    labels = [(key, _(label)) for key, label in SHOWN]
    width = max(len(label) for _key, label in labels)
    for key, label in labels:
        if shown.get(key):
            click.echo(f"{label:<{width}} : {shown[key]}")


@potensi.command("add", help=N_(
    "Register a potential cooperation (status gagasan).\n\n"
    "\b\nExample:\n"
    "  tkksd potensi add --field transport --description \"Angkutan umum Samboja - IKN\" --proposer DISHUB \\\n"
    "        --counterpart \"Deputi Transformasi Hijau dan Digital OIKN\" --form PKS"))
@click.option("--field", required=True, help=N_("Urusan (e.g. transport, food_security, clean_water)."))
@click.option("--description", required=True, help=N_("What the cooperation would be."))
@click.option("--proposer", required=True, help=N_("The proposing OPD code, or a kecamatan/kelurahan/desa (code or name)."))
@click.option("--counterpart", required=True, help=N_("The IKN counterpart (OIKN deputy or directorate)."))
@click.option("--form", required=True, help=N_("Expected form: KB, PKS or BMD."))
@click.option("--note", default=None, help=N_("A note kept with the entry."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def potensi_add(field, description, proposer, counterpart, form, note, as_json):
    from engine.inventory import potensi as service

    p = service.add(context(), actor(), field=field, description=description, proposer=proposer,
                    counterpart=counterpart, form=form, note=note)
    if as_json:
        emit_json(p)
        return
    click.echo(_("Registered {ref} ({status}).").format(ref=p["id"], status=p["status_label"]))


@potensi.command("list", help=N_(
    "List the register.\n\n"
    "\b\nExample:\n"
    "  tkksd potensi list --field transport --json"))
@click.option("--status", default=None, help=N_("Only entries with this status (gagasan, dikaji, siap_diusulkan, diusulkan, ditolak)."))
@click.option("--field", default=None, help=N_("Only entries of this urusan."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def potensi_list(status, field, as_json):
    from engine.inventory import potensi as service

    rows = service.list_all(context(), status=status, field=field)
    if as_json:
        emit_json(rows)
        return
    shown = [{**r, "field_label": _field_label(r["field"])} for r in rows]
    table(shown, [Column("id", _("Number"), keep=True), Column("field_label", _("Field")),
                  Column("description", _("Description"), wide=True), Column("proposer", _("Proposer")),
                  Column("expected_form", _("Form")), Column("status_label", _("Status")),
                  Column("agreement", _("Agreement"), keep=True)])


@potensi.command("show", help=N_(
    "Show one entry.\n\n"
    "\b\nExample:\n"
    "  tkksd potensi show PI-2026-0001"))
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def potensi_show(ref, as_json):
    from engine.inventory import potensi as service

    p = service.show(context(), ref)
    emit_json(p) if as_json else _print(p)


@potensi.command("status", help=N_(
    "Move an entry: gagasan -> dikaji -> siap_diusulkan, or ditolak.\n\n"
    "\b\nExample:\n"
    "  tkksd potensi status PI-2026-0001 dikaji --note \"Dibahas dengan Dishub\""))
@click.argument("ref")
@click.argument("status")
@click.option("--note", default=None, help=N_("A note kept with the entry."))
def potensi_status(ref, status, note):
    from engine.inventory import potensi as service

    p = service.set_status(context(), actor(), ref, status, note)
    click.echo(_("{ref} is now {status}.").format(ref=p["id"], status=p["status_label"]))


@potensi.command("promote", help=N_(
    "Open a proposed agreement from an entry that is siap_diusulkan.\n\n"
    "\b\nExample:\n"
    "  tkksd potensi promote PI-2026-0001"))
@click.argument("ref")
@click.option("--opd", "lead_opd", default=None, help=N_("The lead OPD (default: the proposer's OPD or kecamatan)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def potensi_promote(ref, lead_opd, as_json):
    from engine.inventory import potensi as service

    p = service.promote(context(), actor(), ref, lead_opd)
    if as_json:
        emit_json(p)
        return
    click.echo(_("{ref} is now {status}: agreement {agreement}.").format(
        ref=p["id"], status=p["status_label"], agreement=p["agreement"]))


@potensi.command("export", help=N_(
    "Write the inventory for OIKN as XLSX, grouped by field (transport first).\n\n"
    "\b\nExample:\n"
    "  tkksd potensi export potensi-ikn.xlsx"))
@click.argument("path")
def potensi_export(path):
    from engine.errors import InvalidInput
    from engine.inventory.wilayah_report import write_oikn_xlsx
    from engine.store import db

    if not path.lower().endswith(".xlsx"):
        raise InvalidInput(_("The OIKN export is an XLSX file; '{path}' does not end in .xlsx.").format(path=path))
    ctx = context()
    try:
        with db.read(ctx.engine) as conn:
            n = write_oikn_xlsx(ctx, conn, path)
    except OSError as exc:
        raise InvalidInput(_("Cannot write {path}: {reason}.").format(path=path, reason=exc.strerror)) from None
    click.echo(_("Wrote {count} potential cooperation entries to {path}.").format(count=n, path=path))
