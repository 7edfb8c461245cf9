"""Core commands: init, users, OPDs, agreements, events, fire, history, audit."""

from __future__ import annotations

import click

from . import completion
from .common import actor, check_visible, context, emit_json, identity, opd_filter, parse_sets, table


@click.command()
def init():
    """Create or upgrade the database, load the OPD directory, and make you the first admin.

    Safe to run again: it upgrades the schema if needed and refreshes the directory.

    \b
    Example:
      tkksd init
      TKKSD_DATABASE_URL=postgresql://tkksd@127.0.0.1/tkksd tkksd init
    """
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
        click.echo(f"Created the tkksd database at {url} (schema {after}).")
    elif before != after:
        click.echo(f"Upgraded the database at {url} from schema {before} to {after}.")
    else:
        click.echo(f"The database at {url} is up to date (schema {after}).")
    click.echo(home.where(ctx.settings))
    listed, skipped = urusan
    click.echo(f"OPD directory: {added} added, {updated} updated; {listed} OPD urusan listed.")
    if skipped:
        click.echo(f"OPD urusan of {', '.join(skipped)} skipped: not in the OPD directory.")
    click.echo(f"Wilayah (kecamatan, kelurahan, desa): {units_added} added, {units_updated} updated.")
    if made_admin:
        click.echo(f"User '{login}' is the first admin.")


# ------------------------------------------------------------------------- users and OPDs


@click.group()
def user():
    """Add and list users. Roles: opd, secretariat, tkksd, chair, admin (admin holds every role).

    \b
    Example:
      tkksd user add sari --name "Sari (Bagian Kerjasama)" --role secretariat
      tkksd user add budi --role opd --opd DKP
      tkksd user list
    """


@user.command("add")
@click.argument("login")
@click.option("--name", default="", help="Full name.")
@click.option("--role", "roles", multiple=True, required=True, help="A role; repeat for several.")
@click.option("--opd", "opd_code", default=None, help="The user's OPD (required for the role opd).")
@click.option("--email", default="", help="E-mail address.")
def user_add(login, name, roles, opd_code, email):
    """Add a user (admins only).

    \b
    Example:
      tkksd user add rina --name "Rina (Bappeda)" --role tkksd
    """
    from engine.lifecycle.services import add_user

    split = [r for value in roles for r in value.split(",")]
    u = add_user(context(), actor(), login, name, split, opd_code, email)
    click.echo(f"Added user {u['login']} with role(s) {', '.join(u['roles'])}" + (f" in {u['opd']}." if u["opd"] else "."))


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def user_list(as_json):
    """List users and their roles.

    \b
    Example:
      tkksd user list --json
    """
    from engine.lifecycle.services import list_users

    rows = list_users(context())
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        r["roles"] = ",".join(r["roles"])
    table(rows, [("login", "LOGIN"), ("name", "NAME"), ("roles", "ROLES"), ("opd", "OPD")])


@click.group()
def opd():
    """The OPD directory (dinas, badan, bagian of the Setkab, the 20 kecamatan).

    \b
    Example:
      tkksd opd list --kind kecamatan
    """


