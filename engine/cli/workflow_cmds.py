"""`tkksd workflow`: the installed workflow definitions and their versions; checked migrations."""

from __future__ import annotations

import click

from engine.i18n import N_, _

from .common import actor, emit_json, table


def _settings():
    from config.settings import SettingsError, load
    from engine.errors import ConfigurationError

    try:
        return load()
    except SettingsError as exc:
        raise ConfigurationError(f"{exc}.") from None


def _registry_context(check_schema: bool = False):
    from engine import i18n
    from engine.bootstrap import bootstrap

    ctx = bootstrap(check_schema=check_schema, with_hooks=False)
    i18n.use(ctx.settings.language)  # the settings file may name the language
    return ctx


@click.group(help=N_(
    "Workflow definitions: list, show, check; move running agreements to a newer version.\n\n"
    "A definition is a TOML file (workflows/definitions/, plus the folders in the setting "
    "general.workflow_dirs). A changed definition is a new version; every agreement keeps the "
    "version it was created under until `tkksd workflow migrate` moves it.\n\n"
    "\b\nExample:\n"
    "  tkksd workflow list\n"
    "  tkksd workflow show pemanfaatan-bmd\n"
    "  tkksd workflow check ./kerja-sama.v2.toml\n"
    "  tkksd workflow migrate kerja-sama --from 1 --to 2 --dry-run"))
def workflow():
    pass


@workflow.command("list", help=N_(
    "The installed workflows, their versions, and how many agreements run under each.\n\n"
    "\b\nExample:\n"
    "  tkksd workflow list\n"
    "  tkksd workflow list --json"))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def list_(as_json):
    import sqlalchemy as sa

    from engine.store import db
    from engine.errors import DatabaseNotReady
    from engine.store.tables import agreements

    ctx = _registry_context()
    counts: dict[tuple[str, int], dict[str, int]] | None = {}
    try:
        db.check_schema(ctx.engine)
        with db.read(ctx.engine) as conn:
            rows = conn.execute(
                sa.select(agreements.c.workflow, agreements.c.workflow_version, agreements.c.lifecycle_state, sa.func.count())
                .group_by(agreements.c.workflow, agreements.c.workflow_version, agreements.c.lifecycle_state)
            ).all()
        for name, version, state, n in rows:
            c = counts.setdefault((name, version), {"agreements": 0, "running": 0})
            c["agreements"] += n
            try:
                final = ctx.registry.get(name, version).state(state).final
            except (LookupError, KeyError):
                final = False
            if not final:
                c["running"] += n
    except DatabaseNotReady:
        counts = None  # definitions can be listed before `tkksd init`
    out = []
    for defn in ctx.registry.all():
        c = (counts or {}).get((defn.name, defn.version), {"agreements": 0, "running": 0})
        out.append({
            "workflow": defn.name, "version": defn.version, "latest": ctx.registry.latest(defn.name).version == defn.version,
            "label": defn.label.get(ctx.lang), "states": len(defn.states), "events": len(defn.events),
            "agreements": c["agreements"] if counts is not None else None,
            "running": c["running"] if counts is not None else None, "source": defn.source,
        })
    if as_json:
        emit_json(out)
        return
    _print_list(out)


def _print_list(out: list[dict]) -> None:
    from engine.i18n import number

    from .tables import Column

    rows = [{**r, "latest_mark": _("yes") if r["latest"] else "",
             "running_n": "" if r["running"] is None else number(r["running"]),
             "agreements_n": "" if r["agreements"] is None else number(r["agreements"])} for r in out]
    table(rows, [Column("label", _("Workflow"), wide=True), Column("workflow", _("Name"), keep=True),
                 Column("version", _("Version"), right=True), Column("latest_mark", _("Latest")),
                 Column("running_n", _("Running"), right=True), Column("agreements_n", _("Agreements"), right=True)])


# --------------------------------------------------------------------------- `workflow show`


def _role(role: str, lang: str) -> str:
    from engine.inventory.graphs import role_label

    return role_label(role, lang)


RECIPIENTS = {"lead_opd_head": N_("the head of the lead OPD"), "secretariat": N_("the secretariat"),
              "chair": N_("the TKKSD chair")}


def _recipient(who: str) -> str:
    return _(RECIPIENTS[who]) if who in RECIPIENTS else who


def _state(defn, name: str, lang: str) -> str:
    return defn.state(name).label.get(lang) if defn.has_state(name) else name


