"""Wilayah and potential cooperation: `tkksd wilayah list|of`, `tkksd potensi add|list|show|status|promote|export`."""

from __future__ import annotations

import click

from .common import actor, context, emit_json, table


@click.group()
def wilayah():
    """Kecamatan, kelurahan and desa of Kukar with their IKN delineation status.

    \b
    Example:
      tkksd wilayah list --kecamatan 64.02.13
      tkksd wilayah of KS-2026-0001
    """


@wilayah.command("list")
@click.option("--kecamatan", default=None, help="Only this kecamatan (code or name) and its units.")
@click.option("--level", type=click.Choice(["kecamatan", "kelurahan", "desa"]), default=None, help="Only this level.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def wilayah_list(kecamatan, level, as_json):
    """List the units: code, name, level, kecamatan, head, IKN delineation status.

    \b
    Example:
      tkksd wilayah list --kecamatan Samboja
      tkksd wilayah list --level kecamatan --json
    """
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
                raise NotFound(f"'{kecamatan}' is not a kecamatan; `tkksd wilayah list --level kecamatan` lists them.")
            code = units[0].code
            q = q.where(sa.or_(table_.c.code == code, table_.c.parent_code == code))
        if level:
            q = q.where(table_.c.level == level)
        rows = [unit_dict(r) for r in conn.execute(q)]
    if not rows and not kecamatan:
        raise DatabaseNotReady("The wilayah table is empty; run `tkksd init` to load the kecamatan, kelurahan and desa.")
    if as_json:
        emit_json(rows)
        return
    table(_labelled(rows, ctx.lang), [("code", "kode"), ("name", "nama"), ("level_label", "tingkat"), ("kecamatan", "kecamatan"),
                                      ("head_title", "kepala"), ("ikn_label", "delineasi IKN")])


def _labelled(units: list[dict], lang: str) -> list[dict]:
    """Labels for people: the level and the delineation status in words."""
    from engine.inventory.wilayah_report import STATUS_LABELS

    levels = {"kecamatan": "Kecamatan", "kelurahan": "Kelurahan", "desa": "Desa"}
    return [{**u, "level_label": levels[u["level"]], "ikn_label": STATUS_LABELS[lang][u["ikn_status"]]} for u in units]


@wilayah.command("of")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def wilayah_of(ref, as_json):
    """Where an agreement is located, the IKN status of each unit, and its IKN decision deadline.

    \b
    Example:
      tkksd wilayah of KS-2026-0001 --json
    """
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
    from notifiers.formatting import tanggal

    if not units:
        click.echo(f"{row.number} has no location yet (`tkksd fire {row.number} <event> --set location=...`).")
        return
    table(_labelled(units, ctx.lang), [("code", "kode"), ("name", "nama"), ("level_label", "tingkat"),
                                       ("ikn_label", "delineasi IKN"), ("ikn_source", "sumber")])
    english = ctx.lang == "en"
    if due:
        by = ctx.clock.local(due).date()
        click.echo(f"IKN decision (hand over, re-scope or end) due by {by.isoformat()}." if english else
                   f"Keputusan terkait IKN (serahkan/batasi/akhiri) paling lambat {tanggal(by)}.")
    if out["ikn_assessed_on"]:
        from datetime import date

        from engine.lifecycle.labels import choice_label

        relevance = choice_label("ikn_relevance", out["ikn_relevance"], ctx.lang)
        on = date.fromisoformat(out["ikn_assessed_on"])
        click.echo(f"IKN relevance: {relevance}, last assessed on {on.isoformat()}." if english else
                   f"Keterkaitan dengan IKN: {relevance}, dinilai terakhir {tanggal(on)}.")


@wilayah.command("agreements")
@click.option("--kecamatan", default=None, help="A kecamatan (code or name); default: the acting user's kecamatan.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def wilayah_agreements(kecamatan, as_json):
    """The agreements located in a kecamatan or its kelurahan and desa (what its users act on).

    \b
    Example:
      TKKSD_USER=camat-samboja tkksd wilayah agreements
      tkksd wilayah agreements --kecamatan "Loa Kulu" --json
    """
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
                raise InvalidInput(f"'{kecamatan}' is not a kecamatan; `tkksd wilayah list --level kecamatan` lists them.")
            code = units[0].code
        else:
            code = territory.kecamatan_code(conn, resolve_actor(conn, actor()).opd_code)
            if code is None:
                raise InvalidInput("You are not a user of a kecamatan; name one with --kecamatan.")
        ids = territory.agreement_ids_in(conn, code)
        rows = conn.execute(sa.select(agreements.c.number, agreements.c.title, agreements.c.workflow,
                                      agreements.c.lifecycle_state, agreements.c.lead_opd)
                            .where(agreements.c.id.in_(ids)).order_by(agreements.c.number)).all() if ids else []
    out = [{"id": r.number, "title": r.title, "workflow": r.workflow, "state": r.lifecycle_state, "lead_opd": r.lead_opd}
           for r in rows]
    if as_json:
        emit_json(out)
        return
    table(out, [("id", "nomor"), ("title", "judul"), ("workflow", "alur"), ("state", "status"), ("lead_opd", "OPD")])


# ------------------------------------------------------------------------- potensi


@click.group()
def potensi():
    """The register of potential cooperation with IKN (OIKN's inventory request).

    \b
    Example:
      tkksd potensi add --field transport --description "Angkutan umum Samboja - IKN" \\
            --proposer DISHUB --counterpart "Deputi Transformasi Hijau dan Digital" --form PKS
      tkksd potensi status PI-2026-0001 dikaji
      tkksd potensi promote PI-2026-0001
      tkksd potensi export potensi-ikn.xlsx
    """


def _print(p: dict) -> None:
    for key, label in (("id", "Nomor"), ("field", "Urusan"), ("description", "Uraian"), ("proposer_name", "Pengusul"),
                       ("ikn_counterpart", "Mitra di IKN"), ("expected_form", "Bentuk"), ("status_label", "Status"),
                       ("agreement", "Kerja sama"), ("note", "Catatan")):
        if p.get(key):
            click.echo(f"{label:<14}: {p[key]}")


@potensi.command("add")
@click.option("--field", required=True, help="Urusan (e.g. transport, food_security, clean_water).")
@click.option("--description", required=True, help="What the cooperation would be.")
@click.option("--proposer", required=True, help="The proposing OPD code, or a kecamatan/kelurahan/desa (code or name).")
@click.option("--counterpart", required=True, help="The IKN counterpart (OIKN deputy or directorate).")
@click.option("--form", required=True, help="Expected form: KB, PKS or BMD.")
@click.option("--note", default=None)
@click.option("--json", "as_json", is_flag=True)
def potensi_add(field, description, proposer, counterpart, form, note, as_json):
    """Register a potential cooperation (status gagasan).

    \b
    Example:
      tkksd potensi add --field transport --description "Angkutan umum Samboja - IKN" --proposer DISHUB \\
            --counterpart "Deputi Transformasi Hijau dan Digital OIKN" --form PKS
    """
    from engine.inventory import potensi as service

    p = service.add(context(), actor(), field=field, description=description, proposer=proposer,
                    counterpart=counterpart, form=form, note=note)
    emit_json(p) if as_json else click.echo(f"Registered {p['id']} ({p['status_label']}).")


@potensi.command("list")
@click.option("--status", default=None)
@click.option("--field", default=None)
@click.option("--json", "as_json", is_flag=True)
def potensi_list(status, field, as_json):
    """List the register.

    \b
    Example:
      tkksd potensi list --field transport --json
    """
    from engine.inventory import potensi as service

    rows = service.list_all(context(), status=status, field=field)
    if as_json:
        emit_json(rows)
        return
    table(rows, [("id", "nomor"), ("field", "urusan"), ("description", "uraian"), ("proposer", "pengusul"),
                 ("expected_form", "bentuk"), ("status_label", "status"), ("agreement", "kerja sama")])


@potensi.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
def potensi_show(ref, as_json):
    """Show one entry.

    \b
    Example:
      tkksd potensi show PI-2026-0001
    """
    from engine.inventory import potensi as service

    p = service.show(context(), ref)
    emit_json(p) if as_json else _print(p)


@potensi.command("status")
@click.argument("ref")
@click.argument("status")
@click.option("--note", default=None)
def potensi_status(ref, status, note):
    """Move an entry: gagasan -> dikaji -> siap_diusulkan, or ditolak.

    \b
    Example:
      tkksd potensi status PI-2026-0001 dikaji --note "Dibahas dengan Dishub"
    """
    from engine.inventory import potensi as service

    p = service.set_status(context(), actor(), ref, status, note)
    click.echo(f"{p['id']} is now {p['status_label']}.")


@potensi.command("promote")
@click.argument("ref")
@click.option("--opd", "lead_opd", default=None, help="The lead OPD (default: the proposer's OPD or kecamatan).")
@click.option("--json", "as_json", is_flag=True)
def potensi_promote(ref, lead_opd, as_json):
    """Open a proposed agreement from an entry that is siap_diusulkan.

    \b
    Example:
      tkksd potensi promote PI-2026-0001
    """
    from engine.inventory import potensi as service

    p = service.promote(context(), actor(), ref, lead_opd)
    emit_json(p) if as_json else click.echo(f"{p['id']} is now {p['status_label']}: agreement {p['agreement']}.")


@potensi.command("export")
@click.argument("path")
def potensi_export(path):
    """Write the inventory for OIKN as XLSX, grouped by field (transport first).

    \b
    Example:
      tkksd potensi export potensi-ikn.xlsx
    """
    from engine.errors import InvalidInput
    from engine.inventory.wilayah_report import write_oikn_xlsx
    from engine.store import db

    if not path.lower().endswith(".xlsx"):
        raise InvalidInput(f"The OIKN export is an XLSX file; '{path}' does not end in .xlsx.")
    ctx = context()
    try:
        with db.read(ctx.engine) as conn:
            n = write_oikn_xlsx(ctx, conn, path)
    except OSError as exc:
        raise InvalidInput(f"Cannot write {path}: {exc.strerror}.") from None
    click.echo(f"Wrote {n} potential cooperation entries to {path}.")
