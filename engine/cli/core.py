"""Core commands: init, users, OPDs, agreements, events, fire, history, audit.

What they print is for people: in the reader's language, states, events, fields and choices by
their labels, times in the regency's zone (WITA). ``--json`` is for programs and keeps codes and
ISO-8601 times.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click

from engine.i18n import N_

from . import completion
from .common import actor, check_visible, context, emit_json, identity, opd_filter, parse_sets, table

# History rows that are no event of the workflow: how people read them.
OWN_EVENTS = {
    "create": N_("registered"),
    "import": N_("imported"),
    "migrate": N_("moved to another workflow version"),
}

# A field's type as people fill it in (`events` says what each missing value looks like).
FIELD_KINDS = {
    "text": N_("text"),
    "date": N_("a date as YYYY-MM-DD"),
    "bool": N_("yes or no"),
    "number": N_("a number"),
    "opd": N_("an OPD code"),
    "reference": N_("a reference number"),
}


def _state_label(defn, state: str | None) -> str:
    from engine.i18n import language

    if state is None:
        return ""
    return defn.state(state).label.get(language()) if defn is not None and defn.has_state(state) else state


def _definition(ctx, workflow: str, version: int):
    try:
        return ctx.registry.get(workflow, version)
    except LookupError:
        return None


@click.command(help=N_("Create or upgrade the database, load the OPD directory, and make you the first admin.\n\n"
                       "Safe to run again: it upgrades the schema if needed and refreshes the directory.\n\n"
                       "\b\nExample:\n"
                       "  tkksd init\n"
                       "  TKKSD_DATABASE_URL=postgresql://tkksd@127.0.0.1/tkksd tkksd init"))
def init():
    from engine.i18n import _, number
    from engine.store import db, home
    from engine.store.directory import sync_directory
    from engine.store.urusan import load_urusan
    from engine.store.wilayah import sync_wilayah
    from engine.lifecycle.services import ensure_first_admin

    ctx = context(check_schema=False, access="init")
    db_file = db.sqlite_path(ctx.engine)
    group = ctx.settings.get("access", "group") or None
    chosen_home = not ctx.settings.get("general", "home")  # by the rule, not configured
    if db_file is not None:
        home.sqlite_folder_ready(db_file, ctx.settings.home, parents=chosen_home)
        if db_file.parent.resolve() == ctx.settings.home.resolve():
            home.prepare_home(ctx.settings.home, parents=chosen_home, group=group)
    before, after = db.upgrade(ctx.engine)
    if db_file is not None:
        home.secure_sqlite_files(db_file, group)
    with db.write(ctx.engine) as conn:
        added, updated = sync_directory(conn, ctx.settings.opd_file)
        urusan = load_urusan(conn, ctx)  # each OPD's urusan
        units_added, units_updated = sync_wilayah(conn, ctx.settings.wilayah_file, ctx.settings.delineation_file)
        me = identity()
        login = me.login
        made_admin = ensure_first_admin(conn, login, ctx.clock.now())
    url = ctx.engine.url.render_as_string(hide_password=True)
    if before is None:
        click.echo(_("Created the tkksd database at {url} (schema {schema}).").format(url=url, schema=after))
    elif before != after:
        click.echo(_("Upgraded the database at {url} from schema {old} to {new}.").format(url=url, old=before, new=after))
    else:
        click.echo(_("The database at {url} is up to date (schema {schema}).").format(url=url, schema=after))
    click.echo(home.where(ctx.settings))
    listed, skipped = urusan
    click.echo(_("OPD directory: {added} added, {updated} updated; {listed} OPD urusan listed.").format(
        added=number(added), updated=number(updated), listed=number(listed)))
    if skipped:
        click.echo(_("OPD urusan of {codes} skipped: not in the OPD directory.").format(codes=", ".join(skipped)))
    click.echo(_("Wilayah (kecamatan, kelurahan, desa): {added} added, {updated} updated.").format(
        added=number(units_added), updated=number(units_updated)))
    if made_admin:
        click.echo(_("User '{login}' is the first admin.").format(login=login))


# ------------------------------------------------------------------------- users and OPDs


@click.group(help=N_("Add and list users. Roles: opd, secretariat, tkksd, chair, admin (admin holds every role).\n\n"
                     "\b\nExample:\n"
                     "  tkksd user add sari --name \"Sari (Bagian Kerjasama)\" --role secretariat\n"
                     "  tkksd user add budi --role opd --opd DKP\n"
                     "  tkksd user list"))
def user():
    pass


def _roles_text(roles) -> str:
    from engine.lifecycle.access import role_label

    return ", ".join(role_label(r) for r in roles)


@user.command("add", help=N_("Add a user (admins only).\n\n"
                             "\b\nExample:\n"
                             "  tkksd user add rina --name \"Rina (Bappeda)\" --role tkksd"))
@click.argument("login")
@click.option("--name", default="", help=N_("Full name."))
@click.option("--role", "roles", multiple=True, required=True, help=N_("A role; repeat for several."))
@click.option("--opd", "opd_code", default=None, help=N_("The user's OPD (required for the role opd)."))
@click.option("--email", default="", help=N_("E-mail address."))
def user_add(login, name, roles, opd_code, email):
    from engine.i18n import _
    from engine.lifecycle.services import add_user

    split = [r for value in roles for r in value.split(",")]
    u = add_user(context(), actor(), login, name, split, opd_code, email)
    if u["opd"]:
        click.echo(_("Added user {login} with the roles {roles} in {opd}.").format(
            login=u["login"], roles=_roles_text(u["roles"]), opd=u["opd"]))
    else:
        click.echo(_("Added user {login} with the roles {roles}.").format(login=u["login"], roles=_roles_text(u["roles"])))


@user.command("list", help=N_("List users and their roles.\n\n"
                              "\b\nExample:\n"
                              "  tkksd user list --json"))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def user_list(as_json):
    from engine.i18n import _
    from engine.lifecycle.services import list_users

    from .tables import Column

    rows = list_users(context())
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        r["roles"] = _roles_text(r["roles"])
    table(rows, [Column("login", _("Login"), keep=True), Column("name", _("Name"), wide=True),
                 Column("roles", _("Roles")), Column("opd", _("OPD"))])


@click.group(help=N_("The OPD directory (dinas, badan, bagian of the Setkab, the 20 kecamatan).\n\n"
                     "\b\nExample:\n"
                     "  tkksd opd list --kind kecamatan"))
def opd():
    pass


@opd.command("list", help=N_("List the OPDs with their heads' e-mail addresses.\n\n"
                             "\b\nExample:\n"
                             "  tkksd opd list"))
@click.option("--kind", default=None, help=N_("Only this kind (dinas, badan, bagian, kecamatan, ...)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def opd_list(kind, as_json):
    from engine.i18n import _
    from engine.lifecycle.services import list_opds

    from .tables import Column

    rows = list_opds(context(), kind)
    if as_json:
        emit_json(rows)
        return
    table(rows, [Column("code", _("Code"), keep=True), Column("kind", _("Kind")), Column("name", _("Name"), wide=True),
                 Column("head_email", _("Head's e-mail"))])


# ------------------------------------------------------------------------- agreements


@click.command(help=N_("Register a new agreement; it starts in the workflow's first state.\n\n"
                       "\b\nExample:\n"
                       "  tkksd add --title \"KB Pengembangan Pangan untuk IKN\" --partner \"Otorita IKN\" \\\n"
                       "            --opd DKP --set partner_type=otorita_ikn --set document_kind=KB --json"))
@click.option("--title", required=True, help=N_("Title (judul/tentang)."))
@click.option("--partner", required=True, help=N_("Partner's name."))
@click.option("--opd", "opd_code", required=True, shell_complete=completion.opd_codes, help=N_("Lead OPD code (see `tkksd opd list`)."))
@click.option("--workflow", default="kerja-sama", show_default=True, help=N_("Workflow name."))
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=N_("A field value; repeat for several."))
@click.option("--note", default=None, help=N_("A note for the history."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print the new agreement as JSON."))
def add(title, partner, opd_code, workflow, sets, note, as_json):
    from engine.i18n import _
    from engine.lifecycle.services import create_agreement

    a = create_agreement(context(), actor(), title=title, partner=partner, opd=opd_code, workflow=workflow,
                         values=parse_sets(sets), note=note)
    if as_json:
        emit_json(a)
    else:
        click.echo(_("Agreement {agreement} registered in state {state}.").format(
            agreement=a["id"], state=a["state_label"] or a["state"]))


@click.command("list", help=N_("List agreements.\n\n"
                               "\b\nExample:\n"
                               "  tkksd list --opd DKP --state integrated\n"
                               "  tkksd list --json"))
@click.option("--state", default=None, help=N_("Only agreements in this state."))
@click.option("--opd", "opd_code", default=None, shell_complete=completion.opd_codes, help=N_("Only agreements led by this OPD."))
@click.option("--workflow", default=None, help=N_("Only this workflow."))
@click.option("--limit", type=click.IntRange(min=1), default=None, help=N_("At most this many."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def list_(state, opd_code, workflow, limit, as_json):
    from engine.i18n import _
    from engine.lifecycle.filters import check_filters
    from engine.lifecycle.services import list_agreements

    from .tables import Column

    ctx = context()
    check_filters(ctx, state=state, opd=opd_code, workflow=workflow)
    rows = list_agreements(ctx, state=state, opd=opd_filter(ctx, opd_code), workflow=workflow, limit=limit)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        r["state_text"] = r["state_label"] or r["state"]
    table(rows, [Column("id", _("ID"), keep=True), Column("state_text", _("State")), Column("lead_opd", _("OPD")),
                 Column("partner", _("Partner")), Column("title", _("Title"), wide=True)])


def _value_text(defn, key: str, value: Any) -> str:
    """A stored value as people read it: choices by label, yes/no, dates and numbers by locale."""
    from engine import i18n
    from engine.lifecycle.labels import choice_label

    kind = defn.field(key).type if defn is not None and defn.has_field(key) else None
    if isinstance(value, bool):
        return i18n.yes_no(value)
    if kind == "choice" and isinstance(value, str):
        return choice_label(key, value, i18n.language())
    if kind == "date" and isinstance(value, str):
        try:
            return i18n.day(date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, (int, float)):
        return i18n.number(value)
    return "" if value is None else str(value)


def _field_label(defn, key: str) -> str:
    from engine.i18n import language

    return defn.field(key).label.get(language()) if defn is not None and defn.has_field(key) else key


def _in_field_order(defn, data: dict) -> list[str]:
    order = [f.key for f in defn.fields] if defn is not None else []
    known = [k for k in order if k in data]
    return known + sorted(k for k in data if k not in order)


def _pairs(rows: list[tuple[str, str]], indent: str = "  ") -> None:
    """Label/value lines with the values aligned."""
    width = max((len(label) for label, _value in rows), default=0)
    for label, value in rows:
        click.echo(f"{indent}{label.ljust(width)}  {value}")


@click.command(help=N_("Show one agreement by its id (KS-2024-0017).\n\n"
                       "\b\nExample:\n"
                       "  tkksd show KS-2024-0017 --json"))
@click.argument("ref", shell_complete=completion.agreement_ids)
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def show(ref, as_json):
    from engine import i18n
    from engine.i18n import _
    from engine.lifecycle.services import show as show_

    ctx = context()
    a = show_(ctx, ref)
    check_visible(ctx, a["id"], a["lead_opd"])
    if as_json:
        emit_json(a)
        return
    defn = _definition(ctx, a["workflow"], a["workflow_version"])
    since = i18n.moment(datetime.fromisoformat(a["state_entered_at"]), ctx.clock.zone)
    state = a["state_label"] or a["state"]
    workflow = defn.label.get(i18n.language()) if defn is not None else a["workflow"]
    rows = [
        (_("Workflow"), _("{workflow} ({name}, version {version})").format(
            workflow=workflow, name=a["workflow"], version=a["workflow_version"])),
        (_("State"), (_("{state} since {moment}, final") if a["final"] else _("{state} since {moment}")).format(
            state=state, moment=since)),
        (_("Lead OPD"), a["lead_opd"]),
        (_("Partner"), a["partner"]),
    ]
    if a["parent"]:
        rows.append((_("Follows up"), a["parent"]))
    if a["children"]:
        rows.append((_("Followed up by"), ", ".join(a["children"])))
    rows.append((_("Registered"), i18n.moment(datetime.fromisoformat(a["created_at"]), ctx.clock.zone)))
    rows.append((_("Last changed"), i18n.moment(datetime.fromisoformat(a["updated_at"]), ctx.clock.zone)))
    click.echo(f"{a['id']}  {a['title']}")
    _pairs(rows)
    # The values set so far, aligned on their own: their labels are longer than the ones above.
    _pairs([(_field_label(defn, k), _value_text(defn, k, a["data"][k])) for k in _in_field_order(defn, a["data"])])


def _missing_text(m: dict) -> str:
    """What one missing value is and what it looks like (`events`)."""
    from engine import i18n
    from engine.errors import labelled
    from engine.lifecycle.labels import choice_label

    name = f"{m['key']} ({m['label']})" if m.get("label") else m["key"]
    if m.get("choices"):
        choices = ", ".join(labelled(c, choice_label(m["key"], c, i18n.language())) for c in m["choices"])
        return i18n._("needs {field}: one of {choices}").format(field=name, choices=choices)
    kind = FIELD_KINDS.get(m["type"])
    if kind is None:
        return i18n._("needs {field}").format(field=name)
    return i18n._("needs {field}: {kind}").format(field=name, kind=i18n._(kind))


@click.command(help=N_("Every event of the agreement's workflow: possible now?, allowed for you?, what is missing.\n\n"
                       "\b\nExample:\n"
                       "  tkksd events KS-2024-0017"))
@click.argument("ref", shell_complete=completion.agreement_ids)
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def events(ref, as_json):
    from engine import i18n
    from engine.errors import labelled
    from engine.i18n import _
    from engine.lifecycle.access import role_label
    from engine.lifecycle.services import events_for, show as show_

    ctx = context()
    check_visible(ctx, ref)
    rows = events_for(ctx, ref, actor())
    if as_json:
        emit_json(rows)
        return
    a = show_(ctx, ref)
    defn = _definition(ctx, a["workflow"], a["workflow_version"])
    possible = [e for e in rows if e["possible_now"]]
    if not possible:
        click.echo(_("Nothing can happen to {agreement} any more: it is {state}.").format(
            agreement=a["id"], state=a["state_label"] or a["state"]))
    marks = {True: i18n.yes_no(True), False: i18n.yes_no(False)}
    width = max(len(m) for m in marks.values())
    for e in possible:
        roles = ", ".join(_("the lead OPD") if r == "opd" else role_label(r) for r in e["roles"])
        click.echo(_("[{allowed}] {event} -> {state}; roles: {roles}").format(
            allowed=marks[e["allowed"]].ljust(width), event=labelled(e["event"], e["label"]),
            state=_state_label(defn, e["to"]), roles=roles))
        for m in e["missing"]:
            click.echo(f"{' ' * (width + 3)}{_missing_text(m)}")
        for p in e["problems"]:
            click.echo(f"{' ' * (width + 3)}{p}")


@click.command(help=N_("Fire EVENT on agreement REF. Values are typed: dates YYYY-MM-DD, yes/no for confirmations.\n\n"
                       "\b\nExample:\n"
                       "  tkksd fire KS-2024-0017 identify --set field=food_security --set objective=\"Pasokan pangan IKN\" \\\n"
                       "        --set partner_type=otorita_ikn --set ikn_relevance=direct\n"
                       "  tkksd fire KS-2024-0017 reject --note \"Tidak sesuai Renstra\""))
@click.argument("ref", shell_complete=completion.agreement_ids)
@click.argument("event", shell_complete=completion.event_names)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=N_("A value the event needs; repeat for several."))
@click.option("--note", default=None, help=N_("A note for the history (counts as the reason where one is required)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print the agreement as JSON afterwards."))
def fire(ref, event, sets, note, as_json):
    from engine.i18n import _
    from engine.lifecycle.services import fire as fire_, show as show_

    ctx = context()
    a = fire_(ctx, actor(), ref, event, values=parse_sets(sets), note=note)
    if as_json:
        emit_json(a)
        return
    click.echo(_("Agreement {agreement} is now {state}.").format(agreement=a["id"], state=a["state_label"] or a["state"]))
    if a.get("created"):
        child = show_(ctx, a["created"])
        click.echo(_("Follow-up {agreement} registered ({state}); `tkksd show {agreement}` shows it.").format(
            agreement=child["id"], state=child["state_label"] or child["state"]))


def _event_label(defn, event: str) -> str:
    from engine.i18n import _, language

    if defn is not None and defn.has_event(event):
        return defn.event(event).label.get(language())
    return _(OWN_EVENTS[event]) if event in OWN_EVENTS else event


@click.command(help=N_("The history of an agreement, oldest first.\n\n"
                       "\b\nExample:\n"
                       "  tkksd history KS-2024-0017 --json"))
@click.argument("ref", shell_complete=completion.agreement_ids)
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def history(ref, as_json):
    from engine import i18n
    from engine.i18n import _
    from engine.lifecycle.access import SYSTEM, role_label
    from engine.lifecycle.services import history_of, show as show_

    from .tables import Column

    ctx = context()
    check_visible(ctx, ref)
    rows = history_of(ctx, ref)
    if as_json:
        # "data": the values supplied with the event (the scorecard, a reason for departing from it)
        emit_json([{k: r[k] for k in ("seq", "event", "from", "to", "actor", "at", "note", "kind", "data")} for r in rows])
        return
    a = show_(ctx, ref)
    defn = _definition(ctx, a["workflow"], a["workflow_version"])
    shown = []
    for r in rows:
        note = r["note"] or ""
        reason = (r.get("data") or {}).get("departure_reason")
        if reason:  # issue 16: a departure from the scorecard is read with its reason
            note = "; ".join(filter(None, [note, _("departs from the score: {reason}").format(reason=reason)]))
        shown.append({
            "seq": r["seq"], "at": i18n.moment(datetime.fromisoformat(r["at"]), ctx.clock.zone),
            "event": _event_label(defn, r["event"]), "from": _state_label(defn, r["from"]), "to": _state_label(defn, r["to"]),
            "actor": role_label(SYSTEM) if r["actor"] == SYSTEM else r["actor"], "note": note,
        })
    table(shown, [Column("seq", "#", keep=True, right=True), Column("at", _("When ({zone})").format(zone=_zone_name(ctx))),
                  Column("event", _("Event")), Column("from", _("From")), Column("to", _("To")),
                  Column("actor", _("By")), Column("note", _("Note"), wide=True)])


def _zone_name(ctx) -> str:
    """The zone's short name people know (WITA), as of now."""
    return ctx.clock.local(ctx.clock.now()).tzname() or str(ctx.clock.zone)


@click.group(help=N_("Audit the history.\n\n"
                     "\b\nExample:\n"
                     "  tkksd audit verify"))
def audit():
    pass


@audit.command("verify", help=N_("Check every agreement's hash chain; exits non-zero naming the first bad row.\n\n"
                                 "\b\nExample:\n"
                                 "  tkksd audit verify"))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def audit_verify(as_json):
    from engine.errors import AuditFailure
    from engine.i18n import _, ngettext, number
    from engine.lifecycle.services import audit_verify as verify

    n_agreements, n_rows, problems = verify(context())
    if as_json:
        emit_json({"agreements": n_agreements, "rows": n_rows, "ok": not problems, "problems": problems})
        if problems:
            raise SystemExit(AuditFailure.exit_code)
        return
    if problems:
        more = ""
        if len(problems) > 1:
            more = " " + ngettext("({count} more agreement affected)", "({count} more agreements affected)",
                                  len(problems) - 1).format(count=number(len(problems) - 1))
        raise AuditFailure(_("History chain broken: {problem}{more}.").format(problem=problems[0], more=more))
    click.echo(_("History verified: {rows} rows of {agreements} agreements, chain intact.").format(
        rows=number(n_rows), agreements=number(n_agreements)))