def _field(defn, key: str, lang: str) -> str:
    return defn.field(key).label.get(lang) if defn.has_field(key) else key


def _anchor(defn, anchor: str, lang: str) -> str:
    """What a deadline counts from, in words."""
    if anchor == "entered":
        return _("entering the step")
    kind, _sep, key = anchor.partition(":")
    if kind == "plan_period":
        return _("the end of the plan period of {field}").format(field=_field(defn, key, lang))
    return _field(defn, key, lang)


def _days(defn, days, anchor: str, lang: str) -> str:
    """``14 day(s) after entering the step``; a table by step: ``14 day(s) in Usulan; 30 day(s) in …``."""
    from engine.i18n import number

    if isinstance(days, dict):
        per_state = "; ".join(_("{days} day(s) in {state}").format(days=number(n), state=_state(defn, s, lang))
                              for s, n in days.items())
        return _("{days}, after {anchor}").format(days=per_state, anchor=anchor)
    values = list(days) if isinstance(days, (list, tuple)) else [days]
    if values and all(v < 0 for v in values):
        return _("{days} day(s) before {anchor}").format(days=_amounts(values), anchor=anchor)
    return _("{days} day(s) after {anchor}").format(days=_amounts(values), anchor=anchor)


def _requirement(defn, r: dict, lang: str) -> str:
    from engine.lifecycle.workflow_catalog import condition_words

    text = f"{_field(defn, r['key'], lang)} ({r['key']})"
    if r.get("fresh"):
        text += " " + _("(a new value)")
    if r.get("when"):
        text += " " + _("when {condition}").format(condition=condition_words(r["when"], defn, lang))
    return text


def _print_header(d: dict, defn, lang: str) -> None:
    latest = _("the latest") if d["latest"] else _("not the latest")
    click.echo(_("{label}: {name} v{version} ({latest}; installed versions: {versions})").format(
        label=d["label_text"], name=d["name"], version=d["version"], latest=latest,
        versions=", ".join(map(str, d["versions"]))))
    click.echo("  " + _("numbers {prefix}-YYYY-NNNN; starts in {state}; {source}").format(
        prefix=d["id_prefix"], state=_state(defn, d["initial"], lang), source=d["source"]))


def _print_states(d: dict, lang: str) -> None:
    from .tables import Column

    click.echo()
    rows = [{"label": s["label"]["en" if lang == "en" else "id"], "name": s["name"],
             "final": _("final") if s["final"] else ""} for s in d["states"]]
    table(rows, [Column("label", _("Step"), wide=True), Column("name", _("Code"), keep=True), Column("final", "")])


def _print_events(d: dict, defn, lang: str) -> None:
    click.echo()
    click.echo(_("Events:"))
    for e in d["events"]:
        sources = ", ".join(_state(defn, s, lang) for s in e["from"])
        roles = ", ".join(_role(r, lang) for r in e["roles"])
        click.echo(f"  {e['label_text']} ({e['name']}): " + _("{sources} -> {target}; by {roles}").format(
            sources=sources, target=_state(defn, e["to"], lang), roles=roles))
        reqs = [_requirement(defn, r, lang) for r in e["requires"]]
        if reqs:
            click.echo("      " + _("requires: {fields}").format(fields="; ".join(reqs)))
        for r in e["rules"]:
            params = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("rule", "when", "message"))
            extra = f": {_(r['message'])}" if r.get("message") else ""  # a definition's sentence, in the catalog
            click.echo("      " + _("rule {rule}").format(rule=r["rule"]) + (f" ({params})" if params else "") + extra)


def _print_deadlines(d: dict, defn, lang: str) -> None:
    from engine.i18n import number
    from engine.lifecycle.workflow_catalog import condition_words

    if not d["deadlines"]:
        return
    click.echo()
    click.echo(_("Deadlines:"))
    for dl in d["deadlines"]:
        click.echo(f"  {_deadline_title(defn, dl, lang)} ({dl['name']})")
        if dl["action"] == "fire":
            action = _("the system fires {event}").format(event=_event_label(defn, dl["event"], lang))
        else:
            action = _("a notice to {who}").format(who=", ".join(_recipient(w) for w in dl["notify"]))
        when = _days(defn, dl["days"], _anchor(defn, dl["anchor"], lang), lang)
        line = _("in {states}: {action}, {when}").format(
            states=", ".join(_state(defn, s, lang) for s in dl["states"]), action=action, when=when)
        if dl["repeat_days"]:
            line += _(", then every {days} day(s)").format(days=number(dl["repeat_days"]))
        if dl.get("when"):
            line += ", " + _("when {condition}").format(condition=condition_words(dl["when"], defn, lang))
        click.echo(f"      {line}")