@opd.command("list")
@click.option("--kind", default=None, help="Only this kind (dinas, badan, bagian, kecamatan, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def opd_list(kind, as_json):
    """List the OPDs with their heads' e-mail addresses.

    \b
    Example:
      tkksd opd list
    """
    from engine.lifecycle.services import list_opds

    rows = list_opds(context(), kind)
    if as_json:
        emit_json(rows)
        return
    table(rows, [("code", "CODE"), ("kind", "KIND"), ("name", "NAME"), ("head_email", "HEAD E-MAIL")])


# ------------------------------------------------------------------------- agreements


@click.command()
@click.option("--title", required=True, help="Title (judul/tentang).")
@click.option("--partner", required=True, help="Partner's name.")
@click.option("--opd", "opd_code", required=True, shell_complete=completion.opd_codes, help="Lead OPD code (see `tkksd opd list`).")
@click.option("--workflow", default="kerja-sama", show_default=True, help="Workflow name.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A field value; repeat for several.")
@click.option("--note", default=None, help="A note for the history.")
@click.option("--json", "as_json", is_flag=True, help="Print the new agreement as JSON.")
def add(title, partner, opd_code, workflow, sets, note, as_json):
    """Register a new agreement; it starts in the workflow's first state.

    \b
    Example:
      tkksd add --title "KB Pengembangan Pangan untuk IKN" --partner "Otorita IKN" \\
                --opd DKP --set partner_type=otorita_ikn --set document_kind=KB --json
    """
    from engine.lifecycle.services import create_agreement

    a = create_agreement(context(), actor(), title=title, partner=partner, opd=opd_code, workflow=workflow,
                         values=parse_sets(sets), note=note)
    if as_json:
        emit_json(a)
    else:
        click.echo(f"{a['id']} registered in state {a['state']} ({a['state_label']}).")


@click.command("list")
@click.option("--state", default=None, help="Only agreements in this state.")
@click.option("--opd", "opd_code", default=None, shell_complete=completion.opd_codes, help="Only agreements led by this OPD.")
@click.option("--workflow", default=None, help="Only this workflow.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(state, opd_code, workflow, limit, as_json):
    """List agreements.

    \b
    Example:
      tkksd list --opd DKP --state integrated
      tkksd list --json
    """
    from engine.lifecycle.filters import check_filters
    from engine.lifecycle.services import list_agreements

    ctx = context()
    check_filters(ctx, state=state, opd=opd_code, workflow=workflow)
    rows = list_agreements(ctx, state=state, opd=opd_filter(ctx, opd_code), workflow=workflow, limit=limit)
    if as_json:
        emit_json(rows)
        return
    table(rows, [("id", "ID"), ("state", "STATE"), ("lead_opd", "OPD"), ("partner", "PARTNER"), ("title", "TITLE")])


@click.command()
@click.argument("ref", shell_complete=completion.agreement_ids)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(ref, as_json):
    """Show one agreement by its id (KS-2024-0017).

    \b
    Example:
      tkksd show KS-2024-0017 --json
    """
    from engine.lifecycle.services import show as show_

    ctx = context()
    a = show_(ctx, ref)
    check_visible(ctx, a["id"], a["lead_opd"])
    if as_json:
        emit_json(a)
        return
    click.echo(f"{a['id']}  {a['title']}")
    click.echo(f"  workflow  {a['workflow']} v{a['workflow_version']}")
    click.echo(f"  state     {a['state']} ({a['state_label']}) since {a['state_entered_at']}")
    click.echo(f"  lead OPD  {a['lead_opd']}")
    click.echo(f"  partner   {a['partner']}")
    if a["parent"]:
        click.echo(f"  parent    {a['parent']}")
    if a["children"]:
        click.echo(f"  follow-up {', '.join(a['children'])}")
    for key, value in sorted(a["data"].items()):
        click.echo(f"  {key}: {value}")


@click.command()
@click.argument("ref", shell_complete=completion.agreement_ids)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def events(ref, as_json):
    """Every event of the agreement's workflow: possible now?, allowed for you?, what is missing.

    \b
    Example:
      tkksd events KS-2024-0017
    """
    from engine.lifecycle.services import events_for

    ctx = context()
    check_visible(ctx, ref)
    rows = events_for(ctx, ref, actor())
    if as_json:
        emit_json(rows)
        return
    for e in rows:
        if not e["possible_now"]:
            continue
        mark = "yes" if e["allowed"] else "no "
        click.echo(f"[{mark}] {e['event']} -> {e['to']}  (roles: {', '.join(e['roles'])})")
        for m in e["missing"]:
            extra = f" one of {', '.join(m['choices'])}" if m.get("choices") else ""
            click.echo(f"        needs {m['key']} ({m['type']}{extra}): {m['label']}")
        for p in e["problems"]:
            click.echo(f"        {p}")


@click.command()
@click.argument("ref", shell_complete=completion.agreement_ids)
@click.argument("event", shell_complete=completion.event_names)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A value the event needs; repeat for several.")
@click.option("--note", default=None, help="A note for the history (counts as the reason where one is required).")
@click.option("--json", "as_json", is_flag=True, help="Print the agreement as JSON afterwards.")
def fire(ref, event, sets, note, as_json):
    """Fire EVENT on agreement REF. Values are typed: dates YYYY-MM-DD, yes/no for confirmations.

    \b
    Example:
      tkksd fire KS-2024-0017 identify --set field=food_security --set objective="Pasokan pangan IKN" \\
            --set partner_type=otorita_ikn --set ikn_relevance=direct
      tkksd fire KS-2024-0017 reject --note "Tidak sesuai Renstra"
    """
    from engine.lifecycle.services import fire as fire_

    a = fire_(context(), actor(), ref, event, values=parse_sets(sets), note=note)
    if as_json:
        emit_json(a)
    else:
        click.echo(f"{a['id']} is now {a['state']} ({a['state_label']}).")
        if a.get("created"):
            click.echo(f"Follow-up {a['created']} registered (proposed); `tkksd show {a['created']}` shows it.")


@click.command()
@click.argument("ref", shell_complete=completion.agreement_ids)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def history(ref, as_json):
    """The history of an agreement, oldest first.

    \b
    Example:
      tkksd history KS-2024-0017 --json
    """
    from engine.lifecycle.services import history_of

    ctx = context()
    check_visible(ctx, ref)
    rows = history_of(ctx, ref)
    if as_json:
        # "data": the values supplied with the event (the scorecard, a reason for departing from it)
        emit_json([{k: r[k] for k in ("seq", "event", "from", "to", "actor", "at", "note", "kind", "data")} for r in rows])
        return
    for r in rows:  # issue 16: a departure from the scorecard is read with its reason
        reason = (r.get("data") or {}).get("departure_reason")
        if reason:
            r["note"] = f"{r['note']}; " if r["note"] else ""
            r["note"] += f"menyimpang dari skor: {reason}"
    table(rows, [("seq", "#"), ("at", "AT (UTC)"), ("event", "EVENT"), ("from", "FROM"), ("to", "TO"), ("actor", "ACTOR"), ("note", "NOTE")])


@click.group()
def audit():
    """Audit the history.

    \b
    Example:
      tkksd audit verify
    """


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit_verify(as_json):
    """Check every agreement's hash chain; exits non-zero naming the first bad row.

    \b
    Example:
      tkksd audit verify
    """
    from engine.errors import AuditFailure
    from engine.lifecycle.services import audit_verify as verify

    n_agreements, n_rows, problems = verify(context())
    if as_json:
        emit_json({"agreements": n_agreements, "rows": n_rows, "ok": not problems, "problems": problems})
        if problems:
            raise SystemExit(AuditFailure.exit_code)
        return
    if problems:
        more = f" ({len(problems) - 1} more agreement(s) affected)" if len(problems) > 1 else ""
        raise AuditFailure(f"History chain broken: {problems[0]}{more}.")
    click.echo(f"History verified: {n_rows} rows of {n_agreements} agreements, chain intact.")