def _amounts(days) -> str:
    from engine.i18n import number

    values = list(days.values()) if isinstance(days, dict) else list(days) if isinstance(days, (list, tuple)) else [days]
    return ", ".join(number(abs(v)) for v in values)


def _deadline_title(defn, dl: dict, lang: str) -> str:
    """What a deadline rule is about: its label, said of every step it applies in (``Batas waktu
    tahap``), not of the first one."""
    from engine.lifecycle.labels import DEADLINE_TEXT, deadline_what

    template = DEADLINE_TEXT["en" if lang == "en" else "id"].get(dl["name"])
    if template is None:
        return deadline_what(defn, dl["name"], dl["states"][0], 0, lang)
    state = _state(defn, dl["states"][0], lang) if len(dl["states"]) == 1 else ""
    if not state:
        template = template.replace(" '{state}'", "")
    return template.format(state=state, days=_amounts(dl["days"]))


def _event_label(defn, name: str | None, lang: str) -> str:
    return defn.event(name).label.get(lang) if name and defn.has_event(name) else str(name)


def _print_limits(d: dict) -> None:
    for name, info in d["limits"].items():
        click.echo()
        click.echo(_("Limits '{name}' ({source}):").format(name=name, source=info["from"] or _("NOT CONFIGURED")))
        values = info["values"] or {}
        for key, entry in values.items() if isinstance(values, dict) else []:
            if isinstance(entry, dict):
                bits = [_("{years} years").format(years=entry["years"]) if entry.get("years") is not None else _("no maximum")]
                if entry.get("max_extensions") is not None:
                    bits.append(_("at most {count} extension(s)").format(count=entry["max_extensions"]))
                if entry.get("exception_allowed"):
                    bits.append(_("an exception ground is allowed"))
                if entry.get("verified") is False:
                    bits.append(_("NOT YET CHECKED against the official text"))
                click.echo(f"  {key:<14} {'; '.join(bits)}  [{entry.get('source', '')}]")
            else:
                click.echo(f"  {key:<14} {entry}")


def _print_definition(d: dict, defn, lang: str) -> None:
    """The definition for people: labels in the reader's language, each with the code one types."""
    _print_header(d, defn, lang)
    _print_states(d, lang)
    _print_events(d, defn, lang)
    _print_deadlines(d, defn, lang)
    _print_limits(d)


def _definition(ctx, name: str, version: int | None):
    from engine.errors import NotFound

    if name not in ctx.registry.names():
        from difflib import get_close_matches

        close = get_close_matches(name, ctx.registry.names(), n=1)
        hint = (" " + _("Did you mean '{name}'?").format(name=close[0])) if close else ""
        raise NotFound(_("There is no workflow '{name}'; `tkksd workflow list` shows the installed ones.").format(name=name)
                       + hint)
    if version is not None and version not in ctx.registry.versions(name):
        raise NotFound(_("Workflow '{name}' has no version {version} installed (loaded: {loaded}); "
                         "add its file to a folder named in general.workflow_dirs.").format(
            name=name, version=version, loaded=", ".join(map(str, ctx.registry.versions(name)))))
    return ctx.registry.get(name, version)


@workflow.command(help=N_(
    "Show a workflow definition: steps, events and what each requires, deadlines, limits.\n\n"
    "\b\nExample:\n"
    "  tkksd workflow show pemanfaatan-bmd\n"
    "  tkksd workflow show kerja-sama --version 1 --json"))
@click.argument("name")
@click.option("--version", "version", type=click.IntRange(min=1), default=None, help=N_("This version (default: the latest)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def show(name, version, as_json):
    from engine.lifecycle.workflow_catalog import describe

    ctx = _registry_context()
    defn = _definition(ctx, name, version)
    d = describe(defn, ctx.settings, ctx.lang, latest=ctx.registry.latest(name).version == defn.version,
                 versions=ctx.registry.versions(name))
    if as_json:
        emit_json(d)
        return
    _print_definition(d, defn, ctx.lang)


@workflow.command(help=N_(
    "Check the installed definitions, and FILES (new versions, say) alongside them.\n\n"
    "Besides the checker every definition passes when it is loaded, this also checks what only "
    "this deployment can tell: the limits tables rules read, and the notice templates named. "
    "Exits non-zero when any definition fails, naming each problem.\n\n"
    "\b\nExample:\n"
    "  tkksd workflow check\n"
    "  tkksd workflow check ./definitions/kerja-sama.v2.toml --json"))
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def check(files, as_json):
    from engine import i18n
    from engine.errors import ConfigurationError
    from engine.lifecycle.workflow_catalog import check_files

    settings = _settings()
    i18n.use(settings.language)
    results = check_files(settings, files)
    if as_json:
        emit_json(results)
    else:
        for r in results:
            name = f"{r['workflow']} v{r['version']}" if r["workflow"] else _("(unreadable)")
            mark = _("ok") if r["ok"] else _("FAIL")
            click.echo(f"{mark:<6}{name:<24} {r['file']}")
            for p in r["problems"]:
                click.echo(f"        {p}")
    failed = [r for r in results if not r["ok"]]
    if failed:
        first = failed[0]["problems"][0]
        raise ConfigurationError(_("{failed} of {total} workflow definition file(s) failed the check; the first: {problem}.").format(
            failed=len(failed), total=len(results), problem=first))


@workflow.command(help=N_(
    "Move every running agreement of workflow NAME from one version to another, all or none.\n\n"
    "Each lands in the step of the same name, or where --map sends it. The migration is "
    "refused, naming each agreement and changing nothing, if one would land in a step the new "
    "version lacks or in a final one, or without a value the new version requires for being in "
    "that step (required by an event leading into it, beyond what the old version required). "
    "Each moved agreement gets a history entry; its deadlines are recomputed under the new "
    "version in the same transaction. Agreements in a final step stay on their version. "
    "Admins only (--dry-run: any user). With --dry-run, exits non-zero if it would be refused.\n\n"
    "\b\nExample:\n"
    "  tkksd workflow migrate kerja-sama --from 1 --to 2 --dry-run\n"
    "  tkksd workflow migrate kerja-sama --from 1 --to 2 --map synchronized=harmonized"))
@click.argument("name")
@click.option("--from", "from_version", type=click.IntRange(min=1), required=True, help=N_("The version agreements run under now."))
@click.option("--to", "to_version", type=click.IntRange(min=1), required=True, help=N_("The version to move them to."))
@click.option("--map", "maps", multiple=True, metavar="OLD=NEW", help=N_("Agreements in step OLD land in step NEW; repeat for several."))
@click.option("--dry-run", is_flag=True, help=N_("Only show what would move and what would stop it; change nothing."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def migrate(name, from_version, to_version, maps, dry_run, as_json):
    from engine.lifecycle.version_migration import MigrationRefused, migrate as migrate_, parse_mapping

    from .common import context

    ctx = context()
    out = migrate_(ctx, actor(), name, from_version, to_version, parse_mapping(maps), dry_run=dry_run)
    if as_json:
        emit_json(out)
    else:
        _print_migration(ctx, out, name, from_version, to_version, dry_run)
    if out["refusal"]:  # a dry run that the real migration would refuse
        raise MigrationRefused(out["refusal"], workflow=name, from_version=from_version, to_version=to_version, blocked=())


def _print_migration(ctx, out: dict, name: str, from_version: int, to_version: int, dry_run: bool) -> None:
    from .tables import Column

    old, new = ctx.registry.get(name, from_version), ctx.registry.get(name, to_version)
    rows = [{"id": a["id"], "from": _state(old, a["from_state"], ctx.lang),
             "to": _state(new, a["to_state"], ctx.lang) if a["ok"] else "-", "problem": "; ".join(a["problems"])}
            for a in out["agreements"]]
    table(rows, [Column("id", _("Number"), keep=True), Column("from", _("Step")),
                 Column("to", _("In v{version}").format(version=to_version)), Column("problem", _("Problem"), wide=True)])
    movable = sum(1 for a in out["agreements"] if a["ok"])
    running = len(out["agreements"])
    kept = _("; {count} in a final step stay on v{version}").format(count=out["final_kept"], version=from_version) \
        if out["final_kept"] else ""
    sentence = (_("{name} v{old} -> v{new}: would move {movable} of {running} running agreement(s){kept}.") if dry_run
                else _("{name} v{old} -> v{new}: moved {movable} of {running} running agreement(s){kept}."))
    click.echo(sentence.format(name=name, old=from_version, new=to_version, movable=movable, running=running, kept=kept))
